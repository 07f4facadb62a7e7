"""Server-side sessions behind signed cookies: who is logged in, with which role, until when.

The cookie is ``v1.<payload>.<signature>``: ``payload`` is the base64url of a
small JSON object (session id, account id, role, display name, expiry) and
``signature`` the base64url HMAC-SHA256 of ``v1.<payload>`` under the app's
secret key. The signature lets a forged cookie be refused before any lookup;
what makes a session valid is its entry in the server's table (``_live``):
logging out ends the entry (the cookie is dead even if kept), removing a
login ends all of its entries, and changing a login's role gives its entries the new
role (the cookie's own copy of the role is never read). The table lives in the controller's memory, so
a restart of the controller ends every session (everyone logs in again).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace

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
    #: an API token's scopes (``callcenter.storage.tokens.SCOPES``); ``None`` for a
    #: login's cookie session, bound by its role alone
    scopes: frozenset[str] | None = None

    @property
    def is_supervisor(self) -> bool:
        """Supervisors and admins watch the wallboard and every agent."""
        return self.role in ("supervisor", "admin")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class SessionSigner:
    """Issues, checks and ends sessions; their cookies are signed under one secret key."""

    def __init__(self, secret_key: bytes, ttl_s: int = DEFAULT_TTL_S) -> None:
        if len(secret_key) < 32:
            raise ValueError("secret_key must be at least 32 random bytes")
        self._key = secret_key
        self.ttl_s = ttl_s
        #: the live sessions: session id -> the session
        self._live: dict[str, Session] = {}
        #: counts the times live sessions were ended or changed (logout, removal, a
        #: new role): an open WebSocket checks its session again only when it moved
        self.changes = 0
        self._revoked: frozenset[str] = frozenset()
        #: the live API bearer tokens: SHA-256 hex -> the session each stands for
        #: (``callcenter tokens``), kept up to date from SQL by the composition root
        self.tokens: Mapping[str, Session] = {}

    @property
    def revoked(self) -> frozenset[str]:
        """Account ids whose sessions and tokens no longer count (removed logins): kept
        up to date from SQL by the composition root (``callcenter.app``); setting it
        ends every session of these accounts."""
        return self._revoked

    @revoked.setter
    def revoked(self, account_ids: Iterable[str]) -> None:
        self._revoked = frozenset(account_ids)
        self.end_accounts(self._revoked)

    def end_accounts(self, account_ids: Iterable[str]) -> int:
        """End every session of these accounts; how many were live."""
        gone = set(account_ids)
        ended = [sid for sid, s in self._live.items() if s.account_id in gone]
        for sid in ended:
            del self._live[sid]
        self.changes += bool(ended)
        return len(ended)

    def take_roles(self, roles: Mapping[str, str]) -> int:
        """Give each live session of an account in ``roles`` (account id -> its role
        in SQL now) that role: a login whose role was changed (the admin API,
        ``callcenter users role``) is judged by the new one from its next request, so
        a demoted login keeps no privilege. Kept up to date by the composition root
        (``callcenter.app``); how many sessions changed."""
        changed = {sid: replace(s, role=roles[s.account_id]) for sid, s in self._live.items()
                   if s.account_id in roles and roles[s.account_id] != s.role}  # fmt: skip
        self._live.update(changed)
        self.changes += bool(changed)
        return len(changed)

    def end(self, value: str | None) -> bool:
        """End the session of a cookie value (logout); False: it was not live."""
        payload = self._payload(value)
        sid = payload.get("sid") if payload is not None else None
        ended = isinstance(sid, str) and self._live.pop(sid, None) is not None
        self.changes += ended
        return ended

    @property
    def live_count(self) -> int:
        """How many sessions are live (expired ones are dropped at the next login)."""
        return len(self._live)

    def _prune(self, now: float) -> None:
        for sid in [sid for sid, s in self._live.items() if s.expires_at <= now]:
            del self._live[sid]

    def _sign(self, message: str) -> str:
        return _b64(hmac.new(self._key, message.encode("ascii"), hashlib.sha256).digest())

    def issue(self, account_id: str, role: str, name: str, now: float) -> str:
        """Open a session for the account, valid ``ttl_s`` seconds from ``now`` or until
        it is ended; the cookie value that carries it."""
        if role not in ROLES:
            raise ValueError(f"unknown role {role!r}")
        self._prune(now)
        sid = secrets.token_urlsafe(24)
        exp = int(now) + self.ttl_s
        self._live[sid] = Session(account_id=account_id, role=role, name=name, expires_at=exp)
        payload = {"sid": sid, "sub": account_id, "role": role, "name": name, "exp": exp}
        body = _b64(json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode())
        signed = f"{_VERSION}.{body}"
        return f"{signed}.{self._sign(signed)}"

    def check(self, value: str | None, now: float) -> Session | None:
        """The live session of ``value``, or ``None`` if it is missing, forged, expired
        or ended (logged out, its login removed)."""
        payload = self._payload(value)
        if payload is None:
            return None
        session = self._live.get(str(payload["sid"]))
        if session is None or session.account_id != payload.get("sub"):
            return None
        if session.expires_at <= now or session.account_id in self._revoked:
            return None
        return session

    def _payload(self, value: str | None) -> dict[str, object] | None:
        """The signed payload of a cookie value, or ``None`` if it is malformed or forged."""
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
        if not isinstance(payload, dict) or not isinstance(payload.get("sid"), str):
            return None
        return payload

    def check_token(self, authorization: str | None) -> Session | None:
        """The session of an ``Authorization: Bearer <token>`` header, or ``None``."""
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not token or len(token) > 256 or not token.isascii():
            return None
        session = self.tokens.get(hashlib.sha256(token.strip().encode()).hexdigest())
        if session is None or session.account_id in self._revoked:
            return None
        return session
