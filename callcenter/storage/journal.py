"""The local write journal: every write waits here until the database has it.

A SQLite file next to the controller (``synchronous=FULL``: each append is one
fsync'd transaction, however many writes it carries). The
:class:`~callcenter.storage.writer.StoreWriter`'s thread is its only user.

Rules of the journal:

- A write gets a sequence number when it is appended; numbers only grow, even
  across restarts and once the journal is empty (``meta.last_seq``), because
  the database remembers the last number it applied (``journal_marks``, in
  the same transaction as the writes): a replay after a crash skips what the
  database already has, so nothing is applied twice.
- Applied writes are deleted (lazily: in the next append's transaction).
- A write the database refuses for good is moved to ``aside`` with its error,
  in its own fsync'd transaction *before* the database transaction that
  passes over it commits: it is never dropped silently.
- Bounded by disk only. One controller per file: the file is locked
  (``locking_mode=EXCLUSIVE``) and a second opener gets :class:`JournalBusy`.
"""

from __future__ import annotations

import functools
import hashlib
import re
import sqlite3
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url

from callcenter.storage.errors import StorageError

__all__ = ["AsideEntry", "Journal", "JournalBusy", "PendingEntry", "default_journal_path"]


def default_journal_path(database_url: str, folder: Path | None = None) -> Path:
    """Where the journal of ``database_url`` lives: next to a SQLite file, else in
    ``folder`` (``var/`` by default). One journal per database: the name carries the
    database's name and a hash of its URL (without the password)."""
    url = make_url(database_url)
    name = url.database or "database"
    if url.get_backend_name() == "sqlite" and name != ":memory:" and not name.startswith("file:"):
        base = Path(name).parent
    else:
        base = folder if folder is not None else Path("var")
    digest = hashlib.sha256(url.render_as_string(hide_password=True).encode()).hexdigest()[:10]
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "_", Path(name).stem)[:40]
    return base / f"write-journal-{slug}-{digest}.db"


_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS pending ("
    " seq INTEGER PRIMARY KEY, at REAL NOT NULL, payload TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS aside ("
    " seq INTEGER PRIMARY KEY, at REAL NOT NULL, payload TEXT NOT NULL,"
    " code TEXT NOT NULL, error TEXT NOT NULL, set_aside_at REAL NOT NULL)",
)


#: Writes per INSERT of an append (3 parameters each: well under SQLite's 32,766).
APPEND_ROWS = 500


@functools.cache
def _insert_pending(rows: int) -> str:
    return "INSERT INTO pending (seq, at, payload) VALUES " + ", ".join(["(?, ?, ?)"] * rows)


class JournalBusy(StorageError):
    """The journal file is held by another controller (or is not a journal)."""

    code = "journal_busy"


@dataclass(frozen=True, slots=True)
class PendingEntry:
    """A journaled write not yet applied: its number, when it was submitted, its JSON."""

    seq: int
    at: float
    payload: str


@dataclass(frozen=True, slots=True)
class AsideEntry:
    """A write the database refused for good, with why."""

    seq: int
    at: float
    payload: str
    code: str
    error: str
    set_aside_at: float


