"""The JSON API, ``/metrics`` and ``/healthz``.

Bodies are validated by pydantic models before anything is called, so a bad
request never reaches the controller or the store.
"""

from __future__ import annotations

import hmac
import logging
import re
from collections.abc import Mapping
from typing import Any, Literal, TypeVar

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic.json_schema import SkipJsonSchema
from pydantic_core import from_json

from callcenter.metrics import CONTENT_TYPE
from callcenter.web.auth import AGENTS, SUPERVISORS, require_api
from callcenter.web.errors import ApiError
from callcenter.web.keys import (
    DESK,
    DISPOSITION_CODES,
    DISPOSITIONS,
    FCR_CODES,
    METRICS,
    METRICS_TOKEN,
    PAUSE_REASONS,
)
from callcenter.web.ports import AgentPage

log = logging.getLogger(__name__)

#: The store keeps at most this many characters of notes.
MAX_NOTES = 2000
#: Call ids are ``<node>:<Linkedid>``-like: short, printable, no slashes.
CALL_ID = re.compile(r"[A-Za-z0-9._:@-]{1,96}")
#: A row id in a path (a recording, a voicemail): a positive integer.
ROW_ID = re.compile(r"[1-9][0-9]{0,14}")
#: A query string's filters: name -> (the pattern a value must match whole, what it is)
Filters = Mapping[str, tuple[re.Pattern[str], str]]
#: The paging every list route takes, beside its own filters.
PAGING: dict[str, tuple[re.Pattern[str], str]] = {
    "limit": (re.compile(r"[0-9]{1,3}"), "1-200"),
    "offset": (re.compile(r"[0-9]{1,9}"), "a row count"),
}


def read_query(query: Mapping[str, str], filters: Filters) -> tuple[int, int]:
    """Check a list route's query string against its ``filters`` and :data:`PAGING` (a
    400 naming the first unknown or bad one); the page asked: ``limit`` (1-200, default
    50) and ``offset``."""
    for name, value in query.items():
        rule = filters.get(name) or PAGING.get(name)
        if rule is None:
            raise ApiError(400, "invalid_field", f"{name}: unknown filter")
        if not rule[0].fullmatch(value):
            raise ApiError(400, "invalid_field", f"{name}: expected {rule[1]}")
    limit = int(query.get("limit", "50"))
    if not 1 <= limit <= 200:
        raise ApiError(400, "invalid_field", "limit: expected 1-200")
    return limit, int(query.get("offset", "0"))


def row_id(request: web.Request, name: str, what: str) -> int:
    """The path's ``name`` as a row id, or a 400 saying it is not ``what``'s id."""
    text = request.match_info[name]
    if not ROW_ID.fullmatch(text):
        raise ApiError(400, "invalid_field", f"{name}: not a {what} id")
    return int(text)


#: At least one visible character and no control character, C0 or C1 (the ACD also
#: refuses what Python's ``str.strip`` removes, which includes the ASCII separators
#: 0x1c-0x1f and U+0085; U+0085 is not whitespace to a JSON Schema pattern's ``\s``, so
#: without the C1 range a client following the schema could send "\x85" and get 400).
_PRINTABLE = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$"


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True)


class ReadyBody(_Body):
    """``POST /api/agent/ready``: no fields (an empty body is fine)."""


class PauseBody(_Body):
    """``POST /api/agent/pause``."""

    #: one of the pause reasons the desk offers (``GET /api/desk-lists``)
    reason: str = Field(default="break", min_length=1, max_length=64, pattern=_PRINTABLE)


class WrapUpBody(_Body):
    """``POST /api/agent/wrap-up``: end the wrap-up now, or extend it."""

    #: end: ready for calls now; extend: the wrap-up ends ``seconds`` later (capped at
    #: the queue's ``wrap_up_max_s`` from the call's end)
    action: Literal["end", "extend"]
    seconds: float = Field(default=30.0, gt=0, le=3600)


class AgentStateBody(_Body):
    """``POST /api/agents/{agent_id}/state``: a supervisor sets an agent's state."""

    #: ready | paused | logged_out (an agent on a call is logged out when it ends)
    state: Literal["ready", "paused", "logged_out"]
    #: the pause's reason (paused only)
    reason: str = Field(default="supervisor", min_length=1, max_length=64, pattern=_PRINTABLE)


def _no_default(schema: dict[str, Any]) -> None:
    schema.pop("default", None)


