"""The facts the shell records, one frozen dataclass each: the write requests.

Pure (no SQL, no I/O): the call-flow core builds them, the store and the writer
apply them (:mod:`callcenter.storage.writes`), the local journal keeps them as one
line of JSON each (:func:`encode_request` / :func:`decode_request`). A request is
validated when built, so a bad one fails in the caller, not later in a batch.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field, fields
from typing import Any, cast

from acd import Outcome

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
    "RecordCallbackRequest",
    "RecordCallbackProgress",
    "WriteRequest",
    "call_key",
    "decode_request",
    "encode_request",
]


def call_key(node: str, linkedid: str) -> str:
    """The id of a call: Asterisk's Linkedid is unique per node, not across nodes.

    ``node:linkedid`` (no ``/``: the id is one path segment of the web API).
    """
    return f"{node}:{linkedid}"


def _aware(name: str, value: dt.datetime | None) -> None:
    if value is not None and (value.tzinfo is None or value.utcoffset() is None):
        raise ValueError(f"{name} must be timezone-aware, got naive {value!r}")


def _outcome(value: str | None) -> None:
    if value is not None:
        Outcome(value)  # ValueError names the bad value


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

    Also copies queue, outcome, wait, agent and talk time onto the call row.
    """

    call_id: str
    queue: str
    outcome: str
    wait_s: float
    at: dt.datetime
    agent_id: int | None = None
    #: answered: from the agent's answer to the end of the conversation (the ACD's
    #: ``CallOutcome.talk_s``); None otherwise
    talk_s: float | None = None

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
class RecordPause:
    """A pause of an agent ended (the ACD's ``PauseEnded``): one row the reports sum."""

    agent_id: int
    reason: str
    started_at: dt.datetime
    ended_at: dt.datetime
    #: its length by the controller's monotonic clock
    seconds: float

    def __post_init__(self) -> None:
        _aware("started_at", self.started_at)
        _aware("ended_at", self.ended_at)
        if not self.reason:
            raise ValueError("a pause needs its reason")
        if not self.seconds >= 0:
            raise ValueError(f"a pause lasts seconds >= 0, got {self.seconds!r}")


#: a survey question's answers: (lowest, highest) score
SURVEY_RANGES = {"csat": (1, 5), "nps": (0, 10), "ces": (1, 7)}


@dataclass(frozen=True, slots=True)
class RecordSurvey:
    """A post-call survey's answers (None: not answered), with the call's queue and agent."""

    call_id: str
    at: dt.datetime
    queue: str
    agent_id: int | None = None
    csat: int | None = None
    nps: int | None = None
    ces: int | None = None

    def __post_init__(self) -> None:
        _aware("at", self.at)
        for name, (low, high) in SURVEY_RANGES.items():
            value = getattr(self, name)
            if value is not None and not low <= value <= high:
                raise ValueError(f"survey {name} must be {low}-{high}, got {value!r}")


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
    queue: str | None = None
    agent_id: int | None = None
    caller_number: str | None = None
    customer_id: int | None = None
    format: str | None = None
    #: silent spans [start, end] in seconds from started_at
    mute_intervals: list[list[float]] | None = None
    retain_until: dt.datetime | None = None

    def __post_init__(self) -> None:
        _aware("started_at", self.started_at)
        _aware("ended_at", self.ended_at)
        _aware("retain_until", self.retain_until)


@dataclass(frozen=True, slots=True)
class RecordVoicemail:
    """A message left at an IVR voicemail node: the file (as Asterisk sees it), its facts
    read once RECORD FILE ended, and who left it where. Rows are keyed by ``path``."""

    call_id: str
    at: dt.datetime
    path: str
    format: str
    flow: str
    node: str
    queue: str | None = None
    caller_number: str | None = None
    customer_id: int | None = None
    duration_s: float | None = None
    size_bytes: int | None = None

    def __post_init__(self) -> None:
        _aware("at", self.at)
        if not self.path:
            raise ValueError("a voicemail needs its file's path")
        if self.duration_s is not None and not self.duration_s >= 0:
            raise ValueError(f"a voicemail lasts duration_s >= 0, got {self.duration_s!r}")


