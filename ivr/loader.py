"""Load an IVR file: YAML in, a validated :class:`IvrDefinition` or an :class:`IvrConfigError` out.

Every problem is reported as ``file:line: path: reason``. The document is
composed once with PyYAML (which keeps each node's start mark), constructed
from that tree, then validated by pydantic; each pydantic error's ``loc`` is
walked down the composed tree to find its line. A bad file never ends in a
traceback: YAML syntax errors, duplicate keys, shape errors, dangling
references and timeout loops all become problems of one IvrConfigError.
"""

from __future__ import annotations

import difflib
import types
import typing
from collections.abc import Collection, Iterator
from pathlib import Path
from typing import Any

import yaml  # type: ignore[import-untyped]  # no types-PyYAML in the venv
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from .errors import ConfigProblem, IvrConfigError
from .model import IvrDefinition, reference_context

Loc = tuple[int | str, ...]


def load_ivr(path: str | Path, *, queues: Collection[str] | None = None) -> IvrDefinition:
    """Read and validate the IVR file at ``path``.

    ``queues``, when given, are the queue names the ACD knows: a route to any
    other queue is a problem. Raises :class:`IvrConfigError` on any problem,
    including an unreadable file.
    """
    filename = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise IvrConfigError(
            [ConfigProblem(filename, 0, "", f"not UTF-8 text (byte {e.start})")]
        ) from None
    except OSError as e:
        raise IvrConfigError(
            [ConfigProblem(filename, 0, "", f"cannot read: {e.strerror}")]
        ) from None
    return parse_ivr(text, filename, queues=queues)


def parse_ivr(
    text: str, filename: str = "<ivr>", *, queues: Collection[str] | None = None
) -> IvrDefinition:
    """Validate the IVR document ``text``; ``filename`` is only used in messages."""
    try:
        root, data = _compose(text)
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        line = mark.line + 1 if mark is not None else 1
        reason = e.problem or e.context
        if e.problem and e.context and not e.context.startswith("while"):
            # "expected a single document in the stream, but found another document"
            reason = f"{e.context}, {e.problem}"
        if "<block" in str(reason):
            reason = f"{reason} (check the indentation)"
        problem = ConfigProblem(filename, line, "", f"YAML syntax error: {reason}")
        raise IvrConfigError([problem]) from None
    except yaml.reader.ReaderError as e:  # a character YAML does not allow
        line = text.count("\n", 0, e.position) + 1
        char = e.character if isinstance(e.character, int) else e.character[0]
        reason = f"YAML syntax error: {e.reason} (#x{char:04x})"
        raise IvrConfigError([ConfigProblem(filename, line, "", reason)]) from None
    if root is None:
        raise IvrConfigError([ConfigProblem(filename, 1, "", "the file is empty")])

    problems = [
        ConfigProblem(filename, line, path, reason)
        for line, path, reason in _duplicate_keys(root, (), set())
    ]
    try:
        definition = IvrDefinition.model_validate(data, context=reference_context(data, queues))
    except ValidationError as e:
        problems += (_problem(filename, root, error) for error in e.errors())
        raise IvrConfigError(problems) from None
    problems += (
        ConfigProblem(filename, _line_of(root, loc), _dotted(loc), reason)
        for loc, reason in _timeout_loops(definition)
    )
    if problems:
        raise IvrConfigError(problems)
    return definition


def _compose(text: str) -> tuple[Any, Any]:
    """The composed node tree (with line marks) and the data built from it."""
    loader = yaml.SafeLoader(text)
    try:
        root = loader.get_single_node()
        return root, loader.construct_document(root) if root is not None else None
    finally:
        loader.dispose()


def _timeout_loops(definition: IvrDefinition) -> Iterator[tuple[Loc, str]]:
    """``otherwise: {goto: ...}`` edges that lead back where they started.

    Such a loop needs no caller input, so a caller who presses nothing (or a
    prompt that is missing) would go round it forever instead of reaching a queue.
    """
    for name, node in definition.nodes.items():
        seen = [name]
        step = node
        while step.otherwise is not None and step.otherwise.goto is not None:
            target = step.otherwise.goto
            if target == name:
                path = " -> ".join([*seen, target])
                yield (
                    ("nodes", name, "otherwise", "goto"),
                    f"timeouts loop without reaching a queue ({path})",
                )
                break
            if target in seen:
                break  # a loop that does not pass through `name`: reported at its own nodes
            seen.append(target)
            step = definition.nodes[target]


