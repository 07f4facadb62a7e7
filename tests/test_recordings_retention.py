"""Retention, legal hold and the integrity check: the pure decisions, then the shell over
a real database and real files with a fixed clock, then ``callcenter recordings``."""

from __future__ import annotations

import datetime as dt
import wave
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import select

from callcenter.cli import main
from callcenter.facts import RecordCallStarted, RecordRecording, call_key
from callcenter.recordings_cli import hold, sweep, verify
from callcenter.storage import Store, make_engine, make_session_factory, migrate
from callcenter.storage.models import Recording
from recordings.mixmonitor import file_facts
from recordings.retention import Fault, Finding, OnDisk, Stored, check, due

ROOT = Path(__file__).resolve().parents[1]
NOW = dt.datetime(2026, 12, 4, 12, 0, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)


# -- the pure decisions -----------------------------------------------------------------


def test_due_is_past_the_deadline_not_held_not_deleted() -> None:
    rows = [
        Stored("/m/old.wav", retain_until=NOW - DAY),
        Stored("/m/now.wav", retain_until=NOW),
        Stored("/m/soon.wav", retain_until=NOW + DAY),
        Stored("/m/kept.wav", retain_until=None),
        Stored("/m/held.wav", retain_until=NOW - DAY, legal_hold=True),
        Stored("/m/gone.wav", retain_until=NOW - DAY, deleted_at=NOW - DAY),
    ]
    assert [r.name for r in due(rows, NOW)] == ["old.wav", "now.wav"]


def test_check_names_each_fault() -> None:
    rows = [
        Stored("/m/ok.wav", 100, "a" * 64),
        Stored("/m/gone.wav", 100, "b" * 64),
        Stored("/m/cut.wav", 100, "c" * 64),
        Stored("/m/edited.wav", 100, "d" * 64),
        Stored("/m/live.wav"),  # still recording: not judged
        Stored("/m/legs.wav", 100, "e" * 64),
        Stored("/m/swept.wav", 100, "f" * 64, deleted_at=NOW),
    ]
    files = {
        "ok.wav": OnDisk(100, "a" * 64),
        "cut.wav": OnDisk(44, "x" * 64),
        "edited.wav": OnDisk(100, "y" * 64),
        "legs.wav": OnDisk(100, "e" * 64),
        "legs-in.wav": OnDisk(50, "1" * 64),
        "legs-out.wav": OnDisk(50, "2" * 64),
        "swept.wav": OnDisk(100, "f" * 64),
        "nobody.wav": OnDisk(10, "z" * 64),
    }
    assert check(rows, files) == [
        Finding(Fault.SIZE, "cut.wav", "44 bytes, row 100"),
        Finding(Fault.HASH, "edited.wav", "sha256 yyyyyyyyyyyy…"),
        Finding(Fault.MISSING, "gone.wav"),
        Finding(Fault.STRAY, "nobody.wav"),
        Finding(Fault.STRAY, "swept.wav"),
    ]
    assert str(check(rows, files)[0]) == "size: cut.wav (44 bytes, row 100)"


# -- the shell over a real database and real files ------------------------------------


@pytest.fixture
async def store(db_url: str) -> AsyncIterator[Store]:
    await migrate(db_url)
    engine = make_engine(db_url)
    yield Store(make_session_factory(engine))
    await engine.dispose()


def wav(path: Path, seconds: float) -> None:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(b"\x01\x02" * int(8000 * seconds))


async def recorded(store: Store, monitor: Path, n: int, retain_until: dt.datetime | None) -> str:
    """A finished recording of call n, its file written; its file name."""
    linkedid = f"1796000000.{n}"
    call_id = call_key("pbx1", linkedid)
    name = f"hotline-pbx1-{linkedid}.wav"
    wav(monitor / name, 1 + n / 10)
    size, sha, duration = file_facts(monitor / name)
    started = NOW - 40 * DAY
    await store.apply(
        RecordCallStarted(call_id, linkedid, "pbx1", started, caller_number=f"09120000{n:02}"),
        RecordRecording(call_id, f"/var/spool/asterisk/monitor/{name}", started,
                        ended_at=started + dt.timedelta(seconds=5), duration_s=duration,
                        size_bytes=size, sha256=sha, retain_until=retain_until),
    )  # fmt: skip
    return name


async def rows(store: Store) -> dict[str, Recording]:
    async with store.sessions() as s:
        return {Path(r.path).name: r for r in await s.scalars(select(Recording))}


