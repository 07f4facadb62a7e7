"""An agent hands its talking caller on to a queue: ``POST /api/calls/{call_id}/transfer``.

Body ``{"queue": "<name>", "mode": "blind"}``. The caller leaves the agent (an AMI
``BlindTransfer`` of the agent's leg back into the hotline, transcript 07 B), waits in
that queue again as the same call, and the agent who answers it next gets the same
screen-pop before the phone is answered; the agent goes to wrap-up. Only the call's
own agent may do it: 401 anonymous, 403 anyone else (supervisors included,
``not_your_call`` for another agent), 404 no such live call (``unknown_call``) or queue
(``unknown_queue``), 409 the call is not talking to its agent (``not_talking``), 400 a
bad body. 202: the transfer is under way; the call's events tell the rest.
"""

from __future__ import annotations

import logging
from typing import Literal

from aiohttp import web
from pydantic import Field
from typing_extensions import TypedDict

from callcenter.web.api import CALL_ID, _Body, read_body
from callcenter.web.auth import AGENTS, require_api
from callcenter.web.errors import ApiError
from callcenter.web.keys import DESK

log = logging.getLogger(__name__)


class TransferBody(_Body):
    """``POST /api/calls/{call_id}/transfer``: where the caller goes, and how."""

    #: the queue the caller waits in next (a configured queue's name)
    queue: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")
    #: blind: the agent lets go at once, the caller holds in the queue
    mode: Literal["blind"] = "blind"


class TransferAsked(TypedDict):
    """The caller is being handed on to ``queue``."""

    call_id: str
    queue: str
    mode: str


_REFUSALS = {
    "unknown_queue": (404, "unknown_queue", "no queue {queue!r}"),
    "not_your_call": (403, "not_your_call", "call {call_id!r} is not yours"),
    "not_talking": (409, "not_talking", "call {call_id!r} is not talking to its agent"),
}


async def transfer_call(request: web.Request) -> web.StreamResponse:
    """Transfer the agent's talking call to a queue (blind)."""
    session = require_api(request, AGENTS)
    call_id = request.match_info["call_id"]
    if not CALL_ID.fullmatch(call_id):
        raise ApiError(400, "invalid_field", "call_id: not a call id")
    body = await read_body(request, TransferBody)
    desk = request.app[DESK]
    agent = desk.call_agent(call_id)
    if agent is None:
        raise ApiError(404, "unknown_call", f"no live call {call_id!r}")
    if agent != session.account_id:
        raise ApiError(403, "not_your_call", f"call {call_id!r} is not yours")
    why = desk.transfer(call_id, body.queue, session.account_id)
    if why is not None:
        status, code, text = _REFUSALS.get(why, _REFUSALS["not_talking"])
        raise ApiError(status, code, text.format(queue=body.queue, call_id=call_id))
    log.info("call %s transferred to queue %s by agent %s", call_id, body.queue,
             session.account_id)  # fmt: skip
    return web.json_response(TransferAsked(call_id=call_id, queue=body.queue, mode=body.mode),
                             status=202)  # fmt: skip
