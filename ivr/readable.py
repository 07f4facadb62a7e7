"""A caller's IVR trail as steps an agent reads: the node's words and the choice's.

The screen-pop's ``path`` (``language(1) > main(2)``) is for the log; the desk shows
these steps instead, each ``{node, label, what, detail, choice}``: ``label`` is the
node's words per language (``IvrDefinition.labels``, None when not given), ``choice``
what a menu key did (``{"label": {...}}`` from the labels, else ``{"language": "vi"}``,
``{"queue": "support"}``, ``{"goto": "main", "label": {...}}`` or ``{"hangup": ...}``).
The desk words ``what`` (pressed, no answer, invalid key...) in its own language.
Pure: a definition and a trail in, plain data out.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .model import Action, IvrDefinition, MenuNode
from .session import TrailStep


def readable_trail(definition: IvrDefinition, trail: Sequence[TrailStep]) -> list[dict[str, Any]]:
    """The steps of ``trail``; a node entered with nothing else happening there (a play
    node, a condition's branch into the next) is one ``enter`` step."""
    steps: list[dict[str, Any]] = []
    for i, step in enumerate(trail):
        if step.what == "enter":
            following = trail[i + 1] if i + 1 < len(trail) else None
            if following is not None and following.what != "enter" and following.node == step.node:
                continue  # the next step says what happened here
        steps.append({
            "node": step.node,
            "label": definition.labels.get(step.node),
            "what": step.what,
            "detail": step.detail,
            "choice": _choice(definition, step),
        })  # fmt: skip
    return steps


def _choice(definition: IvrDefinition, step: TrailStep) -> dict[str, Any] | None:
    if step.what != "digits":
        return None
    labelled = definition.labels.get(f"{step.node}.{step.detail}")
    if labelled is not None:
        return {"label": labelled}
    node = definition.nodes.get(step.node)
    action = node.options.get(step.detail) if isinstance(node, MenuNode) else None
    return None if action is None else _action(definition, action)


def _action(definition: IvrDefinition, action: Action) -> dict[str, Any]:
    if action.language is not None:  # the language is what the caller chose
        return {"language": action.language}
    if action.queue is not None:
        return {"queue": action.queue}
    if action.goto is not None:
        return {"goto": action.goto, "label": definition.labels.get(action.goto)}
    return {"hangup": action.hangup}
