"""Bearer tokens for the REST API (``callcenter tokens add|revoke|list``).

A token acts as one login, with that login's role, until it is revoked or the login
is removed, and only within its scopes (:data:`SCOPES`, checked at the web edge by
``callcenter.web.auth.require_api``): a scope never widens the login's role. It is shown once, when made; SQL keeps only its SHA-256 (the token is 32
random bytes, so a fast hash is as safe as argon2 here, and costs nothing per
request). A running web app reads the live ones with the logins (``callcenter.app``),
so a revoked token stops working within that poll.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select

from callcenter.storage.errors import StorageError
from callcenter.storage.models import Agent, ApiToken
from callcenter.storage.store import REMOVED, Store

__all__ = [
    "DEFAULT_SCOPES", "PREFIX", "SCOPES", "LiveToken", "TokenRejected", "TokenRow", "Tokens",
    "parse_scopes", "token_hash",
]  # fmt: skip

#: every token starts with it, so a leaked one is easy to grep for
PREFIX = "hl_"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
#: what a token may be used for, each on top of its login's role
SCOPES: dict[str, str] = {
    "read": "every GET of the API (/api/...)",
    "calls": "the API's writes on the live call centre: a call's disposition, transfer, "
    "move, recording and IVR, an agent's state, listen/whisper/barge",
    "admin": "the API's writes under /api/admin/ (logins, tokens, the desk's lists)",
}
#: a token made without scopes may only read
DEFAULT_SCOPES: tuple[str, ...] = ("read",)


def parse_scopes(scopes: str | Iterable[str]) -> tuple[str, ...]:
    """Scopes as given (names, or one comma-separated string), checked: sorted, no
    duplicates; ``TokenRejected`` ``bad_scope`` naming the bad one."""
    items = scopes.split(",") if isinstance(scopes, str) else list(scopes)
    out: set[str] = set()
    for item in items:
        name = str(item).strip()
        if name not in SCOPES:
            raise TokenRejected(f"scope {name!r} is none of {', '.join(SCOPES)}", code="bad_scope")
        out.add(name)
    if not out:
        raise TokenRejected(f"give at least one scope of {', '.join(SCOPES)}", code="bad_scope")
    return tuple(sorted(out))


class TokenRejected(StorageError):
    """A token command that cannot be done: ``bad_name``, ``bad_scope``, ``duplicate_name``,
    ``unknown_login``, ``removed_login``, ``unknown_token``, ``already_revoked``."""

    code = "token_rejected"


def token_hash(token: str) -> str:
    """What SQL keeps of a token: its SHA-256, in hex."""
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class TokenRow:
    """A token as ``tokens list`` shows it (never the token itself)."""

    name: str
    username: str
    role: str
    created_at: dt.datetime
    revoked_at: dt.datetime | None
    scopes: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class LiveToken:
    """A token that works now, and the login it acts as."""

    token_hash: str
    account_id: str
    role: str
    display_name: str
    scopes: frozenset[str]


class Tokens:
    """The tokens in the store's database."""

    def __init__(self, store: Store) -> None:
        self.store = store

    async def add(self, name: str, username: str, now: dt.datetime,
                  scopes: str | Iterable[str] = DEFAULT_SCOPES) -> str:  # fmt: skip
        """Make a token named ``name`` acting as ``username`` within ``scopes`` (see
        :func:`parse_scopes`); returns the token."""
        if not _NAME.match(name):
            raise TokenRejected(f"{name!r}: letters, digits, _ . - (at most 64)", code="bad_name")
        granted = parse_scopes(scopes)
        token = PREFIX + secrets.token_urlsafe(32)
        async with self.store.write_session() as session:
            login = await session.scalar(select(Agent).where(Agent.username == username))
            if login is None:
                raise TokenRejected(f"no login {username!r}", code="unknown_login")
            if login.password_hash == REMOVED:
                raise TokenRejected(f"login {username!r} is removed", code="removed_login")
            if await session.scalar(select(ApiToken.id).where(ApiToken.name == name)):
                raise TokenRejected(f"a token named {name!r} exists", code="duplicate_name")
            session.add(ApiToken(name=name, agent_id=login.id, token_hash=token_hash(token),
                                 created_at=now, scopes=" ".join(granted)))  # fmt: skip
        return token

    async def revoke(self, name: str, now: dt.datetime) -> None:
        """The token named ``name`` stops working (its row stays, with the time)."""
        async with self.store.write_session() as session:
            row = await session.scalar(select(ApiToken).where(ApiToken.name == name))
            if row is None:
                raise TokenRejected(f"no token named {name!r}", code="unknown_token")
            if row.revoked_at is not None:
                when = f"{row.revoked_at:%Y-%m-%d %H:%M:%S}"
                raise TokenRejected(f"token {name!r} was revoked at {when} UTC",
                                    code="already_revoked")  # fmt: skip
            row.revoked_at = now

    async def rows(self) -> list[TokenRow]:
        """Every token, revoked ones too, by name."""
        query = (select(ApiToken, Agent).join(Agent, Agent.id == ApiToken.agent_id)
                 .order_by(ApiToken.name))  # fmt: skip
        async with self.store.sessions() as session:
            return [TokenRow(t.name, a.username, a.role, t.created_at, t.revoked_at,
                             tuple(t.scopes.split()))
                    for t, a in await session.execute(query)]  # fmt: skip

    async def live(self) -> list[LiveToken]:
        """The tokens that work: not revoked, their login not removed."""
        query = (select(ApiToken.token_hash, ApiToken.scopes, Agent)
                 .join(Agent, Agent.id == ApiToken.agent_id)
                 .where(ApiToken.revoked_at.is_(None), Agent.password_hash != REMOVED))  # fmt: skip
        async with self.store.sessions() as session:
            return [LiveToken(h, str(a.id), a.role, a.display_name, frozenset(sc.split()))
                    for h, sc, a in await session.execute(query)]  # fmt: skip
