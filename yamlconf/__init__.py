"""YAML files with line numbers: every problem as ``file:line: path: reason``.

Generic machinery shared by the IVR file (:mod:`ivr.loader`) and the
controller's own config file (:mod:`callcenter.config`); it knows nothing of
menus, queues or Asterisk, and imports nothing else of Hotline's (an import
contract checks it). A
document is composed once with PyYAML (which keeps each node's start mark),
constructed from that tree, then validated by a pydantic model; each pydantic
error's ``loc`` is walked down the composed tree to find its line. A bad file
never ends in a traceback: unreadable files, YAML syntax errors, duplicate
keys, unknown keys (with a "did you mean") and shape errors all become
:class:`ConfigProblem` entries.

A custom error (``PydanticCustomError``) may carry ``at`` in its context: a
key or a tuple of keys appended to the error's ``loc``, so a model validator
can point at the field it is about (``nodes.0.secret_env``) rather than at
the whole model. Tagged unions (``Annotated[A, Tag("a")] | ...`` with a
``Discriminator``) work: the member tag pydantic puts in a ``loc`` is not a
key of the file, so it is left out of the path and the line, and used to find
the member's keys for "did you mean".
"""

from __future__ import annotations

import difflib
import re
import types
import typing
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, Tag, ValidationError
from pydantic_core import ErrorDetails, PydanticCustomError

__all__ = ["ConfigProblem", "Loc", "YamlDocument", "YamlProblems", "dotted", "read_text"]

Loc = tuple[int | str, ...]
M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True, slots=True, order=True)
class ConfigProblem:
    """One thing wrong in a YAML file: ``file:line: path: reason``."""

    file: str
    #: 1-based line; 0 when the file could not be read at all
    line: int
    #: dotted path of the bad value (``nodes.main.options.7.goto``); "" for the file itself
    path: str
    reason: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.path}: {self.reason}" if self.path else f"{where}: {self.reason}"


class YamlProblems(Exception):
    """A YAML file could not be read or parsed at all; ``problems`` says why.

    Callers re-raise the problems as their own error type (``IvrConfigError``…).
    """

    def __init__(self, problems: Iterable[ConfigProblem]) -> None:
        self.problems: tuple[ConfigProblem, ...] = tuple(sorted(problems))
        super().__init__("\n".join(str(p) for p in self.problems))


def problem(message: str, at: str | tuple[str | int, ...] | None = None) -> PydanticCustomError:
    """A validation error whose text is ``message`` as given.

    The template is ``{msg}`` so braces in user text are never read as
    placeholders; ``at`` names the field a model-level problem is about, so its
    line is the one reported.
    """
    ctx: dict[str, Any] = {"msg": message}
    if at is not None:
        ctx["at"] = at
    return PydanticCustomError("config", "{msg}", ctx)


def matching(pattern: re.Pattern[str], what: str) -> Callable[[str], str]:
    """An AfterValidator that accepts only values matching ``pattern``."""

    def check(value: str) -> str:
        if not pattern.fullmatch(value):
            raise problem(f"{value!r} is not a valid {what}")
        return value

    return check


def read_text(path: str | Path) -> str:
    """The UTF-8 text of ``path``; :class:`YamlProblems` (line 0) when it cannot be read."""
    filename = str(path)
    try:
        return Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise YamlProblems(
            [ConfigProblem(filename, 0, "", f"not UTF-8 text (byte {e.start})")]
        ) from None
    except OSError as e:
        reason = e.strerror or type(e).__name__
        raise YamlProblems([ConfigProblem(filename, 0, "", f"cannot read: {reason}")]) from None


def dotted(loc: Loc) -> str:
    """``("nodes", "main", "retries")`` -> ``"nodes.main.retries"``."""
    return ".".join(str(el) for el in loc)


