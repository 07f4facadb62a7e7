"""Transition tables: ``{(state, input): next_state}``, looked up in one place."""

from __future__ import annotations

from collections.abc import Mapping
from enum import Enum
from typing import TypeVar

from .errors import InvalidTransition

S = TypeVar("S", bound=Enum)
I = TypeVar("I", bound=Enum)  # noqa: E741


def next_state(
    table: Mapping[tuple[S, I], S], state: S, input: I, *, machine: str, subject: str
) -> S:
    """The state after ``input`` in ``state``; InvalidTransition if the table has none."""
    try:
        return table[(state, input)]
    except KeyError:
        raise InvalidTransition(machine, subject, state, input) from None
