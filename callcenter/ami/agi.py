"""AsyncAGI values carried inside AMI events, decoded into typed values.

``AsyncAGIStart`` carries ``Env:``, the url-encoded ``agi_*: value`` lines that
a FastAGI script would read on stdin, ending with ``%0A%0A``.
``AsyncAGIExec`` carries ``Result:``, the url-encoded AGI reply line, e.g.
``200%20result%3D50%20endpos%3D33760%0A`` (transcript 02) or
``200%20result%3D1%20(5550102-1)%0A`` (parentheses are not encoded), and
``CommandId`` (lower-case d) echoing the ``CommandID`` of our ``AGI`` action.
``AGIExecStart``/``AGIExecEnd`` also say ``CommandId`` but theirs is a random
number chosen by Asterisk: never match results on it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from operator import methodcaller
from urllib.parse import quote, unquote

from .errors import RemoteProtocolError


@dataclass(frozen=True, slots=True)
class AgiEnv:
    """The ``agi_*`` variables of one AsyncAGI session (``agi_`` prefix dropped)."""

    channel: str
    uniqueid: str
    language: str = ""
    type: str = ""
    callerid: str = ""
    calleridname: str = ""
    dnid: str = ""
    context: str = ""
    extension: str = ""
    priority: int = 0
    accountcode: str = ""
    version: str = ""
    #: ``agi_arg_1``, ``agi_arg_2``... in order
    args: tuple[str, ...] = ()
    #: every variable as sent, prefix dropped
    raw: dict[str, str] = field(default_factory=dict)


# What Asterisk escapes in an Env (transcripts 02-22): unquote() decodes it
# byte by byte in Python, str.replace in C; "%25" (a percent sign) and any
# other escape leave a "%" behind and take the unquote() path.
_ENV_ESCAPES = (
    ("%0A", "\n"),
    ("%20", " "),
    ("%3A", ":"),
    ("%2F", "/"),
    ("%40", "@"),
    ("%3B", ";"),
    ("%2C", ","),
    ("%3D", "="),
    ("%2D", "-"),
    ("%2B", "+"),
    ("%28", "("),
    ("%29", ")"),
    ("%22", '"'),
    ("%3C", "<"),
    ("%3E", ">"),
)
_SPLIT_HEADER = methodcaller("split", ": ", 1)


def _unquote_env(encoded: str) -> str:
    text = encoded
    for escaped, char in _ENV_ESCAPES:
        if escaped in text:
            text = text.replace(escaped, char)
    return unquote(encoded) if "%" in text else text


def _env_fast(text: str) -> dict[str, str] | None:
    """``agi_x: v`` lines to a dict in C, or None when a line needs a closer look."""
    body = text.rstrip("\n")
    if not body.startswith("agi_"):
        return None
    n = body.count("\n") + 1
    bare = body[4:].replace("\nagi_", "\n")
    if len(bare) != len(body) - 4 * n:
        return None  # a line without the agi_ prefix
    pairs = list(map(_SPLIT_HEADER, bare.split("\n")))
    if min(map(len, pairs)) != 2:
        return None
    raw = dict(pairs)
    return raw if len(raw) == n else None


def parse_agi_env(encoded: str) -> AgiEnv:
    """Decode the ``Env`` header of ``AsyncAGIStart``."""
    text = _unquote_env(encoded)
    raw = _env_fast(text) or _env_slow(text)
    return _env(raw)


def _env_slow(text: str) -> dict[str, str]:
    raw: dict[str, str] = {}
    for line in text.split("\n"):
        if not line:
            continue
        key, sep, value = line.partition(": ")
        if not sep:
            key, sep, value = line.partition(":")
        if not sep or not key.startswith("agi_"):
            raise RemoteProtocolError(f"AsyncAGIStart Env line {line[:60]!r} is not 'agi_x: v'", 0)
        raw[key[4:]] = value
    return raw


def _env(raw: dict[str, str]) -> AgiEnv:
    if "channel" not in raw:
        raise RemoteProtocolError("AsyncAGIStart Env has no agi_channel", 0)
    args = []
    n = 1
    while f"arg_{n}" in raw:
        args.append(raw[f"arg_{n}"])
        n += 1
    prio = raw.get("priority", "0")
    return AgiEnv(
        channel=raw["channel"],
        uniqueid=raw.get("uniqueid", ""),
        language=raw.get("language", ""),
        type=raw.get("type", ""),
        callerid=raw.get("callerid", ""),
        calleridname=raw.get("calleridname", ""),
        dnid=raw.get("dnid", ""),
        context=raw.get("context", ""),
        extension=raw.get("extension", ""),
        priority=int(prio) if prio.isdigit() else 0,
        accountcode=raw.get("accountcode", ""),
        version=raw.get("version", ""),
        args=tuple(args),
        raw=raw,
    )


def encode_agi_env(variables: dict[str, str]) -> str:
    """The inverse of :func:`parse_agi_env` (used by tests and tools)."""
    text = "".join(f"agi_{k}: {v}\n" for k, v in variables.items()) + "\n"
    return quote(text, safe="()")


_RESULT = re.compile(r"^(\d{3})[ -](.*)$", re.S)
_KV = re.compile(r"(\w+)=(\S*)")


@dataclass(frozen=True, slots=True)
class AgiResult:
    """One AGI reply: ``200 result=50 endpos=33760`` and the like.

    ``code`` is 200 on success, 510 for an unknown command, 511 for a command
    not allowed on a dead channel, 520 for a usage error. ``result`` is the
    integer after ``result=`` (for STREAM FILE / WAIT FOR DIGIT the ASCII code
    of the digit pressed, 0 for none, -1 for failure); ``data`` is the text in
    parentheses (GET VARIABLE's value, ``timeout``...); ``extra`` holds other
    ``key=value`` pairs such as ``endpos``.
    """

    code: int
    result: int | None
    data: str | None
    extra: dict[str, str]
    text: str
    #: the text after ``result=`` as sent: GET DATA's ``042`` keeps its zero
    value: str = ""

    @property
    def ok(self) -> bool:
        return self.code == 200 and (self.result is None or self.result >= 0)

    @property
    def digit(self) -> str | None:
        """The digit a caller pressed, for STREAM FILE / WAIT FOR DIGIT results."""
        if self.result is None or self.result <= 0:
            return None
        return chr(self.result)

    @property
    def endpos(self) -> int | None:
        v = self.extra.get("endpos")
        return int(v) if v is not None and v.lstrip("-").isdigit() else None


def parse_agi_result(encoded: str) -> AgiResult:
    """Decode the ``Result`` header of ``AsyncAGIExec``."""
    text = unquote(encoded).rstrip("\n")
    m = _RESULT.match(text)
    if m is None:
        raise RemoteProtocolError(f"AGI result {text[:60]!r} does not start with a 3-digit code", 0)
    code = int(m.group(1))
    rest = m.group(2)
    data = None
    if "(" in rest and rest.rstrip().endswith(")"):
        start = rest.index("(")
        data = rest[start + 1 : rest.rstrip().rindex(")")]
        rest = rest[:start]
    extra = dict(_KV.findall(rest))
    result: int | None = None
    raw_result = extra.pop("result", None)
    if raw_result is not None:
        try:
            result = int(raw_result)
        except ValueError:
            # GET DATA with nothing pressed sends "result=" then " (timeout)"
            result = None
            if raw_result:
                data = raw_result if data is None else data
    return AgiResult(
        code=code, result=result, data=data, extra=extra, text=text, value=raw_result or ""
    )