@dataclass(frozen=True, slots=True)
class YamlDocument:
    """One parsed YAML document: its composed node tree (with marks) and its data."""

    filename: str
    root: yaml.Node
    data: Any

    @classmethod
    def parse(cls, text: str, filename: str) -> YamlDocument:
        """Parse ``text``; :class:`YamlProblems` on a syntax error or an empty document."""
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
            raise YamlProblems([problem]) from None
        except yaml.reader.ReaderError as e:  # a character YAML does not allow
            line = text.count("\n", 0, e.position) + 1
            char = e.character if isinstance(e.character, int) else e.character[0]
            reason = f"YAML syntax error: {e.reason} (#x{char:04x})"
            raise YamlProblems([ConfigProblem(filename, line, "", reason)]) from None
        if root is None:
            raise YamlProblems([ConfigProblem(filename, 1, "", "the file is empty")])
        return cls(filename, root, data)

    @classmethod
    def load(cls, path: str | Path) -> YamlDocument:
        """Read and parse the file at ``path`` (:class:`YamlProblems` on any failure)."""
        return cls.parse(read_text(path), str(path))

    def problem(self, loc: Loc, reason: str) -> ConfigProblem:
        """A problem about the value at ``loc``, at that value's line."""
        return ConfigProblem(self.filename, self.line_of(loc), dotted(loc), reason)

    def line_of(self, loc: Loc) -> int:
        """The 1-based line of the value at ``loc``: the line of its key, or of its
        nearest existing parent when it is missing."""
        node = self.root
        line: int = node.start_mark.line + 1
        for el in loc:
            if isinstance(node, yaml.MappingNode):
                for key, value in node.value:
                    if isinstance(key, yaml.ScalarNode) and key.value == str(el):
                        node, line = value, key.start_mark.line + 1
                        break
                else:
                    return line
            elif (
                isinstance(node, yaml.SequenceNode)
                and isinstance(el, int)
                and 0 <= el < len(node.value)
            ):
                node = node.value[el]
                line = node.start_mark.line + 1
            else:
                return line
        return line

    def duplicate_keys(self) -> list[ConfigProblem]:
        """Keys given twice in one mapping (YAML would silently keep the last)."""
        return [
            ConfigProblem(self.filename, line, path, reason)
            for line, path, reason in _duplicate_keys(self.root, (), set())
        ]

    def validate(
        self, model: type[M], *, context: Mapping[str, Any] | None = None
    ) -> tuple[M | None, list[ConfigProblem]]:
        """Validate the data with ``model``.

        Returns the instance (None when validation failed) and every problem
        found: duplicate keys first, then each validation error at its line.
        """
        problems = self.duplicate_keys()
        try:
            instance = model.model_validate(self.data, context=context)
        except ValidationError as e:
            problems += (self._problem(model, error) for error in e.errors())
            return None, problems
        return instance, problems

    def _problem(self, model: type[BaseModel], error: ErrorDetails) -> ConfigProblem:
        loc: Loc = tuple(el for el in error["loc"] if el != "[key]")
        model_loc = loc
        loc = _without_tags(model, loc)
        ctx = error.get("ctx") or {}
        at = ctx.get("at")
        if at is not None:
            loc = (*loc, *(at if isinstance(at, tuple) else (at,)))
        if error["type"] == "extra_forbidden":
            reason = _unknown_key(model, model_loc)
        else:
            reason = reason_of(error)
        return self.problem(loc, reason)


# pydantic's messages, said in the words of a config file
_REASONS = {
    "missing": "required",
    "string_type": "expected a string",
    "int_type": "expected a whole number",
    "int_parsing": "expected a whole number",
    "int_from_float": "expected a whole number",
    "float_type": "expected a number",
    "float_parsing": "expected a number",
    "bool_type": "expected true or false",
    "bool_parsing": "expected true or false",
    "dict_type": "expected a mapping",
    "model_type": "expected a mapping",
    "model_attributes_type": "expected a mapping",
    "list_type": "expected a list",
}
_BOUNDS = {
    "greater_than": "must be greater than {gt}",
    "greater_than_equal": "must be at least {ge}",
    "less_than": "must be less than {lt}",
    "less_than_equal": "must be at most {le}",
    "literal_error": "expected {expected}",
    "enum": "expected {expected}",
}


