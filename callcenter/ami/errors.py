"""Errors of the AMI layer, typed by whose fault they are (h11's split).

- :class:`RemoteProtocolError`: the peer sent bytes that are not AMI as we know
  it (a malformed frame, an oversized frame, a banner that is not Asterisk's).
  It carries the byte offset in the stream where the bad part starts.
- :class:`LocalProtocolError`: we misused the codec (a header value with a line
  break in it, which would let caller text inject AMI headers).
- :class:`AMIError` and its subclasses: failures of the client session
  (authentication, connection, action errors and timeouts).
"""

from __future__ import annotations


class ProtocolError(Exception):
    """Base of codec errors."""


class RemoteProtocolError(ProtocolError):
    """The peer sent bytes we cannot read as AMI.

    ``offset`` is the position in the whole received stream (banner included)
    where the offending frame or line starts; ``fatal`` says whether the codec
    can go on after it (a malformed frame is skipped whole, an oversized frame
    or an overflowing buffer ends the stream).
    """

    def __init__(self, reason: str, offset: int, *, fatal: bool = False) -> None:
        super().__init__(f"{reason} (at byte offset {offset})")
        self.reason = reason
        self.offset = offset
        self.fatal = fatal


class NotAMIError(RemoteProtocolError):
    """The peer's first line is not an Asterisk Call Manager banner."""


class LocalProtocolError(ProtocolError):
    """We asked the codec for something AMI cannot carry."""


class AMIError(Exception):
    """Base of client errors."""


class AuthenticationError(AMIError):
    """Asterisk refused the Login (wrong user or secret)."""


class AMIConnectionError(AMIError):
    """The AMI socket could not be opened, or was lost.

    ``host`` and ``port`` name the Asterisk node when the client knows them.
    """

    def __init__(self, message: str, *, host: str | None = None, port: int | None = None) -> None:
        super().__init__(message)
        self.host = host
        self.port = port


class ActionError(AMIError):
    """Asterisk answered an action with ``Response: Error``."""

    def __init__(self, action: str, message: str, response: object = None) -> None:
        super().__init__(f"{action} failed: {message}")
        self.action = action
        self.message = message
        self.response = response


class ActionTimeout(AMIError):
    """No complete answer to an action within its timeout.

    ``action`` is the action's name (``AGI``, ``Originate``...) and ``timeout``
    the limit in seconds, when the client knows them.
    """

    def __init__(
        self, message: str, *, action: str | None = None, timeout: float | None = None
    ) -> None:
        super().__init__(message)
        self.action = action
        self.timeout = timeout


class AgiHangup(AMIError):
    """The channel left AsyncAGI before the result of an AGI command came back.

    Raised by ``AMIClient.agi()`` when a ``Hangup`` or ``AsyncAGIEnd`` event of
    the command's channel arrives before its ``AsyncAGIExec``: a queued
    command dies with the AsyncAGI session (transcripts 02 and 13 show the
    ``AsyncAGIExec`` of a command that did run always comes first). ``event``
    is the Hangup/AsyncAGIEnd event.
    """

    def __init__(self, message: str, *, channel: str, command: str, event: object = None) -> None:
        super().__init__(message)
        self.channel = channel
        self.command = command
        self.event = event


class NotLeader(AMIError):
    """An action not sent: this controller does not lead (``callcenter.leader``)."""
