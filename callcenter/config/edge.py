"""The config file's sections for what the controller talks to besides Asterisk:
the CRM lookup (``crm``) and the web edge (``web``)."""

from __future__ import annotations

import re
import string
from collections.abc import Callable
from typing import Annotated, Literal, Self
from urllib.parse import urlsplit

import limits
from pydantic import (
    AfterValidator,
    Field,
    PrivateAttr,
    ValidationInfo,
    model_validator,
)

from crm_bridge.mapping import CARD_FIELDS, REQUIRED_FIELDS, parse_path
from yamlconf import matching, problem

from .fields import EnvName, Port, Region, Seconds, _environ, _Strict

#: a web session key shorter than this is refused
MIN_SECRET_KEY_BYTES = 32

_ORIGIN = re.compile(r"https?://[^/\s?#]+")
_HTTP_URL = re.compile(r"https?://[^/\s?#]+")


def _url_template(*names: str) -> Callable[[str], str]:
    """An AfterValidator: an http(s) URL whose ``{placeholders}`` are among ``names``."""

    def check(value: str) -> str:
        if not _HTTP_URL.match(value):
            raise problem(f"{value!r} is not an http:// or https:// URL")
        try:
            fields = {f for _, f, _, _ in string.Formatter().parse(value) if f is not None}
        except ValueError as exc:
            raise problem(f"{value!r}: {exc} (write a literal brace as {{{{ or }}}})") from None
        unknown = sorted(fields - set(names))
        if unknown:
            known = ", ".join("{" + n + "}" for n in names)
            raise problem(f"unknown placeholder {{{unknown[0]}}}; this URL may use {known}")
        return value

    return check


def _json_path(value: str) -> str:
    try:
        parse_path(value)
    except ValueError as exc:
        raise problem(str(exc)) from None
    return value


def _card_fields(value: dict[str, str]) -> dict[str, str]:
    for name in value:
        if name not in CARD_FIELDS:
            raise problem(f"unknown card field {name!r}; one of {', '.join(CARD_FIELDS)}", at=name)
    missing = [f for f in REQUIRED_FIELDS if f not in value]
    if missing:
        raise problem(f"map {' and '.join(missing)} (a card needs them)")
    return value


class HttpCrmSettings(_Strict):
    """An HTTP CRM (``crm.backend: http``): URL templates, auth header, field mapping."""

    #: GET for a caller's number; ``{number}`` is its E.164 form, URL-quoted
    by_number_url: Annotated[str, AfterValidator(_url_template("number"))]
    #: GET for an account a caller entered (IVR ``lookup`` nodes); ``{account}``
    by_account_url: Annotated[str, AfterValidator(_url_template("account"))] | None = None
    #: a header sent with every request (e.g. Authorization) and the environment
    #: variable holding its value (e.g. "Bearer ...")
    auth_header: str | None = Field(None, pattern=r"^[A-Za-z0-9-]+$")
    auth_env: EnvName | None = None
    #: card field -> path in the JSON answer (data.customer.name, items[0].tier)
    fields: Annotated[
        dict[str, Annotated[str, AfterValidator(_json_path)]], AfterValidator(_card_fields)
    ]
    #: statuses that mean "no such customer" (any other non-2xx is a failure)
    not_found_statuses: list[Annotated[int, Field(ge=100, le=599, strict=True)]] = [404]
    #: a longer answer is a failure (bad_answer)
    max_body_bytes: int = Field(1 << 20, ge=1024, strict=True)

    _auth_value: str | None = PrivateAttr(None)

    @model_validator(mode="after")
    def _read_auth(self, info: ValidationInfo) -> Self:
        if (self.auth_header is None) != (self.auth_env is None):
            raise problem("give auth_header and auth_env together", at="auth_header")
        if self.auth_env is not None:
            value = _environ(info).get(self.auth_env)
            if not value:
                raise problem(f"environment variable {self.auth_env} is not set", at="auth_env")
            self._auth_value = value
        return self

    @property
    def headers(self) -> dict[str, str]:
        """The auth header with its value read from the environment at load time."""
        if self.auth_header is None or self._auth_value is None:
            return {}
        return {self.auth_header: self._auth_value}