async def test_the_sweeper_deletes_what_is_due_and_a_hold_wins(store: Store, tmp_path: Path):
    monitor = tmp_path / "monitor"
    monitor.mkdir()
    old = await recorded(store, monitor, 1, NOW - DAY)
    held = await recorded(store, monitor, 2, NOW - DAY)
    soon = await recorded(store, monitor, 3, NOW + DAY)
    kept = await recorded(store, monitor, 4, None)
    (monitor / old.replace(".wav", "-in.wav")).write_bytes(b"leg")  # separate legs go too
    assert await hold(store.sessions, "pbx1:1796000000.2", True) == 1  # by call id
    assert await verify(store.sessions, monitor) == []

    assert await sweep(store.sessions, monitor, NOW) == [old]
    assert sorted(p.name for p in monitor.iterdir()) == sorted([held, soon, kept])
    after = await rows(store)
    assert after[old].deleted_at is not None and after[held].deleted_at is None
    assert after[held].legal_hold
    assert await sweep(store.sessions, monitor, NOW) == [], "a second sweep finds nothing"
    assert await verify(store.sessions, monitor) == [], "a swept row is not missing"

    # a day later the next one is due; the held one only once released (by file name)
    assert await sweep(store.sessions, monitor, NOW + 2 * DAY) == [soon]
    assert await hold(store.sessions, held, False) == 1
    assert await sweep(store.sessions, monitor, NOW + 2 * DAY) == [held]
    assert [p.name for p in monitor.iterdir()] == [kept]
    assert await hold(store.sessions, "pbx1:no-such-call", True) == 0


async def test_verify_finds_each_planted_fault(store: Store, tmp_path: Path):
    monitor = tmp_path / "monitor"
    monitor.mkdir()
    names = [await recorded(store, monitor, n, None) for n in range(1, 5)]
    assert await verify(store.sessions, monitor) == []
    (monitor / names[0]).unlink()  # deleted
    data = (monitor / names[1]).read_bytes()
    (monitor / names[1]).write_bytes(data[: len(data) // 2])  # truncated
    third = (monitor / names[2]).read_bytes()
    (monitor / names[2]).write_bytes(third[:-1] + bytes([third[-1] ^ 1]))  # same size
    wav(monitor / "hotline-pbx1-9.9.wav", 1)  # no row
    (monitor / "notes.txt").write_text("not a recording")
    found = await verify(store.sessions, monitor)
    assert [(f.fault, f.name) for f in found] == [
        (Fault.MISSING, names[0]),
        (Fault.SIZE, names[1]),
        (Fault.HASH, names[2]),
        (Fault.STRAY, "hotline-pbx1-9.9.wav"),
    ]


# -- callcenter recordings ...  -----------------------------------------------------------


def config_file(tmp_path: Path, db_url: str, monitor: Path) -> Path:
    cfg = tmp_path / "hotline.yaml"
    cfg.write_text(
        f"""nodes:
  - {{name: pbx1, username: hotline, secret: s}}
hotline:
  recordings_dir: {monitor}
ivr_file: {ROOT / "config" / "ivr.yaml"}
database_url: {db_url}
queues:
  - name: support
"""
    )
    return cfg


async def test_the_operator_commands(store: Store, db_url: str, tmp_path: Path, capsys):
    import asyncio

    monitor = tmp_path / "monitor"
    monitor.mkdir()
    old = await recorded(store, monitor, 1, NOW - DAY)
    other = await recorded(store, monitor, 2, NOW - DAY)
    cfg = str(config_file(tmp_path, db_url, monitor))

    def run(*argv: str) -> tuple[int, str]:
        rc = main(["recordings", *argv, "--config", cfg])
        return rc, capsys.readouterr().out

    # main() runs its own event loop: call it from a thread, away from the test's loop
    assert await asyncio.to_thread(run, "verify") == (0, f"0 problem(s) in {monitor}\n")
    assert (await asyncio.to_thread(run, "hold", other))[0] == 0
    rc, out = await asyncio.to_thread(run, "sweep", "--now", NOW.isoformat())
    assert rc == 0 and out.startswith(f"deleted: {old}\n1 recording(s)")
    assert (await asyncio.to_thread(run, "release", "pbx1:1796000000.2"))[0] == 0
    rc, out = await asyncio.to_thread(run, "sweep", "--now", NOW.isoformat())
    assert out.startswith(f"deleted: {other}\n")
    wav(monitor / "stray.wav", 1)
    rc, out = await asyncio.to_thread(run, "verify")
    assert (rc, out) == (1, f"stray: stray.wav\n1 problem(s) in {monitor}\n")
    assert (await asyncio.to_thread(run, "hold", "nothing.wav"))[0] == 1
    with pytest.raises(SystemExit):
        main(["recordings", "sweep", "--now", "2026-12-04T12:00", "--config", cfg])
    assert "has no UTC offset" in capsys.readouterr().err
