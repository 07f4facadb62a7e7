"""Signed session cookies: who is logged in, with which role, until when.

The cookie is ``v1.<payload>.<signature>``: ``payload`` is the base64url of a
small JSON object (account id, role, display name, expiry) and ``signature``
the base64url HMAC-SHA256 of ``v1.<payload>`` under the app's secret key. No
server-side session table: a cookie is valid while its signature checks and
its expiry is in the future. Logging out deletes the cookie.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass

COOKIE_NAME = "hotline_session"
DEFAULT_TTL_S = 10 * 3600  # one long shift
_VERSION = "v1"
ROLES = frozenset({"agent", "supervisor", "admin"})


@dataclass(frozen=True, slots=True)
class Session:
    """The logged-in account, as carried by the cookie (or an API token's login)."""

    account_id: str
    role: str
    name: str
    #: epoch seconds; 0 for an API token's session (it lasts until revoked)
    expires_at: int

    @property
    def is_supervisor(self) -> bool:
        """Supervisors and admins watch the wallboard and every agent."""
        return self.role in ("supervisor", "admin")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class SessionSigner:
    """Issues and checks session cookies under one secret key."""

    def __init__(self, secret_key: bytes, ttl_s: int = DEFAULT_TTL_S) -> None:
        if len(secret_key) < 32:
            raise ValueError("secret_key must be at least 32 random bytes")
        self._key = secret_key
        self.ttl_s = ttl_s
        #: account ids whose sessions no longer count (removed logins): kept up to date
        #: from SQL by the composition root (``callcenter.app``)
        self.revoked: frozenset[str] = frozenset()
        #: the live API bearer tokens: SHA-256 hex -> the session each stands for
        #: (``callcenter tokens``), kept up to date from SQL by the composition root
        self.tokens: Mapping[str, Session] = {}

    def _sign(self, message: str) -> str:
        return _b64(hmac.new(self._key, message.encode("ascii"), hashlib.sha256).digest())

    def issue(self, account_id: str, role: str, name: str, now: float) -> str:
        """A cookie value for the account, valid ``ttl_s`` seconds from ``now``."""
        if role not in ROLES:
            raise ValueError(f"unknown role {role!r}")
        payload = {"sub": account_id, "role": role, "name": name, "exp": int(now) + self.ttl_s}
        body = _b64(json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode())
        signed = f"{_VERSION}.{body}"
        return f"{signed}.{self._sign(signed)}"

    def check(self, value: str | None, now: float) -> Session | None:
        """The session in ``value``, or ``None`` if it is missing, forged or expired."""
        if not value or len(value) > 4096:
            return None
        parts = value.split(".")
        if len(parts) != 3 or parts[0] != _VERSION:
            return None
        if not value.isascii():
            return None
        if not hmac.compare_digest(self._sign(f"{parts[0]}.{parts[1]}"), parts[2]):
            return None
        try:
            payload = json.loads(_unb64(parts[1]))
        except (binascii.Error, ValueError):
            return None
        if not isinstance(payload, dict):
            return None
        sub, role, name, exp = (payload.get(k) for k in ("sub", "role", "name", "exp"))
        if not (isinstance(sub, str) and isinstance(role, str) and isinstance(name, str)):
            return None
        if not isinstance(exp, int) or exp <= now or role not in ROLES:
            return None
        if sub in self.revoked:
            return None
        return Session(account_id=sub, role=role, name=name, expires_at=exp)

    def check_token(self, authorization: str | None) -> Session | None:
        """The session of an ``Authorization: Bearer <token>`` header, or ``None``."""
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not token or len(token) > 256 or not token.isascii():
            return None
        session = self.tokens.get(hashlib.sha256(token.strip().encode()).hexdigest())
        if session is None or session.account_id in self.revoked:
            return None
        return session
