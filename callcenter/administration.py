"""Administration without a restart: the admin page's and ``/api/admin/...``'s writes.

Where the data lives, and why: the logins (agents, supervisors, admins), each
agent's queues, skills and penalties, and the API tokens were already in SQL,
written by ``callcenter users|agents|tokens`` and read by the running controller
every ``accounts_poll_s`` (``callcenter.app``). The desk's lists (disposition codes,
pause reasons) join them there (migration 0013): they are edited while agents work,
by a web page, possibly on one of several controllers, and a YAML file rewritten by a
web handler would lose its comments and race the operator's editor. The config file
keeps what an operator versions (nodes, queues, timings, the IVR); its
``dispositions`` only fill an empty list at the first start.

Each write goes to SQL through the store the CLI uses (its checks, its refusals),
then is applied at once through the same path as the poll: ``sync`` reads the logins
again (a changed role reaches the login's open sessions and tokens: the next request
is judged by it; an agent made supervisor or admin leaves the ACD as a removed one
does, logged out first), takes the live tokens and hands the agents' routing data to the ACD
(``callcenter.app._apply_agents``, the live reload of :mod:`callcenter.reload`), and
the offered lists are read again into the dicts the web edge serves from. Refusals
are domain errors whose ``reason`` starts with the field at fault.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from callcenter.config import HotlineConfig
from callcenter.storage import Store
from callcenter.storage.desk_lists import DeskLists, ListKind, ListRejected
from callcenter.storage.errors import AgentRejected
from callcenter.storage.models import Agent
from callcenter.storage.store import REMOVED
from callcenter.storage.tokens import TokenRejected, Tokens, parse_scopes

__all__ = ["AdminRefused", "Administration"]

#: the store's refusal code -> (the field at fault, this module's code)
_AGENT_FIELDS: dict[str, tuple[str, str]] = {
    "bad_username": ("username", "invalid_field"),
    "bad_role": ("role", "invalid_field"),
    "empty_password": ("password", "invalid_field"),
    "bad_device": ("device", "invalid_field"),
    "empty_name": ("name", "invalid_field"),
    "duplicate_username": ("username", "duplicate"),
    "unknown_agent": ("username", "unknown_login"),
    "last_admin": ("role", "last_admin"),
}
_TOKEN_FIELDS: dict[str, tuple[str, str]] = {
    "bad_name": ("name", "invalid_field"),
    "bad_scope": ("scopes", "invalid_field"),
    "duplicate_name": ("name", "duplicate"),
    "unknown_login": ("user", "invalid_field"),
    "removed_login": ("user", "invalid_field"),
    "unknown_token": ("name", "unknown_token"),
    "already_revoked": ("name", "already_revoked"),
}
_LIST_FIELDS: dict[str, tuple[str, str]] = {
    "bad_code": ("code", "invalid_field"),
    "bad_label": ("label", "invalid_field"),
    "unknown_entry": ("code", "unknown_entry"),
    "last_entry": ("code", "last_entry"),
}


class AdminRefused(Exception):
    """An admin write refused, nothing written. ``code`` is the web edge's (a 400
    ``invalid_field``, 404 ``unknown_login`` ...); ``reason`` starts with the field."""

    def __init__(self, code: str, field: str, text: str) -> None:
        self.code = code
        self.field = field
        self.reason = f"{field}: {text}"
        super().__init__(self.reason)


def _refused(exc: AgentRejected | TokenRejected | ListRejected,
             fields: Mapping[str, tuple[str, str]]) -> AdminRefused:  # fmt: skip
    field, code = fields.get(exc.code, ("body", "invalid_field"))
    return AdminRefused(code, field, exc.detail or exc.code)


def login_row(a: Agent) -> dict[str, Any]:
    """A login as the admin API shows it (never its password hash)."""
    return {
        "id": str(a.id), "username": a.username, "name": a.display_name, "role": a.role,
        "device": a.device, "queues": list(a.queues or ()), "skills": dict(a.skills or {}),
        "penalties": dict(a.penalties or {}),
    }  # fmt: skip


class Administration:
    """The admin's writes to ``store``, applied live by ``sync`` (see the module)."""

    def __init__(
        self,
        store: Store,
        config: Callable[[], HotlineConfig],
        sync: Callable[[], Awaitable[None]],
        *,
        dispositions: dict[str, str],
        pause_reasons: dict[str, str],
        clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        self.store = store
        self.tokens = Tokens(store)
        self.lists = DeskLists(store)
        self._config = config
        self._sync = sync
        self._clock = clock
        #: the web edge's own dicts (``DISPOSITION_CODES``, ``PAUSE_REASONS``): kept
        #: up to date in place by :meth:`read_lists`
        self.offered: dict[ListKind, dict[str, str]] = {
            "dispositions": dispositions, "pause_reasons": pause_reasons,
        }  # fmt: skip

    def queue_names(self) -> list[str]:
        return [q.name for q in self._config().queues]

    # -- the lists ----------------------------------------------------------------

    async def read_lists(self) -> None:
        """Read both lists from SQL into the web edge's dicts and the store's check."""
        for kind, live in self.offered.items():
            now = await self.lists.offered(kind)
            if now != live:
                live.clear()
                live.update(now)
        self.store.disposition_codes = frozenset(self.offered["dispositions"])

    async def put_entry(self, kind: ListKind, code: str, label: str) -> bool:
        try:
            created = await self.lists.put(kind, code, label)
        except ListRejected as exc:
            raise _refused(exc, _LIST_FIELDS) from None
        await self.read_lists()
        return created

    async def retire_entry(self, kind: ListKind, code: str) -> None:
        try:
            await self.lists.retire(kind, code)
        except ListRejected as exc:
            raise _refused(exc, _LIST_FIELDS) from None
        await self.read_lists()

    # -- logins -----------------------------------------------------------------------

    async def list_logins(self) -> list[dict[str, Any]]:
        return [login_row(a) for a in await self.store.list_agents()]

    def _queues(self, queues: Sequence[str] | None) -> list[str] | None:
        if queues is None:
            return None
        known = self.queue_names()
        unknown = [q for q in queues if q not in known]
        if unknown:
            raise AdminRefused("invalid_field", "queues",
                               f"no queue {', '.join(map(repr, unknown))} in the config "
                               f"(queues: {', '.join(known)})")  # fmt: skip
        return list(dict.fromkeys(queues))

    async def add_login(self, fields: Mapping[str, Any]) -> dict[str, Any]:
        queues = self._queues(fields.get("queues")) or []
        try:
            agent = await self.store.create_agent(
                fields["username"], fields["password"], fields["role"],
                display_name=fields.get("name"), device=fields.get("device"), queues=queues,
                skills=fields.get("skills"), penalties=fields.get("penalties"),
            )  # fmt: skip
        except AgentRejected as exc:
            raise self._routing_refused(exc) from None
        await self._sync()
        return login_row(agent)

    def _routing_refused(self, exc: AgentRejected) -> AdminRefused:
        if exc.code == "bad_routing":  # "'name': penalties ..." or "... skills ..."
            field = next((f for f in ("penalties", "skills", "weights") if f in exc.detail),
                         "skills")  # fmt: skip
            return AdminRefused("invalid_field", field, exc.detail)
        return _refused(exc, _AGENT_FIELDS)

    async def change_login(self, username: str, fields: Mapping[str, Any]) -> dict[str, Any]:
        agent = await self.store.get_login(username)
        if agent is None or agent.password_hash == REMOVED:
            raise AdminRefused("unknown_login", "username", f"no login {username!r}")
        queues = self._queues(fields.get("queues"))
        role = fields.get("role")
        if role is not None and role != agent.role:
            await self._keep_an_admin(agent, role)
        try:
            if "name" in fields or "device" in fields:
                await self.store.set_agent_profile(
                    username, display_name=fields.get("name"),
                    device="" if "device" in fields and fields["device"] is None
                    else fields.get("device"),
                )  # fmt: skip
            if queues is not None or "skills" in fields or "penalties" in fields:
                await self.store.set_agent_routing(
                    agent.id, queues=queues, skills=fields.get("skills"),
                    penalties=fields.get("penalties"),
                )  # fmt: skip
            if fields.get("password"):
                await self.store.set_password(username, fields["password"])
            if role is not None and role != agent.role:  # last: its refusal writes nothing
                await self.store.set_role(username, role)
        except AgentRejected as exc:
            raise self._routing_refused(exc) from None
        await self._sync()
        changed = await self.store.get_login(username)
        assert changed is not None
        return login_row(changed)

    async def _keep_an_admin(self, agent: Agent, role: str) -> None:
        """Refuse (409 ``last_admin``) before anything is written when ``agent`` is the
        only admin left and would become ``role``; ``Store.set_role`` checks it again
        under lock."""
        if agent.role != "admin" or role == "admin":
            return
        if {a.id for a in await self.store.list_agents() if a.role == "admin"} <= {agent.id}:
            raise AdminRefused("last_admin", "role", f"{agent.username!r} is the only admin "
                               "left: make another login admin first")  # fmt: skip

    async def remove_login(self, username: str, by_account: str) -> None:
        agent = await self.store.get_login(username)
        if agent is None or agent.password_hash == REMOVED:
            raise AdminRefused("unknown_login", "username", f"no login {username!r}")
        if str(agent.id) == by_account:
            raise AdminRefused("invalid_field", "username", "you cannot remove your own login")
        await self.store.remove_login(username)
        await self._sync()

    # -- API tokens ----------------------------------------------------------------------

    async def list_tokens(self) -> list[dict[str, Any]]:
        return [{"name": r.name, "user": r.username, "role": r.role,
                 "created_at": r.created_at.isoformat(),
                 "revoked_at": r.revoked_at.isoformat() if r.revoked_at else None,
                 "scopes": list(r.scopes)}
                for r in await self.tokens.rows()]  # fmt: skip

    async def add_token(self, name: str, user: str,
                        scopes: Sequence[str]) -> tuple[str, tuple[str, ...]]:  # fmt: skip
        """Make the token; returns it and its scopes as kept."""
        try:
            granted = parse_scopes(scopes)
            token = await self.tokens.add(name, user, self._clock(), granted)
        except TokenRejected as exc:
            raise _refused(exc, _TOKEN_FIELDS) from None
        await self._sync()
        return token, granted

    async def revoke_token(self, name: str) -> None:
        try:
            await self.tokens.revoke(name, self._clock())
        except TokenRejected as exc:
            raise _refused(exc, _TOKEN_FIELDS) from None
        await self._sync()
