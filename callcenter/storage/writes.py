"""How a batch of write requests is applied (the requests themselves: :mod:`callcenter.facts`).

The same requests go either straight to the database (``Store.record_*``,
awaited) or through the :class:`~callcenter.storage.writer.StoreWriter`
(``submit``, journaled and batched off the event loop).

Rules for :func:`apply_batch`:

- Set-based: whatever the batch size, one statement per table (a multi-row
  ``INSERT`` for events, agent states and pauses, ``INSERT … ON CONFLICT`` for calls,
  outcomes and recordings, one ``UPDATE … SET col = COALESCE(new, col)``
  executed for all the calls the batch changes), plus one
  ``SELECT`` per referenced table that checks the calls and agents the batch
  names exist. Never a select-then-insert per row.
- Same result as applying the requests one by one, in order: updates of one
  call are merged in order (the last value of a column wins), a recording's
  reports are merged by path (a later non-null value wins).
- Replays are harmless: a call started twice or a recording reported twice is
  merged, not duplicated. A second outcome (:class:`DuplicateOutcome`), a
  request naming an unknown call (:class:`UnknownCall`) or agent
  (:class:`UnknownAgent`) is refused, returned with its error, and writes
  nothing, so the rest of the batch stays valid.
- It only executes on the connection it is given; the caller owns the
  transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from functools import cache
from typing import Any, cast

from sqlalchemy import JSON, Table, bindparam, func, select, update
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from callcenter.facts import (
    WRITE_TYPES,
    RecordAgentState,
    RecordCallbackProgress,
    RecordCallbackRequest,
    RecordCallEvent,
    RecordCallStarted,
    RecordCallUpdate,
    RecordOutcome,
    RecordPause,
    RecordRecording,
    RecordSurvey,
    RecordVoicemail,
    WriteRequest,
    decode_request,
    encode_request,
)
from callcenter.storage.errors import DuplicateOutcome, StorageError, UnknownAgent, UnknownCall
from callcenter.storage.models import (
    Agent,
    AgentPause,
    AgentStateChange,
    Call,
    CallbackRequest,
    CallEvent,
    QueueOutcome,
    Recording,
    SurveyAnswer,
    Voicemail,
)

__all__ = [
    "WRITE_TYPES",
    "RecordAgentState",
    "RecordCallEvent",
    "RecordCallStarted",
    "RecordCallUpdate",
    "RecordOutcome",
    "RecordPause",
    "RecordRecording",
    "RecordSurvey",
    "RecordVoicemail",
    "RecordCallbackProgress",
    "RecordCallbackRequest",
    "WriteRequest",
    "apply_batch",
    "decode_request",
    "encode_request",
]


_CALLS = cast(Table, Call.__table__)
_EVENTS = cast(Table, CallEvent.__table__)
_OUTCOMES = cast(Table, QueueOutcome.__table__)
_AGENT_STATES = cast(Table, AgentStateChange.__table__)
_PAUSES = cast(Table, AgentPause.__table__)
_RECORDINGS = cast(Table, Recording.__table__)
_SURVEYS = cast(Table, SurveyAnswer.__table__)
_AGENTS = cast(Table, Agent.__table__)
_VOICEMAILS = cast(Table, Voicemail.__table__)
_CALLBACKS = cast(Table, CallbackRequest.__table__)


def _bind_type(name: str) -> Any:
    """The column's type, but a JSON None binds as SQL NULL (not JSON ``null``)."""
    if name == "ivr_selections":
        return JSON(none_as_null=True).with_variant(JSONB(none_as_null=True), "postgresql")
    return _CALLS.c[name].type


#: The call columns a RecordCallUpdate may set (RecordOutcome's are among them).
_UPDATABLE = tuple(f.name for f in fields(RecordCallUpdate) if f.name != "call_id")
_UPDATE_CALLS = (
    update(_CALLS)
    .where(_CALLS.c.id == bindparam("b_id"))
    .values(
        {
            name: func.coalesce(bindparam(f"v_{name}", type_=_bind_type(name)), _CALLS.c[name])
            for name in _UPDATABLE
        }
    )
)
#: What a later report of a recording may fill in.
_RECORDING_FACTS = ("mixmonitor_id", "ended_at", "duration_s", "size_bytes", "sha256",
                    "queue", "agent_id", "caller_number", "customer_id", "format",
                    "mute_intervals", "retain_until")  # fmt: skip


# -- set-based apply -----------------------------------------------------------------


@dataclass(slots=True)
class _Batch:
    """A batch sorted by table, each request still known by its index."""

    requests: Sequence[WriteRequest]
    refused: dict[int, StorageError] = field(default_factory=dict)

    def live(self) -> list[tuple[int, WriteRequest]]:
        return [(i, r) for i, r in enumerate(self.requests) if i not in self.refused]


@dataclass(frozen=True, slots=True)
class _Upserts:
    """A dialect's INSERT ... ON CONFLICT statements, built once (the writer runs them
    every round: building one, its ``excluded`` columns above all, cost more than
    running it)."""

    surveys: Any
    voicemails: Any
    calls: Any
    outcomes: Any
    recordings: Any


