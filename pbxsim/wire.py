"""AMI on the wire, server side: parse client actions, encode responses and events.

Rules kept from Asterisk's ``main/manager.c`` and checked against the transcripts:

1. A frame is a run of header lines ended by an empty line. CRLF or bare LF both
   end a line (08-errors: an action terminated with ``\\n\\n`` was accepted).
2. An empty line with no header before it is still a frame: it is processed as
   an action and answered ``Missing action in request`` (08-errors).
3. Header names are matched case-insensitively and the first match wins
   (``astman_get_header``); blanks after the colon are skipped.
4. Output is ``Name: value`` CRLF per header and one CRLF after the frame, even
   for an empty value (``AccountCode: ``).
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import quote

MAX_LINE = 4096


class ActionFrame:
    """One action as Asterisk sees it: the raw header lines of a frame."""

    __slots__ = ("lines",)

    def __init__(self, lines: list[str]) -> None:
        self.lines = lines

    def _values(self, name: str) -> Iterable[str]:
        n = len(name)
        low = name.lower()
        for line in self.lines:
            if len(line) > n and line[n] == ":" and line[:n].lower() == low:
                yield line[n + 1 :].lstrip(" \t")

    def get(self, name: str, default: str = "") -> str:
        """The first value of header ``name`` (case-insensitive), or ``default``."""
        for value in self._values(name):
            return value
        return default

    def getall(self, name: str) -> list[str]:
        """Every value of a repeated header such as ``Variable``."""
        return list(self._values(name))

    @property
    def name(self) -> str:
        return self.get("Action")

    @property
    def action_id(self) -> str:
        return self.get("ActionID")

    def __repr__(self) -> str:
        return f"ActionFrame({self.lines!r})"


class ActionParser:
    """Incremental parser: bytes from a client in, :class:`ActionFrame` out."""

    def __init__(self) -> None:
        self._buf = bytearray()
        self._lines: list[str] = []

    def feed(self, data: bytes) -> list[ActionFrame]:
        self._buf += data
        frames: list[ActionFrame] = []
        while True:
            end = self._buf.find(b"\n")
            if end < 0:
                if len(self._buf) > MAX_LINE:  # manager.c drops over-long lines
                    self._buf.clear()
                break
            raw = bytes(self._buf[:end]).rstrip(b"\r")
            del self._buf[: end + 1]
            if not raw:
                frames.append(ActionFrame(self._lines))
                self._lines = []
            else:
                self._lines.append(raw[:MAX_LINE].decode("utf-8", "replace"))
        return frames


Fields = list[tuple[str, str]]


def encode(fields: Iterable[tuple[str, object]]) -> bytes:
    """One AMI frame: ``Name: value`` lines and the blank line after them."""
    out = "".join(f"{k}: {v}\r\n" for k, v in fields)
    return (out + "\r\n").encode("utf-8")


def uri_encode(text: str) -> str:
    """``ast_uri_encode(.., ast_uri_http)``: alnum and ``-_.!~*'()`` pass, the rest %XX.

    Seen in AsyncAGIStart ``Env`` and AsyncAGIExec ``Result`` (02: parentheses stay).
    """
    return quote(text, safe="!*'()")


def parse_callerid(text: str) -> tuple[str, str]:
    """``"Alice 5550102" <5550102>`` -> (num, name); a bare number -> (num, <unknown>)."""
    text = text.strip()
    if "<" in text and text.endswith(">"):
        name, _, num = text[:-1].rpartition("<")
        name = name.strip().strip('"').strip()
        return num.strip() or "<unknown>", name or "<unknown>"
    if not text:
        return "<unknown>", "<unknown>"
    return text, "<unknown>"