@dataclass(frozen=True, slots=True)
class RecordCallbackRequest:
    """A caller asked to be called back at ``number`` for ``queue`` (an IVR callback node);
    stored with status ``pending``."""

    call_id: str
    requested_at: dt.datetime
    number: str
    queue: str
    flow: str
    node: str
    own_number: bool = True
    customer_id: int | None = None
    #: the name the caller recorded (a queued callback), as Asterisk sees it
    name_file: str | None = None
    #: a callback scheduled from the desk (node ``desk``): when it is due, the agent who
    #: set it and their note
    due_at: dt.datetime | None = None
    agent_id: int | None = None
    note: str | None = None

    def __post_init__(self) -> None:
        _aware("requested_at", self.requested_at)
        _aware("due_at", self.due_at)
        if not self.number.removeprefix("+").isdigit():
            raise ValueError("a callback number is digits, + first at most")


@dataclass(frozen=True, slots=True)
class RecordCallbackProgress:
    """A queued callback's attempts so far and its status (``pending`` while it goes on,
    ``completed`` or ``failed`` at ``at`` when it ended): its request row of ``node``."""

    call_id: str
    node: str
    at: dt.datetime
    status: str
    attempts: int

    def __post_init__(self) -> None:
        _aware("at", self.at)
        if self.status not in ("pending", "completed", "failed"):
            raise ValueError(f"callback status {self.status!r}: pending, completed or failed")


WriteRequest = (
    RecordCallStarted
    | RecordCallUpdate
    | RecordCallEvent
    | RecordOutcome
    | RecordAgentState
    | RecordPause
    | RecordRecording
    | RecordSurvey
    | RecordVoicemail
    | RecordCallbackRequest
    | RecordCallbackProgress
)


WRITE_TYPES: tuple[type, ...] = (
    RecordCallStarted,
    RecordCallUpdate,
    RecordCallEvent,
    RecordOutcome,
    RecordAgentState,
    RecordPause,
    RecordRecording,
    RecordSurvey,
    RecordVoicemail,
    RecordCallbackRequest,
    RecordCallbackProgress,
)
_BY_NAME: dict[str, type] = {cls.__name__: cls for cls in WRITE_TYPES}
_FIELD_NAMES: dict[type, tuple[str, ...]] = {
    cls: tuple(f.name for f in fields(cls)) for cls in WRITE_TYPES
}
_to_json = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode

# -- the journal's encoding ----------------------------------------------------------


def encode_request(request: WriteRequest) -> str:
    """One line of JSON: ``{"type": "RecordCallEvent", ...}``; datetimes as ``{"$dt": iso}``.

    Raises TypeError for what is not a write request or holds data JSON cannot carry.
    """
    names = _FIELD_NAMES.get(type(request))
    if names is None:
        raise TypeError(f"not a write request: {request!r}")
    out: dict[str, Any] = {"type": type(request).__name__}
    for name in names:
        value = getattr(request, name)
        out[name] = {"$dt": value.isoformat()} if isinstance(value, dt.datetime) else value
    return _to_json(out)


def decode_request(text: str) -> WriteRequest:
    """The request :func:`encode_request` wrote; ValueError names what is wrong with ``text``."""
    try:
        raw = json.loads(text)
        cls = _BY_NAME[raw.pop("type")]
        values = {name: _decoded(name, value) for name, value in raw.items()}
        return cast(WriteRequest, cls(**values))
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ValueError(f"not a journaled write request ({exc!r}): {text[:200]!r}") from exc


def _decoded(name: str, value: Any) -> Any:
    if isinstance(value, dict) and set(value) == {"$dt"}:
        return dt.datetime.fromisoformat(value["$dt"])
    if name == "ivr_selections" and isinstance(value, list):
        return tuple(value)
    return value
