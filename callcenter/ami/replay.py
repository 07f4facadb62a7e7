"""Replay a recorded AMI byte stream through the codec and count what it holds.

Used by ``callcenter ami-replay`` and the conformance tests: a recording from a
real Asterisk is parsed exactly as the live client would parse its socket, in
socket-sized chunks, so counts and the first protocol error (with its byte
offset) are what the client would see.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from .codec import CLOSED, NEED_DATA, AMICodec
from .errors import RemoteProtocolError
from .message import Message


@dataclass
class ReplayReport:
    banner: str | None = None
    messages: int = 0
    responses: int = 0
    events: int = 0
    event_types: Counter[str] = field(default_factory=Counter)
    response_types: Counter[str] = field(default_factory=Counter)
    error: RemoteProtocolError | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "banner": self.banner,
            "messages": self.messages,
            "responses": self.responses,
            "events": self.events,
            "event_types": dict(sorted(self.event_types.items())),
            "error": None
            if self.error is None
            else {"offset": self.error.offset, "reason": self.error.reason},
        }


def replay(data: bytes, *, chunk_size: int = 65536) -> ReplayReport:
    """Parse ``data`` as one AMI stream; stop at the first protocol error."""
    report = ReplayReport()
    codec = AMICodec()

    def drain() -> bool:
        while True:
            try:
                msg = codec.next_message()
            except RemoteProtocolError as exc:
                report.error = exc
                return False
            if msg is NEED_DATA or msg is CLOSED:
                return True
            assert isinstance(msg, Message)
            report.messages += 1
            if msg.kind == "event":
                report.events += 1
                report.event_types[msg.name] += 1
            else:
                report.responses += 1
                report.response_types[msg.name] += 1

    for start in range(0, len(data), chunk_size):
        try:
            codec.receive_data(data[start : start + chunk_size])
        except RemoteProtocolError as exc:
            report.error = exc
            break
        if not drain():
            break
    else:
        codec.receive_data(None)
        drain()
    report.banner = codec.banner
    return report
