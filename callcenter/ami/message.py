"""AMI messages as the codec hands them out: raw bytes, headers decoded on first read.

A message keeps its frame's bytes and decodes them into an ordered list of
``(name, value)`` pairs only when a header is read. Header order and duplicate
headers are kept (``Output:`` lines of ``Command``, ``Variable:`` lists). Name
lookups are case-insensitive, as Asterisk's are, so ``CommandId`` (what
``AsyncAGIExec`` sends) and ``CommandID`` (what the action carries) both find
the header; :attr:`headers` still shows the names exactly as sent.
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import repeat
from operator import itemgetter, methodcaller

from .errors import RemoteProtocolError

_NAME = itemgetter(0)
_SEP = itemgetter(1)
_VALUE = itemgetter(2)
_SPLIT_HEADER = methodcaller("split", ": ", 1)


class Message:
    """One AMI frame: an :class:`Event` or a :class:`Response`."""

    __slots__ = ("name", "raw", "offset", "_triples", "_first", "_folded")

    #: "event" or "response"
    kind: str = ""

    def __init__(self, name: str, raw: bytes, offset: int) -> None:
        # Only three stores: most messages are never decoded, and the lazy
        # slots below are filled (and first read, via AttributeError) on demand.
        self.name = name
        self.raw = raw
        self.offset = offset

    _triples: list[tuple[str, str, str]]
    _first: dict[str, str]
    _folded: dict[str, str]

    def _decoded(self) -> list[tuple[str, str, str]]:
        try:
            return self._triples
        except AttributeError:
            return self._decode()

    # -- decoding -------------------------------------------------------------
    # Hand-tuned: str.split and str.partition mapped in C do the work, so a
    # full decode costs about a third of a per-line Python loop
    # (bench/ami_ingest.py, ours_full_decode).
    def _decode(self) -> list[tuple[str, str, str]]:
        text = self.raw.decode("utf-8", "replace")
        if text.count("\n") == text.count("\r\n"):
            triples = list(map(str.partition, text.split("\r\n"), repeat(": ")))
            # every line must have had its ": " separator
            if sum(map(len, map(_SEP, triples))) == 2 * len(triples) and all(map(_NAME, triples)):
                self._triples = triples
                return triples
        triples = self._decode_slowly(text)
        self._triples = triples
        return triples

    def _decode_slowly(self, text: str) -> list[tuple[str, str, str]]:
        """Bare LF, ``Name:value`` without a space, or a malformed line."""
        triples: list[tuple[str, str, str]] = []
        for i, line in enumerate(text.split("\n")):
            if line.endswith("\r"):
                line = line[:-1]
            name, sep, value = line.partition(":")
            if not sep or not name or name != name.strip():
                raise RemoteProtocolError(
                    f"malformed header line {line[:60]!r}: no 'Name: value'", self._line_offset(i)
                )
            if value.startswith(" "):
                value = value[1:]
            triples.append((name, ": ", value))
        return triples

    def _line_offset(self, line_no: int) -> int:
        return self.offset + sum(len(b) + 1 for b in self.raw.split(b"\n")[:line_no])

    def _lookup(self) -> dict[str, str]:
        try:
            return self._first
        except AttributeError:
            pass
        # What Asterisk sends (CRLF, "Name: value", no name twice) goes to the dict
        # straight from str.split in C, without the ordered list of _decode.
        text = self.raw.decode("utf-8", "replace")
        lines = text.split("\r\n")
        if text.count("\n") == len(lines) - 1:
            pairs = list(map(_SPLIT_HEADER, lines))
            if min(map(len, pairs)) == 2:
                first = dict(pairs)
                if len(first) == len(lines) and "" not in first:
                    self._first = first
                    return first
        triples = self._decoded()
        first = dict(zip(map(_NAME, triples), map(_VALUE, triples), strict=True))
        if len(first) != len(triples):
            # duplicate headers (Output:, Variable:): the first one wins
            first = {}
            for n, _, v in triples:
                first.setdefault(n, v)
        self._first = first
        return first

    def _lookup_folded(self) -> dict[str, str]:
        try:
            return self._folded
        except AttributeError:
            pass
        first = self._lookup()
        # Built from the last header to the first, so the first spelling wins (the
        # tracker asks every Hangup for a TechCause most of them lack).
        folded = dict(zip(map(str.lower, reversed(first)), reversed(first.values()), strict=True))
        self._folded = folded
        return folded

    @property
    def headers(self) -> list[tuple[str, str]]:
        """All headers in wire order, duplicates kept."""
        return [(n, v) for n, _, v in self._decoded()]

    def get(self, name: str, default: str | None = None) -> str | None:
        """The first value of header ``name`` (case-insensitive), or ``default``."""
        try:
            value = self._first.get(name)
        except AttributeError:
            value = self._lookup().get(name)
        if value is None:
            value = self._lookup_folded().get(name.lower())
        return default if value is None else value

    def __getitem__(self, name: str) -> str:
        value = self.get(name)
        if value is None:
            raise KeyError(name)
        return value

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.get(name) is not None

    def getall(self, name: str) -> list[str]:
        """Every value of a repeated header, in order (``Output``, ``Variable``...)."""
        key = name.lower()
        return [v for n, v in self.headers if n.lower() == key]

    def names(self) -> list[str]:
        """Header names in wire order, exactly as sent."""
        return [n for n, _ in self.headers]

    def as_dict(self) -> dict[str, str]:
        """First value per header name (a convenience for logs and JSON)."""
        out: dict[str, str] = {}
        for n, v in self.headers:
            out.setdefault(n, v)
        return out

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter(self.headers)

    def peek(self, name: str) -> str | None:
        """Header ``name``'s first value, found in the bytes if nothing was decoded yet.

        For a message read for one or two headers (a response's ActionID, an
        ``AsyncAGIExec``'s CommandId and Result): no decode of every header. The bytes
        are searched for the exact spelling; when it is not there, :meth:`get`'s
        rules apply (case-insensitive, the whole frame decoded).
        """
        try:
            first = self._first
        except AttributeError:
            raw = self.raw
            key = b"\n" + name.encode() + b": "
            at = raw.find(key)
            if at < 0:
                return self.get(name)
            at += len(key)
            end = raw.find(b"\n", at)
            return raw[at : end if end >= 0 else len(raw)].rstrip(b"\r").decode("utf-8", "replace")
        value = first.get(name)
        return self.get(name) if value is None else value

    @property
    def action_id(self) -> str | None:
        """The ``ActionID`` header; found in the bytes when nothing else was decoded.

        Every response is matched by it, and most are never read further.
        """
        return self.peek("ActionID")

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name} @{self.offset}>"


class Event(Message):
    """``Event: <name>`` and its headers."""

    __slots__ = ()
    kind = "event"

    @property
    def is_list_complete(self) -> bool:
        """True for the ``<X>Complete`` event that closes an EventList."""
        return self.get("EventList") == "Complete"


class Response(Message):
    """``Response: <Success|Error|Goodbye|...>`` and its headers."""

    __slots__ = ()
    kind = "response"

    @property
    def ok(self) -> bool:
        return self.name == "Success" or self.name == "Goodbye"

    @property
    def message(self) -> str | None:
        return self.get("Message")

    @property
    def is_list_start(self) -> bool:
        """True when events of an EventList follow (``EventList: start``).

        Asked of every successful response; most have no EventList header, and
        those are told by their bytes without decoding them.
        """
        if b"eventlist" not in self.raw.lower():
            return False
        v = self.get("EventList")
        return v is not None and v.lower() == "start"
