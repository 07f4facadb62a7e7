"""The SQL schema of Hotline as typed SQLAlchemy 2 models.

Rules of this module:

- The tables are declared on :data:`sqlbase.METADATA`, with its column types
  (:class:`sqlbase.UTCDateTime`: aware UTC only) and constraint names; the
  built-in CRM's tables (``customers``, ``customer_phones``, ``interactions``)
  are in the same schema, declared by :mod:`crm_bridge.models`, imported here so
  that loading this module loads the whole schema (Alembic, ``create_all``).
- The initial Alembic migration mirrors this file; ``tests/test_storage.py``
  checks that autogenerate finds no difference. Change both together.
- A call's id is a string chosen by the shell (:func:`call_key`), so write
  requests can be queued before the row exists (see ``writer.py``).
"""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

import crm_bridge.models  # noqa: F401  (the CRM's tables: the schema is one)
from acd import Outcome
from callcenter.facts import call_key
from sqlbase import METADATA, TYPE_MAP, BigId, JSONType

__all__ = [
    "Agent",
    "AgentPause",
    "AgentRole",
    "AgentStateChange",
    "Base",
    "Call",
    "CallEvent",
    "JournalMark",
    "QueueOutcome",
    "Recording",
    "RecordingAccess",
    "SurveyAnswer",
    "Voicemail",
    "CallbackRequest",
    "DeskListItem",
    "DispositionCode",
    "PauseReason",
    "call_key",
]


class AgentRole(enum.StrEnum):
    """What a login may do in the web application."""

    #: Takes calls, sees own screen-pops.
    AGENT = "agent"
    #: Also watches queues and agents.
    SUPERVISOR = "supervisor"
    #: Also manages users and configuration.
    ADMIN = "admin"


def _in(values: type[enum.Enum], column: str) -> str:
    quoted = ", ".join(f"'{member.value}'" for member in values)
    return f"{column} IN ({quoted})"


class Base(DeclarativeBase):
    metadata = METADATA
    type_annotation_map = TYPE_MAP


class Call(Base):
    """One call into the hotline: the channels sharing a Linkedid on one node."""

    __tablename__ = "calls"
    __table_args__ = (
        UniqueConstraint("node", "linkedid"),
        CheckConstraint(_in(Outcome, "outcome"), name="outcome"),
        Index(None, "started_at"),
    )

    id: Mapped[str] = mapped_column(String(96), primary_key=True)
    linkedid: Mapped[str] = mapped_column(String(64))
    node: Mapped[str] = mapped_column(String(32))
    caller_number: Mapped[str | None] = mapped_column(String(64))
    caller_name: Mapped[str | None] = mapped_column(String(128))
    customer_id: Mapped[int | None] = mapped_column(
        ForeignKey("customers.id", ondelete="SET NULL"), index=True
    )
    language: Mapped[str | None] = mapped_column(String(16))
    ivr_selections: Mapped[list[Any] | None] = mapped_column(JSONType)
    queue: Mapped[str | None] = mapped_column(String(64))
    started_at: Mapped[dt.datetime]
    queued_at: Mapped[dt.datetime | None]
    answered_at: Mapped[dt.datetime | None]
    ended_at: Mapped[dt.datetime | None]
    outcome: Mapped[str | None] = mapped_column(String(16))
    agent_id: Mapped[int | None] = mapped_column(
        ForeignKey("agents.id", ondelete="SET NULL"), index=True
    )
    wait_s: Mapped[float | None] = mapped_column(Float)
    talk_s: Mapped[float | None] = mapped_column(Float)


class CallEvent(Base):
    """Something that happened to a call (IVR digit, offer, transfer ...), in order."""

    __tablename__ = "call_events"
    __table_args__ = (Index(None, "call_id", "at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    call_id: Mapped[str] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"))
    at: Mapped[dt.datetime]
    kind: Mapped[str] = mapped_column(String(48))
    data: Mapped[dict[str, Any] | None]


class QueueOutcome(Base):
    """How a queued call left its queue; one per call (the unique key is the guard)."""

    __tablename__ = "queue_outcomes"
    __table_args__ = (
        CheckConstraint(_in(Outcome, "outcome"), name="outcome"),
        Index(None, "queue", "at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    call_id: Mapped[str] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"), unique=True)
    queue: Mapped[str] = mapped_column(String(64))
    outcome: Mapped[str] = mapped_column(String(16))
    wait_s: Mapped[float] = mapped_column(Float)
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id", ondelete="SET NULL"))
    at: Mapped[dt.datetime]


