"""The recordings as the web edge reads them: search, one recording's file and who
may hear it, and the audit log of every listen and download (table
``recording_access``). SQL through the store's sessions; files from the
controller's recordings directories (the hotline's and the nodes' own:
:class:`recordings.RecordingPlaces`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from pathlib import Path, PurePosixPath
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from callcenter.storage.models import Recording, RecordingAccess
from callcenter.web.recordings_port import RecordingFile, Search
from recordings.places import RecordingPlaces, one_place
from recordings.policy import DEFAULT_POLICY, RecordingPolicy
from sqlbase import iso_utc

__all__ = ["RecordingFile", "RecordingLibrary", "Search"]

#: at most this many rows per search page
MAX_PAGE = 200


def _json(r: Recording) -> dict[str, Any]:
    return {
        "id": r.id,
        "call_id": r.call_id,
        "file": PurePosixPath(r.path).name,
        "started_at": iso_utc(r.started_at),
        "ended_at": iso_utc(r.ended_at),
        "duration_s": r.duration_s,
        "size_bytes": r.size_bytes,
        "format": r.format,
        "queue": r.queue,
        "agent_id": r.agent_id,
        "caller_number": r.caller_number,
        "customer_id": r.customer_id,
        "mute_intervals": r.mute_intervals or [],
        "retain_until": iso_utc(r.retain_until),
        "legal_hold": r.legal_hold,
        "deleted_at": iso_utc(r.deleted_at),
    }


class RecordingLibrary:
    """Search, open and audit recordings (``callcenter.web.recordings_api.Library``)."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        read_dir: Path | RecordingPlaces,
        policies: Mapping[str, RecordingPolicy] | Callable[[], Mapping[str, RecordingPolicy]],
    ) -> None:
        self.sessions = sessions
        #: where each file is read (one directory, or the hotline's and the nodes' own)
        self.places = read_dir if isinstance(read_dir, RecordingPlaces) else one_place(read_dir)
        #: queue -> policy, read at each request (a callable follows a config reload)
        self._policies = policies if callable(policies) else (lambda p=dict(policies): p)

    async def search(self, q: Search) -> dict[str, Any]:
        """One page of recordings matching ``q``, newest first, and whether more follow."""
        query = select(Recording).order_by(Recording.started_at.desc(), Recording.id.desc())
        if q.caller:
            query = query.where(Recording.caller_number.contains(q.caller, autoescape=True))
        if q.agent_id is not None:
            query = query.where(Recording.agent_id == q.agent_id)
        if q.queue:
            query = query.where(Recording.queue == q.queue)
        if q.customer_id is not None:
            query = query.where(Recording.customer_id == q.customer_id)
        if q.since is not None:
            query = query.where(Recording.started_at >= q.since)
        if q.until is not None:
            query = query.where(Recording.started_at < q.until)
        if q.min_duration_s is not None:
            query = query.where(Recording.duration_s >= q.min_duration_s)
        if q.max_duration_s is not None:
            query = query.where(Recording.duration_s <= q.max_duration_s)
        limit = max(1, min(q.limit, MAX_PAGE))
        async with self.sessions() as s:
            rows = list(await s.scalars(query.offset(max(0, q.offset)).limit(limit + 1)))
        return {"recordings": [_json(r) for r in rows[:limit]], "more": len(rows) > limit,
                "offset": max(0, q.offset)}  # fmt: skip

    async def get(self, recording_id: int) -> tuple[RecordingFile, dict[str, Any]] | None:
        """The recording to serve and its facts; None: no such recording."""
        async with self.sessions() as s:
            r = await s.get(Recording, recording_id)
        if r is None:
            return None
        policy = self._policies().get(r.queue or "", DEFAULT_POLICY)
        f = RecordingFile(r.id, r.call_id, self.places.local(r.path),
                          r.agent_id, policy.agent_may_listen, r.deleted_at is not None)  # fmt: skip
        return f, _json(r)

    async def audit(
        self, recording_id: int, account_id: str, role: str, action: str, remote: str | None
    ) -> None:
        """Write one access row (before any byte is served)."""
        async with self.sessions.begin() as s:
            s.add(RecordingAccess(recording_id=recording_id, account_id=account_id, role=role,
                                  action=action, at=dt.datetime.now(dt.UTC),
                                  remote=(remote or "")[:64] or None))  # fmt: skip

    async def accesses(self, recording_id: int) -> list[dict[str, Any]]:
        """The recording's audit rows, oldest first."""
        query = (
            select(RecordingAccess)
            .where(RecordingAccess.recording_id == recording_id)
            .order_by(RecordingAccess.at, RecordingAccess.id)
        )
        async with self.sessions() as s:
            rows = list(await s.scalars(query))
        return [{"account_id": a.account_id, "role": a.role, "action": a.action,
                 "at": iso_utc(a.at), "remote": a.remote} for a in rows]  # fmt: skip
