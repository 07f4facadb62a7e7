"""StoreWriter: journaled write-behind, on a thread of its own, that never drops a write.

``submit(request)`` only appends to an in-memory inbox (a few hundred
nanoseconds on the event loop). The writer's thread then:

1. appends what is in the inbox to the local :class:`Journal` (one fsync'd
   transaction) as soon as it is submitted, appends ``journal_linger_s``
   (10 ms) apart at the soonest, beside the database rounds (a task of its
   own: it goes on while a round waits on the database), so a write survives
   a crash of the controller or an outage of the database from then on. A
   crash (SIGKILL) loses what was submitted and not yet fsync'd: at 200
   calls/s, ``bench/writer.py --rate 200`` measured submit to fsync p50
   8-10 ms, p99 16-19 ms (50 ms / 53-83 ms when the rounds journaled), for
   about 10 us more of this thread's CPU per write. A disk that cannot take
   the append (full) keeps the writes in memory, retried every second,
   counted by ``unjournaled``; at close they are given up after
   ``close_timeout_s``, each one logged as LOST;

In rounds:

2. applies the journal's oldest writes to the database, up to ``max_batch``
   per transaction, in order, with :func:`apply_batch` (one set-based
   statement per table), and in the same transaction records how far the
   journal has been applied (``journal_marks``): a replay after a crash skips
   what is there, so nothing is written twice;
3. when the database cannot be reached, keeps the writes in the journal and
   tries again after ``retry_delay_s``, doubling to ``max_retry_delay_s``; the
   journal grows on disk meanwhile (no count limit) and is replayed in order
   when the database answers;
4. a write the database refuses for good (a second outcome, an unknown call
   or agent, a constraint) is moved aside in the journal with its error and
   logged; the writes after it go on. When a batch fails on a constraint it
   is retried one write per SAVEPOINT to find which.

Rounds begin ``linger_s`` (50 ms) apart at the soonest and apply what was
journaled when they began, so one transaction carries a round's writes;
``flush()`` and ``close()`` cut the wait short.

Why a thread (``bench/writer.py``, 14 writes per call, on this 2-core machine):
the ORM writer took ~1 ms of event-loop CPU per write (one awaited statement
per write, each hopping to aiosqlite's thread): ~700-860 writes/s. Set-based
statements run on the loop took ~25 us of loop CPU per write; run here, the
loop pays ~2-4 us per write (``submit``) and the rest (rows, SQLAlchemy, the
driver's encoding, the journal's JSON and fsync: ~40-100 us per write) runs on
this thread, much of it with the GIL released (sockets, SQLite, fsync). The
thread runs its own asyncio loop and engine because the only PostgreSQL driver
of the project is asyncpg.

The GIL. This thread shares one GIL with the event loop, and takes it back after
every blocking call (aiosqlite's thread after each SQLite step, the fsync, the
sockets): with CPython's default switch interval (5 ms) it waits up to that long
each time while the loop runs Python. At 200 calls/s through
``bench/pipeline.py`` the loop ran Python about half the time: a round used
20-30 ms of this thread's CPU and took 148-226 ms, and the writer applied
~1,000 writes/s of the ~2,400/s submitted (the backlog grew 370-550/s). So
while a writer runs, the process's switch interval is ``gil_switch_s`` (0.5 ms;
restored by :meth:`close`): the same runs applied 1,420-1,750 writes/s, and in
six later runs at 200 calls/s, SQLite and PostgreSQL, the backlog never held
more than a second of the writer's throughput (``bench/README.md``,
"pipeline.py" and "writer.py"). Cutting this
thread's CPU per write (coalescing, raw DB-API) or moving the apply to another
process were not the first lever: the process did not use up the GIL (loop 0.5
of a core, this thread 0.11-0.21), and a round's CPU was under a sixth of its
wall time.
For the same reason a journal append and, on SQLite, a batch's INSERTs are
multi-row statements (one SQLite step, so one GIL hand-off, per statement
instead of per row); measured beside a loop kept busy with the 5 ms interval
(``bench/writer.py --busy``), a modest gain within the noise of that machine.

Reads do not go through here: they are direct awaits on
:class:`~callcenter.storage.store.Store`, and see what has been applied (call
``await writer.flush()`` first when read-your-writes matters; it waits while
the database is away; ``flushed()`` refuses with :class:`StorageUnavailable` instead).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from callcenter.storage.applying import (
    _apply_one,
    _code,
    _Entry,
    _read_back,
    _read_mark,
    _write_mark,
)
from callcenter.storage.engine import WRITE_TRANSACTION, make_engine
from callcenter.storage.errors import (
    DuplicateOutcome,
    NotTheLeader,
    StorageError,
    StorageUnavailable,
    WriterClosed,
    is_refusal,
)
from callcenter.storage.journal import Journal, default_journal_path
from callcenter.storage.models import LeaderTerm
from callcenter.storage.store import Store
from callcenter.storage.writes import (
    WRITE_TYPES,
    WriteRequest,
    apply_batch,
    encode_request,
)
from sqlbase import discard

__all__ = ["DEFAULT_JOURNAL", "StoreWriter", "WriterHealth"]

log = logging.getLogger(__name__)


class _Default:
    """The type of :data:`DEFAULT_JOURNAL`."""


#: ``StoreWriter(journal=...)`` left out: the database's own journal file.
DEFAULT_JOURNAL: Final = _Default()
#: How long :meth:`StoreWriter.flushed` waits for the database before it refuses.
READ_WAIT_S: Final = 3.0
#: The process's GIL switch interval while a writer runs (CPython's default: 5 ms); see
#: the module docstring.
GIL_SWITCH_S: Final = 0.0005


@dataclass(frozen=True, slots=True)
class WriterHealth:
    """What ``/healthz`` and ``/metrics`` show of the writer."""

    #: False from a failed attempt to reach the database until one succeeds.
    db_up: bool
    #: Writes submitted and not yet in the database (inbox and journal).
    pending: int
    #: Seconds since the oldest pending write was submitted (0 when none).
    oldest_pending_s: float
    applied: int
    #: Writes applied after waiting through an outage or a restart.
    replayed: int
    #: Writes the database refused for good, kept aside, by error code.
    set_aside: dict[str, int]
    last_error: str | None
    journal: str | None


#: the fence's read: the term, locked against a new leader's raise until this commits
_READ_TERM = select(LeaderTerm.term).where(LeaderTerm.id == 1).with_for_update(read=True)


async def _check_fence(conn: AsyncConnection, term: int | None, idle_ms: int) -> None:
    """Refuse the transaction unless the database's term is ``term``."""
    # a transaction of a paused process holding the row FOR SHARE ends after idle_ms
    await conn.execute(text(f"SET LOCAL idle_in_transaction_session_timeout = {idle_ms:d}"))
    db_term = await conn.scalar(_READ_TERM)
    if term is None or db_term != term:
        raise NotTheLeader(term, db_term)


