"""The writer across real PostgreSQL outages: a private server the test stops and starts.

:class:`PrivatePostgres` runs its own cluster (``initdb``, ``pg_ctl``) on a free
port in a temporary folder, so stopping it touches nobody else's database. As
root the binaries run as the ``postgres`` user (``initdb`` refuses root). When
the binaries are missing the tests skip and say where they looked.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import glob
import os
import shutil
import socket
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from callcenter.metrics import Metrics
from callcenter.storage import (
    Journal,
    RecordCallEvent,
    RecordCallStarted,
    RecordOutcome,
    Store,
    StoreWriter,
    call_key,
    make_engine,
    make_session_factory,
    migrate,
)
from callcenter.storage.models import Call, CallEvent, QueueOutcome

PG_GLOB = "/usr/lib/postgresql/*/bin"
T0 = dt.datetime(2026, 3, 2, 8, 30, tzinfo=dt.UTC)


def pg_bin() -> Path | None:
    for folder in sorted(glob.glob(PG_GLOB), reverse=True):
        if all((Path(folder) / name).exists() for name in ("initdb", "pg_ctl", "postgres")):
            return Path(folder)
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PrivatePostgres:
    """A PostgreSQL cluster of the test's own, on 127.0.0.1 and a free port."""

    def __init__(self, bin_dir: Path) -> None:
        self.bin = bin_dir
        self.port = free_port()
        # not under pytest's tmp_path: its folders are private to root, the server is not root
        self.root = Path(tempfile.mkdtemp(prefix="hotline-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        self.as_postgres = os.geteuid() == 0
        #: stop/start history: (stopped at, started at), loop clock
        self.outages: list[tuple[float, float]] = []

    @property
    def url(self) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/hotline"

    async def _run(self, *args: str, timeout: float = 60) -> None:
        cmd = [str(self.bin / args[0]), *args[1:]]
        if self.as_postgres:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        proc = await asyncio.create_subprocess_exec(
            *cmd, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
        )
        out, _ = await asyncio.wait_for(proc.communicate(), timeout)
        if proc.returncode != 0:
            log = self.log.read_text() if self.log.exists() else ""
            raise RuntimeError(f"{' '.join(args)} failed: {out.decode()}\n{log[-2000:]}")

    async def init(self) -> None:
        if self.as_postgres:
            shutil.chown(self.root, "postgres", "postgres")
        await self._run("initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust",
                        "-E", "UTF8", "--no-sync", "--no-instructions")  # fmt: skip
        await self.start()
        await self._run("psql", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres",
                        "-c", "CREATE DATABASE hotline", "postgres")  # fmt: skip

    async def start(self) -> None:
        options = (f"-p {self.port} -k {self.data} -c listen_addresses=127.0.0.1 "
                   "-c fsync=off -c full_page_writes=off")  # fmt: skip
        await self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60",
                        "-o", options, "start")  # fmt: skip

    async def stop(self, mode: str = "fast") -> None:
        await self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop")

    async def outage(self, seconds: float, mode: str = "fast") -> None:
        """Stop the server for ``seconds``, then start it again."""
        loop = asyncio.get_running_loop()
        await self.stop(mode)
        down = loop.time()
        await asyncio.sleep(seconds)
        await self.start()
        self.outages.append((down, loop.time()))

    async def destroy(self) -> None:
        try:
            await self.stop("immediate")
        except RuntimeError:
            pass  # already stopped
        shutil.rmtree(self.root, ignore_errors=True)


@contextlib.asynccontextmanager
async def running_private_pg() -> AsyncIterator[PrivatePostgres]:
    """A private PostgreSQL for one test (skips when the binaries are missing)."""
    bin_dir = pg_bin()
    if bin_dir is None or (os.geteuid() == 0 and shutil.which("runuser") is None):
        pytest.skip(f"PostgreSQL server binaries (initdb, pg_ctl, postgres) not found in {PG_GLOB}")
    pg = PrivatePostgres(bin_dir)
    try:
        await pg.init()
        yield pg
    finally:
        await pg.destroy()


@pytest.fixture
async def private_pg() -> AsyncIterator[PrivatePostgres]:
    async with running_private_pg() as pg:
        yield pg


async def wait_for(cond: object, timeout: float, what: str) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not cond():  # type: ignore[operator]
        if loop.time() > end:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        await asyncio.sleep(0.05)


def call_writes(n: int) -> list[object]:
    cid = call_key("pbx1", f"1.{n}")
    return [
        RecordCallStarted(cid, f"1.{n}", "pbx1", T0),
        RecordCallEvent(cid, T0, "queued", {"n": n}),
        RecordOutcome(cid, "support", "abandoned", 1.0, T0),
    ]


def figure(metrics: Metrics, name: str) -> float:
    for line in metrics.render().decode().splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError(f"{name} not in /metrics")


async def test_writes_wait_out_an_outage_in_the_journal(
    private_pg: PrivatePostgres, tmp_path: Path
) -> None:
    await migrate(private_pg.url)
    journal = tmp_path / "journal.db"
    metrics = Metrics()
    # a memory window smaller than the backlog: the replay reads the journal file too
    writer = StoreWriter(private_pg.url, journal=journal, max_batch=50, memory_window=100)
    metrics.watch_writer(writer.health)
    async with writer:
        for n in range(20):
            for w in call_writes(n):
                writer.submit(w)  # type: ignore[arg-type]
        await writer.flush()
        assert writer.db_up and figure(metrics, "hotline_writer_pending") == 0

        await private_pg.stop("immediate")
        for n in range(20, 220):
            for w in call_writes(n):
                writer.submit(w)  # type: ignore[arg-type]
        await wait_for(lambda: not writer.db_up, 30, "the writer to find the database away")
        with pytest.raises(TimeoutError):
            await writer.flush(timeout=0.5)
        assert figure(metrics, "hotline_writer_database_up") == 0
        assert figure(metrics, "hotline_writer_pending") == 600
        assert figure(metrics, "hotline_writer_oldest_pending_seconds") > 0.4
        health = metrics.writer_health()
        assert health is not None and health["pending_writes"] == 600
        assert health["last_error"]

        await private_pg.start()
        await writer.flush(timeout=120)
        assert writer.db_up
        assert figure(metrics, "hotline_writer_pending") == 0
        assert figure(metrics, "hotline_writer_replayed_total") == 600
        assert figure(metrics, "hotline_writer_applied_total") == 660
    engine = make_engine(private_pg.url)
    try:
        async with Store(make_session_factory(engine)).sessions() as s:
            calls = await s.scalar(sa.select(sa.func.count()).select_from(Call))
            events = await s.scalar(sa.select(sa.func.count()).select_from(CallEvent))
            outcomes = await s.scalar(sa.select(sa.func.count()).select_from(QueueOutcome))
    finally:
        await engine.dispose()
    assert (calls, events, outcomes) == (220, 220, 220)
    assert writer.set_aside == {}
    reopened = Journal(journal)
    try:
        assert reopened.pending_count() == 0
    finally:
        reopened.close()


async def test_an_outage_during_a_replay_duplicates_nothing(
    private_pg: PrivatePostgres, tmp_path: Path
) -> None:
    # Five outages while 3,000 writes go through in batches of 25; "immediate" stops
    # kill transactions mid-commit, whose fate the writer learns from journal_marks.
    await migrate(private_pg.url)
    async with StoreWriter(private_pg.url, journal=tmp_path / "j.db", max_batch=25) as writer:
        for n in range(1000):
            for w in call_writes(n):
                writer.submit(w)  # type: ignore[arg-type]
            if n % 200 == 100:
                await asyncio.sleep(0)
                await private_pg.outage(0.5, mode="immediate" if n % 400 == 100 else "fast")
        await writer.flush(timeout=180)
    engine = make_engine(private_pg.url)
    try:
        async with Store(make_session_factory(engine)).sessions() as s:
            events = await s.scalar(sa.select(sa.func.count()).select_from(CallEvent))
            distinct = await s.scalar(sa.select(sa.func.count(sa.distinct(CallEvent.call_id))))
            outcomes = await s.scalar(sa.select(sa.func.count()).select_from(QueueOutcome))
    finally:
        await engine.dispose()
    assert (events, distinct, outcomes) == (1000, 1000, 1000)
    assert writer.set_aside == {} and writer.applied == 3000


async def test_writes_left_at_close_wait_for_the_next_start(
    private_pg: PrivatePostgres, tmp_path: Path
) -> None:
    await migrate(private_pg.url)
    journal = tmp_path / "journal.db"
    await private_pg.stop()
    writer = StoreWriter(private_pg.url, journal=journal, close_timeout_s=1.0)
    async with writer:
        for n in range(10):
            for w in call_writes(n):
                writer.submit(w)  # type: ignore[arg-type]
    assert (writer.applied, writer.lost) == (0, 0)
    left = Journal(journal)
    try:
        assert left.pending_count() == 30
    finally:
        left.close()

    await private_pg.start()
    async with StoreWriter(private_pg.url, journal=journal) as again:
        await again.flush(timeout=60)
    assert (again.applied, again.replayed) == (30, 30)
    engine = make_engine(private_pg.url)
    try:
        async with Store(make_session_factory(engine)).sessions() as s:
            outcomes = await s.scalar(sa.select(sa.func.count()).select_from(QueueOutcome))
    finally:
        await engine.dispose()
    assert outcomes == 10


async def test_writes_reach_the_journal_while_a_round_waits_on_the_database(tmp_path: Path):
    """Regression: a write waited for the next round (linger, then the database's
    answer) before it was journaled, so a crash meanwhile lost it. Here the database
    accepts the connection and never answers: the round hangs in it, and a write
    submitted then must be journaled before that attempt ends."""
    attempts: list[asyncio.StreamWriter] = []
    given_up: list[asyncio.StreamWriter] = []  # attempts the writer closed

    async def never_answers(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        attempts.append(writer)
        with contextlib.suppress(ConnectionError):
            while await reader.read(4096):
                pass  # the startup message, never answered
        given_up.append(writer)

    server = await asyncio.start_server(never_answers, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    journal = tmp_path / "journal.db"
    writer = StoreWriter(f"postgresql+asyncpg://postgres@127.0.0.1:{port}/hotline",
                         journal=journal, close_timeout_s=0.5)  # fmt: skip
    try:
        writer.start()
        first, second = call_writes(1), call_writes(2)
        for w in first:
            writer.submit(w)
        await wait_for(lambda: attempts, 60, "the writer's round to connect")
        assert writer.unjournaled == 0  # the round journaled its writes before connecting
        for w in second:
            writer.submit(w)
        await wait_for(lambda: writer.unjournaled == 0 or given_up, 120,
                       "the second writes to be journaled")  # fmt: skip
        assert not given_up, "journaled only once the round gave up on the database"
        assert writer.unjournaled == 0 and writer.pending == len(first) + len(second)
    finally:
        server.close()  # refused from now on
        for attempt in attempts:
            attempt.close()  # the round's connect fails: close() is not held by it
        await writer.close()
        await server.wait_closed()
    reopened = Journal(journal)
    try:
        assert reopened.pending_count() == len(first) + len(second)
    finally:
        reopened.close()
