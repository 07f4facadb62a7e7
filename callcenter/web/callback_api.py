"""An agent schedules a callback on a call of theirs: ``POST /api/calls/{call_id}/callback``.

Body ``{"at": "2026-12-05T14:30+07:00", "number": "0912000001", "note": "..."}``. At
``at`` the number (left out: the call's caller) enters the call's queue as a callback
(flow core rule 18): dialled agent first, then the customer, with the queue's retries.
``at`` is ISO-8601; without an offset it is read in the agent's time zone (the desk's
choice, its ``hotline_tz`` cookie, else the hotline's ``time_zone``). A route of its own,
not a field of the disposition: the disposition is a row the store writes (and a second
save edits), the callback is an input of the call-flow core with refusals of its own;
the desk's form sends both.

Only the call's own agent may (401 anonymous, 403 anyone else: ``not_your_call``); 404
no such call (``unknown_call``); 409 a callback was scheduled on it already
(``already_scheduled``) or it never reached a queue (``no_queue``); 400 a bad body:
``at`` unparseable, past, or later than ``web.callback_max_days``; ``number`` not a valid
number (``phonenumbers``, the queue's callback region); 503 SQL away. 201: scheduled.
"""

from __future__ import annotations

import datetime as dt
import logging
from zoneinfo import ZoneInfo

from aiohttp import web
from pydantic import Field
from typing_extensions import TypedDict

from callcenter.web.api import CALL_ID, _Body, read_body
from callcenter.web.auth import AGENTS, require_api
from callcenter.web.errors import ApiError
from callcenter.web.keys import CALLBACK_MAX_DAYS, CLOCK, DESK, TIME_ZONE
from callcenter.web.words import zone_of

log = logging.getLogger(__name__)

#: the longest note kept with a scheduled callback (``callback_requests.note``)
MAX_NOTE = 500
#: the shape of ``at`` (the date itself, and whether it is ahead, are checked after)
_ISO = (
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,6})?)?"
    r"(Z|[+-][0-9]{2}:?[0-9]{2})?$"
)


class CallbackBody(_Body):
    """``POST /api/calls/{call_id}/callback``: when, which number, a note."""

    #: ISO-8601 date and time; with an offset (``+07:00``, ``Z``) as given, without one
    #: in the agent's time zone
    at: str = Field(min_length=16, max_length=40, pattern=_ISO)
    #: the number to call (digits, + first at most); left out: the call's caller
    number: str | None = Field(default=None, min_length=1, max_length=20,
                               pattern=r"^\+?[0-9]+$")  # fmt: skip
    #: what the agent who dials it should know
    note: str = Field(default="", max_length=MAX_NOTE, pattern=r"^[^\x00-\x08\x0b-\x1f\x7f]*$")


class CallbackScheduled(TypedDict):
    """The callback is scheduled: it enters ``queue`` at ``due_at`` (UTC)."""

    call_id: str
    due_at: str
    #: the agent's time zone ``at`` was read in when it had no offset
    time_zone: str
    number: str
    queue: str


_REFUSALS = {
    "unknown_call": (404, "unknown_call", "no call {call_id!r}"),
    "not_your_call": (403, "not_your_call", "call {call_id!r} is not yours"),
    "no_queue": (409, "no_queue", "call {call_id!r} never reached a queue"),
    "already_scheduled": (409, "already_scheduled",
                          "a callback was scheduled on call {call_id!r} already"),
    "bad_number": (400, "invalid_field",
                   "number: {number!r} is not a valid phone number to call back"),
    "unavailable": (503, "unavailable", "the database is away; try again"),
}  # fmt: skip


def due_time(text: str, zone: str, now: dt.datetime, max_days: int) -> dt.datetime:
    """``at`` as an aware UTC time, or a 400 saying what is wrong with it."""
    try:
        when = dt.datetime.fromisoformat(text)
    except ValueError:
        raise ApiError(400, "invalid_field",
                       f"at: {text!r} is not an ISO-8601 date and time "
                       "(e.g. 2026-12-05T14:30+07:00)") from None  # fmt: skip
    if when.tzinfo is None:
        when = when.replace(tzinfo=ZoneInfo(zone))
    when = when.astimezone(dt.UTC)
    if when <= now:
        raise ApiError(400, "invalid_field", f"at: {text!r} is in the past")
    if when > now + dt.timedelta(days=max_days):
        raise ApiError(400, "invalid_field",
                       f"at: {text!r} is more than {max_days} days ahead")  # fmt: skip
    return when


async def schedule_callback(request: web.Request) -> web.StreamResponse:
    """Schedule a callback on the agent's call."""
    session = require_api(request, AGENTS)
    call_id = request.match_info["call_id"]
    if not CALL_ID.fullmatch(call_id):
        raise ApiError(400, "invalid_field", "call_id: not a call id")
    body = await read_body(request, CallbackBody)
    zone = zone_of(request.cookies, request.app[TIME_ZONE])
    now = dt.datetime.fromtimestamp(request.app[CLOCK](), dt.UTC)
    due = due_time(body.at, zone, now, request.app[CALLBACK_MAX_DAYS])
    answer = await request.app[DESK].schedule_callback(
        call_id, session.account_id, due, body.number, body.note
    )
    if isinstance(answer, str):
        status, code, text = _REFUSALS.get(answer, _REFUSALS["unknown_call"])
        if answer == "bad_number" and body.number is None:
            text = "number: the caller's number cannot be called back; give a number"
        raise ApiError(status, code, text.format(call_id=call_id, number=body.number))
    number, queue = answer
    log.info("callback on %s for %s scheduled by agent %s", call_id, due.isoformat(),
             session.account_id)  # fmt: skip
    return web.json_response(
        CallbackScheduled(call_id=call_id, due_at=due.isoformat(),
                          time_zone=zone, number=number, queue=queue),
        status=201,
    )  # fmt: skip
