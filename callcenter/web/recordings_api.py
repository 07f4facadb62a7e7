"""The recording routes of the JSON API: mute and unmute a call's running recording.

Who may: the agent of the call, and supervisors (any call). Anybody else gets
403; a call that is not live gets 404, a live call with no recording running 409.
"""

from __future__ import annotations

import logging

from aiohttp import web
from pydantic import Field
from typing_extensions import TypedDict

from callcenter.web.api import CALL_ID, _Body, read_body
from callcenter.web.auth import AGENTS, SUPERVISORS, require_api
from callcenter.web.errors import ApiError
from callcenter.web.keys import DESK

log = logging.getLogger(__name__)


class MuteBody(_Body):
    """``POST /api/calls/{call_id}/recording/mute``: true mutes, false unmutes."""

    muted: bool = Field(strict=True)


class MuteAsked(TypedDict):
    """The (un)mute was passed to Asterisk; the call's events show when it took."""

    call_id: str
    muted: bool


async def mute_recording(request: web.Request) -> web.StreamResponse:
    """Mute or unmute the call's recording (``MixMonitorMute``, both directions)."""
    session = require_api(request, AGENTS | SUPERVISORS)
    call_id = request.match_info["call_id"]
    if not CALL_ID.fullmatch(call_id):
        raise ApiError(400, "invalid_field", "call_id: not a call id")
    body = await read_body(request, MuteBody)
    desk = request.app[DESK]
    agent = desk.call_agent(call_id)
    if agent is None:
        raise ApiError(404, "unknown_call", f"no live call {call_id!r}")
    if not session.is_supervisor and agent != session.account_id:
        raise ApiError(403, "forbidden", "agents may only mute their own call's recording")
    by = f"{session.role}:{session.account_id}"
    if not desk.mute_recording(call_id, body.muted, by):
        raise ApiError(409, "not_recording", f"call {call_id!r} has no recording running")
    log.info("recording of %s %s by %s", call_id, "muted" if body.muted else "unmuted", by)
    return web.json_response(MuteAsked(call_id=call_id, muted=body.muted))