@cache
def _upserts(dialect: str) -> _Upserts:
    """The dialect's INSERTs, which know ON CONFLICT (PostgreSQL and SQLite 3.24+)."""
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    recordings = insert(_RECORDINGS)
    return _Upserts(
        surveys=insert(_SURVEYS).on_conflict_do_nothing(),
        voicemails=insert(_VOICEMAILS).on_conflict_do_nothing(),
        calls=insert(_CALLS).on_conflict_do_nothing(),
        outcomes=insert(_OUTCOMES).on_conflict_do_nothing().returning(_OUTCOMES.c.call_id),
        recordings=recordings.on_conflict_do_update(
            index_elements=[_RECORDINGS.c.path],
            set_={
                name: func.coalesce(getattr(recordings.excluded, name), _RECORDINGS.c[name])
                for name in _RECORDING_FACTS
            },
        ),
    )


async def apply_batch(
    conn: AsyncConnection, requests: Sequence[WriteRequest]
) -> list[tuple[int, StorageError]]:
    """Apply ``requests`` inside the caller's transaction, set-based (see module docstring).

    Returns the refused ones as ``(index in requests, error)``; all others were applied.
    """
    for request in requests:
        if not isinstance(request, WRITE_TYPES):
            raise TypeError(f"not a write request: {request!r}")
    batch = _Batch(requests)
    started = await _insert_calls(conn, batch)
    await _check_references(conn, batch, started)
    outcomes = await _insert_outcomes(conn, batch)
    await _update_calls(conn, batch, outcomes)
    events = [
        {"call_id": r.call_id, "at": r.at, "kind": r.kind, "data": r.data}
        for _, r in batch.live()
        if isinstance(r, RecordCallEvent)
    ]
    if events:
        await conn.execute(_EVENTS.insert(), events)
    states = [
        {"agent_id": r.agent_id, "at": r.at, "old": r.old, "new": r.new, "reason": r.reason}
        for _, r in batch.live()
        if isinstance(r, RecordAgentState)
    ]
    if states:
        await conn.execute(_AGENT_STATES.insert(), states)
    pauses = [
        {"agent_id": r.agent_id, "reason": r.reason, "started_at": r.started_at,
         "ended_at": r.ended_at, "seconds": r.seconds}
        for _, r in batch.live()
        if isinstance(r, RecordPause)
    ]  # fmt: skip
    if pauses:
        await conn.execute(_PAUSES.insert(), pauses)
    surveys = {
        r.call_id: {"call_id": r.call_id, "at": r.at, "queue": r.queue, "agent_id": r.agent_id,
                    "csat": r.csat, "nps": r.nps, "ces": r.ces}
        for _, r in batch.live()
        if isinstance(r, RecordSurvey)
    }  # fmt: skip
    if surveys:  # one survey per call: a replayed one is a no-op
        await conn.execute(_upserts(conn.dialect.name).surveys, list(surveys.values()))
    voicemails = {
        r.path: {"call_id": r.call_id, "at": r.at, "path": r.path, "format": r.format,
                 "flow": r.flow, "node": r.node, "queue": r.queue,
                 "caller_number": r.caller_number, "customer_id": r.customer_id,
                 "duration_s": r.duration_s, "size_bytes": r.size_bytes}
        for _, r in batch.live()
        if isinstance(r, RecordVoicemail)
    }  # fmt: skip
    if voicemails:  # one row per file: a replayed one is a no-op
        await conn.execute(_upserts(conn.dialect.name).voicemails, list(voicemails.values()))
    await _insert_callbacks(conn, batch)
    await _update_callbacks(conn, batch)
    await _upsert_recordings(conn, batch)
    return sorted(batch.refused.items())


async def _insert_callbacks(conn: AsyncConnection, batch: _Batch) -> None:
    """Callback requests, once per (call, node): a replayed request is not a second one."""
    rows = {
        (r.call_id, r.node): {"call_id": r.call_id, "requested_at": r.requested_at,
                              "number": r.number, "own_number": r.own_number, "queue": r.queue,
                              "status": "pending", "customer_id": r.customer_id,
                              "flow": r.flow, "node": r.node, "name_file": r.name_file,
                              "due_at": r.due_at, "agent_id": r.agent_id, "note": r.note}
        for _, r in batch.live()
        if isinstance(r, RecordCallbackRequest)
    }  # fmt: skip
    if not rows:
        return
    calls = sorted({call for call, _ in rows})
    have = await conn.execute(
        select(_CALLBACKS.c.call_id, _CALLBACKS.c.node).where(_CALLBACKS.c.call_id.in_(calls))
    )
    for key in have:
        rows.pop((key[0], key[1]), None)
    if rows:
        await conn.execute(_CALLBACKS.insert(), list(rows.values()))


async def _update_callbacks(conn: AsyncConnection, batch: _Batch) -> None:
    """Queued callbacks' progress, in order (after their requests in the same batch): a
    replayed one writes the same again; an ended one is never pending again."""
    for _, r in batch.live():
        if isinstance(r, RecordCallbackProgress):
            row = (_CALLBACKS.c.call_id == r.call_id) & (_CALLBACKS.c.node == r.node)
            ended = r.at if r.status != "pending" else None
            await conn.execute(
                _CALLBACKS.update()
                .where(row & (_CALLBACKS.c.status == "pending"))
                .values(status=r.status, attempts=r.attempts, ended_at=ended)
            )


