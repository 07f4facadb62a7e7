"""Administration: logins (agents with their queues, skills and penalties; supervisors;
admins), API tokens and the desk's lists (disposition codes, pause reasons), all
applied without a restart (``callcenter.administration``).

- ``GET /admin``: the admin page (admins).
- ``GET /api/admin/logins``, ``GET /api/admin/tokens``: admins and supervisors (read).
- ``POST /api/admin/logins`` (201), ``PATCH|DELETE /api/admin/logins/{username}`` (a
  PATCH may change the ``role``: 409 ``last_admin`` for the only admin left);
  ``POST /api/admin/tokens`` (201, the token shown once; ``scopes`` among ``read``,
  ``calls``, ``admin``, ``["read"]`` by default), ``DELETE
  /api/admin/tokens/{name}``; ``PUT|DELETE /api/admin/dispositions/{code}`` and
  ``/api/admin/pause-reasons/{code}`` (PUT: 201 a new code, 200 a changed label):
  admins only.
- ``GET /api/desk-lists``: the codes and reasons the desk offers now (any login).

Every write is checked before anything is written: a 400 ``invalid_field`` whose
reason starts with the field at fault (``queues: no queue 'x' ...``), 404 an unknown
login, token or code, 409 a duplicate, a revoked token, the last code offered, the
last admin's role.
"""

from __future__ import annotations

import logging
import re
from typing import Annotated, Any, Literal

import aiohttp_jinja2
from aiohttp import web
from pydantic import ConfigDict, Field, StringConstraints
from typing_extensions import TypedDict

from callcenter.web.admin_port import Admin, ListKind
from callcenter.web.api import _PRINTABLE, _Body, read_body
from callcenter.web.auth import SUPERVISORS, require_api, require_page
from callcenter.web.errors import ApiError
from callcenter.web.keys import ADMIN, DISPOSITION_CODES, PAUSE_REASONS

log = logging.getLogger(__name__)

ADMINS = frozenset({"admin"})
#: a new login's name: what people type at the login form
_USERNAME = r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$"
_SKILL = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]{0,31}$")]
_QUEUE = Annotated[str, StringConstraints(pattern=r"^[a-z0-9_-]{1,64}$")]
_CODE = r"^[a-z][a-z0-9_]{0,31}$"
_NAME = Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=_PRINTABLE,
                                         strip_whitespace=True)]  # fmt: skip
#: a phone's dial string, TECH/resource ("" or null clears it on a change)
_DEVICE = Annotated[str, StringConstraints(max_length=128, pattern=r"^([A-Za-z][A-Za-z0-9_]*/[^\s,|()]{1,120})?$")]  # fmt: skip
_PASSWORD = Annotated[str, StringConstraints(min_length=8, max_length=256)]
_LEVEL = Annotated[int, Field(ge=1, le=5, strict=True)]
_PENALTY = Annotated[int, Field(ge=0, le=1000, strict=True)]


class _AdminBody(_Body):
    # passwords are taken as typed: no stripping
    model_config = ConfigDict(extra="forbid", frozen=True)


class NewLogin(_AdminBody):
    """``POST /api/admin/logins``: a login; an agent's routing data with it."""

    username: Annotated[str, StringConstraints(pattern=_USERNAME)]
    #: 8-256 characters, taken as typed
    password: _PASSWORD
    role: Literal["agent", "supervisor", "admin"]
    #: the name shown (default: the username)
    name: _NAME | None = None
    #: the phone's dial string, e.g. PJSIP/1001 (an agent's is rung with each offer)
    device: _DEVICE | None = None
    #: queues of the config the agent serves (none: every queue)
    queues: list[_QUEUE] = Field(default_factory=list, max_length=64)
    #: skill -> level 1..5
    skills: dict[_SKILL, _LEVEL] = Field(default_factory=dict, max_length=64)
    #: queue -> penalty (0 first; only queues the agent serves)
    penalties: dict[_QUEUE, _PENALTY] = Field(default_factory=dict, max_length=64)


