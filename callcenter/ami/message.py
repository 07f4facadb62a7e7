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

from .errors import RemoteProtocolError

_MISSING = object()


class Message:
    """One AMI frame: an :class:`Event` or a :class:`Response`."""

    __slots__ = ("name", "raw", "offset", "_headers", "_index")

    #: "event" or "response"
    kind: str = ""

    def __init__(self, name: str, raw: bytes, offset: int) -> None:
        self.name = name
        self.raw = raw
        self.offset = offset
        self._headers: list[tuple[str, str]] | None = None
        self._index: dict[str, int] | None = None

    # -- decoding -------------------------------------------------------------
    def _decode(self) -> list[tuple[str, str]]:
        text = self.raw.decode("utf-8", "replace")
        headers: list[tuple[str, str]] = []
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
            headers.append((name, value))
        self._headers = headers
        return headers

    def _line_offset(self, line_no: int) -> int:
        return self.offset + sum(len(b) + 1 for b in self.raw.split(b"\n")[:line_no])

    @property
    def headers(self) -> list[tuple[str, str]]:
        """All headers in wire order, duplicates kept."""
        h = self._headers
        return h if h is not None else self._decode()

    def _lookup(self) -> dict[str, int]:
        idx = self._index
        if idx is None:
            idx = {}
            for i, (name, _value) in enumerate(self.headers):
                idx.setdefault(name.lower(), i)
            self._index = idx
        return idx

    def get(self, name: str, default: str | None = None) -> str | None:
        """The first value of header ``name`` (case-insensitive), or ``default``."""
        i = self._lookup().get(name.lower())
        return default if i is None else self.headers[i][1]

    def __getitem__(self, name: str) -> str:
        i = self._lookup().get(name.lower())
        if i is None:
            raise KeyError(name)
        return self.headers[i][1]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._lookup()

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

    @property
    def action_id(self) -> str | None:
        return self.get("ActionID")

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
        """True when events of an EventList follow (``EventList: start``)."""
        v = self.get("EventList")
        return v is not None and v.lower() == "start"
