"""The repository the shell calls: direct, awaited reads and writes.

Every public method runs in its own transaction. High-rate writes (call
events, agent states) should go through ``StoreWriter.submit`` instead; it
applies the same :mod:`~callcenter.storage.writes` requests in batches.

Outcome idempotency: :meth:`Store.record_outcome` raises
:class:`DuplicateOutcome` for a call that already has one: the outcome is
inserted with ``ON CONFLICT DO NOTHING`` on ``uq_queue_outcomes_call_id``, so
concurrent writers cannot both win.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any

from argon2 import PasswordHasher
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

import acd
from acd.kpis import SurveyFigures, clipped_seconds
from callcenter.config import DEFAULT_DISPOSITIONS
from callcenter.storage.engine import WRITE_TRANSACTION
from callcenter.storage.errors import (
    AgentRejected,
    DispositionRejected,
    unavailable_while_away,
)
from callcenter.storage.models import (
    Agent,
    AgentPause,
    AgentRole,
    AgentStateChange,
    Call,
    CallbackRequest,
    CallEvent,
    QueueOutcome,
    Recording,
    SurveyAnswer,
)
from callcenter.storage.passwords import Passwords
from callcenter.storage.writes import (
    RecordAgentState,
    RecordCallEvent,
    RecordCallStarted,
    RecordCallUpdate,
    RecordOutcome,
    RecordRecording,
    WriteRequest,
    apply_batch,
)
from crm_bridge.customers import CustomerRejected, insert_customer, new_customer
from crm_bridge.models import Customer, Interaction

__all__ = ["MAX_NOTES_LENGTH", "REMOVED", "Store", "utcnow"]

MAX_NOTES_LENGTH = 2000
_MAX_USERNAME_LENGTH = 64
#: a phone's dial string, ``TECH/resource`` (``PJSIP/1001``, ``Local/9000@supervisor-phone``):
#: it is the Originate's ``Channel``, so no spaces, and no ``,`` (it also goes into app data)
_DEVICE = re.compile(r"[A-Za-z][A-Za-z0-9_]*/[^\s,|()]{1,120}")


def _checked_device(username: str, device: str | None) -> str | None:
    if device and not _DEVICE.fullmatch(device):
        raise AgentRejected(f"{device!r} for {username!r}: give a dial string such as PJSIP/1001",
                            code="bad_device")  # fmt: skip
    return device or None


#: The password hash of a removed login (:meth:`Store.remove_login`): not an argon2
#: hash, so no password verifies against it (Unix locks accounts the same way).
REMOVED = "!removed"


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Store:
    """Reads and writes of Hotline's SQL store over an ``async_sessionmaker``.

    ``hasher`` is the argon2 hasher for passwords (tests pass a cheap one;
    see :mod:`~callcenter.storage.passwords`).
    ``clock`` stamps rows whose time the caller does not give.
    """

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        hasher: PasswordHasher | None = None,
        disposition_codes: Iterable[str] = DEFAULT_DISPOSITIONS,
        max_notes_length: int = MAX_NOTES_LENGTH,
        clock: Callable[[], dt.datetime] = utcnow,
    ) -> None:
        self.sessions = sessions
        self.passwords = Passwords(hasher)
        self.disposition_codes = frozenset(disposition_codes)
        self.max_notes_length = max_notes_length
        self._clock = clock

    # -- the write path shared with StoreWriter ---------------------------

    @asynccontextmanager
    async def write_session(self) -> AsyncIterator[AsyncSession]:
        """A session in a transaction meant to write (committed on exit)."""
        async with self.sessions() as session, session.begin():
            await session.connection(execution_options=WRITE_TRANSACTION)
            yield session

    async def apply(self, *requests: WriteRequest) -> None:
        """Apply write requests in one transaction, all or nothing.

        Raises the first refusal (:class:`DuplicateOutcome`, :class:`UnknownCall`,
        :class:`UnknownAgent`); nothing is written then.
        """
        async with self.write_session() as session:
            refused = await apply_batch(await session.connection(), requests)
            if refused:
                raise refused[0][1]

    async def record_call_started(
        self,
        call_id: str,
        linkedid: str,
        node: str,
        started_at: dt.datetime,
        *,
        caller_number: str | None = None,
        caller_name: str | None = None,
        customer_id: int | None = None,
        language: str | None = None,
    ) -> None:
        """Record a new call (a second start of the same ``call_id`` is ignored)."""
        await self.apply(
            RecordCallStarted(
                call_id,
                linkedid,
                node,
                started_at,
                caller_number,
                caller_name,
                customer_id,
                language,
            )
        )

    async def record_call_update(self, call_id: str, **changes: Any) -> None:
        """Set fields of a call (see :class:`RecordCallUpdate`); raises UnknownCall."""
        await self.apply(RecordCallUpdate(call_id, **changes))

    async def record_call_event(
        self, call_id: str, kind: str, at: dt.datetime, data: dict[str, Any] | None = None
    ) -> None:
        await self.apply(RecordCallEvent(call_id, at, kind, data))

    async def record_outcome(
        self,
        call_id: str,
        queue: str,
        outcome: str,
        wait_s: float,
        at: dt.datetime,
        agent_id: int | None = None,
        talk_s: float | None = None,
    ) -> None:
        """Record how a call left its queue; raises :class:`DuplicateOutcome` the second time."""
        await self.apply(RecordOutcome(call_id, queue, outcome, wait_s, at, agent_id, talk_s))

    async def record_agent_state(
        self,
        agent_id: int,
        new: str,
        at: dt.datetime,
        old: str | None = None,
        reason: str | None = None,
    ) -> None:
        await self.apply(RecordAgentState(agent_id, at, new, old, reason))

    async def record_recording(
        self,
        call_id: str,
        path: str,
        started_at: dt.datetime,
        *,
        mixmonitor_id: str | None = None,
        ended_at: dt.datetime | None = None,
        duration_s: float | None = None,
        size_bytes: int | None = None,
        sha256: str | None = None,
    ) -> None:
        """Record a recording's metadata; a second report for the same path fills it in."""
        await self.apply(
            RecordRecording(
                call_id, path, started_at, mixmonitor_id, ended_at, duration_s, size_bytes, sha256
            )
        )

    # -- agents and logins ------------------------------------------------

    async def create_agent(
        self,
        username: str,
        password: str,
        role: str = AgentRole.AGENT,
        *,
        display_name: str | None = None,
        device: str | None = None,
        queues: Sequence[str] = (),
        skills: Mapping[str, int] | None = None,
        penalties: Mapping[str, int] | None = None,
        weights: Mapping[str, int] | None = None,
    ) -> Agent:
        """Create a login with an argon2 password hash; raises :class:`AgentRejected`.

        ``skills`` (skill -> 1..5), ``penalties`` (queue -> >= 0) and ``weights``
        (queue -> >= 1) are the agent's routing data (see :meth:`set_agent_routing`).
        """
        routing = _routing(username, queues, skills, penalties, weights)
        if not username or len(username) > _MAX_USERNAME_LENGTH or username != username.strip():
            raise AgentRejected(f"username {username!r}", code="bad_username")
        if role not in {member.value for member in AgentRole}:
            raise AgentRejected(f"role {role!r}", code="bad_role")
        if not password:
            raise AgentRejected(f"for {username!r}", code="empty_password")
        device = _checked_device(username, device)
        password_hash = await self.passwords.hash(password)
        agent = Agent(
            username=username,
            display_name=display_name or username,
            role=str(role),
            password_hash=password_hash,
            device=device,
            queues=list(queues),
            **routing,
        )
        try:
            async with self.write_session() as session:
                if await session.scalar(select(Agent.id).where(Agent.username == username)):
                    raise AgentRejected(username, code="duplicate_username")
                session.add(agent)
        except IntegrityError as exc:
            raise AgentRejected(username, code="duplicate_username") from exc
        return agent

    async def verify_login(self, username: str, password: str) -> Agent | None:
        """The agent if ``password`` is right, else None (unknown users take as long)."""
        with unavailable_while_away("login"):
            async with self.sessions() as session:
                agent = await session.scalar(select(Agent).where(Agent.username == username))
        if agent is None or agent.password_hash == REMOVED:
            await self.passwords.verify_nobody(password)
            return None
        if not await self.passwords.verify(agent.password_hash, password):
            return None
        if self.passwords.needs_rehash(agent.password_hash):
            agent.password_hash = await self.passwords.hash(password)
            with unavailable_while_away("login"):
                async with self.write_session() as session:
                    await session.merge(agent)
        return agent

    async def set_agent_routing(
        self,
        agent_id: int,
        *,
        queues: Sequence[str] | None = None,
        skills: Mapping[str, int] | None = None,
        penalties: Mapping[str, int] | None = None,
        weights: Mapping[str, int] | None = None,
    ) -> Agent:
        """Replace an agent's queues and routing data (None: keep that part as it is).

        Checked like :class:`acd.AgentConfig` checks them: skill levels 1..5,
        penalties >= 0 and weights >= 1, only for queues the agent serves (any
        queue when it lists none). Raises :class:`AgentRejected` (``bad_routing``,
        ``unknown_agent``). A running controller takes it within a poll of the
        logins (``callcenter.app``; 2 s) or at a config reload (SIGHUP).
        """
        async with self.write_session() as session:
            agent = await session.get(Agent, agent_id)
            if agent is None:
                raise AgentRejected(f"no agent {agent_id!r}", code="unknown_agent")
            new_queues = list(agent.queues if queues is None else queues)
            routing = _routing(
                agent.username,
                new_queues,
                agent.skills if skills is None else skills,
                agent.penalties if penalties is None else penalties,
                agent.weights if weights is None else weights,
            )
            agent.queues = new_queues
            for name, value in routing.items():
                setattr(agent, name, value)
        return agent

    async def pause_seconds(
        self, since: dt.datetime, until: dt.datetime
    ) -> dict[tuple[int, str], float]:
        """Pause time per (agent id, reason) within ``[since, until)``, from ended pauses.

        A pause that crosses an edge counts only its part inside (by wall clock).
        """
        async with self.sessions() as session:
            rows = await session.execute(
                select(AgentPause.agent_id, AgentPause.reason, AgentPause.started_at,
                       AgentPause.ended_at, AgentPause.seconds)
                .where(AgentPause.started_at < until, AgentPause.ended_at > since)
            )  # fmt: skip
            out: dict[tuple[int, str], float] = {}
            for agent_id, reason, started, ended, seconds in rows:
                if started >= since and ended <= until:
                    part = seconds
                else:  # by wall clock
                    edges = (t.timestamp() for t in (started, ended, since, until))
                    part = clipped_seconds(*edges)
                out[(agent_id, reason)] = out.get((agent_id, reason), 0.0) + part
        return out

    async def survey_figures(
        self, since: dt.datetime, until: dt.datetime, *, by: str = "queue"
    ) -> dict[str, SurveyFigures]:
        """Post-call survey results within ``[since, until)``, by ``queue`` or ``agent``
        (the agent's id as a string; ``-`` for surveys with no agent): the KPI figures."""
        if by not in ("queue", "agent"):
            raise ValueError(f"survey figures by 'queue' or 'agent', not {by!r}")
        async with self.sessions() as session:
            rows = await session.execute(
                select(SurveyAnswer.queue, SurveyAnswer.agent_id, SurveyAnswer.csat,
                       SurveyAnswer.nps, SurveyAnswer.ces)
                .where(SurveyAnswer.at >= since, SurveyAnswer.at < until)
            )  # fmt: skip
            answers: dict[str, list[tuple[int | None, int | None, int | None]]] = {}
            for queue, agent_id, csat, nps, ces in rows:
                key = queue if by == "queue" else str(agent_id) if agent_id is not None else "-"
                answers.setdefault(key, []).append((csat, nps, ces))
        return {key: SurveyFigures.of(rows_) for key, rows_ in sorted(answers.items())}

    async def list_agents(self, *, removed: bool = False) -> list[Agent]:
        """Every login, by id; ``removed`` adds the removed ones (:meth:`remove_login`)."""
        query = select(Agent).order_by(Agent.id)
        if not removed:
            query = query.where(Agent.password_hash != REMOVED)
        async with self.sessions() as session:
            return list(await session.scalars(query))

    async def get_login(self, username: str) -> Agent | None:
        """The login named ``username`` (removed ones too), or None."""
        async with self.sessions() as session:
            return await session.scalar(select(Agent).where(Agent.username == username))

    async def phone_of(self, account_id: str) -> str | None:
        """The dial string of login ``account_id``'s phone (``agents.device``); None: no
        such login, a removed one, or no phone set."""
        if not account_id.isdigit():
            return None
        async with self.sessions() as session:
            row = await session.get(Agent, int(account_id))
        if row is None or row.password_hash == REMOVED:
            return None
        return row.device

    async def set_password(self, username: str, password: str) -> Agent:
        """A new password (argon2); raises :class:`AgentRejected` (``unknown_agent``,
        ``empty_password``). A removed login comes back with it."""
        if not password:
            raise AgentRejected(f"for {username!r}", code="empty_password")
        password_hash = await self.passwords.hash(password)
        return await self._change_login(username, password_hash=password_hash)

    async def set_agent_profile(
        self, username: str, *, display_name: str | None = None, device: str | None = None
    ) -> Agent:
        """Change the name shown and the phone rung (None: keep); ``unknown_agent``."""
        changes: dict[str, Any] = {}
        if display_name is not None:
            if not display_name.strip():
                raise AgentRejected(f"for {username!r}", code="empty_name")
            changes["display_name"] = display_name.strip()
        if device is not None:
            changes["device"] = _checked_device(username, device)
        return await self._change_login(username, **changes)

    async def set_role(self, username: str, role: str) -> tuple[Agent, str]:
        """Give a login another role; the login and its role before. Raises
        :class:`AgentRejected`: ``bad_role``, ``unknown_agent`` (no such login, or a
        removed one), ``last_admin`` (the only admin left would lose the role: nobody
        could administer the hotline). The admins' rows are locked while it checks, so
        two admins demoting each other at once cannot both succeed."""
        if role not in {member.value for member in AgentRole}:
            raise AgentRejected(f"role {role!r} is none of agent, supervisor, admin",
                                code="bad_role")  # fmt: skip
        async with self.write_session() as session:
            admins = await session.scalars(
                select(Agent.id)
                .where(Agent.role == AgentRole.ADMIN.value, Agent.password_hash != REMOVED)
                .with_for_update()
            )
            admin_ids = set(admins)
            agent = await session.scalar(select(Agent).where(Agent.username == username))
            if agent is None or agent.password_hash == REMOVED:
                raise AgentRejected(f"no login {username!r}", code="unknown_agent")
            before = agent.role
            if before == AgentRole.ADMIN and role != AgentRole.ADMIN and admin_ids <= {agent.id}:
                raise AgentRejected(
                    f"{username!r} is the only admin left: make another login admin first",
                    code="last_admin",
                )
            agent.role = role
        return agent, before

    async def remove_login(self, username: str) -> Agent:
        """Remove a login: it can no longer sign in, its open sessions end (the web edge
        reads :meth:`list_agents` with ``removed``), it is taken out of every queue.

        The row stays, locked (its password hash is :data:`REMOVED`, which no password
        matches), so calls, dispositions and pauses keep naming it in the reports; the
        username stays taken. :meth:`set_password` brings it back.
        """
        return await self._change_login(username, password_hash=REMOVED, queues=[])

    async def _change_login(self, username: str, **changes: Any) -> Agent:
        async with self.write_session() as session:
            agent = await session.scalar(select(Agent).where(Agent.username == username))
            if agent is None:
                raise AgentRejected(f"no login {username!r}", code="unknown_agent")
            for name, value in changes.items():
                setattr(agent, name, value)
        return agent

    # -- built-in CRM -----------------------------------------------------

    async def add_customer(
        self,
        full_name: str,
        numbers: Iterable[str],
        *,
        account_no: str | None = None,
        tier: str = "standard",
        notes: str | None = None,
        language: str | None = None,
        region: str = "VN",
    ) -> Customer:
        """Add a customer; numbers in any spelling are stored as E.164.

        Raises :class:`CustomerRejected` (nothing written) for an empty name,
        an invalid number, a number another customer has, or a reused account.
        """
        customer, phones = new_customer(full_name, numbers, account_no=account_no, tier=tier,
                                        notes=notes, language=language, region=region)  # fmt: skip
        try:
            async with self.write_session() as session:
                await insert_customer(session, customer, phones)
        except IntegrityError as exc:  # lost a race with another writer
            code = "number_taken" if "e164" in str(exc.orig) else "duplicate_account"
            raise CustomerRejected(f"{full_name!r}: {exc.orig}", code=code) from exc
        return customer

    async def add_customers(self, rows: Iterable[dict[str, Any]]) -> int:
        """Add many customers in one transaction (seeding); each row is
        :meth:`add_customer`'s keyword arguments. All or nothing."""
        count = 0
        async with self.write_session() as session:
            for row in rows:
                row = dict(row)
                customer, phones = new_customer(
                    row.pop("full_name"),
                    row.pop("numbers"),
                    account_no=row.pop("account_no", None),
                    tier=row.pop("tier", "standard"),
                    notes=row.pop("notes", None),
                    language=row.pop("language", None),
                    region=row.pop("region", "VN"),
                )
                if row:
                    raise TypeError(f"unexpected customer fields: {sorted(row)}")
                await insert_customer(session, customer, phones)
                count += 1
        return count

    async def save_disposition(
        self,
        call_id: str | None,
        agent_id: int | None,
        code: str,
        notes: str = "",
        *,
        fcr: bool | None = None,
        customer_id: int | None = None,
        at: dt.datetime | None = None,
    ) -> Interaction:
        """Write an agent's disposition of a call to the contact history: one per call,
        a second save of the same call edits it (its code, notes, FCR flag and time).
        ``fcr``: the caller's matter was settled on this call (None: not said, FCR
        then goes by the code, as for rows written before the flag).

        Raises :class:`DispositionRejected` with a reason code and writes
        nothing when the code is not allowed, the notes are too long, the
        call or agent does not exist, or the call is not the agent's: answered by
        another agent, or answered by nobody (``not_your_call``). The customer
        defaults to the call's.
        """
        if code not in self.disposition_codes:
            raise DispositionRejected(
                f"{code!r} is not one of {sorted(self.disposition_codes)}", code="unknown_code"
            )
        if len(notes) > self.max_notes_length:
            raise DispositionRejected(
                f"{len(notes)} characters, at most {self.max_notes_length}", code="notes_too_long"
            )
        # two saves of one call at once: the second INSERT hits the unique call_id and
        # is tried again, and then finds the first's row to edit
        for attempt in (1, 2):
            try:
                return await self._save_disposition(call_id, agent_id, code, notes, fcr,
                                                    customer_id, at)  # fmt: skip
            except IntegrityError:
                if attempt == 2 or call_id is None:
                    raise
        raise AssertionError("unreachable")

    async def _save_disposition(
        self,
        call_id: str | None,
        agent_id: int | None,
        code: str,
        notes: str,
        fcr: bool | None,
        customer_id: int | None,
        at: dt.datetime | None,
    ) -> Interaction:
        with unavailable_while_away("disposition"):
            async with self.write_session() as session:
                earlier: Interaction | None = None
                if call_id is not None:
                    call = await session.get(Call, call_id)
                    if call is None:
                        raise DispositionRejected(f"no call {call_id!r}", code="unknown_call")
                    if agent_id is not None and call.agent_id != agent_id:
                        whose = "nobody" if call.agent_id is None else "another agent"
                        raise DispositionRejected(
                            f"call {call_id!r} was answered by {whose}", code="not_your_call"
                        )
                    if customer_id is None:
                        customer_id = call.customer_id
                    earlier = await session.scalar(
                        select(Interaction).where(Interaction.call_id == call_id)
                    )
                if agent_id is not None and await session.get(Agent, agent_id) is None:
                    raise DispositionRejected(f"no agent {agent_id!r}", code="unknown_agent")
                if earlier is not None:
                    earlier.disposition = code
                    earlier.notes = notes or None
                    earlier.fcr = fcr
                    earlier.created_at = at or self._clock()
                    return earlier
                interaction = Interaction(
                    call_id=call_id,
                    customer_id=customer_id,
                    agent_id=agent_id,
                    created_at=at or self._clock(),
                    disposition=code,
                    notes=notes or None,
                    fcr=fcr,
                )
                session.add(interaction)
        return interaction

    # -- reads -------------------------------------------------------------

    async def get_call(self, call_id: str) -> Call | None:
        async with self.sessions() as session:
            return await session.get(Call, call_id)

    async def open_calls(self, node: str) -> list[Call]:
        """Calls of ``node`` with no outcome yet: what a restarted controller must settle."""
        async with self.sessions() as session:
            rows = await session.scalars(
                select(Call)
                .where(Call.node == node, Call.outcome.is_(None))
                .order_by(Call.started_at)
            )
            return list(rows)

    async def pending_callbacks(self, node: str) -> list[CallbackRequest]:
        """Callback requests of ``node``'s open calls still pending (the queued dialog's,
        node ``queued``, or an IVR callback node's): the virtual callers a restarted
        controller puts back in line (those of a call that reached a queue)."""
        query = (
            select(CallbackRequest)
            .join(Call, Call.id == CallbackRequest.call_id)
            .where(Call.node == node, Call.outcome.is_(None), CallbackRequest.status == "pending")
            .order_by(CallbackRequest.id)
        )  # fmt: skip
        async with self.sessions() as session:
            return list(await session.scalars(query))

    async def scheduled_callbacks(self, node: str) -> list[CallbackRequest]:
        """Callbacks scheduled from the desk on ``node``'s calls and still pending (node
        ``desk``, flow core rule 18): a restarted controller waits for each again, or
        adopts the one whose own call (``<call id>-cb``) was in line."""
        query = (
            select(CallbackRequest)
            .join(Call, Call.id == CallbackRequest.call_id)
            .where(Call.node == node, CallbackRequest.node == "desk",
                   CallbackRequest.status == "pending")
            .order_by(CallbackRequest.id)
        )  # fmt: skip
        async with self.sessions() as session:
            return list(await session.scalars(query))

    async def callback_scheduled_on(self, call_id: str) -> bool:
        """Whether a callback was ever scheduled from the desk on ``call_id`` (one per call:
        its own call id, ``<call id>-cb``, is taken then)."""
        query = select(CallbackRequest.id).where(
            CallbackRequest.call_id == call_id, CallbackRequest.node == "desk"
        )
        async with self.sessions() as session:
            return (await session.scalar(query.limit(1))) is not None

    async def unfinished_recordings(self, node: str) -> list[Recording]:
        """Recordings of ``node``'s closed calls never measured (a run died meanwhile)."""
        query = (
            select(Recording)
            .join(Call, Call.id == Recording.call_id)
            .where(Call.node == node, Call.outcome.is_not(None), Recording.size_bytes.is_(None))
        )
        async with self.sessions() as session:
            return list(await session.scalars(query))

    async def latest_agent_states(self) -> dict[int, tuple[str, str | None]]:
        """Each agent's last recorded state and reason: what a restarted controller restores."""
        last = (
            select(AgentStateChange.agent_id, func.max(AgentStateChange.id).label("id"))
            .group_by(AgentStateChange.agent_id)
            .subquery()
        )
        query = select(AgentStateChange).join(last, AgentStateChange.id == last.c.id)
        async with self.sessions() as session:
            return {r.agent_id: (r.new, r.reason) for r in await session.scalars(query)}

    async def last_answered(self, since: dt.datetime) -> list[tuple[str, str, float]]:
        """(caller number, agent id, answered at in epoch seconds) of each answered call
        started since ``since``, oldest first: the sticky agent index a controller starts
        with (``callcenter.flow.sticky`` rule 2). One read at start, on the indexed
        ``started_at`` (a call answered in the window started at most its wait before)."""
        query = (
            select(Call.caller_number, Call.agent_id, Call.answered_at)
            .where(Call.started_at >= since)
            .where(Call.answered_at.is_not(None), Call.agent_id.is_not(None))
            .where(Call.caller_number.is_not(None))
            .order_by(Call.answered_at)
        )
        async with self.sessions() as session:
            rows = (await session.execute(query)).all()
        return [
            (number, str(agent), _epoch(at))
            for number, agent, at in rows
            if number is not None and at is not None  # (the query's, for mypy)
        ]

    async def list_call_events(self, call_id: str) -> list[CallEvent]:
        async with self.sessions() as session:
            rows = await session.scalars(
                select(CallEvent)
                .where(CallEvent.call_id == call_id)
                .order_by(CallEvent.at, CallEvent.id)
            )
            return list(rows)

    async def count_outcomes(self, queue: str | None = None) -> dict[str, int]:
        """How many calls ended each way (``{"answered": 12, "abandoned": 3}``)."""
        query = select(QueueOutcome.outcome, func.count()).group_by(QueueOutcome.outcome)
        if queue is not None:
            query = query.where(QueueOutcome.queue == queue)
        async with self.sessions() as session:
            return {outcome: count for outcome, count in (await session.execute(query)).all()}

    async def outcomes_since(
        self, since: dt.datetime
    ) -> list[tuple[str, str, str, float, dt.datetime, int | None, dt.datetime | None,
                    float | None]]:  # fmt: skip
        """Every queue outcome at or after ``since``: (call_id, queue, outcome, wait_s, at,
        agent_id, the call's queued_at and talk_s), oldest first (the wallboard's figures
        of the day)."""
        query = (
            select(QueueOutcome.call_id, QueueOutcome.queue, QueueOutcome.outcome,
                   QueueOutcome.wait_s, QueueOutcome.at, QueueOutcome.agent_id, Call.queued_at,
                   Call.talk_s)
            .outerjoin(Call, Call.id == QueueOutcome.call_id)
            .where(QueueOutcome.at >= since)
            .order_by(QueueOutcome.at, QueueOutcome.id)
        )  # fmt: skip
        async with self.sessions() as session:
            return [tuple(row) for row in (await session.execute(query)).all()]  # type: ignore[misc]

    async def agent_changes_since(
        self, since: dt.datetime
    ) -> list[tuple[int, dt.datetime, str | None, str]]:
        """Every agent state change at or after ``since``: (agent_id, at, old, new), oldest
        first (the wallboard's handle time of the day)."""
        query = (
            select(AgentStateChange.agent_id, AgentStateChange.at, AgentStateChange.old,
                   AgentStateChange.new)
            .where(AgentStateChange.at >= since)
            .order_by(AgentStateChange.at, AgentStateChange.id)
        )  # fmt: skip
        async with self.sessions() as session:
            return [tuple(row) for row in (await session.execute(query)).all()]  # type: ignore[misc]

    async def list_recordings(
        self, call_id: str | None = None, limit: int = 100
    ) -> list[Recording]:
        """Recordings, newest first, optionally of one call."""
        query = select(Recording).order_by(Recording.started_at.desc(), Recording.id.desc())
        if call_id is not None:
            query = query.where(Recording.call_id == call_id)
        async with self.sessions() as session:
            return list(await session.scalars(query.limit(limit)))


