"""Leader election between controllers that share one PostgreSQL database.

Rules of this module:

1. A controller on PostgreSQL leads only while it holds the session-level advisory
   lock ``leader.lock_key`` (``pg_try_advisory_lock``) on a connection of its own.
   That connection is a bare asyncpg one, not SQLAlchemy's: a session lock belongs to
   the session, and a pooled connection is reset, recycled or shared (asyncpg's own
   pool even runs ``pg_advisory_unlock_all()`` on release); this one lives exactly as
   long as the lead. PostgreSQL frees the lock when the session ends: the process
   died (its socket closed), or the lease ran out (rule 3).
2. Taking the lock raises the term (``leader_terms``, one row) on that connection.
   The writer writes only under the term its controller took: every write
   transaction reads the row ``FOR SHARE`` (``callcenter.storage.writer``), so a new
   leader's raise waits for a write already in flight, and any later write of the
   old one sees the new term and is refused (fencing). A write in flight that does
   not end within ``heartbeat_s`` (a frozen leader's) is ended by the new leader
   (``pg_terminate_backend``: the controllers share one database role).
3. The lease. The session runs with ``idle_session_timeout = lease_s``: a leader
   paused (SIGSTOP, a frozen VM, a cut network) sends no heartbeat and PostgreSQL
   ends its session ``lease_s`` after the last one, freeing the lock for a standby.
   The leader heartbeats every ``heartbeat_s`` and sends AMI actions only until
   ``heartbeat sent + lease_s - heartbeat_s`` (:class:`Lease`): after a pause it
   stops before anyone could have taken its place, whatever its loop runs first.
4. Losing the lead (a heartbeat failed, the term changed, the session ended) calls
   ``on_lost(reason)`` once; the controller then stops for good (``callcenter run``
   exits with status 3; its supervisor starts it again, as a standby).
5. Only with ``leader.enabled`` (PostgreSQL only): a controller alone keeps driving
   calls through a database outage (its journal holds the writes); one of several
   cannot (it cannot tell an outage from being cut off while a standby took over),
   so it stops acting when its lease runs out. SQLite: one controller, always leader.

:class:`Lease` and :func:`judge` are the pure part (time is an input); :class:`Election`
runs them on the connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import asyncpg  # type: ignore[import-untyped]
from sqlalchemy.engine import make_url

from callcenter.config import LeaderSettings

__all__ = ["TAKE_TERM", "Election", "Lease", "judge"]

log = logging.getLogger(__name__)

#: raise the term on taking the lock; returns the new term
TAKE_TERM = "UPDATE leader_terms SET term = term + 1, holder = $1, since = now() WHERE id = 1 RETURNING term"
#: end the sessions (an old leader's writer) that hold a lock on leader_terms
END_HOLDERS = (
    "SELECT count(pg_terminate_backend(pid)) FROM pg_locks WHERE granted"
    " AND mode = 'RowShareLock' AND relation = 'leader_terms'::regclass"
    " AND pid <> pg_backend_pid()"
)
#: the heartbeat: the term the database holds now
READ_TERM = "SELECT term FROM leader_terms WHERE id = 1"


@dataclass(frozen=True, slots=True)
class Lease:
    """How long a leader may act after a heartbeat (rule 3)."""

    lease_s: float
    heartbeat_s: float

    def acting_until(self, sent_at: float) -> float:
        """The last instant a leader whose heartbeat was sent at ``sent_at`` may act:
        one heartbeat before PostgreSQL could end its session (the idle timer starts
        when the heartbeat's answer is sent, after ``sent_at``)."""
        return sent_at + self.lease_s - self.heartbeat_s


def judge(term: int, db_term: int, now: float, acting_until: float) -> str | None:
    """Why a leader of ``term`` must stop (rule 4), or None while it may go on."""
    if db_term != term:
        return f"the database's term is {db_term}, not ours ({term}): another controller leads"
    if now > acting_until:
        return f"the lease ran out {now - acting_until:.1f} s ago (paused or cut off)"
    return None


class Election:
    """The lead on PostgreSQL: :meth:`try_lead` once, :meth:`wait_lead` until won,
    then heartbeats until lost (``on_lost(reason)``, once)."""

    def __init__(
        self,
        database_url: str,
        settings: LeaderSettings,
        *,
        holder: str,
        on_lost: Callable[[str], None],
        clock: Callable[[], float] | None = None,
    ) -> None:
        url = make_url(database_url).set(drivername="postgresql")
        self._dsn = url.render_as_string(hide_password=False)
        self.settings = settings
        self.lease = Lease(settings.lease_s, settings.heartbeat_s)
        #: who leads, as ``leader_terms.holder`` shows it (host and journal)
        self.holder = holder[:255]
        self._on_lost = on_lost
        self._clock = clock or asyncio.get_running_loop().time
        self._conn: Any = None
        self._beats: asyncio.Task[None] | None = None
        #: the term this controller took; None while a standby
        self.term: int | None = None
        self._acting_until = float("-inf")
        self.lost: str | None = None

    @staticmethod
    def default_holder(journal: object) -> str:
        return f"{socket.gethostname()}:{journal}"

    @property
    def leading(self) -> bool:
        return self.term is not None and self.lost is None

    def may_act(self) -> bool:
        """True while this controller leads and its lease holds (the AMI gate)."""
        return self.leading and self._clock() <= self._acting_until

    def write_term(self) -> int | None:
        """The term the writer may write under (None: none, hold every write)."""
        return self.term if self.lost is None else None

    async def try_lead(self) -> bool:
        """One attempt at the lock; True when this controller leads now."""
        if self.leading:
            return True
        if self.lost is not None:
            return False
        try:
            if self._conn is None or self._conn.is_closed():
                ms = round(self.settings.lease_s * 1000)
                self._conn = await asyncpg.connect(
                    self._dsn, timeout=self.settings.lease_s,
                    server_settings={"idle_session_timeout": str(ms),
                                     "application_name": "hotline-leader"},
                )  # fmt: skip
            if not await self._conn.fetchval("SELECT pg_try_advisory_lock($1)",
                                             self.settings.lock_key):  # fmt: skip
                return False
            sent, term = await self._take_term()
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError) as exc:
            log.warning("leader election: the database did not answer (%r); trying again", exc)
            await self._drop()
            return False
        self.term = term
        self._acting_until = self.lease.acting_until(sent)
        self._conn.add_termination_listener(lambda _c: self._lose("the lock's session ended"))
        self._beats = asyncio.get_running_loop().create_task(self._heartbeat(), name="leader")
        log.warning("leading: term %d (lock %d, holder %s)", term, self.settings.lock_key,
                    self.holder)  # fmt: skip
        return True

    async def _take_term(self) -> tuple[float, int]:
        """Raise the term; returns when the raise was sent and the new term.

        A transaction of the old leader's writer may hold the row (``FOR SHARE``): a
        leader frozen in the middle of one leaves it open with no timeout PostgreSQL
        would apply (an unfinished pipeline is not "idle in transaction"). After
        ``heartbeat_s`` of waiting, every other session holding a lock on the table is
        ended (its write rolled back: fenced), then the raise is tried again."""
        ms = max(1, round(self.settings.heartbeat_s * 1000))
        await self._conn.execute(f"SET lock_timeout = {ms:d}")
        try:
            while True:
                sent = self._clock()
                try:
                    return sent, int(await self._conn.fetchval(TAKE_TERM, self.holder))
                except asyncpg.exceptions.LockNotAvailableError:
                    ended = await self._conn.fetchval(END_HOLDERS)
                    log.warning("taking the term: ended %s session(s) of the old leader "
                                "holding leader_terms", ended)  # fmt: skip
        finally:
            await self._conn.execute("SET lock_timeout = 0")

    async def wait_lead(self) -> int:
        """Try every ``retry_s`` until this controller leads; returns its term."""
        while not await self.try_lead():
            await asyncio.sleep(self.settings.retry_s)
        assert self.term is not None
        return self.term

    async def _heartbeat(self) -> None:
        assert self.term is not None
        while self.lost is None:
            await asyncio.sleep(self.settings.heartbeat_s)
            sent = self._clock()
            try:
                db_term = int(await self._conn.fetchval(READ_TERM, timeout=self.settings.lease_s))
            except Exception as exc:  # the session ended or the database went away
                self._lose(f"heartbeat failed: {exc!r}")
                return
            why = judge(self.term, db_term, self._clock(), self._acting_until)
            if why is not None:
                self._lose(why)
                return
            self._acting_until = self.lease.acting_until(sent)

    def _lose(self, reason: str) -> None:
        if self.lost is not None or self.term is None:
            return
        self.lost = reason
        log.critical("lost the lead of term %d: %s; this controller stops acting", self.term,
                     reason)  # fmt: skip
        self._on_lost(reason)

    async def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(conn.close(), 2)
            if not conn.is_closed():
                conn.terminate()

    async def close(self) -> None:
        """Give the lock up (closing the session frees it) and stop heartbeating."""
        if self._beats is not None:
            self._beats.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._beats
        if self.lost is None and self.term is not None:
            self.lost = "closed"
        await self._drop()
