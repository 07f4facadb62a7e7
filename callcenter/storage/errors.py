"""Typed storage errors. Each carries a stable ``code`` and knows nothing of HTTP.

The web edge maps codes to statuses in one table; tests match on ``code``.
"""

from __future__ import annotations

__all__ = [
    "AgentRejected",
    "CustomerRejected",
    "DispositionRejected",
    "DuplicateOutcome",
    "StorageError",
    "UnknownAgent",
    "UnknownCall",
    "WriterClosed",
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

    Codes: ``bad_username``, ``duplicate_username``, ``bad_role``, ``empty_password``.
    """

    code = "agent_rejected"


class CustomerRejected(StorageError):
    """A customer could not be added.

    Codes: ``no_name``, ``invalid_number``, ``number_taken``, ``duplicate_account``.
    """

    code = "customer_rejected"


class WriterClosed(StorageError):
    """A write was submitted to a :class:`StoreWriter` that is closed."""

    code = "writer_closed"