def _routing(
    username: str,
    queues: Sequence[str],
    skills: Mapping[str, int] | None,
    penalties: Mapping[str, int] | None,
    weights: Mapping[str, int] | None,
) -> dict[str, dict[str, int]]:
    """An agent's routing data checked as the ACD will read it (``acd.AgentConfig``)."""
    try:
        levels = acd.Levels(skills or {}, field="skills")
        tiers = acd.Levels(penalties or {}, field="penalties", minimum=0, maximum=None)
        weighed = acd.Levels(weights or {}, field="weights", minimum=1, maximum=None)
    except acd.InvalidValue as exc:
        raise AgentRejected(f"{username!r}: {exc}", code="bad_routing") from None
    for name, mapping in (("penalties", tiers), ("weights", weighed)):
        stray = sorted(set(mapping) - set(queues)) if queues else []
        if stray:
            raise AgentRejected(
                f"{username!r}: {name} name queues the agent does not serve: {stray}",
                code="bad_routing",
            )
    return {"skills": dict(levels), "penalties": dict(tiers), "weights": dict(weighed)}


def _epoch(at: dt.datetime) -> float:
    """A stored time (naive: UTC, as SQLite gives it back) in epoch seconds."""
    return (at if at.tzinfo is not None else at.replace(tzinfo=dt.UTC)).timestamp()
