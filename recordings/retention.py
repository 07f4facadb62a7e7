"""What retention and the integrity check decide, without I/O: which recordings the
sweeper deletes at ``now``, and what is wrong between the rows and the files.

Rules:

1. A recording is due when its ``retain_until`` has passed, it is not on legal
   hold and it was not deleted already. A hold wins over any deadline; a
   released hold makes a past deadline due again at the next sweep.
2. The check compares each finished row (size and SHA-256 known) with its file:
   missing, another size (a truncated or grown file), another hash. A file in the
   directory that no row names (nor a row's ``-in``/``-out`` legs), or that the
   sweeper deleted, is stray. A row still recording (no size yet) is not judged.
The shell (``callcenter.recordings_cli``) lists the files, hashes them and acts.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import Enum
from pathlib import PurePosixPath

from .policy import leg_files


@dataclass(frozen=True, slots=True)
class Stored:
    """What SQL holds of one recording (``callcenter.storage.models.Recording``)."""

    path: str
    size_bytes: int | None = None
    sha256: str | None = None
    retain_until: dt.datetime | None = None
    legal_hold: bool = False
    deleted_at: dt.datetime | None = None

    @property
    def name(self) -> str:
        """The file's name: rows keep Asterisk's path, the controller reads by name."""
        return PurePosixPath(self.path).name


@dataclass(frozen=True, slots=True)
class OnDisk:
    """One file in the recordings directory: its size and SHA-256."""

    size: int
    sha256: str


class Fault(Enum):
    """What the integrity check can find."""

    #: a finished row whose file is gone
    MISSING = "missing"
    #: the file's size differs from the row's (truncated, or grown)
    SIZE = "size"
    #: same size, other content
    HASH = "hash"
    #: a file no row names, or one the sweeper deleted
    STRAY = "stray"


@dataclass(frozen=True, slots=True)
class Finding:
    fault: Fault
    name: str
    detail: str = ""

    def __str__(self) -> str:
        return f"{self.fault.value}: {self.name}" + (f" ({self.detail})" if self.detail else "")


def due(rows: Iterable[Stored], now: dt.datetime) -> list[Stored]:
    """The recordings the sweeper deletes at ``now`` (rule 1), in the order given."""
    return [
        r
        for r in rows
        if r.retain_until is not None
        and r.retain_until <= now
        and not r.legal_hold
        and r.deleted_at is None
    ]


def check(rows: Iterable[Stored], files: Mapping[str, OnDisk]) -> list[Finding]:
    """Every fault between ``rows`` and ``files`` (file name -> facts), sorted (rule 2)."""
    findings: list[Finding] = []
    known: set[str] = set()
    for r in rows:
        if r.deleted_at is not None:
            continue  # its file, if still there, is stray
        known.add(r.name)
        known.update(PurePosixPath(p).name for p in leg_files(r.path))
        if r.size_bytes is None or r.sha256 is None:
            continue  # still recording, or never measured
        disk = files.get(r.name)
        if disk is None:
            findings.append(Finding(Fault.MISSING, r.name))
        elif disk.size != r.size_bytes:
            findings.append(Finding(Fault.SIZE, r.name, f"{disk.size} bytes, row {r.size_bytes}"))
        elif disk.sha256 != r.sha256:
            findings.append(Finding(Fault.HASH, r.name, f"sha256 {disk.sha256[:12]}…"))
    findings += [Finding(Fault.STRAY, name) for name in files if name not in known]
    return sorted(findings, key=lambda f: (f.name, f.fault.value))
