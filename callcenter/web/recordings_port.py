"""What the recording routes need from behind the web edge (``RecordingLibrary`` fits),
and the plain data passed across."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from typing_extensions import TypedDict


@dataclass(frozen=True, slots=True)
class Search:
    """A search's filters (None: any) and its page."""

    caller: str | None = None
    agent_id: int | None = None
    queue: str | None = None
    customer_id: int | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None
    min_duration_s: float | None = None
    max_duration_s: float | None = None
    limit: int = 50
    offset: int = 0


@dataclass(frozen=True, slots=True)
class RecordingFile:
    """One recording to serve: where its file is and who may hear it."""

    id: int
    call_id: str
    local_path: Path
    agent_id: int | None
    #: the queue's policy lets the call's agent listen and download
    agent_may_listen: bool
    deleted: bool


class Library(Protocol):
    async def search(self, q: Search) -> dict[str, Any]:
        """One page of matching recordings, newest first: ``{recordings, more, offset}``."""
        ...

    async def get(self, recording_id: int) -> tuple[RecordingFile, dict[str, Any]] | None:
        """The recording to serve and its facts; None: no such recording."""
        ...

    async def audit(
        self, recording_id: int, account_id: str, role: str, action: str, remote: str | None
    ) -> None:
        """Write one access row (listen or download)."""
        ...

    async def accesses(self, recording_id: int) -> list[dict[str, Any]]:
        """The recording's audit rows, oldest first."""
        ...


class RecordingFacts(TypedDict):
    """One recording as the search lists it (times ISO 8601, UTC)."""

    id: int
    call_id: str
    file: str
    started_at: str | None
    ended_at: str | None
    duration_s: float | None
    size_bytes: int | None
    format: str | None
    queue: str | None
    agent_id: int | None
    caller_number: str | None
    customer_id: int | None
    #: silent spans [start, end], seconds from the start
    mute_intervals: list[list[float]]
    retain_until: str | None
    legal_hold: bool
    deleted_at: str | None


class RecordingPage(TypedDict):
    recordings: list[RecordingFacts]
    #: more rows follow this page
    more: bool
    offset: int


class RecordingAccessRow(TypedDict):
    account_id: str
    role: str
    #: listen or download
    action: str
    at: str | None
    remote: str | None


class RecordingAudit(TypedDict):
    recording_id: int
    accesses: list[RecordingAccessRow]