async def _insert_calls(conn: AsyncConnection, batch: _Batch) -> set[str]:
    rows: dict[str, dict[str, Any]] = {}
    for _, r in batch.live():
        if isinstance(r, RecordCallStarted) and r.call_id not in rows:
            rows[r.call_id] = {
                "id": r.call_id,
                "linkedid": r.linkedid,
                "node": r.node,
                "started_at": r.started_at,
                "caller_number": r.caller_number,
                "caller_name": r.caller_name,
                "customer_id": r.customer_id,
                "language": r.language,
            }
    if rows:  # a call already recorded keeps its row: a replayed start is a no-op
        await conn.execute(_upserts(conn.dialect.name).calls, list(rows.values()))
    return set(rows)


def _agents_named(r: WriteRequest) -> int | None:
    if isinstance(
        r, RecordAgentState | RecordPause | RecordOutcome | RecordCallUpdate | RecordSurvey
    ):
        return r.agent_id
    return None


async def _check_references(conn: AsyncConnection, batch: _Batch, started: set[str]) -> None:
    live = batch.live()
    calls = {r.call_id for _, r in live if not isinstance(r, RecordAgentState | RecordPause)}
    calls -= started
    agents = {a for _, r in live if (a := _agents_named(r)) is not None}
    known_calls = set(started)
    if calls:
        known_calls |= set(
            await conn.scalars(select(_CALLS.c.id).where(_CALLS.c.id.in_(sorted(calls))))
        )
    known_agents: set[int] = set()
    if agents:
        known_agents = set(
            await conn.scalars(select(_AGENTS.c.id).where(_AGENTS.c.id.in_(sorted(agents))))
        )
    for i, r in live:
        if not isinstance(r, RecordAgentState | RecordPause) and r.call_id not in known_calls:
            batch.refused[i] = UnknownCall(r.call_id)
        elif (agent := _agents_named(r)) is not None and agent not in known_agents:
            batch.refused[i] = UnknownAgent(agent)


async def _insert_outcomes(conn: AsyncConnection, batch: _Batch) -> set[int]:
    """Insert the first outcome of each call; returns the indexes that were inserted."""
    first: dict[str, int] = {}
    for i, r in batch.live():
        if isinstance(r, RecordOutcome):
            if r.call_id in first:
                batch.refused[i] = DuplicateOutcome(r.call_id)
            else:
                first[r.call_id] = i
    if not first:
        return set()
    rows = []
    for i in first.values():
        r = cast(RecordOutcome, batch.requests[i])
        rows.append({"call_id": r.call_id, "queue": r.queue, "outcome": r.outcome,
                     "wait_s": r.wait_s, "agent_id": r.agent_id, "at": r.at})  # fmt: skip
    inserted = set((await conn.execute(_upserts(conn.dialect.name).outcomes, rows)).scalars())
    for call_id, i in first.items():
        if call_id not in inserted:  # the call had its outcome before this batch
            batch.refused[i] = DuplicateOutcome(call_id)
    return {i for call_id, i in first.items() if call_id in inserted}


async def _update_calls(conn: AsyncConnection, batch: _Batch, outcomes: set[int]) -> None:
    merged: dict[str, dict[str, Any]] = {}
    for i, r in batch.live():
        if isinstance(r, RecordCallUpdate):
            changes = r.changes()
        elif isinstance(r, RecordOutcome) and i in outcomes:
            changes = {"queue": r.queue, "outcome": r.outcome, "wait_s": r.wait_s}
            if r.agent_id is not None:
                changes["agent_id"] = r.agent_id
            if r.talk_s is not None:
                changes["talk_s"] = r.talk_s
        else:
            continue
        if changes:
            merged.setdefault(r.call_id, {}).update(changes)
    if not merged:
        return
    # One statement shape for every call: a column not changed is bound to NULL and
    # kept by COALESCE, which is what None means in RecordCallUpdate.
    rows = [
        {"b_id": call_id, **{f"v_{name}": changes.get(name) for name in _UPDATABLE}}
        for call_id, changes in merged.items()
    ]
    await conn.execute(_UPDATE_CALLS, rows)


async def _upsert_recordings(conn: AsyncConnection, batch: _Batch) -> None:
    rows: dict[str, dict[str, Any]] = {}
    for _, r in batch.live():
        if not isinstance(r, RecordRecording):
            continue
        row = rows.get(r.path)
        if row is None:
            rows[r.path] = {"call_id": r.call_id, "path": r.path, "started_at": r.started_at,
                            **{name: getattr(r, name) for name in _RECORDING_FACTS}}  # fmt: skip
            continue
        for name in _RECORDING_FACTS:
            if (value := getattr(r, name)) is not None:
                row[name] = value
    if not rows:
        return
    await conn.execute(_upserts(conn.dialect.name).recordings, list(rows.values()))