# pydantic's messages, said in the words of an IVR file
_REASONS = {
    "missing": "required",
    "string_type": "expected a string",
    "int_type": "expected a whole number",
    "int_parsing": "expected a whole number",
    "int_from_float": "expected a whole number",
    "float_type": "expected a number",
    "float_parsing": "expected a number",
    "dict_type": "expected a mapping",
    "model_type": "expected a mapping",
    "model_attributes_type": "expected a mapping",
    "list_type": "expected a list",
}


def _problem(filename: str, root: yaml.Node, error: ErrorDetails) -> ConfigProblem:
    loc = tuple(el for el in error["loc"] if el != "[key]")
    if error["type"] == "extra_forbidden":
        reason = _unknown_key(loc)
    else:
        reason = _REASONS.get(error["type"], error["msg"])
    return ConfigProblem(filename, _line_of(root, loc), _dotted(loc), reason)


def _unknown_key(loc: Loc) -> str:
    allowed = _keys_at(loc[:-1])
    if not allowed:
        return "unknown key"
    close = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
    if close:
        return f"unknown key (did you mean {close[0]!r}?)"
    return f"unknown key (expected one of: {', '.join(allowed)})"


def _keys_at(loc: Loc) -> list[str]:
    """The keys the model at ``loc`` allows, found by walking the field types."""
    kind: Any = IvrDefinition
    for el in loc:
        if isinstance(kind, type) and issubclass(kind, BaseModel):
            field = kind.model_fields.get(str(el))
            if field is None:
                return []
            kind = field.annotation
        elif typing.get_origin(kind) in (dict, list):
            kind = typing.get_args(kind)[-1]
        else:
            return []
        kind = _unwrap(kind)
    if isinstance(kind, type) and issubclass(kind, BaseModel):
        return list(kind.model_fields)
    return []


def _unwrap(kind: Any) -> Any:
    # Annotated[X, ...] -> X; X | None -> X
    while True:
        if typing.get_origin(kind) is typing.Annotated:
            kind = typing.get_args(kind)[0]
        elif isinstance(kind, types.UnionType) or typing.get_origin(kind) is typing.Union:
            args = [a for a in typing.get_args(kind) if a is not type(None)]
            if len(args) != 1:
                return kind
            kind = args[0]
        else:
            return kind


def _dotted(loc: Loc) -> str:
    return ".".join(str(el) for el in loc)


def _line_of(root: yaml.Node, loc: Loc) -> int:
    """The 1-based line of the value at ``loc``: the line of its key, or of its
    nearest existing parent when it is missing."""
    node = root
    line: int = root.start_mark.line + 1
    for el in loc:
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode) and key.value == str(el):
                    node, line = value, key.start_mark.line + 1
                    break
            else:
                return line
        elif isinstance(node, yaml.SequenceNode) and isinstance(el, int) and el < len(node.value):
            node = node.value[el]
            line = node.start_mark.line + 1
        else:
            return line
    return line


def _duplicate_keys(node: yaml.Node, loc: Loc, seen: set[int]) -> Iterator[tuple[int, str, str]]:
    """Keys given twice in one mapping (YAML would silently keep the last)."""
    if id(node) in seen:  # an alias: already walked
        return
    seen.add(id(node))
    if isinstance(node, yaml.MappingNode):
        first: dict[str, int] = {}
        for key, value in node.value:
            if not isinstance(key, yaml.ScalarNode):
                continue
            line = key.start_mark.line + 1
            if key.value in first:
                yield (
                    line,
                    _dotted((*loc, key.value)),
                    f"duplicate key (first at line {first[key.value]})",
                )
            else:
                first[key.value] = line
            yield from _duplicate_keys(value, (*loc, key.value), seen)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            yield from _duplicate_keys(item, (*loc, i), seen)
