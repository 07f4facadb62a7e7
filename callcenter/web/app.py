"""The aiohttp application factory of Hotline's web edge."""

from __future__ import annotations

import time
import weakref
from collections.abc import Callable, Mapping
from pathlib import Path

import aiohttp_jinja2
import jinja2
from aiohttp import web

import dashboards
from callcenter.config import (
    DEFAULT_DISPOSITIONS,
    DEFAULT_FCR_DISPOSITIONS,
    DEFAULT_PAUSE_REASONS,
)
from callcenter.live import LiveHub
from callcenter.metrics import Metrics
from callcenter.web import (
    admin_api,
    api,
    callback_api,
    messages_api,
    openapi,
    pages,
    recordings_api,
    reports_api,
    sockets,
    supervise_api,
    transfer_api,
)
from callcenter.web.errors import error_middleware
from callcenter.web.keys import (
    ACCOUNTS,
    ALLOWED_ORIGINS,
    CALLBACK_MAX_DAYS,
    CLOCK,
    DESK,
    DISPOSITION_CODES,
    DISPOSITIONS,
    FCR_CODES,
    HUB,
    METRICS,
    METRICS_TOKEN,
    PAUSE_REASONS,
    SECURE_COOKIES,
    SESSIONS,
    SOCKETS,
    THROTTLE,
    TIME_ZONE,
    WORDS,
)
from callcenter.web.ports import Accounts, Desk, Dispositions
from callcenter.web.session import DEFAULT_TTL_S, SessionSigner
from callcenter.web.throttle import LoginThrottle
from callcenter.web.words import LANGUAGES, load_catalogues, template_words

DASHBOARDS = Path(dashboards.__file__).resolve().parent
TEMPLATES = DASHBOARDS / "templates"
STATIC = DASHBOARDS / "static"

_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)


async def _security_headers(request: web.Request, response: web.StreamResponse) -> None:
    headers = response.headers
    headers.setdefault("Content-Security-Policy", _CSP)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "same-origin")
    if not request.path.startswith("/static/"):
        headers.setdefault("Cache-Control", "no-store")


