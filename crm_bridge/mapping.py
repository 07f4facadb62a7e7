"""An HTTP CRM's field mapping: card field -> a path in its JSON answer (pure; the
config checks mappings with it without loading an HTTP client)."""

from __future__ import annotations

import re
from typing import Any

__all__ = ["CARD_FIELDS", "REQUIRED_FIELDS", "JsonPath", "fits", "parse_path", "pick"]

#: the card fields a mapping may name, and what each must hold
CARD_FIELDS = {
    "external_id": "a string or a whole number",
    "full_name": "a string",
    "tier": "a string",
    "account_no": "a string or a whole number",
    "numbers": "a list of strings",
    "language": "a string",
    "notes": "a string",
}
#: a mapping names these at least
REQUIRED_FIELDS = ("external_id", "full_name")

_STEP = re.compile(r"([A-Za-z_][A-Za-z0-9_-]*)((?:\[\d+\])*)")
_INDEX = re.compile(r"\[(\d+)\]")

#: a path into a JSON answer: keys (str) and list indexes (int)
JsonPath = tuple[str | int, ...]


def parse_path(text: str) -> JsonPath:
    """``data.items[0].name`` -> ``("data", "items", 0, "name")``; ValueError if malformed.

    Dotted keys and ``[n]`` indexes only: a mapping picks one value per field, so
    JSONPath's wildcards and filters (which may match many) would be a trap here."""
    steps: list[str | int] = []
    for part in text.split("."):
        m = _STEP.fullmatch(part)
        if m is None:
            raise ValueError(f"{text!r} is not a path like data.items[0].name")
        steps.append(m[1])
        steps.extend(int(i) for i in _INDEX.findall(m[2]))
    return tuple(steps)


def pick(doc: Any, path: JsonPath) -> Any:
    """The value at ``path`` in ``doc``, or None where the path leads nowhere."""
    for step in path:
        if isinstance(step, int):
            if not isinstance(doc, list) or step >= len(doc):
                return None
            doc = doc[step]
        else:
            if not isinstance(doc, dict):
                return None
            doc = doc.get(step)
    return doc


def fits(name: str, value: Any) -> bool:
    """Whether ``value`` is what card field ``name`` must hold (:data:`CARD_FIELDS`)."""
    if name in ("external_id", "account_no"):
        return isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool))
    if name == "numbers":
        return isinstance(value, list) and all(isinstance(x, str) for x in value)
    return isinstance(value, str)
