"""Errors of the ACD core, typed by whose fault they are.

Every error here is the caller's fault: the shell built a bad value, named an
agent, queue or call the core does not know, or sent an input that the state
machine has no transition for. Each carries a stable ``code`` that the web
edge maps to a status; none of them knows anything of HTTP.

Reports that merely arrive late (an ``OfferFailed`` after the core already
cancelled that offer, a ``CallLeft`` for a call that already ended) are not
errors: the PBX races the core, and the core ignores them.
"""

from __future__ import annotations

from enum import Enum


class AcdError(Exception):
    """Base of the ACD core's errors; ``code`` is stable across releases."""

    code: str = "acd_error"


class InvalidValue(AcdError, ValueError):
    """A config, event or command field is out of range or of the wrong type."""

    code = "invalid_value"


class InvalidTransition(AcdError):
    """A state machine has no transition for ``(state, input)``; nothing changed."""

    code = "invalid_transition"

    def __init__(self, machine: str, subject: str, state: Enum, input: Enum) -> None:
        super().__init__(f"{machine} {subject!r}: no transition from {state.name} on {input.name}")
        self.machine = machine
        self.subject = subject
        self.state = state
        self.input = input


class UnknownAgent(AcdError, LookupError):
    """The agent id is not in the configuration."""

    code = "unknown_agent"

    def __init__(self, agent_id: str) -> None:
        super().__init__(f"unknown agent {agent_id!r}")
        self.agent_id = agent_id


class UnknownQueue(AcdError, LookupError):
    """The queue name is not in the configuration."""

    code = "unknown_queue"

    def __init__(self, queue: str) -> None:
        super().__init__(f"unknown queue {queue!r}")
        self.queue = queue


class DuplicateCall(AcdError):
    """A call id was queued while the same id is still in a queue."""

    code = "duplicate_call"

    def __init__(self, call_id: str) -> None:
        super().__init__(f"call {call_id!r} is already queued")
        self.call_id = call_id


class WrapUpLimit(AcdError):
    """A wrap-up cannot be extended: its end is at its queue's ``wrap_up_max_s``."""

    code = "wrap_up_limit"

    def __init__(self, agent_id: str, limit_s: float) -> None:
        super().__init__(
            f"agent {agent_id!r}: the wrap-up is at its limit ({limit_s:g} s after the call)"
        )
        self.agent_id = agent_id
        self.limit_s = limit_s


class UnknownCall(AcdError, LookupError):
    """The call id is not (or no longer) in a queue."""

    code = "unknown_call"

    def __init__(self, call_id: str) -> None:
        super().__init__(f"no call {call_id!r} in a queue")
        self.call_id = call_id


class CallNotWaiting(AcdError):
    """A supervisor's move of a call no longer waiting: an agent's phone rings with it
    (offered meanwhile) or the agent talks with it; nothing changed."""

    code = "call_not_waiting"

    def __init__(self, call_id: str, state: Enum, agents: tuple[str, ...]) -> None:
        doing = "is ringing" if state.name == "OFFERED" else "is talking to"
        who = ", ".join(agents) or "an agent"
        super().__init__(f"call {call_id!r} {doing} {who}: only a waiting call moves")
        self.call_id = call_id
        self.state = state
        self.agents = agents


class PastMaxWait(AcdError):
    """A move into a queue whose ``max_wait_s`` the call has already waited (it would
    time out there at once); nothing changed."""

    code = "past_max_wait"

    def __init__(self, call_id: str, queue: str, wait_s: float, max_wait_s: float) -> None:
        super().__init__(f"call {call_id!r} waited {wait_s:.0f} s, past queue {queue!r}'s "
                         f"max_wait_s {max_wait_s:g}")  # fmt: skip
        self.call_id = call_id
        self.queue = queue
