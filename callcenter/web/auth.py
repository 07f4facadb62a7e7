"""Who is asking, and may they: sessions, roles and the Origin check."""

from __future__ import annotations

from urllib.parse import quote

import aiohttp_jinja2
from aiohttp import web

from callcenter.web.errors import ApiError
from callcenter.web.keys import ALLOWED_ORIGINS, CLOCK, SESSIONS
from callcenter.web.session import COOKIE_NAME, Session

SUPERVISORS = frozenset({"supervisor", "admin"})
AGENTS = frozenset({"agent"})


def current_session(request: web.Request) -> Session | None:
    """The valid session of the request's cookie, or ``None``."""
    app = request.app
    return app[SESSIONS].check(request.cookies.get(COOKIE_NAME), now=app[CLOCK]())


def home_of(session: Session) -> str:
    """Where a login lands: the wallboard for supervisors, the desktop for agents."""
    return "/supervisor" if session.is_supervisor else "/agent"


def origin_allowed(request: web.Request) -> bool:
    """False when a browser says the request comes from a page of another origin.

    Browsers send ``Origin`` on every WebSocket handshake and on POSTs; a
    missing header means a non-browser client, which cannot ride a victim's
    cookie, so it passes. Same origin is ``scheme://host`` of the request;
    behind a TLS proxy, list the public origin in ``allowed_origins``.
    """
    origin = request.headers.get("Origin")
    if origin is None:
        return True
    if origin == f"{request.scheme}://{request.host}":
        return True
    return origin in request.app[ALLOWED_ORIGINS]


def scope_needed(request: web.Request) -> str:
    """The token scope an API call needs (``callcenter.storage.tokens.SCOPES``): ``read``
    for a GET, ``admin`` for a write under ``/api/admin/``, ``calls`` for any other write."""
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return "read"
    return "admin" if request.path.startswith("/api/admin/") else "calls"


def require_api(request: web.Request, roles: frozenset[str] | None = None) -> Session:
    """The session of an API call (its cookie, else an ``Authorization: Bearer`` token
    of ``callcenter tokens``), or a 401/403 ``ApiError``. A token must also hold the
    call's scope (:func:`scope_needed`): 403 ``insufficient_scope`` else."""
    if request.method not in ("GET", "HEAD", "OPTIONS") and not origin_allowed(request):
        raise ApiError(403, "forbidden", "request from a foreign origin")
    session = current_session(request)
    if session is None and "Authorization" in request.headers:
        session = request.app[SESSIONS].check_token(request.headers["Authorization"])
        if session is None:
            raise ApiError(401, "unauthenticated", "bad or revoked token")
    if session is None:
        raise ApiError(401, "unauthenticated", "log in first")
    if roles is not None and session.role not in roles:
        raise ApiError(403, "forbidden", f"role {session.role!r} may not do this")
    if session.scopes is not None and (need := scope_needed(request)) not in session.scopes:
        have = ", ".join(sorted(session.scopes))
        raise ApiError(403, "insufficient_scope",
                       f"this token's scopes ({have}) do not include {need!r}")  # fmt: skip
    return session


def require_page(request: web.Request, roles: frozenset[str]) -> Session:
    """The session of a page view; redirects to the login page or refuses with 403."""
    session = current_session(request)
    if session is None:
        raise web.HTTPSeeOther(f"/login?next={quote(request.path_qs, safe='/')}")
    if session.role not in roles:
        response = aiohttp_jinja2.render_template(
            "forbidden.html",
            request,
            {"session": session, "home": home_of(session)},
            status=403,
        )
        raise web.HTTPForbidden(text=response.text, content_type="text/html")
    return session
