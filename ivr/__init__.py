"""IVR engine: pure state machine (events and now in, commands out).

- :mod:`ivr.model` / :mod:`ivr.loader`: the IVR file (YAML, pydantic schema),
  loaded into an :class:`IvrDefinition` or refused with an :class:`IvrConfigError`
  naming file, line and path of every problem.
- :mod:`ivr.calendar`: business hours, holidays and special days in an IANA zone.
- :mod:`ivr.session`: :class:`IvrSession`, one caller's walk through the nodes.
- :mod:`ivr.survey`: :class:`SurveySession`, the post-call survey (CSAT, NPS, CES).
- :mod:`ivr.events`: its inputs and commands; :mod:`ivr.agi`: their AGI spelling.

Nothing here does I/O, reads the clock or imports the shell.
"""

from .agi import VOICEMAIL_FORMAT, agi_command, prompt_result, record_command
from .calendar import Calendar
from .errors import ConfigProblem, IvrConfigError, IvrError, IvrStateError
from .events import (
    AwaitCustomer,
    AwaitQueues,
    CallerHangup,
    CollectDigits,
    Command,
    CustomerKnown,
    Hangup,
    IvrInput,
    LookupAccount,
    LookupResult,
    PlayPrompt,
    PromptFailed,
    PromptResult,
    QueueState,
    RecordMessage,
    RequestCallback,
    RouteToQueue,
    Selection,
    SetLanguage,
    Transfer,
)
from .loader import load_ivr, parse_ivr
from .model import Action, InputNode, IvrDefinition, MenuNode, luhn_ok
from .readable import readable_trail
from .session import (
    MAX_PROMPT_FAILURES,
    TRANSITIONS,
    InputKind,
    IvrSession,
    IvrState,
    TrailStep,
    trail_path,
)
from .survey import SurveyDone, SurveySession, SurveyState

__all__ = [
    "MAX_PROMPT_FAILURES",
    "TRANSITIONS",
    "VOICEMAIL_FORMAT",
    "Action",
    "AwaitCustomer",
    "AwaitQueues",
    "Calendar",
    "CallerHangup",
    "CollectDigits",
    "Command",
    "ConfigProblem",
    "CustomerKnown",
    "Hangup",
    "InputKind",
    "IvrConfigError",
    "InputNode",
    "IvrDefinition",
    "IvrError",
    "IvrInput",
    "IvrSession",
    "IvrState",
    "IvrStateError",
    "MenuNode",
    "LookupAccount",
    "LookupResult",
    "PlayPrompt",
    "PromptFailed",
    "PromptResult",
    "QueueState",
    "RecordMessage",
    "RequestCallback",
    "RouteToQueue",
    "Selection",
    "SetLanguage",
    "SurveyDone",
    "SurveySession",
    "SurveyState",
    "TrailStep",
    "Transfer",
    "agi_command",
    "load_ivr",
    "luhn_ok",
    "parse_ivr",
    "prompt_result",
    "readable_trail",
    "record_command",
    "trail_path",
]
