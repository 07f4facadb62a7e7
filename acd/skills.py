"""Skills: proficiency levels, what a call requires, and how that relaxes with its wait.

An agent has skills with a proficiency 1..5; a queue (or one call, set by the
IVR or the CRM) requires skills with a minimum level. An agent fits a call if
it has every required skill at the required level or above. A queue's
``relax`` rules lower the requirement as the caller waits: from ``after_s``
seconds of wait every required level is lowered by ``lower_by`` (a level that
reaches 0 is no longer required, so ``lower_by=5`` means "any agent of the
queue"). Rules are absolute, not cumulative: the latest rule reached applies.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from ._check import check_id, check_int, check_seconds
from .errors import InvalidValue

#: the highest proficiency level
MAX_LEVEL = 5

#: a skill requirement as the router indexes it: sorted (skill, level >= 1) pairs
Requirement = tuple[tuple[str, int], ...]


class Levels(Mapping[str, int]):
    """An immutable, hashable ``{name: int}`` checked when built (skills, penalties...).

    Accepts a mapping or (name, value) pairs; ``field`` names the option in errors.
    """

    __slots__ = ("_data",)
    _data: dict[str, int]

    def __init__(
        self,
        items: Mapping[str, int] | Iterable[tuple[str, int]] = (),
        *,
        field: str = "levels",
        minimum: int = 1,
        maximum: int | None = MAX_LEVEL,
    ) -> None:
        if isinstance(items, Levels):
            pairs: list[tuple[Any, Any]] = list(items.items())
        elif isinstance(items, Mapping):
            pairs = list(items.items())
        elif isinstance(items, (str, bytes)):
            raise InvalidValue(f"{field} must be a mapping, got {items!r}")
        else:
            try:
                pairs = [tuple(p) for p in items]  # type: ignore[misc]
            except TypeError:
                raise InvalidValue(f"{field} must be a mapping, got {items!r}") from None
        data: dict[str, int] = {}
        for pair in pairs:
            if len(pair) != 2:
                raise InvalidValue(f"{field} must hold (name, value) pairs, got {pair!r}")
            name, value = pair
            check_id(f"{field} key", name)
            check_int(f"{field}[{name!r}]", value, minimum=minimum)
            if maximum is not None and value > maximum:
                raise InvalidValue(f"{field}[{name!r}] must be <= {maximum}, got {value!r}")
            if name in data:
                raise InvalidValue(f"{field} names {name!r} twice")
            data[name] = value
        object.__setattr__(self, "_data", dict(sorted(data.items())))

    def __getitem__(self, key: str) -> int:
        return self._data[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self._data.get(key, default)

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __hash__(self) -> int:
        return hash(tuple(self._data.items()))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Levels):
            return self._data == other._data
        if isinstance(other, Mapping):
            return self._data == dict(other)
        return NotImplemented

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("Levels is immutable")

    def __repr__(self) -> str:
        return f"Levels({self._data!r})"


@dataclass(frozen=True, slots=True)
class RelaxStep:
    """From ``after_s`` seconds of wait, every required level is lowered by ``lower_by``."""

    after_s: float
    lower_by: int = 1

    def __post_init__(self) -> None:
        check_seconds("RelaxStep.after_s", self.after_s)
        check_int("RelaxStep.lower_by", self.lower_by, minimum=1)
        if self.lower_by > MAX_LEVEL:
            raise InvalidValue(f"RelaxStep.lower_by must be <= {MAX_LEVEL}, got {self.lower_by}")


def check_relax(field: str, steps: tuple[RelaxStep, ...]) -> None:
    """Steps in strictly increasing ``after_s`` and ``lower_by`` (each one relaxes more)."""
    for step in steps:
        if not isinstance(step, RelaxStep):
            raise InvalidValue(f"{field} holds a non-RelaxStep: {step!r}")
    for before, after in zip(steps, steps[1:], strict=False):
        if after.after_s <= before.after_s or after.lower_by <= before.lower_by:
            raise InvalidValue(
                f"{field} must relax more at each later step: {before!r} then {after!r}"
            )


def requirement(required: Mapping[str, int], lower_by: int = 0) -> Requirement:
    """The (skill, level) pairs still required once lowered by ``lower_by``."""
    return tuple((s, lv - lower_by) for s, lv in sorted(required.items()) if lv > lower_by)


class SkillBits:
    """Skills as the bits of one int, so whether an agent fits a requirement is one AND.

    Skill ``s`` at level ``l`` is bit ``index(s) * MAX_LEVEL + l - 1``. An agent has
    the bit of each level up to its own for each of its skills; a requirement the
    bit of the level it requires for each skill. An agent fits iff ``need & have ==
    need`` (``fits`` on the bits): the routing indexes test that instead of looking
    each required skill up in the agent's skills. A skill gets its index the first
    time it is seen and keeps it (a reload keeps the registry), so a requirement's
    bits never change; one agent has no skill of another's name.
    """

    __slots__ = ("_index",)

    def __init__(self) -> None:
        self._index: dict[str, int] = {}

    def _bit(self, skill: str, level: int) -> int:
        index = self._index.get(skill)
        if index is None:
            self._index[skill] = index = len(self._index)
        return 1 << (index * MAX_LEVEL + level - 1)

    def have(self, skills: Mapping[str, int]) -> int:
        """An agent's bits: every level up to its own, for each of its skills."""
        bits = 0
        for skill, level in skills.items():
            for lv in range(1, level + 1):
                bits |= self._bit(skill, lv)
        return bits

    def need(self, needed: Requirement) -> int:
        """A requirement's bits: the level it requires, for each skill (0: none)."""
        bits = 0
        for skill, level in needed:
            bits |= self._bit(skill, level)
        return bits


def fits(skills: Mapping[str, int], needed: Requirement) -> bool:
    """Whether an agent with ``skills`` has every skill of ``needed`` at its level."""
    get = skills.get
    for skill, level in needed:
        if get(skill, 0) < level:
            return False
    return True


def relax_level(steps: tuple[RelaxStep, ...], waited_s: float) -> int:
    """How many of ``steps`` a call that waited ``waited_s`` has reached."""
    reached = 0
    for step in steps:
        if waited_s >= step.after_s:
            reached += 1
        else:
            break
    return reached


def skill_score(skills: Mapping[str, int], required: Mapping[str, int]) -> int:
    """Best-skill-match score: the agent's levels summed over the required skills."""
    return sum(skills.get(s, 0) for s in required)