class Agent(Base):
    """A login: agent, supervisor or admin. The password is an argon2 hash."""

    __tablename__ = "agents"
    __table_args__ = (CheckConstraint(_in(AgentRole, "role"), name="role"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(128))
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str] = mapped_column(String(256))
    #: The dial string of the agent's phone, e.g. ``PJSIP/1001``.
    device: Mapped[str | None] = mapped_column(String(128))
    #: Names of the queues the agent serves.
    queues: Mapped[list[str]] = mapped_column(JSONType, default=list)
    #: Routing data (``acd.AgentConfig``), checked by ``Store.create_agent`` and
    #: ``Store.set_agent_routing``: skill -> proficiency 1..5,
    skills: Mapped[dict[str, int]] = mapped_column(JSONType, default=dict)
    #: queue -> penalty >= 0 (a lower penalty is offered first; unlisted: 0),
    penalties: Mapped[dict[str, int]] = mapped_column(JSONType, default=dict)
    #: queue -> weight >= 1 for ``weighted-random`` (unlisted: 1).
    weights: Mapped[dict[str, int]] = mapped_column(JSONType, default=dict)


class AgentStateChange(Base):
    """An agent moved between states (available, ringing, on_call, wrap_up, paused ...)."""

    __tablename__ = "agent_state_changes"
    __table_args__ = (Index(None, "agent_id", "at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id", ondelete="CASCADE"))
    at: Mapped[dt.datetime]
    old: Mapped[str | None] = mapped_column(String(32))
    new: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str | None] = mapped_column(String(128))


class AgentPause(Base):
    """One pause of an agent, once it ended: reports sum ``seconds`` per reason and agent.

    Written from the ACD's ``PauseEnded`` (the agent left PAUSED, or changed its
    reason); a pause still running is not here yet (``acd.Acd.pause_totals``).
    """

    __tablename__ = "agent_pauses"
    __table_args__ = (Index(None, "agent_id", "started_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id", ondelete="CASCADE"))
    reason: Mapped[str] = mapped_column(String(128))
    started_at: Mapped[dt.datetime]
    ended_at: Mapped[dt.datetime]
    #: the pause's length by the controller's monotonic clock (wall-clock steps aside)
    seconds: Mapped[float] = mapped_column(Float)


class SurveyAnswer(Base):
    """A post-call survey's answers: one row per surveyed call, with its queue and agent
    (CSAT 1-5, NPS 0-10, CES 1-7; NULL where the caller gave no answer)."""

    __tablename__ = "survey_answers"
    __table_args__ = (
        CheckConstraint("csat IS NULL OR csat BETWEEN 1 AND 5", name="csat"),
        CheckConstraint("nps IS NULL OR nps BETWEEN 0 AND 10", name="nps"),
        CheckConstraint("ces IS NULL OR ces BETWEEN 1 AND 7", name="ces"),
        Index(None, "queue", "at"),
    )

    call_id: Mapped[str] = mapped_column(
        ForeignKey("calls.id", ondelete="CASCADE"), primary_key=True
    )
    at: Mapped[dt.datetime]
    queue: Mapped[str] = mapped_column(String(64))
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id", ondelete="SET NULL"))
    csat: Mapped[int | None] = mapped_column(Integer)
    nps: Mapped[int | None] = mapped_column(Integer)
    ces: Mapped[int | None] = mapped_column(Integer)


class Recording(Base):
    """A MixMonitor file and what is known about it; one row per file path.

    Its call's queue, agent, caller and customer are copied in when it starts (a
    search needs no join, and they stay as they were on the call); ``mute_intervals``
    are the silent spans ``[start, end]`` in seconds from ``started_at``;
    ``retain_until`` (None: kept) is when the sweeper deletes the file unless
    ``legal_hold``; ``deleted_at`` says it did.
    """

    __tablename__ = "recordings"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    call_id: Mapped[str] = mapped_column(ForeignKey("calls.id", ondelete="RESTRICT"), index=True)
    path: Mapped[str] = mapped_column(String(512), unique=True)
    mixmonitor_id: Mapped[str | None] = mapped_column(String(64))
    started_at: Mapped[dt.datetime]
    ended_at: Mapped[dt.datetime | None]
    duration_s: Mapped[float | None] = mapped_column(Float)
    size_bytes: Mapped[int | None] = mapped_column(BigInteger)
    sha256: Mapped[str | None] = mapped_column(String(64))
    queue: Mapped[str | None] = mapped_column(String(64))
    agent_id: Mapped[int | None] = mapped_column(Integer)
    caller_number: Mapped[str | None] = mapped_column(String(64), index=True)
    customer_id: Mapped[int | None] = mapped_column(Integer)
    #: wav or gsm
    format: Mapped[str | None] = mapped_column(String(8))
    mute_intervals: Mapped[list[Any] | None] = mapped_column(JSONType)
    retain_until: Mapped[dt.datetime | None] = mapped_column(index=True)
    legal_hold: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    deleted_at: Mapped[dt.datetime | None]