def create_app(
    *,
    desk: Desk | None = None,
    accounts: Accounts | None = None,
    dispositions: Dispositions | None = None,
    hub: LiveHub,
    metrics: Metrics,
    secret_key: bytes,
    allowed_origins: frozenset[str] | set[str] | list[str] | None = None,
    disposition_codes: Mapping[str, str] | None = None,
    fcr_codes: Callable[[], frozenset[str]] | None = None,
    session_ttl_s: int = DEFAULT_TTL_S,
    clock: Callable[[], float] = time.time,
    secure_cookies: bool = False,
    login_throttle: LoginThrottle | None = None,
    metrics_token: str | None = "",
    time_zone: str = "UTC",
    callback_max_days: int = 30,
) -> web.Application:
    """Build the web application: pages, JSON API, WebSockets, /metrics, /healthz.

    ``allowed_origins``: origins besides the request's own (``scheme://host``)
    that may open WebSockets and POST, e.g. the public ``https://`` origin when
    a TLS proxy sits in front; ``secure_cookies`` marks the session cookie
    ``Secure`` there too (the proxy speaks plain HTTP to us). ``metrics_token``:
    ``""`` serves ``/metrics`` to anyone, a token to ``Authorization: Bearer
    <token>`` only, ``None`` not on this app (404; :func:`create_metrics_app`
    serves it on its own address). ``fcr_codes``: the codes a disposition counts as
    first-contact resolution when the agent does not say (the config's
    ``fcr_dispositions``; default ``DEFAULT_FCR_DISPOSITIONS``). ``desk``, ``accounts`` and
    ``dispositions`` left out are set (``app[DESK]`` ...) by a ``cleanup_ctx`` of
    the composition root before the app serves (:func:`callcenter.app.create_app`).
    """
    app = web.Application(middlewares=[error_middleware], client_max_size=64 * 1024)
    if desk is not None:
        app[DESK] = desk
    if accounts is not None:
        app[ACCOUNTS] = accounts
    if dispositions is not None:
        app[DISPOSITIONS] = dispositions
    app[HUB] = hub
    app[METRICS] = metrics
    app[SESSIONS] = SessionSigner(secret_key, ttl_s=session_ttl_s)
    app[ALLOWED_ORIGINS] = frozenset(allowed_origins or ())
    app[DISPOSITION_CODES] = dict(disposition_codes or DEFAULT_DISPOSITIONS)
    app[FCR_CODES] = fcr_codes or (lambda: frozenset(DEFAULT_FCR_DISPOSITIONS))
    app[PAUSE_REASONS] = dict(DEFAULT_PAUSE_REASONS)
    app[SOCKETS] = weakref.WeakSet()
    app[CLOCK] = clock
    app[SECURE_COOKIES] = secure_cookies
    app[THROTTLE] = login_throttle or LoginThrottle()
    app[METRICS_TOKEN] = metrics_token
    app[WORDS] = load_catalogues()
    app[TIME_ZONE] = time_zone
    app[CALLBACK_MAX_DAYS] = callback_max_days

    env = aiohttp_jinja2.setup(
        app,
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=jinja2.select_autoescape(["html"]),
        undefined=jinja2.StrictUndefined,
        default_helpers=False,
    )
    # |tojson keeps Vietnamese as UTF-8 (it still escapes <, >, & and ').
    env.policies["json.dumps_kwargs"] = {"sort_keys": True, "ensure_ascii": False}
    env.globals["t"] = template_words(app[WORDS][LANGUAGES[0]])

    r = app.router
    r.add_get("/", pages.index)
    r.add_get("/login", pages.login_page)
    r.add_post("/login", pages.login_submit)
    r.add_post("/logout", pages.logout)
    r.add_get("/agent", pages.agent_desktop)
    r.add_get("/supervisor", pages.supervisor_wallboard)
    r.add_get("/supervisor/recordings", recordings_api.recordings_page)
    r.add_get("/supervisor/reports", reports_api.reports_page)
    r.add_get(openapi.PATH, openapi.serve)
    r.add_get("/api/wallboard", api.wallboard)
    r.add_get("/api/agents/{agent_id}", api.agent_state)
    r.add_post("/api/agents/{agent_id}/spy", supervise_api.spy)
    r.add_post("/api/agents/{agent_id}/state", api.set_agent_state)
    r.add_get("/api/waiting", api.waiting_calls)
    r.add_post("/api/agent/ready", api.agent_ready)
    r.add_post("/api/agent/pause", api.agent_pause)
    r.add_post("/api/agent/wrap-up", api.agent_wrap_up)
    r.add_post("/api/calls/{call_id}/disposition", api.save_disposition)
    r.add_post("/api/calls/{call_id}/recording/mute", recordings_api.mute_recording)
    r.add_post("/api/calls/{call_id}/recording/start", recordings_api.start_recording)
    r.add_post("/api/calls/{call_id}/ivr", recordings_api.send_to_ivr)
    r.add_post("/api/calls/{call_id}/transfer", transfer_api.transfer_call)
    r.add_post("/api/calls/{call_id}/transfer/complete", transfer_api.complete_transfer)
    r.add_post("/api/calls/{call_id}/transfer/cancel", transfer_api.cancel_transfer)
    r.add_post("/api/calls/{call_id}/callback", callback_api.schedule_callback)
    r.add_post("/api/calls/{call_id}/move", supervise_api.move_call)
    r.add_get("/api/recordings", recordings_api.search_recordings)
    r.add_get("/api/recordings/{recording_id}/audio", recordings_api.recording_audio)
    r.add_get("/api/recordings/{recording_id}/download", recordings_api.recording_download)
    r.add_get("/api/recordings/{recording_id}/audit", recordings_api.recording_audit)
    r.add_get("/api/voicemails", messages_api.list_voicemails)
    r.add_get("/api/voicemails/{voicemail_id}/audio", messages_api.voicemail_audio)
    r.add_get("/api/callbacks", messages_api.list_callbacks)
    r.add_get("/api/reports", reports_api.get_report)
    admin_api.add_routes(r)
    r.add_get("/ws/wallboard", sockets.wallboard_socket)
    r.add_get("/ws/agent", sockets.agent_socket)
    r.add_get("/metrics", api.metrics)
    r.add_get("/healthz", api.healthz)
    r.add_static("/static", STATIC)

    app.on_response_prepare.append(_security_headers)
    app.on_shutdown.append(sockets.close_sockets)
    return app


def create_metrics_app(metrics: Metrics, *, token: str = "") -> web.Application:
    """``/metrics`` alone, for a listener of its own (``web.metrics_port``): Prometheus
    scrapes an address the agents' browsers never reach. ``token`` as in
    :func:`create_app`."""
    app = web.Application(middlewares=[error_middleware], client_max_size=1024)
    app[METRICS] = metrics
    app[METRICS_TOKEN] = token
    app.router.add_get("/metrics", api.metrics)
    return app
