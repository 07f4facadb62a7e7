"""Load an IVR file: YAML in, a validated :class:`IvrDefinition` or an :class:`IvrConfigError` out.

Every problem is reported as ``file:line: path: reason``. Reading, parsing
and mapping pydantic errors to lines is the generic machinery of
:mod:`yamlconf`; this module adds what only an IVR has: references
checked against the names the document declares (and the ACD's queues), and
timeout loops. A bad file never ends in a traceback: YAML syntax errors,
duplicate keys, shape errors, dangling references and timeout loops all
become problems of one IvrConfigError.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from pathlib import Path

from yamlconf import Loc, YamlDocument, YamlProblems, read_text

from .errors import IvrConfigError
from .model import IvrDefinition, reference_context


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
    return parse_ivr(text, str(path), queues=queues)


def parse_ivr(
    text: str, filename: str = "<ivr>", *, queues: Collection[str] | None = None
) -> IvrDefinition:
    """Validate the IVR document ``text``; ``filename`` is only used in messages."""
    try:
        doc = YamlDocument.parse(text, filename)
    except YamlProblems as e:
        raise IvrConfigError(e.problems) from None
    definition, problems = doc.validate(IvrDefinition, context=reference_context(doc.data, queues))
    if definition is None:
        raise IvrConfigError(problems)
    problems += (doc.problem(loc, reason) for loc, reason in _timeout_loops(definition))
    if problems:
        raise IvrConfigError(problems)
    return definition


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
