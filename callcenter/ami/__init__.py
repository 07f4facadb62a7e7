"""The AMI layer: a sans-I/O codec (:mod:`.codec`) and an asyncio client on it."""

from .agi import AgiEnv, AgiResult, parse_agi_env, parse_agi_result
from .backoff import Backoff
from .client import AMIClient
from .codec import CLOSED, NEED_DATA, AMICodec, encode_action
from .dispatch import EventStream
from .errors import (
    ActionError,
    ActionTimeout,
    AgiHangup,
    AMIConnectionError,
    AMIError,
    AuthenticationError,
    LocalProtocolError,
    NotAMIError,
    NotLeader,
    ProtocolError,
    RemoteProtocolError,
)
from .message import Event, Message, Response
from .state import ConnectionState
from .waiters import ActionResult

__all__ = [
    "AMIClient",
    "AMICodec",
    "ActionResult",
    "AgiHangup",
    "Backoff",
    "ConnectionState",
    "EventStream",
    "ActionError",
    "ActionTimeout",
    "AMIConnectionError",
    "AMIError",
    "AgiEnv",
    "AgiResult",
    "AuthenticationError",
    "CLOSED",
    "Event",
    "LocalProtocolError",
    "Message",
    "NEED_DATA",
    "NotAMIError",
    "NotLeader",
    "ProtocolError",
    "RemoteProtocolError",
    "Response",
    "encode_action",
    "parse_agi_env",
    "parse_agi_result",
]
