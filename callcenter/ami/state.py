"""The connection state of one AMI client, as a table of allowed transitions.

Rules:

1. Only :meth:`ConnectionStateMachine.move` changes the state, and only along
   :data:`TRANSITIONS`; anything else is a bug of ours (:class:`InvalidTransition`).
2. ``CLOSED`` is final: ``close()`` leads there from every other state.
3. A lost link is an input (``CONNECTED -> DISCONNECTED``), not an exception
   path; the client decides whether to reconnect.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from typing import Final


class ConnectionState(enum.Enum):
    #: no TCP link; a reconnect may be scheduled
    DISCONNECTED = "disconnected"
    #: TCP connect, banner and Login in progress
    CONNECTING = "connecting"
    #: logged in; actions can be sent
    CONNECTED = "connected"
    #: close() was called; final
    CLOSED = "closed"


_S = ConnectionState

#: (from, to) pairs that may happen.
TRANSITIONS: Final[frozenset[tuple[ConnectionState, ConnectionState]]] = frozenset(
    {
        (_S.DISCONNECTED, _S.CONNECTING),
        (_S.CONNECTING, _S.CONNECTED),
        (_S.CONNECTING, _S.DISCONNECTED),
        (_S.CONNECTED, _S.DISCONNECTED),
        (_S.DISCONNECTED, _S.CLOSED),
        (_S.CONNECTING, _S.CLOSED),
        (_S.CONNECTED, _S.CLOSED),
    }
)

StateCallback = Callable[[ConnectionState], object]


class InvalidTransition(RuntimeError):
    """A transition that :data:`TRANSITIONS` does not allow (a bug in the client)."""

    def __init__(self, old: ConnectionState, new: ConnectionState) -> None:
        super().__init__(f"AMI connection state cannot go from {old.name} to {new.name}")
        self.old = old
        self.new = new


class ConnectionStateMachine:
    """Holds the state; tells listeners of every change, in order."""

    def __init__(self) -> None:
        self.state = ConnectionState.DISCONNECTED
        self.listeners: list[StateCallback] = []

    def move(self, new: ConnectionState) -> bool:
        """Go to ``new``; False (and nothing happens) if already there."""
        old = self.state
        if new is old:
            return False
        if (old, new) not in TRANSITIONS:
            raise InvalidTransition(old, new)
        self.state = new
        return True
