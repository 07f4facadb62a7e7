"""HTML pages: login, the agent desktop and the supervisor wallboard."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import aiohttp_jinja2
from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError

from callcenter.config import DEFAULT_PAUSE_REASONS
from callcenter.web.auth import (
    AGENTS,
    SUPERVISORS,
    current_session,
    home_of,
    origin_allowed,
    require_page,
)
from callcenter.web.errors import domain_refusal
from callcenter.web.keys import (
    ACCOUNTS,
    CLOCK,
    DESK,
    DISPOSITION_CODES,
    FCR_CODES,
    PAUSE_REASONS,
    SECURE_COOKIES,
    SESSIONS,
    THROTTLE,
    TIME_ZONE,
    WORDS,
)
from callcenter.web.session import COOKIE_NAME, ROLES
from callcenter.web.words import LANGUAGES, language_of, zone_of

log = logging.getLogger(__name__)

MAX_FIELD = 256
#: The login form's message while the accounts cannot be read (the database is away).
UNAVAILABLE = (
    "Logins cannot be checked right now: the database is unavailable. Try again in a moment."
)


def _safe_next(value: str | None) -> str | None:
    """A path of this site to go back to after login, never another site.

    Browsers drop tabs and newlines from a ``Location`` and read ``\\`` as ``/``,
    so ``/%09/evil.example`` (a tab once the form is decoded) would become
    ``//evil.example``: any control character, blank or backslash refuses the
    value, and what is left must parse as a bare path (no scheme, no host) that
    does not start with ``//``.
    """
    if not value or len(value) > 2048 or not value.startswith("/") or value.startswith("//"):
        return None
    if "\\" in value or any(c <= " " or c == "\x7f" for c in value):
        return None
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return None
    return value


def _role_of(account: Any) -> str:
    role = account.role
    return str(getattr(role, "value", role))


async def index(request: web.Request) -> web.StreamResponse:
    session = current_session(request)
    raise web.HTTPSeeOther(home_of(session) if session else "/login")


async def login_page(request: web.Request) -> web.StreamResponse:
    session = current_session(request)
    if session is not None:
        raise web.HTTPSeeOther(home_of(session))
    context = {"next": _safe_next(request.query.get("next")), "error": None, "username": ""}
    return aiohttp_jinja2.render_template("login.html", request, context)


def _login_refused(
    request: web.Request, status: int, error: str, username: str, next_: str | None
) -> web.StreamResponse:
    context = {"next": next_, "error": error, "username": username}
    return aiohttp_jinja2.render_template("login.html", request, context, status=status)


async def login_submit(request: web.Request) -> web.StreamResponse:
    """Check the form against the store; on success open a session and set its cookie.

    A malformed form is a 400; an account or address with too many failed tries a
    429 with ``Retry-After``, before any password is checked (``throttle``).
    """
    if not origin_allowed(request):
        raise web.HTTPForbidden(text="request from a foreign origin")
    try:
        form = await request.post()
    except web.HTTPException:
        raise  # aiohttp's own refusal (a body over client_max_size: 413)
    except (HttpProcessingError, ValueError, AssertionError) as exc:
        # aiohttp's multipart reader raises these on a broken body (a part's bad
        # headers, a missing boundary); the form is the client's fault, not ours
        log.info("login form refused: %r", exc)
        return _login_refused(request, 400, "The login form could not be read.", "", None)
    username = form.get("username")
    password = form.get("password")
    raw_next = form.get("next")
    next_ = _safe_next(raw_next if isinstance(raw_next, str) else None)
    if not isinstance(username, str) or not isinstance(password, str):
        return _login_refused(request, 400, "Enter your username and password.", "", next_)
    username = username.strip()
    if not username or not password or len(username) > MAX_FIELD or len(password) > MAX_FIELD:
        return _login_refused(request, 400, "Enter your username and password.", username, next_)
    address = request.remote or "unknown"
    throttle = request.app[THROTTLE]
    waiting = throttle.refused(username, address)
    if waiting is not None:
        log.warning("login of %r from %s throttled (%s)", username, address, waiting.by)
        text = f"Too many failed logins. Try again in {waiting.retry_after_s} s."
        response = _login_refused(request, 429, text, username, next_)
        response.headers["Retry-After"] = str(waiting.retry_after_s)
        return response
    try:
        account = await request.app[ACCOUNTS].verify_login(username, password)
    except Exception as exc:
        refusal = domain_refusal(exc)
        if refusal is None or refusal.status != 503:
            raise
        log.warning("login of %r refused: %s", username, refusal.reason)
        return _login_refused(request, 503, UNAVAILABLE, username, next_)
    if account is None:
        throttle.failed(username, address)
        log.info("login refused for %r", username)
        return _login_refused(request, 401, "Wrong username or password.", username, next_)
    role = _role_of(account)
    if role not in ROLES:
        log.warning("account %r has unknown role %r", username, role)
        return _login_refused(
            request, 403, "This account has no access to Hotline.", username, next_
        )
    throttle.succeeded(username)
    now = request.app[CLOCK]()
    signer = request.app[SESSIONS]
    value = signer.issue(str(account.id), role, account.display_name, now)
    session = signer.check(value, now)
    assert session is not None
    response = web.HTTPSeeOther(next_ or home_of(session))
    response.set_cookie(
        COOKIE_NAME,
        value,
        max_age=signer.ttl_s,
        path="/",
        httponly=True,
        samesite="Strict",
        secure=request.secure or request.app[SECURE_COOKIES],
    )
    log.info("login %r as %s", username, role)
    raise response


async def logout(request: web.Request) -> web.StreamResponse:
    """End the session on the server (its cookie is dead even if kept) and, for an
    agent, log the agent out of the ACD so no call is offered to an empty desk."""
    if not origin_allowed(request):
        raise web.HTTPForbidden(text="request from a foreign origin")
    session = current_session(request)
    request.app[SESSIONS].end(request.cookies.get(COOKIE_NAME))
    if session is not None and session.role in AGENTS:
        await request.app[DESK].agent_logout(session.account_id)
    response = web.HTTPSeeOther("/login")
    response.del_cookie(COOKIE_NAME, path="/")
    raise response


def _pause_words(offered: Mapping[str, str], words: Mapping[str, str]) -> dict[str, str]:
    """The pause reasons offered, as the desk shows them: a shipped reason whose label
    the admin left as shipped in the desk's language (``pause.<code>`` of the
    catalogue), any other as the admin wrote it."""
    return {code: words.get(f"pause.{code}", label)
                  if DEFAULT_PAUSE_REASONS.get(code) == label else label
            for code, label in offered.items()}  # fmt: skip


async def agent_desktop(request: web.Request) -> web.StreamResponse:
    session = require_page(request, AGENTS)
    view = request.app[DESK].agent_view(session.account_id) or {}
    lang = language_of(request.cookies)
    offered: dict[str, str] = request.app[PAUSE_REASONS]
    context = {
        "session": session,
        "view": view,
        "codes": request.app[DISPOSITION_CODES],
        # the codes whose "resolved on first contact" box starts ticked
        "fcr_codes": request.app[FCR_CODES](),
        "lang": lang,
        "languages": LANGUAGES,
        "words": request.app[WORDS][lang],
        "time_zone": zone_of(request.cookies, request.app[TIME_ZONE]),
        "default_time_zone": request.app[TIME_ZONE],
        "queues": request.app[DESK].queue_names(),
        "transfer_agents": [(a, name) for a, name in request.app[DESK].agent_names()
                            if a != session.account_id],  # fmt: skip
        "pause_reasons": _pause_words(offered, request.app[WORDS][lang]),
    }
    return aiohttp_jinja2.render_template("agent.html", request, context)


async def supervisor_wallboard(request: web.Request) -> web.StreamResponse:
    session = require_page(request, SUPERVISORS)
    context = {"session": session, "snapshot": request.app[DESK].wallboard()}
    return aiohttp_jinja2.render_template("supervisor.html", request, context)
