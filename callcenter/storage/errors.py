"""Typed storage errors. Each carries a stable ``code`` and knows nothing of HTTP.

The web edge maps codes to statuses in one table; tests match on ``code``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, ProgrammingError, StatementError

from crm_bridge.customers import CustomerRejected  # the CRM's own (it writes customers)

__all__ = [
    "AgentRejected",
    "CustomerRejected",
    "DispositionRejected",
    "DuplicateOutcome",
    "StorageError",
    "StorageUnavailable",
    "UnknownAgent",
    "UnknownCall",
    "WriterClosed",
    "is_refusal",
    "unavailable_while_away",
]


class StorageError(Exception):
    """Base of the errors the store raises on purpose."""

    code: str = "storage_error"

    def __init__(self, detail: str = "", *, code: str | None = None) -> None:
        if code is not None:
            self.code = code
        self.detail = detail
        super().__init__(f"{self.code}: {detail}" if detail else self.code)


class DuplicateOutcome(StorageError):
    """The call already has its queue outcome; a call never gets two."""

    code = "duplicate_outcome"

    def __init__(self, call_id: str) -> None:
        self.call_id = call_id
        super().__init__(f"call {call_id!r} already has an outcome")


class UnknownCall(StorageError):
    """A write named a call that was never recorded as started."""

    code = "unknown_call"

    def __init__(self, call_id: str) -> None:
        self.call_id = call_id
        super().__init__(f"no call {call_id!r}")


class UnknownAgent(StorageError):
    """A write named an agent that has no account."""

    code = "unknown_agent"

    def __init__(self, agent_id: int) -> None:
        self.agent_id = agent_id
        super().__init__(f"no agent {agent_id!r}")


class DispositionRejected(StorageError):
    """An agent's disposition was refused; nothing was written.

    Codes: ``unknown_code``, ``notes_too_long``, ``unknown_call``, ``unknown_agent``,
    ``not_your_call``.
    """

    code = "disposition_rejected"


class AgentRejected(StorageError):
    """An agent account could not be created.

    Codes: ``bad_username``, ``duplicate_username``, ``bad_role``, ``empty_password``,
    ``empty_name``, ``bad_device`` (not a dial string), ``unknown_agent`` (no such login),
    ``last_admin`` (the only admin left would lose the role).
    """

    code = "agent_rejected"


class WriterClosed(StorageError):
    """A write was submitted to a :class:`StoreWriter` that is closed."""

    code = "writer_closed"


class StorageUnavailable(StorageError):
    """The database is away (or the writer far behind it): nothing was read or saved;
    the same request may succeed in a moment. The web edge answers 503."""

    code = "storage_unavailable"


def is_refusal(exc: BaseException) -> bool:
    """True when ``exc`` says a request itself is bad, False when the database is away.

    PostgreSQL's SQLSTATE decides when there is one (asyncpg reports most of them
    as a bare ``DBAPIError``): class 22 (data), 23 (integrity) and 42 (syntax or
    access) are refusals; 08 (connection), 57 (shutdown, "starting up"), 53
    (resources), 40 (deadlock) and the rest are the database's trouble.
    """
    if isinstance(exc, DBAPIError):
        sqlstate = getattr(exc.orig, "sqlstate", None)
        if isinstance(sqlstate, str) and len(sqlstate) == 5:
            return sqlstate[:2] in {"22", "23", "42"}
        # SQLite: a constraint or a bad value; "database is locked" is OperationalError
        return isinstance(exc, IntegrityError | DataError | ProgrammingError)
    # StatementError: a value the driver could not bind
    return isinstance(exc, StatementError | StorageError | ValueError | TypeError | KeyError)


@contextmanager
def unavailable_while_away(what: str) -> Iterator[None]:
    """Turn the errors of a database that is away (refused connections, a server
    shutting down, timeouts) raised inside into :class:`StorageUnavailable` naming
    ``what``; refusals and our own errors pass unchanged."""
    try:
        yield
    except Exception as exc:
        if is_refusal(exc):
            raise
        raise StorageUnavailable(
            f"{what}: the database is unavailable ({type(exc).__name__}); try again in a moment"
        ) from exc


class NotTheLeader(Exception):
    """The writer's fence (``callcenter.leader``): the database's term is not the one this
    controller writes under, so none of its writes is applied. Not a refusal: the
    writes stay in the journal."""

    def __init__(self, term: int | None, db_term: int | None) -> None:
        held = "no term" if term is None else f"term {term}"
        super().__init__(f"this controller holds {held}, the database's term is {db_term}")
        self.term = term
        self.db_term = db_term
