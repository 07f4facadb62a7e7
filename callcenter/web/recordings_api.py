"""The recording routes of the JSON API.

- ``POST /api/calls/{call_id}/recording/mute``: mute or unmute a live call's
  recording; the call's agent or a supervisor (403 for another agent's call, 404
  no live call, 409 no recording running).
- ``POST /api/calls/{call_id}/ivr``: send a talking caller to an IVR node (a card
  number keyed in a ``sensitive`` input node, where the recording is muted); the
  agent waits on hold and gets the caller back when that IVR is done. The call's
  agent or a supervisor (400 no such node, 409 not talking).
- ``GET /api/recordings``: search (caller, agent, queue, customer, date range,
  duration; paged); supervisors only.
- ``GET /api/recordings/{id}/audio`` and ``.../download``: the file, with HTTP
  Range (206); supervisors, and the call's agent when the queue's policy says
  ``agent_may_listen``. Each listen (a request from byte 0) and each download
  writes an audit row first.
- ``GET /api/recordings/{id}/audit``: who listened and downloaded; supervisors.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Mapping

import aiohttp_jinja2
from aiohttp import web
from pydantic import Field
from typing_extensions import TypedDict

from callcenter.web.api import CALL_ID, _Body, read_body, read_query, row_id
from callcenter.web.auth import AGENTS, SUPERVISORS, require_api, require_page
from callcenter.web.errors import ApiError
from callcenter.web.keys import DESK, RECORDINGS
from callcenter.web.recordings_port import Library, RecordingFile, Search
from callcenter.web.session import Session

log = logging.getLogger(__name__)


class MuteBody(_Body):
    """``POST /api/calls/{call_id}/recording/mute``: true mutes, false unmutes."""

    muted: bool = Field(strict=True)


class IvrVisitBody(_Body):
    """``POST /api/calls/{call_id}/ivr``: the IVR node the caller is sent to."""

    node: str = Field(min_length=1, max_length=64)


class IvrVisitAsked(TypedDict):
    """The caller is on its way to the node; the call's events show the visit."""

    call_id: str
    node: str


class MuteAsked(TypedDict):
    """The (un)mute was passed to Asterisk; the call's events show when it took."""

    call_id: str
    muted: bool


class RecordAsked(TypedDict):
    """The MixMonitor was asked for; the call's events show when it started."""

    call_id: str
    recording: bool


def _own_live_call(request: web.Request) -> tuple[Session, str]:
    session = require_api(request, AGENTS | SUPERVISORS)
    call_id = request.match_info["call_id"]
    if not CALL_ID.fullmatch(call_id):
        raise ApiError(400, "invalid_field", "call_id: not a call id")
    agent = request.app[DESK].call_agent(call_id)
    if agent is None:
        raise ApiError(404, "unknown_call", f"no live call {call_id!r}")
    if not session.is_supervisor and agent != session.account_id:
        raise ApiError(403, "forbidden", "agents may only control their own call's recording")
    return session, call_id


async def start_recording(request: web.Request) -> web.StreamResponse:
    """Start recording a talking call (a queue that records on demand, or any call not
    recorded yet); the call's agent or a supervisor; 409 when it cannot."""
    session, call_id = _own_live_call(request)
    by = f"{session.role}:{session.account_id}"
    if not request.app[DESK].record_on_demand(call_id, by):
        raise ApiError(409, "not_talking", f"call {call_id!r} is not talking, is recorded, "
                       "or its caller did not hear the consent prompt")
    log.info("recording of %s asked by %s", call_id, by)
    return web.json_response(RecordAsked(call_id=call_id, recording=True))


async def send_to_ivr(request: web.Request) -> web.StreamResponse:
    """Send the talking caller to an IVR node; back to its agent when that IVR is done."""
    session, call_id = _own_live_call(request)
    body = await read_body(request, IvrVisitBody)
    by = f"{session.role}:{session.account_id}"
    why = request.app[DESK].send_to_ivr(call_id, body.node, by)
    if why == "no such node":
        raise ApiError(400, "invalid_field", f"node: {body.node!r} is not one of the IVR's visits")
    if why is not None:
        raise ApiError(409, "not_talking", f"call {call_id!r} is not talking to its agent")
    log.info("call %s sent to IVR node %s by %s", call_id, body.node, by)
    return web.json_response(IvrVisitAsked(call_id=call_id, node=body.node))


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


