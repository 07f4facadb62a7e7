"""The supervisor's hands on a live call.

- ``POST /api/agents/{agent_id}/spy`` with ``{"mode": "listen" | "whisper" |
  "barge"}``: ring the supervisor's own phone (its login's ``device``, set with
  ``callcenter users add --device``) into ``ChanSpy`` on the agent's leg of the
  call the agent is talking on (transcript 19): listen hears both sides unheard,
  whisper talks to the agent alone, barge talks to both. Supervisors and admins
  only (401 anonymous, 403 agents); 400 an unknown mode, 404 an unknown agent,
  409 the agent is on no call (``not_talking``) or the supervisor has no phone
  (``no_phone``). The spy ends when the supervisor hangs up, or with the agent's
  leg.
- ``POST /api/calls/{call_id}/move`` with ``{"queue"?, "priority"?, "position"?}``
  (at least one): move a waiting call to another queue (its wait kept), to a new
  priority, and/or to a position of its queue's line (1: the front): the ACD's
  ``MoveCall`` (``acd.core`` rule 11). Supervisors and admins only (401 anonymous,
  403 agents); 400 a bad field, 404 an unknown call or queue, 409 the call no longer
  waits (``call_not_waiting``: an agent's phone rings with it or it is answered) or
  already waited the new queue's ``max_wait_s`` (``past_max_wait``). Answers the
  call's row of ``GET /api/waiting`` after the move.
"""

from __future__ import annotations

import logging
from typing import Literal, Self

from aiohttp import web
from pydantic import Field, model_validator
from typing_extensions import TypedDict

from callcenter.web.api import QUEUE_NAME, _Body, read_body
from callcenter.web.auth import SUPERVISORS, require_api
from callcenter.web.errors import ApiError
from callcenter.web.keys import DESK, PHONES

log = logging.getLogger(__name__)


class SpyBody(_Body):
    """``POST /api/agents/{agent_id}/spy``: how the supervisor joins the agent's call."""

    mode: Literal["listen", "whisper", "barge"]


class SpyAsked(TypedDict):
    """The supervisor's phone is being rung into ChanSpy on the agent's call."""

    agent_id: str
    mode: str
    #: the dial string rung: the supervisor's phone
    phone: str


async def spy(request: web.Request) -> web.StreamResponse:
    """Listen to, whisper to or barge into an agent's call from the supervisor's phone."""
    session = require_api(request, SUPERVISORS)
    agent_id = request.match_info["agent_id"]
    body = await read_body(request, SpyBody)
    desk = request.app[DESK]
    if desk.agent_view(agent_id) is None:
        raise ApiError(404, "unknown_agent", f"no agent {agent_id!r}")
    phones = request.app.get(PHONES)
    if phones is None:
        raise ApiError(503, "unavailable", "the logins' phones are not known yet")
    phone = await phones.phone_of(session.account_id)
    if not phone:
        raise ApiError(409, "no_phone", "your login has no phone to ring: "
                       "`callcenter users add --device` sets one")  # fmt: skip
    by = f"{session.role}:{session.account_id}"
    why = desk.spy(agent_id, phone, body.mode, by)
    if why is not None:
        raise ApiError(409, "not_talking", f"agent {agent_id!r} is on no call")
    log.info("%s: %s on agent %s from %s", by, body.mode, agent_id, phone)
    return web.json_response(SpyAsked(agent_id=agent_id, mode=body.mode, phone=phone),
                             status=202)  # fmt: skip


class MoveBody(_Body):
    """``POST /api/calls/{call_id}/move``: where a waiting call goes (at least one)."""

    #: another queue: the call keeps its wait
    queue: str | None = Field(default=None, pattern=f"^{QUEUE_NAME.pattern}$")
    #: its new base priority (the CRM tiers' range)
    priority: int | None = Field(default=None, ge=0, le=1000)
    #: its place in its queue's line, 1: the front (past the end: the back)
    position: int | None = Field(default=None, ge=1, le=100_000)

    @model_validator(mode="after")
    def _something(self) -> Self:
        if self.queue is None and self.priority is None and self.position is None:
            raise ValueError("give a queue, a priority or a position")
        return self


async def move_call(request: web.Request) -> web.StreamResponse:
    """Move a waiting call to another queue, priority or place in line (supervisors)."""
    session = require_api(request, SUPERVISORS)
    call_id = request.match_info["call_id"]
    body = await read_body(request, MoveBody)
    by = f"{session.role}:{session.account_id}"
    # the ACD's refusals (unknown call or queue, call_not_waiting, past_max_wait) fly to
    # the edge's table (callcenter.web.errors) with nothing changed
    row = request.app[DESK].move_call(call_id, body.queue, body.priority, body.position, by)
    log.info("%s moved call %s: queue %s, priority %s, position %s", by, call_id,
             body.queue, body.priority, body.position)  # fmt: skip
    return web.json_response({"call": row})