class LoginChange(_AdminBody):
    """``PATCH /api/admin/logins/{username}``: only the fields given change."""

    name: _NAME | None = None
    device: _DEVICE | None = None
    password: _PASSWORD | None = None
    #: the login's new role: its open sessions and tokens take it at once; an agent
    #: leaving the role is logged out of the ACD; the only admin left keeps it (409
    #: ``last_admin``)
    role: Literal["agent", "supervisor", "admin"] | None = None
    queues: list[_QUEUE] | None = Field(default=None, max_length=64)
    #: the whole new skill set (replaces the old)
    skills: dict[_SKILL, _LEVEL] | None = Field(default=None, max_length=64)
    #: the whole new penalty table (replaces the old)
    penalties: dict[_QUEUE, _PENALTY] | None = Field(default=None, max_length=64)


class NewToken(_Body):
    """``POST /api/admin/tokens``."""

    #: what the token is for, e.g. crm-sync
    name: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")]
    #: the login it acts as (its role applies)
    user: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    #: what it may be used for, within the login's role: ``read`` (every GET of the
    #: API), ``calls`` (writes on calls and agents), ``admin`` (writes under
    #: /api/admin/); ``["read"]`` when not given
    scopes: list[Annotated[str, StringConstraints(max_length=16)]] = Field(
        default_factory=lambda: ["read"], min_length=1, max_length=3
    )


class ListEntry(_Body):
    """``PUT /api/admin/dispositions/{code}`` and ``/api/admin/pause-reasons/{code}``."""

    #: what the desk shows
    label: Annotated[str, StringConstraints(min_length=1, max_length=80, pattern=_PRINTABLE)]


class Login(TypedDict):
    """A login (never its password)."""

    id: str
    username: str
    name: str
    role: str
    device: str | None
    queues: list[str]
    skills: dict[str, int]
    penalties: dict[str, int]


class Logins(TypedDict):
    """``GET /api/admin/logins``: every login, and the queues an agent may serve."""

    logins: list[Login]
    #: the config's queues (those an agent may serve)
    queues: list[str]


class Token(TypedDict):
    name: str
    user: str
    role: str
    created_at: str
    revoked_at: str | None
    #: what it may be used for (``read``, ``calls``, ``admin``)
    scopes: list[str]


class Tokens(TypedDict):
    tokens: list[Token]


class TokenMade(TypedDict):
    name: str
    user: str
    #: the token itself: shown only now (SQL keeps its SHA-256)
    token: str
    scopes: list[str]


class DeskLists(TypedDict):
    """The lists the desk offers now, in order: code -> label."""

    dispositions: dict[str, str]
    pause_reasons: dict[str, str]


class Done(TypedDict):
    done: bool


def _admin(request: web.Request) -> Admin:
    admin = request.app.get(ADMIN)
    if admin is None:
        raise ApiError(503, "unavailable", "administration is not available yet")
    return admin


def _lists(request: web.Request) -> DeskLists:
    dispositions: dict[str, str] = request.app[DISPOSITION_CODES]
    reasons: dict[str, str] = request.app[PAUSE_REASONS]
    return DeskLists(dispositions=dict(dispositions), pause_reasons=dict(reasons))


def _given(body: _Body) -> dict[str, Any]:
    return body.model_dump(exclude_unset=True)


async def admin_page(request: web.Request) -> web.StreamResponse:
    """``GET /admin``."""
    session = require_page(request, ADMINS)
    queues = request.app[ADMIN].queue_names() if ADMIN in request.app else []
    return aiohttp_jinja2.render_template("admin.html", request,
                                          {"session": session, "queues": queues})  # fmt: skip


async def list_logins(request: web.Request) -> web.StreamResponse:
    require_api(request, SUPERVISORS)
    admin = _admin(request)
    return web.json_response({"logins": await admin.list_logins(), "queues": admin.queue_names()})


async def add_login(request: web.Request) -> web.StreamResponse:
    session = require_api(request, ADMINS)
    body = await read_body(request, NewLogin)
    row = await _admin(request).add_login(body.model_dump())
    log.info("login %r (%s) added by admin %s", body.username, body.role, session.account_id)
    return web.json_response(row, status=201)