class WebhookSettings(_Strict):
    """A POST of the card and the call id for every screen-pop (fire and forget)."""

    url: Annotated[str, AfterValidator(_url_template())]
    #: the POST is given up after this long (it never delays the call or the pop)
    timeout_s: Seconds = 2.0


def _rate(value: str) -> str:
    """A rate in the ``limits`` library's words: ``5/minute``, ``30 per 15 minutes``."""
    try:
        limits.parse(value)
    except ValueError:
        raise problem(f"{value!r} is not a rate (e.g. 5/minute, 30 per 15 minutes)") from None
    return value


Rate = Annotated[str, AfterValidator(_rate)]


class CrmSettings(_Strict):
    """The caller lookup."""

    #: ``sql``: the built-in CRM in Hotline's database; ``http``: the ``http`` section
    backend: Literal["sql", "http"] = "sql"
    #: how numbers without a country code are read (phonenumbers region, ISO 3166)
    region: Region = "VN"
    #: a lookup's time budget, retries included; a slower CRM routes the call without a card
    lookup_timeout_s: Seconds = 1.5
    #: attempts after a failed one, while the budget lasts
    retries: int = Field(1, ge=0, le=5, strict=True)
    #: how long a card (and "no such customer") is kept in memory
    cache_ttl_s: Seconds = 300.0
    not_found_ttl_s: Seconds = 30.0
    #: the breaker opens after this many failed requests in a row ...
    breaker_failures: int = Field(5, ge=1, strict=True)
    #: ... and lets one probe through after this long; its success closes it
    breaker_reset_s: Seconds = 30.0
    #: the card's "open in CRM" link: {customer_id}, {external_id}, {account_no}, {number}
    link_template: (
        Annotated[
            str,
            AfterValidator(_url_template("customer_id", "external_id", "account_no", "number")),
        ]
        | None
    ) = None
    http: HttpCrmSettings | None = None
    webhook: WebhookSettings | None = None

    @model_validator(mode="after")
    def _http_given(self) -> Self:
        if self.backend == "http" and self.http is None:
            raise problem("backend http needs the http section (URLs, fields)", at="backend")
        return self


def _redis_url(value: str) -> str:
    """A URL redis-py takes: ``redis://``, ``rediss://`` (TLS) with a host, or
    ``unix://`` with a socket path."""
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises on a port that is no number
    except ValueError as exc:
        raise problem(f"{value!r} is not a URL: {exc}") from None
    if parts.scheme in ("redis", "rediss") and parts.hostname:
        return value
    if parts.scheme == "unix" and parts.path:
        return value
    raise problem(f"{value!r}: expected redis://host[:port][/db], rediss://... or unix:///path")


