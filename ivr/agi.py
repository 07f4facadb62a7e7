"""The AGI spelling of IVR commands and results: pure text, for the shell to send and read.

:func:`agi_command` gives the AsyncAGI ``Command:`` for a command (``None`` for
RouteToQueue, which the ACD carries out). :func:`prompt_result` reads the
decoded reply line of ``AsyncAGIExec`` (``Result:`` url-decoded, e.g.
``200 result=50 endpos=33760``) into a :class:`PromptResult`:

- STREAM FILE answers the ASCII code of the digit that interrupted it
  (``result=50`` is ``2``, transcripts 02 and 11), 0 when it played to the
  end, -1 when it failed (a missing file, transcript 13);
- GET DATA answers the digits as typed (``result=42``, leading zeros kept),
  ``result= (timeout)`` when nothing came, -1 on failure: a missing prompt
  answers ``200 result=-1`` within 0.1 s and, unlike STREAM FILE, leaves the
  channel in AsyncAGI (transcript 17);
- WAIT FOR DIGIT (a :class:`CollectDigits` with no prompt) answers the ASCII
  code of the digit (``result=55`` is ``7``, transcript 15), 0 when none came
  (02, 22), -1 when the caller hung up meanwhile (22);
- any code but 200 (510 unknown command, 511 dead channel, 520 usage) is a failure.

- RECORD FILE (a voicemail's message, :func:`record_command`) answers
  ``result=0 (timeout) endpos=<samples>`` when its time ran out (17) or the
  silence ended it, the code of the digit that ended it (``result=35`` is
  ``#``), -1 when the caller hung up (the file is kept) or the file could not
  be written.

Every ``-1`` reads as ``failed``, whatever follows it (``result=-1 endpos=0``
of STREAM FILE, 13). A hang-up during a command also answers ``result=-1``
(22): the reply alone does not tell it from a missing file, the channel's
Hangup does, so the shell feeds :class:`~ivr.events.CallerHangup` after it.
"""

from __future__ import annotations

import re

from .events import (
    DTMF_DIGITS,
    AwaitingCommand,
    CollectDigits,
    Command,
    Hangup,
    PlayPrompt,
    PromptResult,
    RecordMessage,
    SetLanguage,
)

#: the RECORD FILE format of a voicemail: 8 kHz 16-bit mono WAV (17: 2.0 s is 32,044 bytes)
VOICEMAIL_FORMAT = "wav"

_REPLY = re.compile(r"(\d{3}) result=(\S*)(.*)", re.S)
_FAILED = PromptResult(status="failed")
_TIMEOUT = PromptResult(status="timeout")


def agi_command(command: Command) -> str | None:
    """The AGI command line that carries out ``command``, or None if AGI has no part in it."""
    if isinstance(command, PlayPrompt):
        return f'STREAM FILE {command.prompt} "{command.escape_digits}"'
    if isinstance(command, CollectDigits):
        ms = round(command.timeout_s * 1000)
        if command.silent:
            return f"WAIT FOR DIGIT {ms}"
        return f"GET DATA {command.prompt} {ms} {command.max_digits}"
    if isinstance(command, SetLanguage):
        return f"SET VARIABLE CHANNEL(language) {command.language}"
    if isinstance(command, Hangup):
        return "HANGUP"
    return None


def record_command(command: RecordMessage, path: str) -> str:
    """The ``RECORD FILE`` line for ``command`` into ``path`` (no extension: Asterisk adds
    ``.wav``): ``RECORD FILE <path> wav "#" <max ms> 0 [BEEP] [s=<silence s>]``. The
    ``0`` is the offset, so the next argument is read as the beep (res_agi's
    handle_recordfile), as in transcript 17's ``... wav "#" 2000 0 BEEP``."""
    if any(c.isspace() or c == '"' for c in path) or not path:
        raise ValueError(f"a RECORD FILE path takes no spaces or quotes: {path!r}")
    line = f'RECORD FILE {path} {VOICEMAIL_FORMAT} "#" {command.max_s * 1000} 0'
    if command.beep:
        line += " BEEP"
    if command.silence_s is not None:
        line += f" s={command.silence_s}"
    return line


def prompt_result(command: AwaitingCommand, reply: str) -> PromptResult:
    """Read the AGI reply to ``command`` (a PlayPrompt, CollectDigits or RecordMessage) as a
    PromptResult."""
    m = _REPLY.fullmatch(reply.strip())
    if m is None or m.group(1) != "200":
        return _FAILED
    value, rest = m.group(2), m.group(3)
    if value.startswith("-"):
        return _FAILED
    if isinstance(command, CollectDigits) and not command.silent:
        if not value:
            return PromptResult(status="timeout" if "(timeout)" in rest else "ok")
        return PromptResult(value) if set(value) <= DTMF_DIGITS else _FAILED
    if not value.isdigit():
        return _FAILED
    code = int(value)
    if code == 0:
        return _TIMEOUT if isinstance(command, CollectDigits) else PromptResult()
    digit = chr(code) if code < 128 else ""
    return PromptResult(digit) if digit in DTMF_DIGITS else _FAILED
