"""``callcenter recordings verify|sweep|hold|release``: the operator's recording commands.

Each reads the database URL and the recordings directories (``recordings_local_dir``,
else ``recordings_dir``: the hotline's, and a node's own where it has one) from the
config file (``--config``), acts and exits: 0
done (verify: nothing wrong), 1 refused or faults found (each on stdout), 2 bad
usage. What is due and what is wrong is decided by :mod:`recordings.retention`;
this module lists, hashes and deletes files and updates the rows.

- ``verify``: every finished row against its file (missing, size, hash) and every
  file against the rows (stray).
- ``sweep``: deletes the files past their ``retain_until`` that are not on legal
  hold (with their ``-in``/``-out`` legs) and sets the rows' ``deleted_at``;
  ``--now`` fixes the clock (an ISO time with its offset).
- ``hold`` / ``release``: set or clear the legal hold of a call's recordings (by
  call id) or of one recording (by file name).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path, PurePosixPath
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from callcenter.config import ConfigError, HotlineConfig, load_config
from callcenter.storage import make_engine, make_session_factory
from callcenter.storage.errors import StorageError
from callcenter.storage.models import Recording
from recordings.mixmonitor import file_facts
from recordings.places import RecordingPlaces, one_place
from recordings.policy import FORMATS, leg_files
from recordings.retention import Finding, OnDisk, Stored, check, due

__all__ = ["add_parsers", "hold", "scan", "sweep", "verify"]

Sessions = async_sessionmaker[AsyncSession]


def _stored(r: Recording) -> Stored:
    return Stored(r.path, r.size_bytes, r.sha256, _aware(r.retain_until), r.legal_hold,
                  _aware(r.deleted_at))  # fmt: skip


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    # SQLite hands back naive times; every time Hotline writes is UTC
    return value.replace(tzinfo=dt.UTC) if value is not None and value.tzinfo is None else value


def scan(directory: Path) -> dict[str, OnDisk]:
    """Every recording file in ``directory`` (by the formats MixMonitor writes): its size
    and SHA-256 (blocking: run in a thread)."""
    out: dict[str, OnDisk] = {}
    if not directory.is_dir():
        return out
    for path in sorted(directory.iterdir()):
        if path.is_file() and path.suffix.lstrip(".") in FORMATS:
            size, sha, _ = file_facts(path)
            out[path.name] = OnDisk(size, sha)
    return out


def _places(where: Path | RecordingPlaces) -> RecordingPlaces:
    return where if isinstance(where, RecordingPlaces) else one_place(where)


async def verify(sessions: Sessions, where: Path | RecordingPlaces) -> list[Finding]:
    """What is wrong between the recordings' rows and the files in ``where`` (one
    directory, or every directory of the hotline and its nodes)."""
    async with sessions() as s:
        rows = [_stored(r) for r in await s.scalars(select(Recording))]
    files: dict[str, OnDisk] = {}
    for directory in _places(where).local_dirs():
        files.update(await asyncio.to_thread(scan, directory))
    return check(rows, files)


async def sweep(sessions: Sessions, where: Path | RecordingPlaces, now: dt.datetime) -> list[str]:
    """Delete the recordings due at ``now`` (files and legs) and mark their rows; the
    names deleted. A hold set meanwhile wins: the row is updated only if still unheld."""
    places = _places(where)
    async with sessions() as s:
        rows = {r.id: _stored(r) for r in await s.scalars(select(Recording))}
    done = []
    for rid, row in rows.items():
        if row not in due([row], now):
            continue
        async with sessions.begin() as s:
            marked = await s.execute(
                update(Recording)
                .where(Recording.id == rid, Recording.legal_hold.is_(False),
                       Recording.deleted_at.is_(None))
                .values(deleted_at=now)
            )  # fmt: skip
            if getattr(marked, "rowcount", 0) != 1:
                continue
            for path in (row.path, *leg_files(row.path)):
                places.local(path).unlink(missing_ok=True)
        done.append(row.name)
    return done


async def hold(sessions: Sessions, target: str, on: bool) -> int:
    """Set (``on``) or clear the legal hold of the recordings of call ``target``, or of
    the one whose file is named ``target``; how many rows matched."""
    name = PurePosixPath(target).name
    async with sessions.begin() as s:
        rows = list(
            await s.scalars(
                select(Recording).where(
                    or_(Recording.call_id == target, Recording.path.endswith("/" + name),
                        Recording.path == target)
                )
            )
        )  # fmt: skip
        for r in rows:
            r.legal_hold = on
    return len(rows)


# -- the command line ------------------------------------------------------------------


def _run(args: argparse.Namespace, job: Callable[[HotlineConfig, Sessions], Awaitable[int]]) -> int:
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        print(f"callcenter recordings: {exc}", file=sys.stderr)
        return 1

    async def main() -> int:
        engine = make_engine(config.database_url)
        try:
            return await job(config, make_session_factory(engine))
        finally:
            await engine.dispose()

    try:
        return asyncio.run(main())
    except StorageError as exc:
        print(f"callcenter recordings: {exc}", file=sys.stderr)
        return 1


def _verify(args: argparse.Namespace) -> int:
    async def job(config: HotlineConfig, sessions: Sessions) -> int:
        places = config.recording_places()
        findings = await verify(sessions, places)
        for f in findings:
            print(f)
        where = ", ".join(str(d) for d in places.local_dirs())
        print(f"{len(findings)} problem(s) in {where}")
        return 1 if findings else 0

    return _run(args, job)


def _sweep(args: argparse.Namespace) -> int:
    now = args.now or dt.datetime.now(dt.UTC)

    async def job(config: HotlineConfig, sessions: Sessions) -> int:
        deleted = await sweep(sessions, config.recording_places(), now)
        for name in deleted:
            print(f"deleted: {name}")
        print(f"{len(deleted)} recording(s) past their retention deleted at {now.isoformat()}")
        return 0

    return _run(args, job)


def _hold(on: bool) -> Callable[[argparse.Namespace], int]:
    def command(args: argparse.Namespace) -> int:
        async def job(config: HotlineConfig, sessions: Sessions) -> int:
            n = await hold(sessions, args.target, on)
            if n == 0:
                print(f"callcenter recordings: no recording of {args.target!r}", file=sys.stderr)
                return 1
            print(f"{n} recording(s) {'on legal hold' if on else 'released from legal hold'}")
            return 0

        return _run(args, job)

    return command


def _instant(text: str) -> dt.datetime:
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an ISO time") from None
    if value.tzinfo is None:
        raise argparse.ArgumentTypeError(f"{text!r} has no UTC offset (e.g. +00:00)")
    return value


def add_parsers(sub: Any) -> None:
    """Add ``recordings`` (verify, sweep, hold, release) to ``callcenter``'s subparsers."""
    rec = sub.add_parser("recordings", help="recording files: verify, sweep, legal hold")
    acts = rec.add_subparsers(dest="action", required=True)
    p = acts.add_parser("verify", help="rows against files: missing, size, hash, stray")
    p.set_defaults(func=_verify)
    commands = [p]
    p = acts.add_parser("sweep", help="delete recordings past their retention (not on hold)")
    p.add_argument("--now", type=_instant, default=None, help="the clock (ISO, with offset)")
    p.set_defaults(func=_sweep)
    commands.append(p)
    for name, on, text in (("hold", True, "put on legal hold: never swept"),
                           ("release", False, "release from legal hold")):  # fmt: skip
        p = acts.add_parser(name, help=text)
        p.add_argument("target", help="a call id (all its recordings) or a file name")
        p.set_defaults(func=_hold(on))
        commands.append(p)
    for p in commands:
        p.add_argument("--config", required=True, help="the controller config")