class WebSettings(_Strict):
    """The aiohttp edge: agent desktop, wallboard, API."""

    host: str = Field("127.0.0.1", min_length=1)
    port: Port = 8080
    #: environment variable holding the session-signing key (>= 32 bytes);
    #: unset: a random key per start (sessions live in memory: a restart ends them anyway)
    secret_key_env: EnvName | None = "HOTLINE_SECRET_KEY"
    #: origins besides the page's own allowed to POST and open WebSockets
    allowed_origins: list[Annotated[str, AfterValidator(matching(_ORIGIN, "origin"))]] = []
    #: mark the session cookie Secure even on plain HTTP: true behind a TLS proxy
    secure_cookies: bool = Field(False, strict=True)
    #: failed logins allowed per account, then 429 until the window has room
    login_failures_per_account: Rate = "5/minute"
    #: failed logins allowed per client address (the proxy's, behind one)
    login_failures_per_address: Rate = "30/minute"
    #: environment variable holding the bearer token /metrics needs; unset: open
    metrics_token_env: EnvName | None = None
    #: serve /metrics only on this port (of ``metrics_host``), not on ``port``
    metrics_port: Port | None = None
    metrics_host: str = Field("127.0.0.1", min_length=1)
    #: the Redis every web node shares for live events (``callcenter.fanout``); None: none
    fanout_url: Annotated[str, AfterValidator(_redis_url)] | None = None
    #: the pub/sub channel of this hotline on that Redis
    fanout_channel: str = Field("hotline:live", min_length=1, max_length=200)
    #: how far ahead an agent may schedule a callback from the desk, in days
    callback_max_days: int = Field(30, ge=1, le=366, strict=True)

    _secret_key: bytes | None = PrivateAttr(None)
    _metrics_token: str = PrivateAttr("")

    @model_validator(mode="after")
    def _read_metrics_token(self, info: ValidationInfo) -> Self:
        if self.metrics_token_env is None:
            return self
        value = _environ(info).get(self.metrics_token_env, "")
        if len(value) < 16:
            raise problem(
                f"{self.metrics_token_env} holds {len(value)} characters;"
                " the /metrics token needs at least 16",
                at="metrics_token_env",
            )
        self._metrics_token = value
        return self

    @property
    def metrics_token(self) -> str:
        """The token /metrics needs (read at load time); "" when it is open."""
        return self._metrics_token

    @model_validator(mode="after")
    def _read_key(self, info: ValidationInfo) -> Self:
        if self.secret_key_env is None:
            return self
        value = _environ(info).get(self.secret_key_env)
        if value:
            key = value.encode()
            if len(key) < MIN_SECRET_KEY_BYTES:
                raise problem(
                    f"{self.secret_key_env} holds {len(key)} bytes;"
                    f" a session key needs at least {MIN_SECRET_KEY_BYTES}",
                    at="secret_key_env",
                )
            self._secret_key = key
        return self

    @property
    def secret_key(self) -> bytes | None:
        """The key read from the environment at load time; None: generate one per start."""
        return self._secret_key


class WallboardSettings(_Strict):
    """The wallboard's colours: when a figure turns amber or red (the targets and
    limits themselves are each queue's: ``sl_target_pct``, ``longest_wait_limit_s``)."""

    #: service level amber from the target down to this many points below it, red under
    sl_amber_band_pct: float = Field(10.0, ge=0, le=100, strict=True)
    #: the longest wait turns amber at this % of the queue's limit (red at the limit)
    longest_wait_amber_pct: float = Field(50.0, gt=0, lt=100, strict=True)
    #: abandon rate (% of offered) amber from here on
    abandon_amber_pct: float = Field(5.0, ge=0, le=100, strict=True)
    #: abandon rate red from here on (above abandon_amber_pct)
    abandon_red_pct: float = Field(10.0, ge=0, le=100, strict=True)

    @model_validator(mode="after")
    def _red_above_amber(self) -> Self:
        if self.abandon_red_pct <= self.abandon_amber_pct:
            raise problem(
                f"abandon_red_pct ({self.abandon_red_pct:g}) must be above "
                f"abandon_amber_pct ({self.abandon_amber_pct:g})",
                at="abandon_red_pct",
            )
        return self


class LeaderSettings(_Strict):
    """Leader election between controllers sharing one PostgreSQL database
    (:mod:`callcenter.leader`); a SQLite database has one controller, always leader."""

    #: true: this controller is one of several on one PostgreSQL database (election on)
    enabled: bool = Field(False, strict=True)
    #: the PostgreSQL advisory lock every controller of one hotline tries to take
    lock_key: int = Field(0x486F746C, ge=-(2**63), le=2**63 - 1, strict=True)
    #: how often the leader proves it still holds its lock and its term
    heartbeat_s: float = Field(1.0, gt=0, strict=True)
    #: the leader's lease: PostgreSQL ends its lock's session after this long without
    #: a heartbeat (idle_session_timeout), freeing the lock; the leader stops acting
    #: one heartbeat before it ends. At least three heartbeats.
    lease_s: float = Field(5.0, gt=0, strict=True)
    #: how often a standby tries to take the lock
    retry_s: float = Field(0.5, gt=0, strict=True)

    @model_validator(mode="after")
    def _lease_covers_heartbeats(self) -> Self:
        if self.lease_s < 3 * self.heartbeat_s:
            raise problem(
                f"lease_s ({self.lease_s:g}) must be at least three heartbeats "
                f"(3 x heartbeat_s = {3 * self.heartbeat_s:g})",
                at="lease_s",
            )
        return self