def reason_of(error: ErrorDetails) -> str:
    """One pydantic error as a short reason (custom errors keep their own message)."""
    kind = error["type"]
    if kind == "string_type" and isinstance(error.get("input"), bool | int | float):
        # `secret: 1234` or `name: no`: YAML read a number or a boolean
        what = "boolean" if isinstance(error["input"], bool) else "number"
        return f"expected a string (quote it: YAML reads this value as a {what})"
    if kind in _REASONS:
        return _REASONS[kind]
    ctx = error.get("ctx") or {}
    if kind in _BOUNDS:
        # a bound of 0 on a float field reads "0", not "0.0"
        shown = {
            k: int(v) if isinstance(v, float) and v.is_integer() else v for k, v in ctx.items()
        }
        try:
            return _BOUNDS[kind].format(**shown)
        except (KeyError, IndexError):
            pass
    if kind == "too_short" and ctx.get("field_type") == "List":
        n = ctx.get("min_length")
        return f"needs at least {n} item{'s' if n != 1 else ''}"
    return error["msg"]


def _compose(text: str) -> tuple[Any, Any]:
    """The composed node tree (with line marks) and the data built from it."""
    loader = yaml.SafeLoader(text)
    try:
        root = loader.get_single_node()
        return root, loader.construct_document(root) if root is not None else None
    finally:
        loader.dispose()


def _unknown_key(model: type[BaseModel], loc: Loc) -> str:
    allowed = _keys_at(model, loc[:-1])
    if not allowed:
        return "unknown key"
    close = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
    if close:
        return f"unknown key (did you mean {close[0]!r}?)"
    return f"unknown key (expected one of: {', '.join(allowed)})"


def _keys_at(model: type[BaseModel], loc: Loc) -> list[str]:
    """The keys the model at ``loc`` allows, found by walking the field types."""
    kind: Any = model
    for el in loc:
        if (member := _tagged(kind, el)) is not None:
            kind = member  # a tagged union's member, named by pydantic in the loc
        elif isinstance(kind, type) and issubclass(kind, BaseModel):
            field = kind.model_fields.get(str(el))
            if field is None:
                return []
            kind = field.annotation
        elif typing.get_origin(kind) in (dict, list):
            kind = typing.get_args(kind)[-1]
        elif typing.get_origin(kind) is tuple:
            kind = typing.get_args(kind)[0]
        else:
            return []
        kind = _unwrap(kind)
    if isinstance(kind, type) and issubclass(kind, BaseModel):
        return list(kind.model_fields)
    return []


def _tagged(kind: Any, tag: int | str) -> Any:
    """The member of the tagged union ``kind`` (``Annotated[X, Tag(tag)]``) named ``tag``."""
    if not (isinstance(kind, types.UnionType) or typing.get_origin(kind) is typing.Union):
        return None
    for arg in typing.get_args(kind):
        if typing.get_origin(arg) is typing.Annotated:
            inner, *marks = typing.get_args(arg)
            if any(isinstance(m, Tag) and m.tag == tag for m in marks):
                return _unwrap(inner)
    return None


def _without_tags(model: type[BaseModel], loc: Loc) -> Loc:
    """``loc`` without the member tags pydantic puts in it for a tagged union
    (``nodes.main.menu.prompt`` is ``nodes.main.prompt`` in the file)."""
    kind: Any = model
    out: list[int | str] = []
    for i, el in enumerate(loc):
        if (member := _tagged(kind, el)) is not None:
            kind = member
            continue
        out.append(el)
        if isinstance(kind, type) and issubclass(kind, BaseModel):
            field = kind.model_fields.get(str(el))
            if field is None:
                return (*out, *loc[i + 1 :])
            kind = field.annotation
        elif typing.get_origin(kind) in (dict, list):
            kind = typing.get_args(kind)[-1]
        elif typing.get_origin(kind) is tuple:
            kind = typing.get_args(kind)[0]
        else:
            return (*out, *loc[i + 1 :])
        kind = _unwrap(kind)
    return tuple(out)


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


def _duplicate_keys(node: yaml.Node, loc: Loc, seen: set[int]) -> Iterator[tuple[int, str, str]]:
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
                    dotted((*loc, key.value)),
                    f"duplicate key (first at line {first[key.value]})",
                )
            else:
                first[key.value] = line
            yield from _duplicate_keys(value, (*loc, key.value), seen)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            yield from _duplicate_keys(item, (*loc, i), seen)
