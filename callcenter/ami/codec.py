"""Sans-I/O AMI codec: bytes in, messages out; actions to bytes.

No socket and no event loop here (the shape of h11): the owner of the socket
calls :meth:`AMICodec.receive_data` with what it read (``None`` at end of
stream), then :meth:`AMICodec.next_message` until it returns
:data:`NEED_DATA` (or :data:`CLOSED`).

Why hand-written: panoramisk and asterisk-ami both parse inside their socket
code and decode every header of every message; neither can skip the half of
the stream a controller never reads (``VarSet``, ``Newexten``), nor be fed a
recorded byte stream without a socket. Measured in ``bench/ami_ingest.py``.

The rules this module keeps (checked against ``tests/ami-transcripts``):

1. The stream opens with one banner line, ``Asterisk Call Manager/<version>``,
   with no blank line after it; anything else is :class:`NotAMIError`.
2. A frame is a run of ``Name: value`` lines ended by an empty line. Asterisk
   sends CRLF; bare LF is accepted too (Asterisk accepts it from clients).
3. A frame whose first header is ``Event`` is an :class:`Event`; ``Response``
   a :class:`Response`; anything else is a :class:`RemoteProtocolError` that
   names the frame's offset, and the frame is skipped (the stream goes on).
4. Events no one subscribed to are dropped after reading their first line
   only; other headers are decoded when first read (:mod:`.message`).
5. One frame may hold at most ``max_frame`` bytes and the codec at most
   ``max_buffer`` unread bytes; past either, a fatal
   :class:`RemoteProtocolError` naming the offset, never an unbounded buffer.
6. The work is linear in the bytes received: an unfinished frame is kept as
   a list of chunks, each new chunk is searched for a frame end once (with
   the 3 bytes before it), and the chunks are joined and split only when a
   frame end came. :attr:`AMICodec.work_bytes` counts every byte searched
   or copied (``tests/test_ami_codec_linear.py``: one 1 MB frame fed in
   100-byte reads costs a few MB of work, not the 5 GB of a re-scan per read).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from itertools import accumulate, repeat
from operator import add
from typing import Final

from .errors import LocalProtocolError, NotAMIError, RemoteProtocolError
from .message import Event, Message, Response


class _Sentinel:
    __slots__ = ("_name",)

    def __init__(self, name: str) -> None:
        self._name = name

    def __repr__(self) -> str:
        return self._name


#: next_message() has no complete frame: feed more bytes.
NEED_DATA: Final = _Sentinel("NEED_DATA")
#: the stream ended (receive_data(None)) and every frame was handed out.
CLOSED: Final = _Sentinel("CLOSED")

BANNER_PREFIX: Final = "Asterisk Call Manager/"
MAX_BANNER: Final = 256
DEFAULT_MAX_FRAME: Final = 1 << 20
DEFAULT_MAX_BUFFER: Final = 8 << 20

# The end of a frame: an empty line, CRLF or bare LF (or a mix).
_FRAME_END = re.compile(rb"\r?\n\r?\n")
# Bytes of the unfinished frame that a frame end in the next chunk may start in.
_END_OVERLAP = 3


class AMICodec:
    """Incremental AMI parser for the bytes an Asterisk server sends.

    ``events``: the Event names to hand out (``None`` = all). Others are
    skipped before their headers are decoded and counted in :attr:`skipped`.
    Responses are always handed out.
    """

    def __init__(
        self,
        *,
        events: Iterable[str] | None = None,
        max_frame: int = DEFAULT_MAX_FRAME,
        max_buffer: int = DEFAULT_MAX_BUFFER,
        expect_banner: bool = True,
    ) -> None:
        if max_frame <= 0 or max_buffer < max_frame:
            raise ValueError("need 0 < max_frame <= max_buffer")
        self.max_frame = max_frame
        self.max_buffer = max_buffer
        self.banner: str | None = None if expect_banner else ""
        self.skipped = 0
        #: bytes searched or copied so far (linear in the bytes received; rule 6)
        self.work_bytes = 0
        self._wanted: frozenset[bytes] | None = None
        self.subscribe(events)
        # Bytes not yet split into frames, as chunks in arrival order; _unsplit
        # says whether they may hold a frame end (otherwise no frame is complete).
        self._parts: list[bytes] = []
        self._plen = 0  # total length of _parts
        self._unsplit = False
        self._tail = b""  # the last _END_OVERLAP bytes of _parts
        self._base = 0  # stream offset of _parts[0][0]
        # frames split and classified, not yet handed out: messages, or the
        # RemoteProtocolError of a bad frame, in stream order
        self._ready: list[Message | RemoteProtocolError] = []
        self._next = 0  # index into _ready
        self._errors_in_ready = False
        self._eof = False
        self._error: RemoteProtocolError | None = None

    # -- configuration ---------------------------------------------------------
    def subscribe(self, events: Iterable[str] | None) -> None:
        """Set which Event names are handed out (``None`` = all of them)."""
        self._wanted = None if events is None else frozenset(e.encode() for e in events)
        self._heads: dict[bytes, tuple[type[Message] | None, str]] = {}

    @property
    def buffered(self) -> int:
        """Bytes received and not yet handed out (bounded by ``max_buffer``)."""
        pending = self._ready[self._next :]
        return self._plen + sum(len(m.raw) for m in pending if isinstance(m, Message))

    # -- input -----------------------------------------------------------------
    def receive_data(self, data: bytes | None) -> None:
        """Feed bytes read from the socket; ``None`` means the peer closed it."""
        if data is None:
            self._eof = True
            return
        if self._eof:
            raise LocalProtocolError("receive_data() after end of stream")
        if self._error is not None:
            raise self._error
        if self.buffered + len(data) > self.max_buffer:
            self._fail(
                RemoteProtocolError(
                    f"more than {self.max_buffer} unread bytes buffered",
                    self._base + self._plen,
                    fatal=True,
                )
            )
        if type(data) is not bytes:
            data = bytes(data)
        parts = self._parts
        if not parts:
            parts.append(data)
            self._plen = len(data)
            self._tail = data[-_END_OVERLAP:]
            self._unsplit = True
            return
        if not self._unsplit and self.banner is not None:
            # The unfinished frame holds no frame end: look for one in the new
            # chunk only, with the bytes before it that an end may start in.
            # ``in`` stops at the first match, so a chunk with frames in it
            # costs little; only a chunk inside one long frame is read whole.
            edge = self._tail + data[:_END_OVERLAP]
            at = data.find(b"\r\n\r\n")
            if at < 0:
                at = data.find(b"\n\n")
                self.work_bytes += len(data)
            self.work_bytes += (len(data) if at < 0 else at) + 2 * len(edge)
            if at >= 0 or b"\r\n\r\n" in edge or b"\n\n" in edge:
                self._unsplit = True
        parts.append(data)
        self._plen += len(data)
        self._tail = (
            (self._tail + data)[-_END_OVERLAP:]
            if len(data) < _END_OVERLAP
            else data[-_END_OVERLAP:]
        )
        if self._plen > self.max_frame:
            self._unsplit = True  # next_message() reports the oversized frame

    def _joined(self) -> bytes:
        """The unsplit bytes as one object (a copy only when there are several chunks)."""
        parts = self._parts
        if len(parts) == 1:
            return parts[0]
        if not parts:
            return b""
        buf = b"".join(parts)
        self.work_bytes += len(buf)
        self._parts = [buf]
        return buf

    def _keep(self, rest: bytes) -> None:
        self._parts = [rest] if rest else []
        self._plen = len(rest)
        self._tail = rest[-_END_OVERLAP:]

    def _fail(self, err: RemoteProtocolError) -> None:
        self._error = err
        self._keep(b"")
        self._ready = []
        self._next = 0
        raise err

    # -- output ----------------------------------------------------------------
    def next_message(self) -> Message | _Sentinel:
        """The next message, :data:`NEED_DATA`, or :data:`CLOSED`.

        Raises :class:`RemoteProtocolError` for a bad frame; unless the error
        is ``fatal`` the frame is consumed and the next call goes on after it.
        """
        ready = self._ready
        i = self._next
        if i < len(ready):
            self._next = i + 1
            msg = ready[i]
            if type(msg) is RemoteProtocolError:
                raise msg
            return msg  # type: ignore[return-value]
        if self._error is not None:
            raise self._error
        if self.banner is None and not self._read_banner():
            return CLOSED if self._eof else NEED_DATA
        if self._unsplit and self._split():
            return self.next_message()
        return self._at_eof() if self._eof else NEED_DATA

    def next_messages(self) -> list[Message]:
        """Every message available now, in order (empty: feed more data).

        The batch form of :meth:`next_message` for the socket's hot path. A bad
        frame ends the batch before it; the next call raises its error.
        """
        ready = self._ready
        i = self._next
        if i >= len(ready):
            msg = self.next_message()
            if not isinstance(msg, Message):
                return []
            ready = self._ready
            i = self._next - 1
        if self._errors_in_ready:
            for j in range(i, len(ready)):
                if type(ready[j]) is RemoteProtocolError:
                    if j == i:
                        self._next = i + 1
                        raise ready[j]  # type: ignore[misc]
                    self._next = j
                    return ready[i:j]  # type: ignore[return-value]
        self._next = len(ready)
        return ready[i:] if i else ready  # type: ignore[return-value]

    def _classify(self, frames: list[bytes], offsets: list[int]) -> None:
        """Turn complete frames into messages, skipping unsubscribed events.

        The hot loop of the codec: only the first line of each frame is read.
        """
        heads = self._heads
        ready: list[Message | RemoteProtocolError] = []
        append = ready.append
        skipped = 0
        for frame, offset in zip(frames, offsets, strict=True):
            cr = frame.find(b"\r")
            head = frame[:cr] if cr >= 0 else frame
            known = heads.get(head)
            if known is None:
                known = self._learn(head)
            if known is not None:
                cls, name = known
                if cls is None:
                    skipped += 1
                else:
                    append(cls(name, frame, offset))
                continue
            try:
                msg = self._slow_frame(frame, offset)
            except RemoteProtocolError as exc:
                append(exc)
                continue
            if msg is not None:
                append(msg)
            elif frame.strip(b"\r\n"):
                skipped += 1  # an unsubscribed event in an unusual spelling
        self.skipped += skipped
        self._errors_in_ready = any(type(m) is RemoteProtocolError for m in ready)
        self._ready = ready
        self._next = 0

    def _learn(self, head: bytes) -> tuple[type[Message] | None, str] | None:
        """Classify a first line never seen before; cache it (None: slow path).

        The cache maps a frame's whole first line (``Event: Newexten``) to the
        message class to build, or None for an unsubscribed event, so the hot
        loop does one dict lookup per frame.
        """
        if b"\n" in head or len(self._heads) > 4096:
            return None
        if head[:7] == b"Event: " and len(head) > 7:
            raw = head[7:]
            wanted = self._wanted is None or raw in self._wanted
            known: tuple[type[Message] | None, str] = (
                Event if wanted else None,
                raw.decode("utf-8", "replace"),
            )
        elif head[:10] == b"Response: " and len(head) > 10:
            known = (Response, head[10:].decode("utf-8", "replace"))
        else:
            return None
        self._heads[head] = known
        return known

    def _slow_frame(self, frame: bytes, offset: int) -> Message | None:
        """Frames that miss the fast path: stray blank lines, odd spacing, junk."""
        stripped = frame.lstrip(b"\r\n")
        offset += len(frame) - len(stripped)
        if not stripped:
            return None  # a stray empty line between frames
        first = stripped.split(b"\n", 1)[0].rstrip(b"\r").decode("utf-8", "replace")
        key, sep, value = first.partition(":")
        kind = key.strip().lower()
        value = value.strip()
        if sep and kind == "event" and value:
            if self._wanted is not None and value.encode() not in self._wanted:
                return None
            return Event(value, stripped, offset)
        if sep and kind == "response" and value:
            return Response(value, stripped, offset)
        if sep and kind == "event":
            raise RemoteProtocolError("event frame with an empty Event name", offset)
        if sep and kind == "response":
            raise RemoteProtocolError("response frame with an empty Response value", offset)
        raise RemoteProtocolError(
            f"frame starts with {first[:60]!r}, expected 'Event:' or 'Response:'", offset
        )

    def _read_banner(self) -> bool:
        buf = self._joined()
        self.work_bytes += min(len(buf), MAX_BANNER + 1)
        nl = buf.find(b"\n", 0, MAX_BANNER + 1)
        if nl < 0:
            if len(buf) > MAX_BANNER or (self._eof and buf):
                self._fail(
                    NotAMIError(f"no banner line in the first {len(buf)} bytes", 0, fatal=True)
                )
            return False
        line = buf[:nl].rstrip(b"\r").decode("utf-8", "replace")
        if not line.startswith(BANNER_PREFIX):
            self._fail(
                NotAMIError(
                    f"peer is not Asterisk AMI: banner {line[:80]!r} does not start with "
                    f"{BANNER_PREFIX!r}",
                    0,
                    fatal=True,
                )
            )
        self.banner = line
        self._keep(buf[nl + 1 :])
        self.work_bytes += self._plen
        self._base = nl + 1
        self._unsplit = True
        return True

    def _split(self) -> bool:
        """Split the complete frames off the unsplit bytes and classify them; False if none.

        Afterwards the bytes kept hold no frame end (what receive_data relies on).
        """
        self._unsplit = False
        buf = self._joined()
        base = self._base
        # the test for bare LF, the split, its copies, and (_classify) the search
        # of each frame's first line, which is at most the frame
        self.work_bytes += 4 * len(buf)
        if b"\n\n" not in buf:
            # Fast path, what Asterisk sends: CRLF only. Offsets summed in C.
            frames = buf.split(b"\r\n\r\n")
            rest = frames.pop()
            offsets = list(accumulate(map(add, map(len, frames), repeat(4)), initial=base))
            consumed = offsets.pop() - base
        else:
            frames = []
            offsets = []
            pos = 0
            for m in _FRAME_END.finditer(buf):
                frames.append(buf[pos : m.start()])
                offsets.append(base + pos)
                pos = m.end()
            rest = buf[pos:]
            consumed = pos
        if frames and max(map(len, frames)) > self.max_frame:
            at = next(i for i, f in enumerate(frames) if len(f) > self.max_frame)
            self._fail(
                RemoteProtocolError(
                    f"frame of {len(frames[at])} bytes exceeds max_frame={self.max_frame}",
                    offsets[at],
                    fatal=True,
                )
            )
        if len(rest) > self.max_frame:
            self._fail(
                RemoteProtocolError(
                    f"unterminated frame longer than max_frame={self.max_frame} bytes",
                    base + consumed,
                    fatal=True,
                )
            )
        self._keep(rest)
        self._base = base + consumed
        if not frames:
            return False
        self._classify(frames, offsets)
        return True

    def _at_eof(self) -> _Sentinel:
        buf = self._joined()
        if buf.strip(b"\r\n"):
            err = RemoteProtocolError(
                f"stream ended inside a frame ({len(buf)} bytes unterminated)", self._base
            )
            self._keep(b"")
            raise err
        return CLOSED


# -- actions -------------------------------------------------------------------

FieldValue = str | int | float | Iterable[str]
Fields = Mapping[str, FieldValue] | Iterable[tuple[str, str]]


def _check(text: str, what: str) -> str:
    if "\r" in text or "\n" in text:
        raise LocalProtocolError(f"{what} {text[:40]!r} contains a line break")
    return text


def encode_action(name: str, fields: Fields | None = None, action_id: str | None = None) -> bytes:
    """Serialize one AMI action: ``Action``, ``ActionID``, then ``fields`` in order.

    A value that is a list or tuple repeats the header (``Variable: a=1`` ...).
    Any line break in a name or value raises :class:`LocalProtocolError`: it
    would let text from a caller or an agent inject AMI headers.
    """
    if not name or ":" in name:
        raise LocalProtocolError(f"bad action name {name!r}")
    lines = [f"Action: {_check(name, 'action name')}"]
    if action_id is not None:
        lines.append(f"ActionID: {_check(str(action_id), 'ActionID')}")
    items: Iterable[tuple[str, FieldValue]]
    items = fields.items() if isinstance(fields, Mapping) else (fields or ())
    for key, value in items:
        if not key or ":" in key or key != key.strip():
            raise LocalProtocolError(f"bad header name {key!r}")
        _check(key, "header name")
        if isinstance(value, (list, tuple)):
            for v in value:
                lines.append(f"{key}: {_check(str(v), key)}")
        else:
            if isinstance(value, bool):
                value = "true" if value else "false"
            lines.append(f"{key}: {_check(str(value), key)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8")


__all__ = [
    "AMICodec",
    "CLOSED",
    "NEED_DATA",
    "Event",
    "Message",
    "Response",
    "encode_action",
]
