"""Write requests: one frozen dataclass per fact the shell records, and how each is applied.

The same request goes either straight to the database (``Store.record_*``,
awaited) or through the :class:`~callcenter.storage.writer.StoreWriter`
(``submit``, batched off the event loop's critical path). Requests are
validated when built, so a bad one fails in the caller, not later in a batch.

Rules for :func:`apply_write`:

- It only adds to or executes on the session it is given; the caller owns
  the transaction (one per direct call, one per batch in the writer).
- Replays are harmless: a call started twice or a recording reported twice
  is merged, not duplicated. A second outcome (:class:`DuplicateOutcome`)
  and an update of an unknown call (:class:`UnknownCall`) are refused
  before the request writes anything, so the rest of a batch stays valid.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, fields
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from callcenter.storage.errors import DuplicateOutcome, UnknownCall
from callcenter.storage.models import (
    AgentStateChange,
    Call,
    CallEvent,
    CallOutcome,
    QueueOutcome,
    Recording,
)

__all__ = [
    "RecordAgentState",
    "RecordCallEvent",
    "RecordCallStarted",
    "RecordCallUpdate",
    "RecordOutcome",
    "RecordRecording",
    "WriteRequest",
    "apply_write",
]


def _aware(name: str, value: dt.datetime | None) -> None:
    if value is not None and (value.tzinfo is None or value.utcoffset() is None):
        raise ValueError(f"{name} must be timezone-aware, got naive {value!r}")


def _outcome(value: str | None) -> None:
    if value is not None:
        CallOutcome(value)  # ValueError names the bad value


@dataclass(frozen=True, slots=True)
class RecordCallStarted:
    """A call entered the hotline. ``call_id`` is ``models.call_key(node, linkedid)``."""

    call_id: str
    linkedid: str
    node: str
    started_at: dt.datetime
    caller_number: str | None = None
    caller_name: str | None = None
    customer_id: int | None = None
    language: str | None = None

    def __post_init__(self) -> None:
        _aware("started_at", self.started_at)


@dataclass(frozen=True, slots=True)
class RecordCallUpdate:
    """New facts about a call; fields left as None are not changed."""

    call_id: str
    customer_id: int | None = None
    language: str | None = None
    ivr_selections: tuple[str, ...] | None = None
    queue: str | None = None
    queued_at: dt.datetime | None = None
    answered_at: dt.datetime | None = None
    ended_at: dt.datetime | None = None
    outcome: str | None = None
    agent_id: int | None = None
    wait_s: float | None = None
    talk_s: float | None = None

    def __post_init__(self) -> None:
        for name in ("queued_at", "answered_at", "ended_at"):
            _aware(name, getattr(self, name))
        _outcome(self.outcome)

    def changes(self) -> dict[str, Any]:
        values = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "call_id"}
        if self.ivr_selections is not None:
            values["ivr_selections"] = list(self.ivr_selections)
        return {name: value for name, value in values.items() if value is not None}


@dataclass(frozen=True, slots=True)
class RecordCallEvent:
    """Something happened to a call; ``data`` must be JSON-serializable."""

    call_id: str
    at: dt.datetime
    kind: str
    data: dict[str, Any] | None = field(default=None, hash=False)

    def __post_init__(self) -> None:
        _aware("at", self.at)


@dataclass(frozen=True, slots=True)
class RecordOutcome:
    """A queued call left its queue: answered, abandoned or timed out.

    Also copies queue, outcome, wait and agent onto the call row.
    """

    call_id: str
    queue: str
    outcome: str
    wait_s: float
    at: dt.datetime
    agent_id: int | None = None

    def __post_init__(self) -> None:
        _aware("at", self.at)
        _outcome(self.outcome)


@dataclass(frozen=True, slots=True)
class RecordAgentState:
    """An agent changed state (``old`` is None for the first state after start-up)."""

    agent_id: int
    at: dt.datetime
    new: str
    old: str | None = None
    reason: str | None = None

    def __post_init__(self) -> None:
        _aware("at", self.at)


@dataclass(frozen=True, slots=True)
class RecordRecording:
    """A recording started or finished; rows are keyed by ``path`` and merged."""

    call_id: str
    path: str
    started_at: dt.datetime
    mixmonitor_id: str | None = None
    ended_at: dt.datetime | None = None
    duration_s: float | None = None
    size_bytes: int | None = None
    sha256: str | None = None

    def __post_init__(self) -> None:
        _aware("started_at", self.started_at)
        _aware("ended_at", self.ended_at)


WriteRequest = (
    RecordCallStarted
    | RecordCallUpdate
    | RecordCallEvent
    | RecordOutcome
    | RecordAgentState
    | RecordRecording
)


async def apply_write(session: AsyncSession, request: WriteRequest) -> None:
    """Apply one write request inside the caller's transaction."""
    match request:
        case RecordCallStarted():
            if await session.get(Call, request.call_id) is None:
                session.add(
                    Call(
                        id=request.call_id,
                        linkedid=request.linkedid,
                        node=request.node,
                        started_at=request.started_at,
                        caller_number=request.caller_number,
                        caller_name=request.caller_name,
                        customer_id=request.customer_id,
                        language=request.language,
                    )
                )
        case RecordCallUpdate():
            changes = request.changes()
            if changes:
                await _update_call(session, request.call_id, changes)
        case RecordCallEvent():
            session.add(
                CallEvent(
                    call_id=request.call_id, at=request.at, kind=request.kind, data=request.data
                )
            )
        case RecordOutcome():
            await _apply_outcome(session, request)
        case RecordAgentState():
            session.add(
                AgentStateChange(
                    agent_id=request.agent_id,
                    at=request.at,
                    old=request.old,
                    new=request.new,
                    reason=request.reason,
                )
            )
        case RecordRecording():
            await _apply_recording(session, request)
        case _:
            raise TypeError(f"not a write request: {request!r}")


async def _update_call(session: AsyncSession, call_id: str, changes: dict[str, Any]) -> None:
    result = await session.execute(update(Call).where(Call.id == call_id).values(**changes))
    if result.rowcount == 0:  # type: ignore[attr-defined]
        raise UnknownCall(call_id)


async def _apply_outcome(session: AsyncSession, request: RecordOutcome) -> None:
    taken = await session.scalar(
        select(QueueOutcome.id).where(QueueOutcome.call_id == request.call_id)
    )
    if taken is not None:
        raise DuplicateOutcome(request.call_id)
    changes: dict[str, Any] = {
        "queue": request.queue,
        "outcome": request.outcome,
        "wait_s": request.wait_s,
    }
    if request.agent_id is not None:
        changes["agent_id"] = request.agent_id
    # Update first: an unknown call is refused before anything is added.
    await _update_call(session, request.call_id, changes)
    session.add(
        QueueOutcome(
            call_id=request.call_id,
            queue=request.queue,
            outcome=request.outcome,
            wait_s=request.wait_s,
            agent_id=request.agent_id,
            at=request.at,
        )
    )


async def _apply_recording(session: AsyncSession, request: RecordRecording) -> None:
    recording = await session.scalar(select(Recording).where(Recording.path == request.path))
    if recording is None:
        session.add(
            Recording(
                call_id=request.call_id,
                path=request.path,
                mixmonitor_id=request.mixmonitor_id,
                started_at=request.started_at,
                ended_at=request.ended_at,
                duration_s=request.duration_s,
                size_bytes=request.size_bytes,
                sha256=request.sha256,
            )
        )
        return
    for name in ("mixmonitor_id", "ended_at", "duration_s", "size_bytes", "sha256"):
        value = getattr(request, name)
        if value is not None:
            setattr(recording, name, value)