class Voicemail(Base):
    """A message a caller left at an IVR ``voicemail`` node (AGI ``RECORD FILE``): the
    file as Asterisk wrote it, its length, and who left it where. One row per file."""

    __tablename__ = "voicemails"
    __table_args__ = (Index(None, "queue", "at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    call_id: Mapped[str] = mapped_column(ForeignKey("calls.id", ondelete="RESTRICT"), index=True)
    #: when the recording ended
    at: Mapped[dt.datetime]
    caller_number: Mapped[str | None] = mapped_column(String(64), index=True)
    customer_id: Mapped[int | None] = mapped_column(Integer)
    #: the node's queue (null: none given)
    queue: Mapped[str | None] = mapped_column(String(64))
    flow: Mapped[str] = mapped_column(String(64))
    node: Mapped[str] = mapped_column(String(64))
    #: the file as Asterisk sees it, extension included
    path: Mapped[str] = mapped_column(String(512), unique=True)
    format: Mapped[str] = mapped_column(String(8))
    duration_s: Mapped[float | None] = mapped_column(Float)
    size_bytes: Mapped[int | None] = mapped_column(BigInteger)


class CallbackRequest(Base):
    """A caller asked to be called back (an IVR ``callback`` node, or a queued callback:
    node ``queued``): the number, the queue, when, and where it stands (``pending`` while
    it waits to be dialled back, flow core rule 13; then ``completed`` or ``failed``).
    Node ``desk``: an agent scheduled it on the call ``call_id`` for ``due_at`` (rule 18)."""

    __tablename__ = "callback_requests"
    __table_args__ = (Index(None, "status", "requested_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    call_id: Mapped[str] = mapped_column(ForeignKey("calls.id", ondelete="RESTRICT"), index=True)
    number: Mapped[str] = mapped_column(String(32))
    #: the caller's own number (true) or one typed in the IVR (false)
    own_number: Mapped[bool] = mapped_column(Boolean)
    queue: Mapped[str] = mapped_column(String(64))
    requested_at: Mapped[dt.datetime]
    status: Mapped[str] = mapped_column(String(16), default="pending", server_default="pending")
    customer_id: Mapped[int | None] = mapped_column(Integer)
    flow: Mapped[str] = mapped_column(String(64))
    node: Mapped[str] = mapped_column(String(64))
    #: the customer's phone rung so far (dialled back by rule 13), when it ended
    #: (``completed`` / ``failed``), and the name the caller recorded (as Asterisk sees it)
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    ended_at: Mapped[dt.datetime | None]
    name_file: Mapped[str | None] = mapped_column(String(255))
    #: a scheduled callback (node ``desk``): when it enters the queue, the agent who set
    #: it on the disposition form and their note; null for the others
    due_at: Mapped[dt.datetime | None]
    agent_id: Mapped[int | None] = mapped_column(Integer)
    note: Mapped[str | None] = mapped_column(String(500))


class RecordingAccess(Base):
    """The audit log of recordings: one row per listen or download (who, when, from where)."""

    __tablename__ = "recording_access"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    recording_id: Mapped[int] = mapped_column(
        ForeignKey("recordings.id", ondelete="CASCADE"), index=True
    )
    account_id: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(16))
    #: listen or download
    action: Mapped[str] = mapped_column(String(16))
    at: Mapped[dt.datetime]
    #: the client's address as the web edge saw it
    remote: Mapped[str | None] = mapped_column(String(64))


class ApiToken(Base):
    """A bearer token for the REST API, acting as one login (``callcenter tokens``).

    Only the SHA-256 of the token is kept: the token is 32 random bytes, so a fast
    hash is as safe as argon2 here and costs nothing per request.
    """

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id"), index=True)
    #: hex SHA-256 of the token
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    #: what it may be used for: scope names of ``callcenter.storage.tokens.SCOPES``,
    #: space-separated, sorted (migration 0016)
    scopes: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime]
    revoked_at: Mapped[dt.datetime | None]


class DeskListItem:
    """A row of a list the agent's desk offers, kept in SQL and edited live by the
    admin page and API (``callcenter.administration``): its code (what is stored and
    reported), the label agents see, its place in the list. A retired one is no longer
    offered; its row stays, so past records keep their label."""

    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    label: Mapped[str] = mapped_column(String(80))
    position: Mapped[int] = mapped_column(Integer)
    retired: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class DispositionCode(DeskListItem, Base):
    """What an agent may pick after a call (seeded from the config's ``dispositions``)."""

    __tablename__ = "disposition_codes"


class PauseReason(DeskListItem, Base):
    """Why an agent may pause (seeded with ``callcenter.config.DEFAULT_PAUSE_REASONS``)."""

    __tablename__ = "pause_reasons"


class JournalMark(Base):
    """How far a controller's local write journal has been applied here.

    Updated in the same transaction as the writes it covers, so a journal
    replayed after a crash skips what already reached the database
    (``callcenter.storage.journal``). One row per journal file.
    """

    __tablename__ = "journal_marks"

    journal_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    applied_seq: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[dt.datetime]


class LeaderTerm(Base):
    """The leader's term (``callcenter.leader``): one row (id 1). A controller that takes
    the PostgreSQL lock raises ``term`` by one; the writer checks, in every transaction,
    that the term it writes under is still this one (fencing a paused old leader)."""

    __tablename__ = "leader_terms"

    id: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    term: Mapped[int] = mapped_column(BigInteger)
    #: the controller that took this term (host and journal), None before the first
    holder: Mapped[str | None] = mapped_column(String(255))
    since: Mapped[dt.datetime | None]
