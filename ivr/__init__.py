"""IVR engine: pure state machine (events and now in, commands out).

- :mod:`ivr.model` / :mod:`ivr.loader`: the IVR file (YAML, pydantic schema),
  loaded into an :class:`IvrDefinition` or refused with an :class:`IvrConfigError`
  naming file, line and path of every problem.
- :mod:`ivr.session`: :class:`IvrSession`, one caller's walk through the menus.
- :mod:`ivr.events`: its inputs and commands; :mod:`ivr.agi`: their AGI spelling.

Nothing here does I/O, reads the clock or imports the shell.
"""

from .agi import agi_command, prompt_result
from .errors import ConfigProblem, IvrConfigError, IvrError, IvrStateError
from .events import (
    CallerHangup,
    CollectDigits,
    Command,
    Hangup,
    IvrInput,
    PlayPrompt,
    PromptFailed,
    PromptResult,
    RouteToQueue,
    Selection,
    SetLanguage,
)
from .loader import load_ivr, parse_ivr
from .model import Action, IvrDefinition, MenuNode
from .session import MAX_PROMPT_FAILURES, TRANSITIONS, InputKind, IvrSession, IvrState

__all__ = [
    "MAX_PROMPT_FAILURES",
    "TRANSITIONS",
    "Action",
    "CallerHangup",
    "CollectDigits",
    "Command",
    "ConfigProblem",
    "Hangup",
    "InputKind",
    "IvrConfigError",
    "IvrDefinition",
    "IvrError",
    "IvrInput",
    "IvrSession",
    "IvrState",
    "IvrStateError",
    "MenuNode",
    "PlayPrompt",
    "PromptFailed",
    "PromptResult",
    "RouteToQueue",
    "Selection",
    "SetLanguage",
    "agi_command",
    "load_ivr",
    "parse_ivr",
    "prompt_result",
]