async def change_login(request: web.Request) -> web.StreamResponse:
    session = require_api(request, ADMINS)
    username = request.match_info["username"]
    body = await read_body(request, LoginChange)
    fields = _given(body)
    if not fields:
        raise ApiError(400, "invalid_field", "body: nothing to change")
    admin = _admin(request)
    before = next((r["role"] for r in await admin.list_logins() if r["username"] == username),
                  None) if fields.get("role") else None  # fmt: skip
    row = await admin.change_login(username, fields)
    role = f"; role {before} -> {row['role']}" if before and before != row["role"] else ""
    log.info("login %r changed (%s%s) by admin %s", username, ", ".join(sorted(fields)), role,
             session.account_id)  # fmt: skip
    return web.json_response(row)


async def remove_login(request: web.Request) -> web.StreamResponse:
    session = require_api(request, ADMINS)
    username = request.match_info["username"]
    await _admin(request).remove_login(username, session.account_id)
    log.info("login %r removed by admin %s", username, session.account_id)
    return web.json_response(Done(done=True))


async def list_tokens(request: web.Request) -> web.StreamResponse:
    require_api(request, SUPERVISORS)
    return web.json_response({"tokens": await _admin(request).list_tokens()})


async def add_token(request: web.Request) -> web.StreamResponse:
    session = require_api(request, ADMINS)
    body = await read_body(request, NewToken)
    token, scopes = await _admin(request).add_token(body.name, body.user, body.scopes)
    log.info("token %r for %r (%s) made by admin %s", body.name, body.user, " ".join(scopes),
             session.account_id)  # fmt: skip
    return web.json_response(TokenMade(name=body.name, user=body.user, token=token,
                                       scopes=list(scopes)), status=201)  # fmt: skip


async def revoke_token(request: web.Request) -> web.StreamResponse:
    session = require_api(request, ADMINS)
    name = request.match_info["name"]
    await _admin(request).revoke_token(name)
    log.info("token %r revoked by admin %s", name, session.account_id)
    return web.json_response(Done(done=True))


def _code(request: web.Request) -> str:
    code = request.match_info["code"]
    if not re.fullmatch(_CODE, code):
        raise ApiError(400, "invalid_field",
                       "code: a-z, 0-9 and _, starting with a letter, 32 at most")  # fmt: skip
    return code


async def _put(request: web.Request, kind: ListKind) -> web.StreamResponse:
    session = require_api(request, ADMINS)
    code = _code(request)
    body = await read_body(request, ListEntry)
    created = await _admin(request).put_entry(kind, code, body.label)
    log.info("%s %r %s by admin %s", kind, code, "added" if created else "changed",
             session.account_id)  # fmt: skip
    return web.json_response(_lists(request), status=201 if created else 200)


async def _retire(request: web.Request, kind: ListKind) -> web.StreamResponse:
    session = require_api(request, ADMINS)
    code = _code(request)
    await _admin(request).retire_entry(kind, code)
    log.info("%s %r retired by admin %s", kind, code, session.account_id)
    return web.json_response(_lists(request))


async def put_disposition(request: web.Request) -> web.StreamResponse:
    return await _put(request, "dispositions")


async def retire_disposition(request: web.Request) -> web.StreamResponse:
    return await _retire(request, "dispositions")


async def put_pause_reason(request: web.Request) -> web.StreamResponse:
    return await _put(request, "pause_reasons")


async def retire_pause_reason(request: web.Request) -> web.StreamResponse:
    return await _retire(request, "pause_reasons")


async def desk_lists(request: web.Request) -> web.StreamResponse:
    """The codes and reasons the desk offers now (any login)."""
    require_api(request)
    return web.json_response(_lists(request))


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_get("/admin", admin_page)
    router.add_get("/api/admin/logins", list_logins)
    router.add_post("/api/admin/logins", add_login)
    router.add_patch("/api/admin/logins/{username}", change_login)
    router.add_delete("/api/admin/logins/{username}", remove_login)
    router.add_get("/api/admin/tokens", list_tokens)
    router.add_post("/api/admin/tokens", add_token)
    router.add_delete("/api/admin/tokens/{name}", revoke_token)
    router.add_put("/api/admin/dispositions/{code}", put_disposition)
    router.add_delete("/api/admin/dispositions/{code}", retire_disposition)
    router.add_put("/api/admin/pause-reasons/{code}", put_pause_reason)
    router.add_delete("/api/admin/pause-reasons/{code}", retire_pause_reason)
    router.add_get("/api/desk-lists", desk_lists)