class StoreWriter:
    """Journals write requests and applies them in batches on a thread of its own.

    ``target`` is the :class:`Store` (its engine's URL is used for the writer's own
    engine) or a database URL. ``journal`` is the journal file, by default
    :func:`default_journal_path` of the database (next to a SQLite file, else in
    ``var/``); ``None`` keeps it in memory (an outage is survived, a crash is not).
    ``fence`` (PostgreSQL, several controllers: ``callcenter.leader``) gives the term this
    controller writes under (None: none); every transaction first reads
    ``leader_terms`` ``FOR SHARE`` and applies nothing unless the two agree: the writes
    wait in the journal meanwhile (:attr:`fenced` says why). A fenced transaction left
    open longer than ``fence_idle_s`` (its process paused) is ended by PostgreSQL, so it
    cannot hold up a new leader's term.
    """

    def __init__(
        self,
        target: Store | str,
        *,
        journal: str | Path | None | _Default = DEFAULT_JOURNAL,
        max_batch: int = 500,
        retry_delay_s: float = 0.2,
        max_retry_delay_s: float = 2.0,
        close_timeout_s: float = 10.0,
        memory_window: int = 50_000,
        linger_s: float = 0.05,
        journal_linger_s: float = 0.01,
        gil_switch_s: float | None = GIL_SWITCH_S,
        fence: Callable[[], int | None] | None = None,
        fence_idle_s: float = 5.0,
    ) -> None:
        if max_batch < 1:
            raise ValueError("max_batch must be at least 1")
        if isinstance(target, Store):
            engine = target.sessions.kw["bind"]
            self.url = engine.url.render_as_string(hide_password=False)
        else:
            self.url = target
        if isinstance(journal, _Default):
            journal = default_journal_path(self.url)
        self.journal_path = None if journal is None else Path(journal)
        self.max_batch = max_batch
        self.retry_delay_s = retry_delay_s
        self.max_retry_delay_s = max_retry_delay_s
        self.close_timeout_s = close_timeout_s
        self.memory_window = memory_window
        self.linger_s = linger_s
        self.journal_linger_s = journal_linger_s
        #: None: the process's switch interval is left as it is
        self.gil_switch_s = gil_switch_s
        self._switch_before: float | None = None
        self.fence = fence
        self._fence_idle_ms = max(1, round(fence_idle_s * 1000))
        #: why the last round applied nothing (the fence said no); None once it applies
        self.fenced: str | None = None
        # Figures, written by the writer's thread, read anywhere.
        #: Writes in the database.
        self.applied = 0
        #: Writes applied after an outage or a restart (see :class:`WriterHealth`).
        self.replayed = 0
        #: Writes set aside, by error code.
        self.set_aside: dict[str, int] = {}
        #: Writes lost: only an in-memory journal closed while the database is away.
        self.lost = 0
        self.db_up = True
        self.last_error: str | None = None
        self._inbox: deque[tuple[float, WriteRequest]] = deque()
        self._journaling = 0  # taken from the inbox, not yet in the journal
        #: per journal append, how long its oldest write waited since submit(): the
        #: window in which a crash (SIGKILL) loses a write (the last 100,000 appends)
        self.journal_waits: deque[float] = deque(maxlen=100_000)
        self._submitted = 0
        self._closed = False
        self._stopping = False
        self._sleeping = False
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._start_error: BaseException | None = None
        self._main_loop: asyncio.AbstractEventLoop | None = None
        self._progress: asyncio.Event | None = None
        self._wloop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None
        self._hurry: asyncio.Event | None = None
        self._journal_wake: asyncio.Event | None = None
        self._on_wake: Callable[[], None] | None = None
        self._journal_idle = False  # the journal task waits for a submit() to wake it
        # Journal state (the thread's): numbers processed (applied or set aside) run up
        # to _through; this run's first number is _base.
        self._base = 0
        self._through = 0
        self._unapplied = 0
        self._mem: deque[_Entry] = deque()
        self._head_at: float | None = None
        self._replay_through = 0
        self._mark: int | None = None
        self._retry_at = 0.0
        self._delay = retry_delay_s
        self._journal_id = ""
        self._tentative: set[int] = set()
        self._conn: AsyncConnection | None = None

    async def __aenter__(self) -> StoreWriter:
        self.start()
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.close()

    # -- the event loop's side ---------------------------------------------------

    def start(self) -> None:
        """Open the journal and start the writer's thread; raises :class:`JournalBusy`
        when another controller holds the journal."""
        if self._thread is not None:
            return
        self._main_loop = asyncio.get_running_loop()
        self._progress = asyncio.Event()
        if self.gil_switch_s is not None and sys.getswitchinterval() > self.gil_switch_s:
            self._switch_before = sys.getswitchinterval()
            sys.setswitchinterval(self.gil_switch_s)
        self._thread = threading.Thread(target=self._thread_main, name="hotline-store-writer",
                                        daemon=True)  # fmt: skip
        self._thread.start()
        self._ready.wait()
        if self._start_error is not None:
            self._restore_switch()
            raise self._start_error

    def submit(self, request: WriteRequest) -> bool:
        """Queue a write without waiting (always True: nothing is ever dropped).

        Raises :class:`WriterClosed` after close(), TypeError for what is not a
        write request.
        """
        if self._closed:
            raise WriterClosed(repr(request))
        if not isinstance(request, WRITE_TYPES):
            raise TypeError(f"not a write request: {request!r}")
        self._inbox.append((time.time(), request))
        self._submitted += 1
        if self._journal_idle or self._sleeping:
            self._journal_idle = self._sleeping = False
            self._wake_writer()
        return True

    @property
    def pending(self) -> int:
        """Writes submitted and not yet in the database (or set aside)."""
        return len(self._inbox) + self._unapplied

    @property
    def unjournaled(self) -> int:
        """Writes submitted and not yet in the journal (a full disk keeps them here,
        retried every second; a crash loses them)."""
        return len(self._inbox) + self._journaling

    def health(self) -> WriterHealth:
        """The writer's figures now (safe to call from the event loop)."""
        oldest = [at for at in (self._head_at,) if at is not None]
        if self._inbox:
            try:
                oldest.append(self._inbox[0][0])
            except IndexError:  # taken by the thread meanwhile
                pass
        return WriterHealth(
            db_up=self.db_up,
            pending=self.pending,
            oldest_pending_s=max(0.0, time.time() - min(oldest)) if oldest else 0.0,
            applied=self.applied,
            replayed=self.replayed,
            set_aside=dict(self.set_aside),
            last_error=self.last_error,
            journal=None if self.journal_path is None else str(self.journal_path),
        )

    async def flush(self, timeout: float | None = None) -> None:
        """Wait until every request submitted so far, and every write a previous run
        left in the journal, is in the database or set aside.

        While the database is away this waits for it (``timeout``: TimeoutError).
        """
        target = self._base - 1 + self._submitted  # the journal number of the last one
        async with asyncio.timeout(timeout):
            while self._through < target:
                if self._thread is None or not self._thread.is_alive():
                    raise RuntimeError("StoreWriter is not running; nothing will be written")
                assert self._progress is not None
                progress = self._progress
                self._wake_writer(hurry=True)
                await progress.wait()

    async def flushed(self, timeout: float = READ_WAIT_S) -> None:
        """:meth:`flush` for a reader that must not wait on a database that is away
        (a login, a disposition): :class:`StorageUnavailable` after ``timeout``."""
        try:
            await self.flush(timeout)
        except TimeoutError:
            raise StorageUnavailable(
                f"{self.pending} write(s) still wait for the database after {timeout:g} s "
                f"(database {'up' if self.db_up else 'unavailable'}); try again in a moment"
            ) from None

    async def close(self) -> None:
        """Journal everything submitted, apply what the database takes within
        ``close_timeout_s``, then stop; the rest waits in the journal for the next
        start. Idempotent."""
        if self._closed:
            return
        self._closed = True
        if self._thread is None:
            if not self._inbox:
                return
            self.start()
        self._stopping = True
        self._wake_writer(hurry=True)
        assert self._thread is not None
        await asyncio.to_thread(self._thread.join)
        self._restore_switch()

    def _restore_switch(self) -> None:
        """Give the process back its switch interval, unless someone changed it since."""
        before, self._switch_before = self._switch_before, None
        ours = self.gil_switch_s
        if before is not None and ours is not None and abs(sys.getswitchinterval() - ours) < 1e-7:
            sys.setswitchinterval(before)

    def _wake_writer(self, *, hurry: bool = False) -> None:
        loop, wake, rush = self._wloop, self._on_wake, self._hurry
        if loop is not None and wake is not None and rush is not None:
            try:
                loop.call_soon_threadsafe(wake)
                if hurry:
                    loop.call_soon_threadsafe(rush.set)
            except RuntimeError:  # the writer's loop is closed: the thread is done
                pass

    def _on_progress(self) -> None:
        assert self._progress is not None
        self._progress.set()
        self._progress = asyncio.Event()

    def _notify(self) -> None:
        if self._main_loop is not None:
            try:
                self._main_loop.call_soon_threadsafe(self._on_progress)
            except RuntimeError:  # the controller's loop is closed
                pass

    # -- the writer's thread -----------------------------------------------------

    def _thread_main(self) -> None:
        try:
            journal = Journal(self.journal_path)
        except BaseException as exc:
            self._start_error = exc
            self._ready.set()
            return
        self._journal_id = journal.journal_id
        self._base = journal.last_seq + 1
        first = journal.first_pending()
        self._through = (first.seq - 1) if first else journal.last_seq
        self._unapplied = journal.pending_count()
        self._head_at = first.at if first else None
        self._replay_through = journal.last_seq  # a previous run's writes are replays
        if self._unapplied:
            log.warning("write journal %s holds %d write(s) of a previous run: replaying",
                        self.journal_path, self._unapplied)  # fmt: skip
        self._ready.set()
        try:
            asyncio.run(self._serve(journal))
        except BaseException as exc:
            self.db_up = False  # shown on /healthz: nothing is written any more
            self.last_error = f"writer thread failed: {exc!r}"
            log.exception("store writer thread failed; writes wait in the journal")
        finally:
            journal.close()
            self._notify()

    async def _serve(self, journal: Journal) -> None:
        self._wloop = asyncio.get_running_loop()
        wake = self._wake = asyncio.Event()
        journal_wake = self._journal_wake = asyncio.Event()
        self._hurry = asyncio.Event()

        def on_wake() -> None:
            wake.set()
            journal_wake.set()

        self._on_wake = on_wake
        journaling = self._wloop.create_task(self._journal_soon(journal))
        engine = make_engine(self.url)
        if engine.dialect.name == "sqlite":
            # a batch's INSERTs as multi-row VALUES (SQLAlchemy's "insertmanyvalues"), not
            # one SQLite step per row: each step gives the GIL up and this thread must take it
            # back from the busy event loop (see "The GIL" above). asyncpg's executemany
            # already sends a batch in one go, with no step per row in this process.
            engine.sync_engine.dialect.use_insertmanyvalues_wo_returning = True
        deadline: float | None = None
        try:
            while True:
                began = time.monotonic()
                self._sleeping = False
                self._wake.clear()
                self._journal_inbox(journal)
                # this round's writes: those the journal task adds meanwhile wait for the
                # next round, so a transaction carries a round's writes, not a few
                upto = journal.last_seq
                while (self._unapplied and self._through < upto
                       and time.monotonic() >= self._retry_at):  # fmt: skip
                    if not await self._apply_head(engine, journal):
                        break
                if self._stopping:
                    deadline = deadline or time.monotonic() + self.close_timeout_s
                    if not self._inbox and (not self._unapplied or time.monotonic() > deadline):
                        break
                # The next round begins linger_s after this one at the soonest, so that one
                # fsync and one transaction carry more writes; flush() and close() cut it short.
                rest = self.linger_s - (time.monotonic() - began)
                if rest > 0 and not self._hurry.is_set():
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._hurry.wait(), rest)
                self._hurry.clear()
                self._sleeping = True
                if self._inbox:
                    continue
                wait = 1.0
                if self._unapplied:
                    wait = max(0.0, self._retry_at - time.monotonic())
                if deadline is not None:
                    wait = min(wait, max(0.0, deadline - time.monotonic()) + 0.01)
                try:
                    await asyncio.wait_for(self._wake.wait(), wait)
                except TimeoutError:
                    pass
        finally:
            self._sleeping = self._journal_idle = False
            journaling.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await journaling
            if self._through > 0:
                journal.drop_through(self._through)
            if self._unapplied and journal.path is None:
                self.lost += self._unapplied
                log.error("store writer LOST %d write(s): the database is away and the "
                          "journal is in memory only", self._unapplied)  # fmt: skip
            await self._drop_connection()
            await engine.dispose()

    async def _journal_soon(self, journal: Journal) -> None:
        """Journal each write as soon as it is submitted, without the rounds' linger: a
        crash (SIGKILL) loses only writes not yet fsync'd. What is submitted during an
        fsync goes in the next append, so appends grow with the rate instead of
        their number. Runs beside the rounds, on the writer's loop: while a round
        awaits the database, the inbox is journaled."""
        assert self._journal_wake is not None
        while True:
            self._journal_idle = True
            if not self._inbox:
                await self._journal_wake.wait()
            self._journal_wake.clear()
            self._journal_idle = False
            began = time.monotonic()
            self._journal_inbox(journal)
            # appends journal_linger_s apart at the soonest: each costs CPU of its own
            await asyncio.sleep(max(0.0, self.journal_linger_s - (time.monotonic() - began)))

    def _journal_inbox(self, journal: Journal) -> None:
        """Move the inbox into the journal (one fsync'd transaction)."""
        taken: list[tuple[float, WriteRequest]] = []
        while self._inbox:
            taken.append(self._inbox.popleft())
        if not taken:
            return
        entries: list[tuple[float, str, WriteRequest | None, str | None]] = []
        for at, request in taken:
            try:
                entries.append((at, encode_request(request), request, None))
            except (TypeError, ValueError) as exc:  # e.g. event data JSON cannot carry
                why = f"cannot be journaled: {exc}"
                entries.append((at, f"!{why}: {request!r}", None, why))
        given_up = time.monotonic() + self.close_timeout_s
        self._journaling = len(entries)
        while True:
            try:
                first = journal.append([(at, payload) for at, payload, _, _ in entries],
                                       drop_through=self._through)  # fmt: skip
                break
            except Exception as exc:  # a full disk: nothing is dropped, try again
                self.last_error = f"journal: {exc!r}"
                if self._stopping and time.monotonic() > given_up:  # never hang a shutdown
                    self.lost += len(entries)
                    self._journaling = 0
                    log.error("store writer LOST %d write(s): the journal cannot take them "
                              "(%r): %s", len(entries), exc,
                              "; ".join(payload for _, payload, _, _ in entries))  # fmt: skip
                    return
                log.error("cannot append to the write journal (%r); retrying in 1 s", exc)
                time.sleep(1.0)
        self._journaling = 0
        self.journal_waits.append(time.time() - entries[0][0])
        if not self.db_up:
            self._replay_through = journal.last_seq
        for n, (at, payload, journaled, error) in enumerate(entries):
            seq = first + n
            entry = _Entry(seq, at, payload, journaled, error)
            if self._unapplied == 0 and not self._mem:
                self._mem.append(entry)
                self._head_at = at
            elif self._mem and self._mem[-1].seq == seq - 1 and len(self._mem) < self.memory_window:
                self._mem.append(entry)
            self._unapplied += 1

    def _head(self, journal: Journal) -> list[_Entry]:
        if self._mem:
            return [self._mem[n] for n in range(min(self.max_batch, len(self._mem)))]
        entries = [_read_back(e) for e in journal.read(self._through + 1, self.max_batch)]
        self._head_at = entries[0].at if entries else None
        return entries

    async def _apply_head(self, engine: AsyncEngine, journal: Journal) -> bool:
        """Apply the journal's oldest writes; False when the database is away."""
        entries = self._head(journal)
        if not entries:
            self._unapplied = 0
            return False
        try:
            try:
                refused, skipped = await self._transaction(
                    engine, journal, entries, one_by_one=False
                )
            except NotTheLeader as exc:
                if self.fenced is None:
                    log.error("store writer fenced (%s): %d write(s) held in the journal",
                              exc, self._unapplied)  # fmt: skip
                self.fenced = str(exc)
                self._retry_at = time.monotonic() + self.max_retry_delay_s
                return False
            except Exception as exc:
                if not is_refusal(exc):
                    raise
                log.warning("a batch of %d write(s) was refused (%r): applying one by one",
                            len(entries), exc)  # fmt: skip
                refused, skipped = await self._transaction(
                    engine, journal, entries, one_by_one=True
                )
        except Exception as exc:
            self._mark = None  # a commit may have happened: read the mark again
            self._retry_at = time.monotonic() + self._delay
            self._delay = min(self._delay * 2, self.max_retry_delay_s)
            self._replay_through = journal.last_seq
            self.last_error = repr(exc)
            if self.db_up:
                log.warning("database unreachable (%r): %d write(s) wait in the journal",
                            exc, self._unapplied)  # fmt: skip
            self.db_up = False
            return False
        if not self.db_up:
            log.warning("database back: replaying %d journaled write(s)", self._unapplied)
        self.db_up = True
        self.fenced = None
        self._delay = self.retry_delay_s
        self._done(journal, entries, refused, skipped)
        return True

    async def _transaction(
        self, engine: AsyncEngine, journal: Journal, entries: list[_Entry], *, one_by_one: bool
    ) -> tuple[list[tuple[_Entry, StorageError | Exception]], set[int]]:
        """Apply ``entries`` in one transaction; returns the refused ones and the numbers
        of those skipped because the database already had them."""
        refused: list[tuple[_Entry, StorageError | Exception]] = []
        conn = await self._connection(engine)
        try:
            async with conn.begin():
                if self.fence is not None:
                    await _check_fence(conn, self.fence(), self._fence_idle_ms)
                if self._mark is None:
                    self._mark = await _read_mark(conn, self._journal_id)
                mark = self._mark
                todo = [e for e in entries if e.seq > mark]
                for e in todo:
                    if e.request is None:
                        refused.append((e, ValueError(e.error)))
                good = [e for e in todo if e.request is not None]
                if one_by_one:
                    for e in good:
                        refused.extend((e, err) for err in await _apply_one(conn, e))
                elif good:
                    requests = [e.request for e in good if e.request is not None]
                    for index, err in await apply_batch(conn, requests):
                        refused.append((good[index], err))
                await _write_mark(conn, self._journal_id, entries[-1].seq)
                if refused:  # kept on disk before the database passes over them
                    journal.set_aside(
                        (e.seq, e.at, e.payload, _code(err), str(err)) for e, err in refused
                    )
                    self._tentative.update(e.seq for e, _ in refused)
        except BaseException:
            await self._drop_connection()
            raise
        skipped = {e.seq for e in entries if e.seq <= mark}
        if skipped:
            log.warning("skipped %d journaled write(s) the database already had", len(skipped))
        return refused, skipped

    async def _connection(self, engine: AsyncEngine) -> AsyncConnection:
        """The writer's connection, kept between rounds: no pool checkout and no
        pre-ping per round (measured: a third of the writer's CPU at 200 calls/s)."""
        if self._conn is None:
            conn = await engine.connect()
            self._conn = await conn.execution_options(**WRITE_TRANSACTION)
        return self._conn

    async def _drop_connection(self) -> None:
        """Forget the connection after any failure; the next round opens a new one."""
        conn, self._conn = self._conn, None
        await discard(conn)

    def _done(
        self,
        journal: Journal,
        entries: list[_Entry],
        refused: Sequence[tuple[_Entry, Exception]],
        skipped: set[int],
    ) -> None:
        last = entries[-1].seq
        self._mark = last
        refused_seqs = {e.seq for e, _ in refused}
        # set aside by an attempt that did not commit, then applied by this one
        stale = {seq for seq in self._tentative if seq <= last and seq not in refused_seqs}
        if stale:
            journal.take_back(stale)
        self._tentative = {seq for seq in self._tentative if seq > last}
        counts = dict(self.set_aside)  # replaced whole: health() reads it from another thread
        for e, err in refused:
            code = _code(err)
            counts[code] = counts.get(code, 0) + 1
            if isinstance(err, DuplicateOutcome):
                log.warning("store writer set aside a duplicate outcome: %s", e.payload)
            else:
                log.error("store writer set aside write #%d (%s): %s", e.seq, err, e.payload)
        self.set_aside = counts
        applied = [e for e in entries if e.seq not in refused_seqs and e.seq not in skipped]
        self.applied += len(applied)
        self.replayed += sum(1 for e in applied if e.seq <= self._replay_through)
        self._through = last
        self._unapplied -= len(entries)
        while self._mem and self._mem[0].seq <= last:
            self._mem.popleft()
        self._head_at = self._mem[0].at if self._mem else None  # else: set by the next read
        self._notify()
