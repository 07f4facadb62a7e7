"""Every ``web.AppKey`` of the Hotline web application, in one place."""

from __future__ import annotations

import weakref
from collections.abc import Callable, Mapping

from aiohttp import web

from callcenter.live import LiveHub
from callcenter.metrics import Metrics
from callcenter.web.admin_port import Admin
from callcenter.web.messages_port import Messages
from callcenter.web.ports import Accounts, Desk, Dispositions, Phones
from callcenter.web.recordings_port import Library
from callcenter.web.reports_port import Reports
from callcenter.web.session import SessionSigner
from callcenter.web.throttle import LoginThrottle

DESK = web.AppKey("desk", Desk)
ACCOUNTS = web.AppKey("accounts", Accounts)
DISPOSITIONS = web.AppKey("dispositions", Dispositions)
#: The logins' phones (a supervisor's, to spy from); unset: the spy route answers 503.
PHONES = web.AppKey("phones", Phones)
HUB = web.AppKey("hub", LiveHub)
METRICS = web.AppKey("metrics", Metrics)
SESSIONS = web.AppKey("sessions", SessionSigner)
#: The recordings (search, files, audit); unset: the recording routes answer 503.
RECORDINGS = web.AppKey("recordings", Library)
#: The reports (``callcenter report`` over SQL); unset: ``/api/reports`` answers 503.
REPORTS = web.AppKey("reports", Reports)
#: Voicemails and callback requests; unset: their routes answer 503.
MESSAGES = web.AppKey("messages", Messages)
#: Origins allowed besides the request's own, for WebSockets and state-changing requests.
ALLOWED_ORIGINS: web.AppKey[frozenset[str]] = web.AppKey("allowed_origins")
#: The disposition codes agents may pick, in display order: code -> label (kept up to
#: date in place by the administration: an admin's change is offered at once).
DISPOSITION_CODES: web.AppKey[dict[str, str]] = web.AppKey("disposition_codes")
#: The disposition codes that mean first-contact resolution unless the agent says
#: otherwise (the config's ``fcr_dispositions``, read at each save: a reload counts).
FCR_CODES: web.AppKey[Callable[[], frozenset[str]]] = web.AppKey("fcr_codes")
#: The pause reasons agents may pick, in display order: code -> label (as above).
PAUSE_REASONS: web.AppKey[dict[str, str]] = web.AppKey("pause_reasons")
#: The admin's writes (logins, tokens, the desk's lists); unset: the admin routes
#: answer 503.
ADMIN = web.AppKey("admin", Admin)
#: The open WebSockets, closed with GOING_AWAY on shutdown.
SOCKETS: web.AppKey[weakref.WeakSet[web.WebSocketResponse]] = web.AppKey("sockets")
#: The wall clock (epoch seconds); injected by tests.
CLOCK: web.AppKey[Callable[[], float]] = web.AppKey("clock")
#: Failed logins per account and per address (429 once used up).
THROTTLE = web.AppKey("login_throttle", LoginThrottle)
#: Mark the session cookie ``Secure`` even on plain HTTP (behind a TLS proxy).
SECURE_COOKIES: web.AppKey[bool] = web.AppKey("secure_cookies")
#: ``/metrics`` on this app: ``None`` not served here (404: another listener serves
#: it), ``""`` open to all, else the bearer token it needs.
METRICS_TOKEN: web.AppKey[str | None] = web.AppKey("metrics_token")
#: the desk's words per language (``callcenter.web.words``)
WORDS: web.AppKey[dict[str, Mapping[str, str]]] = web.AppKey("words")
#: the hotline's time zone (IANA name): the desk's times unless the agent picks another
TIME_ZONE: web.AppKey[str] = web.AppKey("time_zone")
#: how far ahead a callback may be scheduled from the desk (``web.callback_max_days``)
CALLBACK_MAX_DAYS: web.AppKey[int] = web.AppKey("callback_max_days")
