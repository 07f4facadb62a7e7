"""Errors at the HTTP edge: the one table from domain error codes to statuses.

Handlers raise ``ApiError`` for what the edge itself refuses (bad JSON, a
missing field, no session, wrong role) and let domain errors from the
controller or the store fly. ``error_middleware`` renders both as
``{"error": code, "reason": text}``. A domain error is an exception whose
``code`` attribute is a key of ``DOMAIN_STATUS`` (every package spells its codes
in snake_case: acd ``unknown_agent``, storage ``unknown_call``); any other
exception is a bug and stays a 500.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import NamedTuple

from aiohttp import web

log = logging.getLogger(__name__)

#: Domain error code -> HTTP status. The only place the edge decides this.
DOMAIN_STATUS: dict[str, int] = {
    # the caller's input is wrong (storage: DispositionRejected; acd: InvalidValue)
    "unknown_code": 400,
    "notes_too_long": 400,
    "disposition_rejected": 400,
    "invalid_value": 400,
    # an admin write (callcenter.administration: the reason starts with the field)
    "invalid_field": 400,
    # not yours
    "not_your_call": 403,
    # no such thing (storage: UnknownCall; acd: UnknownAgent, UnknownQueue)
    "unknown_call": 404,
    "unknown_agent": 404,
    "unknown_queue": 404,
    "unknown_login": 404,
    "unknown_token": 404,
    "unknown_entry": 404,
    # right input, wrong moment (acd: InvalidTransition, e.g. Ready while talking)
    "invalid_transition": 409,
    "wrap_up_limit": 409,
    # a supervisor's move of a call no longer waiting, or past the new queue's max wait
    "call_not_waiting": 409,
    "past_max_wait": 409,
    "duplicate_outcome": 409,
    "duplicate": 409,
    "already_revoked": 409,
    "last_entry": 409,
    # the only admin left would lose the role (callcenter.administration)
    "last_admin": 409,
    # the server cannot take it now (storage: WriterClosed; StorageUnavailable, the
    # database is away: login and dispositions wait for nothing, the user tries again)
    "writer_closed": 503,
    "storage_unavailable": 503,
    # a web-only node drives no PBX: the action goes to the node that does
    # (callcenter.mirror.NotDriving)
    "not_driving": 503,
}


class Refusal(NamedTuple):
    status: int
    code: str
    reason: str


def domain_refusal(exc: BaseException) -> Refusal | None:
    """The status, code and reason for a known domain error; ``None`` otherwise."""
    code = getattr(exc, "code", None)
    if not isinstance(code, str):
        return None
    status = DOMAIN_STATUS.get(code)
    if status is None:
        return None
    for attr in ("reason", "detail"):
        text = getattr(exc, attr, None)
        if isinstance(text, str) and text:
            return Refusal(status, code, text)
    return Refusal(status, code, str(exc) or code)


class ApiError(Exception):
    """A refusal by the edge itself, rendered as a JSON error."""

    def __init__(self, status: int, error: str, reason: str) -> None:
        super().__init__(f"{status} {error}: {reason}")
        self.status = status
        self.error = error
        self.reason = reason


def json_error(status: int, error: str, reason: str) -> web.Response:
    return web.json_response({"error": error, "reason": reason}, status=status)


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Render edge and domain errors as JSON; aiohttp's own 4xx too under ``/api/``."""
    try:
        return await handler(request)
    except ApiError as exc:
        return json_error(exc.status, exc.error, exc.reason)
    except web.HTTPException as exc:
        if request.path.startswith("/api/") and exc.status >= 400:
            return json_error(exc.status, exc.reason.lower().replace(" ", "_"), exc.reason)
        raise
    except Exception as exc:
        refusal = domain_refusal(exc)
        if refusal is None:
            raise
        log.info(
            "%s %s refused: %s (%s)", request.method, request.path, refusal.code, refusal.reason
        )
        return json_error(*refusal)
