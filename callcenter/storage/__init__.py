"""Storage: SQLAlchemy models, engine, Alembic migrations and the write path.

Typical wiring in the composition root::

    await migrate(url)
    engine = make_engine(url)
    store = Store(make_session_factory(engine))
    async with StoreWriter(store, journal=default_journal_path(url)) as writer:
        writer.submit(RecordCallEvent(call_id, now, "ivr_digit", {"digit": "1"}))
    await engine.dispose()
"""

from callcenter.storage.engine import (
    DEFAULT_URL,
    alembic_config,
    make_engine,
    make_session_factory,
    migrate,
)
from callcenter.storage.errors import (
    AgentRejected,
    CustomerRejected,
    DispositionRejected,
    DuplicateOutcome,
    StorageError,
    UnknownAgent,
    UnknownCall,
    WriterClosed,
)
from callcenter.storage.journal import AsideEntry, Journal, JournalBusy, default_journal_path
from callcenter.storage.models import AgentRole, call_key
from callcenter.storage.store import MAX_NOTES_LENGTH, Store
from callcenter.storage.writer import StoreWriter, WriterHealth
from callcenter.storage.writes import (
    RecordAgentState,
    RecordCallEvent,
    RecordCallStarted,
    RecordCallUpdate,
    RecordOutcome,
    RecordRecording,
    WriteRequest,
)

__all__ = [
    "DEFAULT_URL",
    "MAX_NOTES_LENGTH",
    "AgentRejected",
    "AgentRole",
    "AsideEntry",
    "CustomerRejected",
    "DispositionRejected",
    "DuplicateOutcome",
    "Journal",
    "JournalBusy",
    "RecordAgentState",
    "RecordCallEvent",
    "RecordCallStarted",
    "RecordCallUpdate",
    "RecordOutcome",
    "RecordRecording",
    "StorageError",
    "Store",
    "StoreWriter",
    "UnknownAgent",
    "UnknownCall",
    "WriteRequest",
    "WriterClosed",
    "WriterHealth",
    "alembic_config",
    "call_key",
    "default_journal_path",
    "make_engine",
    "make_session_factory",
    "migrate",
]
