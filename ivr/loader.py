"""Load an IVR file: YAML in, a validated :class:`IvrDefinition` or an :class:`IvrConfigError` out.

Every problem is reported as ``file:line: path: reason``. Reading, parsing
and mapping pydantic errors to lines is the generic machinery of
:mod:`yamlconf`; this module adds what only an IVR has: references
checked against the names the document declares (and the ACD's queues),
loops that need no caller input (a caller who presses nothing, or a flow whose
prompts are all missing, would go round them forever), and nodes no path from
``start`` (or one of the ``visits``, where agents send callers mid-call) reaches. A bad file never ends in a traceback: YAML syntax errors,
duplicate keys, shape errors, bad times and dates, dangling references,
loops and unreachable nodes all become problems of one IvrConfigError.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from pathlib import Path

from yamlconf import Loc, YamlDocument, YamlProblems, read_text

from .errors import IvrConfigError
from .model import (
    Action,
    CallbackNode,
    ConditionNode,
    GotoNode,
    InputNode,
    IvrDefinition,
    LookupNode,
    MenuNode,
    Node,
    PlayNode,
    SetNode,
    SplitNode,
    VoicemailNode,
    reference_context,
)


def load_ivr(path: str | Path, *, queues: Collection[str] | None = None) -> IvrDefinition:
    """Read and validate the IVR file at ``path``.

    ``queues``, when given, are the queue names the ACD knows: a route to any
    other queue is a problem. Raises :class:`IvrConfigError` on any problem,
    including an unreadable file.
    """
    try:
        text = read_text(path)
    except YamlProblems as e:
        raise IvrConfigError(e.problems) from None
    return parse_ivr(text, str(path), queues=queues, base=Path(path).parent)


def parse_ivr(
    text: str,
    filename: str = "<ivr>",
    *,
    queues: Collection[str] | None = None,
    base: Path | None = None,
) -> IvrDefinition:
    """Validate the IVR document ``text``; ``filename`` is only used in messages, ``base``
    (the file's folder) resolves a relative ``sounds_dir``."""
    try:
        doc = YamlDocument.parse(text, filename)
    except YamlProblems as e:
        raise IvrConfigError(e.problems) from None
    definition, problems = doc.validate(IvrDefinition, context=reference_context(doc.data, queues))
    if definition is None:
        raise IvrConfigError(problems)
    problems += (doc.problem(loc, reason) for loc, reason in _flow_problems(definition))
    problems += (doc.problem(loc, reason) for loc, reason in _unset_variables(definition))
    problems += (doc.problem(loc, reason) for loc, reason in _missing_sounds(definition, base))
    if problems:
        raise IvrConfigError(problems)
    return definition


#: an edge of the flow: where it is written, its target, and whether the caller's input takes it
Edge = tuple[Loc, str, bool]


def _edges(name: str, node: Node) -> Iterator[Edge]:
    """Every ``goto`` out of a node, in file order."""
    here: Loc = ("nodes", name)

    def act(action: Action | None, at: Loc, by_caller: bool) -> Iterator[Edge]:
        if action is not None and action.goto is not None:
            yield ((*here, *at, "goto"), action.goto, by_caller)

    if isinstance(node, MenuNode):
        for key, action in node.options.items():
            yield from act(action, ("options", key), True)
        yield from act(node.otherwise, ("otherwise",), False)
    elif isinstance(node, InputNode):
        yield from act(node.next, ("next",), True)
        yield from act(node.otherwise, ("otherwise",), False)
    elif isinstance(node, PlayNode | SetNode | VoicemailNode):
        yield from act(node.next, ("next",), False)
    elif isinstance(node, CallbackNode):
        yield from act(node.next, ("next",), False)
        yield from act(node.otherwise, ("otherwise",), False)
    elif isinstance(node, ConditionNode):
        for i, branch in enumerate(node.branches):
            yield from act(branch.then, ("branches", i, "then"), False)
        yield from act(node.otherwise, ("otherwise",), False)
    elif isinstance(node, SplitNode):
        for i, share in enumerate(node.branches):
            yield from act(share.then, ("branches", i, "then"), False)
    elif isinstance(node, GotoNode):
        yield ((*here, "goto"), node.goto, False)
    elif isinstance(node, LookupNode):
        for key in ("found", "not_found", "timed_out"):
            yield from act(getattr(node, key), (key,), False)


def _flow_problems(definition: IvrDefinition) -> Iterator[tuple[Loc, str]]:
    """What only the whole flow shows: loops with no caller input, unreachable nodes."""
    silent = {
        name: [(loc, target) for loc, target, by_caller in _edges(name, node) if not by_caller]
        for name, node in definition.nodes.items()
    }
    for name in definition.nodes:
        for loc, target in silent[name]:
            path = _path_back(silent, name, target)
            if path is not None:
                # a menu's or an input's only edges with no input are its `otherwise`
                only_timeouts = all(
                    isinstance(definition.nodes[n], MenuNode | InputNode) for n in (name, *path)
                )
                what = (
                    "timeouts loop without reaching a queue"
                    if only_timeouts
                    else "loops with no caller input"
                )
                yield loc, f"{what} ({' -> '.join([name, *path])})"
                break  # one report per node: its first edge that loops
    reached = {definition.start, *definition.visits}
    todo = list(reached)
    while todo:
        for _, target, _ in _edges(todo[-1], definition.nodes[todo.pop()]):
            if target not in reached:
                reached.add(target)
                todo.append(target)
    for name in definition.nodes:
        if name not in reached:
            yield (
                ("nodes", name),
                f"unreachable: no path from start {definition.start!r} (or a visit) leads here",
            )


def _unset_variables(definition: IvrDefinition) -> Iterator[tuple[Loc, str]]:
    """A callback's ``number`` must be a variable some ``input`` or ``set`` node keeps."""
    kept = {n.variable for n in definition.nodes.values() if isinstance(n, InputNode)}
    kept |= {v for n in definition.nodes.values() if isinstance(n, SetNode) for v in n.variables}
    for name, node in definition.nodes.items():
        if isinstance(node, CallbackNode) and node.number is not None and node.number not in kept:
            yield (
                ("nodes", name, "number"),
                f"unknown variable {node.number!r}: no input or set node keeps it",
            )


def _missing_sounds(definition: IvrDefinition, base: Path | None) -> Iterator[tuple[Loc, str]]:
    """Prompts with no sound file in ``sounds_dir`` (any format Asterisk may read)."""
    if definition.sounds_dir is None:
        return
    sounds = Path(definition.sounds_dir)
    if not sounds.is_absolute() and base is not None:
        sounds = base / sounds
    if not sounds.is_dir():
        yield ("sounds_dir",), f"{sounds} is not a directory"
        return
    wanted: list[tuple[Loc, str]] = [
        (("prompts", name, language), file)
        for name, files in definition.prompts.items()
        for language, file in files.items()
    ]
    wanted.append((("silence_prompt",), definition.silence_prompt))
    seen: set[str] = set()
    for loc, file in wanted:
        if file in seen:
            continue  # one prompt file shared by languages: reported once
        seen.add(file)
        path = Path(file) if file.startswith("/") else sounds / file
        if not any(path.parent.glob(f"{path.name}.*")):
            yield loc, f"no sound file {path}.* (wav, gsm, ulaw ...)"


def _path_back(silent: dict[str, list[tuple[Loc, str]]], home: str, first: str) -> list[str] | None:
    """The nodes from ``first`` back to ``home`` over edges with no caller input, if any."""
    paths: dict[str, list[str]] = {first: [first]}
    todo = [first]
    while todo:
        node = todo.pop(0)
        if node == home:
            return paths[node]
        for _, target in silent.get(node, []):
            if target not in paths:
                paths[target] = [*paths[node], target]
                todo.append(target)
    return None
