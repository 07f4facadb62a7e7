"""Field checks shared by the config, event and command dataclasses."""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from enum import Enum
from typing import Any, TypeVar

from .errors import InvalidValue

E = TypeVar("E", bound=Enum)
K = TypeVar("K")
V = TypeVar("V")


class FrozenMap(Mapping[K, V]):
    """An immutable, hashable mapping, so a frozen config that holds one stays hashable."""

    __slots__ = ("_data",)
    _data: dict[K, V]

    def __init__(self, data: Mapping[K, V]) -> None:
        object.__setattr__(self, "_data", dict(data))

    def __getitem__(self, key: K) -> V:
        return self._data[key]

    def __iter__(self) -> Iterator[K]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __hash__(self) -> int:
        return hash(frozenset(self._data.items()))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Mapping):
            return self._data == dict(other)
        return NotImplemented

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("FrozenMap is immutable")

    def __repr__(self) -> str:
        return f"FrozenMap({self._data!r})"


def check_id(field: str, value: object) -> None:
    """An identifier: a non-empty ``str`` with no surrounding whitespace."""
    if not isinstance(value, str) or not value or value != value.strip():
        raise InvalidValue(f"{field} must be a non-empty trimmed string, got {value!r}")


def check_optional_id(field: str, value: object) -> None:
    if value is not None:
        check_id(field, value)


def check_str(field: str, value: object) -> None:
    if not isinstance(value, str):
        raise InvalidValue(f"{field} must be a string, got {value!r}")


def check_int(field: str, value: object, *, minimum: int | None = None) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidValue(f"{field} must be an int, got {value!r}")
    if minimum is not None and value < minimum:
        raise InvalidValue(f"{field} must be >= {minimum}, got {value!r}")


def check_time(field: str, value: object) -> None:
    """A point in time on the shell's monotonic clock: any finite number."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise InvalidValue(f"{field} must be a finite number, got {value!r}")


def check_seconds(field: str, value: object, *, positive: bool = False) -> None:
    """A duration: finite and >= 0 (> 0 when ``positive``)."""
    check_time(field, value)
    assert isinstance(value, (int, float))
    if value < 0 or (positive and value == 0):
        bound = "> 0" if positive else ">= 0"
        raise InvalidValue(f"{field} must be {bound}, got {value!r}")


def check_enum(field: str, value: object, cls: type[E]) -> None:
    if not isinstance(value, cls):
        raise InvalidValue(f"{field} must be a {cls.__name__}, got {value!r}")


def as_tuple(field: str, value: Any) -> tuple[Any, ...]:
    """Accept any iterable but a string; the frozen dataclass stores a tuple."""
    if isinstance(value, (str, bytes)):
        raise InvalidValue(f"{field} must be a collection, not a string: {value!r}")
    try:
        return tuple(value)
    except TypeError:
        raise InvalidValue(f"{field} must be a collection, got {value!r}") from None