class DispositionBody(_Body):
    """``POST /api/calls/{call_id}/disposition``."""

    code: str = Field(min_length=1, max_length=32, pattern=r"\S")
    notes: str = Field(default="", max_length=MAX_NOTES)
    #: the caller's matter was settled on this call (first-contact resolution); left
    #: out: whether ``code`` is one of the config's ``fcr_dispositions``
    fcr: bool | SkipJsonSchema[None] = Field(
        default=None,
        description="resolved on first contact; left out: whether the code is one of the"
        " config's fcr_dispositions",
        json_schema_extra=_no_default,  # left out, it is the code's default, not null
    )

    @field_validator("fcr", mode="before")
    @classmethod
    def _true_or_false(cls, value: object) -> object:
        # JSON true or false only: not "yes", 1 or null (left out: the code's default)
        if not isinstance(value, bool):
            raise ValueError("expected true or false (or leave it out)")
        return value


B = TypeVar("B", bound=_Body)


def _describe(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors()[:3]:
        where = ".".join(str(p) for p in err["loc"]) or "body"
        parts.append(f"{where}: {err['msg']}")
    return "; ".join(parts)


async def read_body(request: web.Request, model: type[B], *, allow_empty: bool = False) -> B:
    """Parse and validate a JSON body, or raise a 400 ``ApiError`` naming the problem."""
    try:
        text = (await request.read()).decode("utf-8")
    except UnicodeDecodeError:
        raise ApiError(400, "bad_json", "the body is not UTF-8") from None
    if not text.strip() and allow_empty:
        data: Any = {}
    else:
        if request.content_type != "application/json":
            raise ApiError(400, "bad_request", "expected Content-Type: application/json")
        # pydantic's parser (jiter) stops at 200 levels of nesting with a ValueError;
        # the standard library's recurses until a RecursionError (a 500)
        try:
            data = from_json(text)
        except ValueError as exc:
            if "recursion limit" in str(exc):
                raise ApiError(400, "bad_json", "the body nests too deep (200 levels at most)"
                               ) from None  # fmt: skip
            raise ApiError(400, "bad_json", f"the body is not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise ApiError(400, "bad_json", "the body must be a JSON object")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ApiError(400, "invalid_field", _describe(exc)) from None


def _agent_view(request: web.Request, agent_id: str) -> AgentPage:
    view = request.app[DESK].agent_view(agent_id)
    if view is None:
        raise ApiError(404, "unknown_agent", f"no agent {agent_id!r}")
    return view


async def wallboard(request: web.Request) -> web.StreamResponse:
    require_api(request, SUPERVISORS)
    return web.json_response(request.app[DESK].wallboard())


async def agent_state(request: web.Request) -> web.StreamResponse:
    """An agent's state: the agent themself, or a supervisor."""
    session = require_api(request)
    agent_id = request.match_info["agent_id"]
    if not session.is_supervisor and agent_id != session.account_id:
        raise ApiError(403, "forbidden", "agents may only see their own data")
    return web.json_response(_agent_view(request, agent_id))


async def agent_ready(request: web.Request) -> web.StreamResponse:
    session = require_api(request, AGENTS)
    await read_body(request, ReadyBody, allow_empty=True)
    await request.app[DESK].agent_ready(session.account_id)
    return web.json_response(_agent_view(request, session.account_id))


async def agent_pause(request: web.Request) -> web.StreamResponse:
    session = require_api(request, AGENTS)
    body = await read_body(request, PauseBody, allow_empty=True)
    reasons = request.app[PAUSE_REASONS]
    if body.reason not in reasons:
        raise ApiError(400, "invalid_field", f"reason: {body.reason!r} is not a pause reason "
                       f"offered (one of {', '.join(reasons)})")  # fmt: skip
    await request.app[DESK].agent_pause(session.account_id, body.reason)
    return web.json_response(_agent_view(request, session.account_id))


async def agent_wrap_up(request: web.Request) -> web.StreamResponse:
    """The agent in wrap-up ends it early or extends it (409 outside wrap-up, or when the
    extension is at its limit)."""
    session = require_api(request, AGENTS)
    body = await read_body(request, WrapUpBody)
    await request.app[DESK].agent_wrap_up(session.account_id, body.action, body.seconds)
    return web.json_response(_agent_view(request, session.account_id))


async def set_agent_state(request: web.Request) -> web.StreamResponse:
    """A supervisor forces an agent's state: ready, paused with a reason, or logged out
    (the ACD's own commands, as the agent's buttons and logout give them)."""
    session = require_api(request, SUPERVISORS)
    agent_id = request.match_info["agent_id"]
    body = await read_body(request, AgentStateBody)
    _agent_view(request, agent_id)  # 404 for an unknown agent
    desk = request.app[DESK]
    if body.state == "ready":
        await desk.agent_ready(agent_id)
    elif body.state == "paused":
        await desk.agent_pause(agent_id, body.reason)
    else:
        await desk.agent_logout(agent_id)
    log.info("agent %s set %s by %s %s", agent_id, body.state, session.role, session.account_id)
    return web.json_response(_agent_view(request, agent_id))


#: ``GET /api/waiting``'s one filter: a queue's name
QUEUE_NAME = re.compile(r"[A-Za-z0-9_.-]{1,64}")


async def waiting_calls(request: web.Request) -> web.StreamResponse:
    """The calls not answered yet, per queue in line order, with wait, priority and
    estimated wait (supervisors); ``?queue=`` for one queue."""
    require_api(request, SUPERVISORS)
    for name, value in request.query.items():
        if name != "queue":
            raise ApiError(400, "invalid_field", f"{name}: unknown filter")
        if not QUEUE_NAME.fullmatch(value):
            raise ApiError(400, "invalid_field", "queue: expected a queue name")
    calls = request.app[DESK].waiting_calls(request.query.get("queue"))
    return web.json_response({"calls": calls})


async def save_disposition(request: web.Request) -> web.StreamResponse:
    """Write (or, saved again, edit) the agent's disposition of a call of theirs; the
    store's refusals map via ``errors``."""
    session = require_api(request, AGENTS)
    call_id = request.match_info["call_id"]
    if not CALL_ID.fullmatch(call_id):
        raise ApiError(400, "invalid_field", "call_id: not a call id")
    body = await read_body(request, DispositionBody)
    # a live call is checked against the agent it is offered to or talks to (SQL knows
    # only the answering agent, written behind); the store checks the rest
    live_agent = request.app[DESK].call_agent(call_id)
    if live_agent is not None and live_agent != session.account_id:
        raise ApiError(403, "not_your_call", f"call {call_id!r} is not yours")
    codes = request.app[DISPOSITION_CODES]
    if body.code not in codes:
        raise ApiError(
            400,
            "unknown_code",
            f"code: unknown disposition code {body.code!r} (one of {', '.join(codes)})",
        )
    fcr = body.fcr if body.fcr is not None else body.code in request.app[FCR_CODES]()
    await request.app[DISPOSITIONS].save_disposition(
        call_id, session.account_id, body.code, body.notes, fcr=fcr
    )
    log.info("disposition %s (fcr %s) on %s by agent %s", body.code, fcr, call_id,
             session.account_id)  # fmt: skip
    return web.json_response({"saved": True, "call_id": call_id, "code": body.code, "fcr": fcr})


async def metrics(request: web.Request) -> web.StreamResponse:
    """Prometheus' scrape: open, behind a bearer token, or not on this listener
    (``METRICS_TOKEN``)."""
    token = request.app[METRICS_TOKEN]
    if token is None:
        raise web.HTTPNotFound()
    if token:
        scheme, _, given = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(),
                                                                 token.encode()):  # fmt: skip
            raise web.HTTPUnauthorized(headers={"WWW-Authenticate": 'Bearer realm="metrics"'})
    return web.Response(body=request.app[METRICS].render(), headers={"Content-Type": CONTENT_TYPE})


async def healthz(request: web.Request) -> web.StreamResponse:
    """``ok`` when every AMI node is connected and the database takes writes (and, on a
    web-only node, the live fan-out's link is up); 503 otherwise, with each down node's
    error, the writer's journal figures and the fan-out's state."""
    try:
        snapshot = request.app[DESK].wallboard()
    except Exception as exc:  # the probe reports, it does not crash
        log.exception("healthz: wallboard failed")
        return web.json_response({"ok": False, "reason": repr(exc)}, status=503)
    listed = snapshot.get("ami", [])
    nodes = {str(n.get("node")): bool(n.get("connected")) for n in listed}
    errors = {str(n.get("node")): n.get("error") for n in listed if n.get("error")}
    ok = bool(nodes) and all(nodes.values())
    body: dict[str, Any] = {"ok": ok, "ami": nodes, "errors": errors}
    storage = request.app[METRICS].writer_health()
    if storage is not None:  # writes wait in the journal while the database is away
        body["storage"] = storage
        body["ok"] = ok = ok and bool(storage["database_up"])
    fanout = request.app[METRICS].fanout_health()
    if (
        fanout is not None
    ):  # a subscriber's live pages stop with its link; a publisher's calls do not
        body["fanout"] = dict(fanout)
        if fanout["role"] == "subscriber":
            body["ok"] = ok = ok and bool(fanout["up"])
    return web.json_response(body, status=200 if ok else 503)