class Journal:
    """The journal file at ``path`` (created with its folder); ``None``: in memory only,
    which survives a database outage but not the process."""

    def __init__(self, path: str | Path | None) -> None:
        self.path = None if path is None else Path(path)
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        target = ":memory:" if self.path is None else str(self.path)
        self._db = sqlite3.connect(
            target, timeout=0.5, isolation_level=None, check_same_thread=False
        )
        try:
            self._db.execute("PRAGMA locking_mode=EXCLUSIVE")
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.execute("BEGIN IMMEDIATE")  # takes the file lock now, not at first append
            for statement in _SCHEMA:
                self._db.execute(statement)
            self._db.execute(
                "INSERT OR IGNORE INTO meta VALUES ('journal_id', ?)", (uuid.uuid4().hex,)
            )
            self._db.execute("INSERT OR IGNORE INTO meta VALUES ('last_seq', '0')")
            self._db.execute("COMMIT")
        except sqlite3.Error as exc:
            self._db.close()
            raise JournalBusy(f"{target}: {exc} (is another controller using it?)") from exc
        meta = dict(self._db.execute("SELECT key, value FROM meta").fetchall())
        #: Names this journal in the database's ``journal_marks``.
        self.journal_id: str = meta["journal_id"]
        #: The number of the last write ever appended.
        self.last_seq = int(meta["last_seq"])

    # -- reading

    def pending_count(self) -> int:
        return int(self._db.execute("SELECT count(*) FROM pending").fetchone()[0])

    def first_pending(self) -> PendingEntry | None:
        row = self._db.execute(
            "SELECT seq, at, payload FROM pending ORDER BY seq LIMIT 1"
        ).fetchone()
        return None if row is None else PendingEntry(*row)

    def read(self, from_seq: int, limit: int) -> list[PendingEntry]:
        """Up to ``limit`` pending writes numbered ``from_seq`` or more, oldest first."""
        rows = self._db.execute(
            "SELECT seq, at, payload FROM pending WHERE seq >= ? ORDER BY seq LIMIT ?",
            (from_seq, limit),
        )
        return [PendingEntry(*row) for row in rows]

    def aside(self) -> list[AsideEntry]:
        """Every write set aside, oldest first."""
        rows = self._db.execute(
            "SELECT seq, at, payload, code, error, set_aside_at FROM aside ORDER BY seq"
        )
        return [AsideEntry(*row) for row in rows]

    # -- writing (each method is one fsync'd transaction)

    def append(self, items: Sequence[tuple[float, str]], *, drop_through: int = 0) -> int:
        """Append ``(submitted_at, payload)`` items; returns the number of the first.

        Pending writes numbered ``drop_through`` or less (applied) are deleted in
        the same transaction.
        """
        first = self.last_seq + 1
        last = self.last_seq + len(items)
        with self._transaction():
            if drop_through:
                self._db.execute("DELETE FROM pending WHERE seq <= ?", (drop_through,))
            # one statement per APPEND_ROWS writes, not one per write: SQLite releases the
            # GIL around each step, and this thread waits to take it back from a busy
            # event loop each time (see writer.py, "The GIL")
            for start in range(0, len(items), APPEND_ROWS):
                chunk = items[start : start + APPEND_ROWS]
                values = [v for n, (at, payload) in enumerate(chunk, first + start)
                          for v in (n, at, payload)]  # fmt: skip
                self._db.execute(_insert_pending(len(chunk)), values)
            self._db.execute("UPDATE meta SET value = ? WHERE key = 'last_seq'", (str(last),))
        self.last_seq = last
        return first

    def drop_through(self, seq: int) -> None:
        """Delete the pending writes numbered ``seq`` or less (the database has them)."""
        with self._transaction():
            self._db.execute("DELETE FROM pending WHERE seq <= ?", (seq,))

    def set_aside(self, entries: Iterable[tuple[int, float, str, str, str]]) -> None:
        """Keep ``(seq, submitted_at, payload, code, error)`` aside; idempotent (a retried
        batch refuses again)."""
        now = time.time()
        with self._transaction():
            self._db.executemany(
                "INSERT OR REPLACE INTO aside VALUES (?, ?, ?, ?, ?, ?)",
                ((seq, at, payload, code, error, now) for seq, at, payload, code, error in entries),
            )

    def take_back(self, seqs: Iterable[int]) -> None:
        """Remove from ``aside`` writes a later attempt applied after all."""
        with self._transaction():
            self._db.executemany("DELETE FROM aside WHERE seq = ?", ((seq,) for seq in seqs))

    def close(self) -> None:
        self._db.close()

    def _transaction(self) -> _Transaction:
        return _Transaction(self._db)


class _Transaction:
    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def __enter__(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: object, *_: object) -> None:
        self._db.execute("COMMIT" if exc_type is None else "ROLLBACK")