#: what the search takes: name -> (pattern, what it is)
_FILTERS: dict[str, tuple[re.Pattern[str], str]] = {
    "caller": (re.compile(r"\+?[0-9]{1,32}"), "digits of a phone number"),
    "agent": (re.compile(r"[0-9]{1,9}"), "an agent id"),
    "queue": (re.compile(r"[a-z0-9_-]{1,64}"), "a queue name"),
    "customer": (re.compile(r"[0-9]{1,9}"), "a customer id"),
    "since": (re.compile(r".{1,40}"), "an ISO time with its offset"),
    "until": (re.compile(r".{1,40}"), "an ISO time with its offset"),
    "min_duration_s": (re.compile(r"[0-9]{1,7}(\.[0-9]{1,3})?"), "seconds"),
    "max_duration_s": (re.compile(r"[0-9]{1,7}(\.[0-9]{1,3})?"), "seconds"),
}
_TYPES = {"wav": "audio/wav", "gsm": "audio/x-gsm"}


def _library(request: web.Request) -> Library:
    library = request.app.get(RECORDINGS)
    if library is None:
        raise ApiError(503, "unavailable", "recordings are not served by this app")
    return library


def _instant(name: str, text: str) -> dt.datetime:
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError:
        value = None
    if value is None or value.tzinfo is None:
        raise ApiError(400, "invalid_field", f"{name}: not an ISO time with its offset")
    return value


def parse_search(query: Mapping[str, str]) -> Search:
    """The search's filters from the query string; a 400 naming the first bad one."""
    limit, offset = read_query(query, _FILTERS)
    since = _instant("since", query["since"]) if "since" in query else None
    until = _instant("until", query["until"]) if "until" in query else None

    def number(name: str) -> float | None:
        return float(query[name]) if name in query else None

    return Search(
        caller=query.get("caller"),
        agent_id=int(query["agent"]) if "agent" in query else None,
        queue=query.get("queue"),
        customer_id=int(query["customer"]) if "customer" in query else None,
        since=since,
        until=until,
        min_duration_s=number("min_duration_s"),
        max_duration_s=number("max_duration_s"),
        limit=limit,
        offset=offset,
    )


async def search_recordings(request: web.Request) -> web.StreamResponse:
    """``GET /api/recordings``: supervisors search every recording."""
    require_api(request, SUPERVISORS)
    return web.json_response(await _library(request).search(parse_search(request.query)))


async def _open(request: web.Request) -> tuple[Session, RecordingFile, dict[str, object]]:
    session = require_api(request, AGENTS | SUPERVISORS)
    recording_id = row_id(request, "recording_id", "recording")
    found = await _library(request).get(recording_id)
    if found is None:
        raise ApiError(404, "unknown_recording", f"no recording {recording_id}")
    rec, facts = found
    if not session.is_supervisor and not (
        rec.agent_may_listen
        and rec.agent_id is not None
        and str(rec.agent_id) == session.account_id
    ):
        raise ApiError(403, "forbidden", "only supervisors, and the call's agent where allowed")
    if rec.deleted or not rec.local_path.is_file():
        raise ApiError(404, "no_file", f"recording {recording_id}: the file is gone")
    return session, rec, facts


async def _serve(request: web.Request, action: str) -> web.StreamResponse:
    session, rec, facts = await _open(request)
    ranged = request.headers.get("Range", "").replace(" ", "")
    if action == "download" or not ranged or ranged.startswith("bytes=0-"):
        # one row per listen (the player's first request), per download: before any byte
        await _library(request).audit(rec.id, session.account_id, session.role, action,
                                      request.remote)  # fmt: skip
        log.info("recording %s: %s by %s:%s", rec.id, action, session.role, session.account_id)
    headers = {"Content-Type": _TYPES.get(str(facts.get("format") or "wav"), "audio/wav")}
    if action == "download":
        headers["Content-Disposition"] = f'attachment; filename="{rec.local_path.name}"'
    return web.FileResponse(rec.local_path, headers=headers)


async def recording_audio(request: web.Request) -> web.StreamResponse:
    """``GET /api/recordings/{recording_id}/audio``: play it (Range answered with 206)."""
    return await _serve(request, "listen")


async def recording_download(request: web.Request) -> web.StreamResponse:
    """``GET /api/recordings/{recording_id}/download``: the file as an attachment."""
    return await _serve(request, "download")


async def recording_audit(request: web.Request) -> web.StreamResponse:
    """``GET /api/recordings/{recording_id}/audit``: its listens and downloads."""
    require_api(request, SUPERVISORS)
    recording_id = row_id(request, "recording_id", "recording")
    library = _library(request)
    if await library.get(recording_id) is None:
        raise ApiError(404, "unknown_recording", f"no recording {recording_id}")
    return web.json_response(
        {"recording_id": recording_id, "accesses": await library.accesses(recording_id)}
    )


async def recordings_page(request: web.Request) -> web.StreamResponse:
    """``GET /supervisor/recordings``: search, play (mute spans on a timeline), audit."""
    session = require_page(request, SUPERVISORS)
    return aiohttp_jinja2.render_template("recordings.html", request, {"session": session})
