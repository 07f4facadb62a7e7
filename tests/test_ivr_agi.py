"""The AGI spelling of IVR commands, and AGI replies read back as PromptResult."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote

import pytest

from ivr import (
    CollectDigits,
    Hangup,
    PlayPrompt,
    PromptFailed,
    PromptResult,
    RecordMessage,
    RouteToQueue,
    SetLanguage,
    agi_command,
    prompt_result,
    record_command,
)

TRANSCRIPTS = Path(__file__).resolve().parent / "ami-transcripts"


def test_agi_command_spelling() -> None:
    assert (
        agi_command(PlayPrompt("hotline/vi/welcome", "12")) == 'STREAM FILE hotline/vi/welcome "12"'
    )
    assert agi_command(PlayPrompt("beep")) == 'STREAM FILE beep ""'
    assert (
        agi_command(CollectDigits("hotline/en/main-menu", 6.0, 1))
        == "GET DATA hotline/en/main-menu 6000 1"
    )
    # no prompt: the silent read after a failed question
    assert agi_command(CollectDigits("", 6.0, 1)) == "WAIT FOR DIGIT 6000"
    assert agi_command(SetLanguage("en")) == "SET VARIABLE CHANNEL(language) en"
    assert agi_command(PromptFailed("main", "hotline/en/main-menu")) is None
    assert agi_command(Hangup("caller-asked")) == "HANGUP"
    assert agi_command(RouteToQueue("support", "vi")) is None


def test_record_file_spelling_and_replies() -> None:
    # 17's line, with the voicemail's silence detection (res_agi's s=<seconds>) added
    message = RecordMessage("vm", 120, 5, beep=True)
    assert (
        record_command(message, "/var/spool/asterisk/voicemail/hotline/c1-vm")
        == 'RECORD FILE /var/spool/asterisk/voicemail/hotline/c1-vm wav "#" 120000 0 BEEP s=5'
    )
    quiet = RecordMessage("vm", 30, None, beep=False)
    assert record_command(quiet, "/v/x") == 'RECORD FILE /v/x wav "#" 30000 0'
    assert agi_command(message) is None, "the shell names the file"
    with pytest.raises(ValueError, match="no spaces or quotes"):
        record_command(quiet, "/v/my file")
    # '#' ended it (res_agi: result=<digit> (dtmf)); the caller hung up: -1 (hangup)
    assert prompt_result(quiet, "200 result=35 (dtmf) endpos=9600\n") == PromptResult("#")
    assert prompt_result(quiet, "200 result=0 (timeout) endpos=16000\n") == PromptResult()
    assert prompt_result(quiet, "200 result=-1 (hangup) endpos=800\n") == FAILED
    assert prompt_result(quiet, "200 result=-1 (writefile)\n") == FAILED


def replies(name: str) -> list[tuple[str, str]]:
    """(AGI command, decoded reply) pairs of a recorded transcript, matched by CommandID."""
    actions = (TRANSCRIPTS / f"{name}.actions.txt").read_bytes().decode()  # keep CRLF
    sent = {m[2]: m[1] for m in re.finditer(r"Command: (.*?)\r\nCommandID: (\S+)", actions)}
    stream = (TRANSCRIPTS / f"{name}.ami").read_bytes().decode()
    pairs = []
    for message in stream.split("\r\n\r\n"):
        if message.startswith("Event: AsyncAGIExec\r\n"):
            headers = dict(line.split(": ", 1) for line in message.split("\r\n"))
            pairs.append((sent[headers["CommandId"]], unquote(headers["Result"])))
    return pairs


def as_command(line: str) -> PlayPrompt | CollectDigits | RecordMessage | None:
    words = line.split()
    if line.startswith("RECORD FILE"):
        return RecordMessage("n", int(words[5]) // 1000, None, beep="BEEP" in words[7:])
    if line.startswith("STREAM FILE"):
        return PlayPrompt(words[2], words[3].strip('"'))
    if line.startswith("GET DATA"):
        return CollectDigits(words[2], int(words[3]) / 1000, int(words[4]))
    if line.startswith("WAIT FOR DIGIT"):
        return CollectDigits("", int(words[3]) / 1000)
    return None


TIMEOUT = PromptResult(status="timeout")
FAILED = PromptResult(status="failed")

EXPECTED = {
    # transcript 02: the caller sends 2 during the prompt, then 1 into GET DATA;
    # two WAIT FOR DIGIT that time out (result=0)
    "02-asyncagi-ivr": [PromptResult("2"), PromptResult("1"), TIMEOUT, TIMEOUT],
    # transcript 11: a real SIP caller, RFC 4733 digits
    "11-pjsip-loopback-asyncagi": [PromptResult("3"), PromptResult("42")],
    # transcript 13: a missing prompt
    "13-agi-missing-prompt": [FAILED] * 2,
    # transcript 15: a beep played out, then 7 during WAIT FOR DIGIT (result=55)
    "15-restart-during-hold": [PromptResult(), PromptResult("7")],
    # transcript 17: GET DATA of a missing prompt (result=-1, AsyncAGI goes on),
    # STREAM FILE cut by 1, GET DATA with 1234#, RECORD FILE of 2 s ended by its time
    # (result=0 (timeout) endpos=16000)
    "17-agi-prompts-and-say": [FAILED, PromptResult("1"), PromptResult("1234"), PromptResult()],
    # transcript 22: announcements and silent reads; the last WAIT FOR DIGIT
    # ends with the caller's hang-up (result=-1)
    "22-hold-with-announcements": [
        TIMEOUT,
        PromptResult(),
        PromptResult(),
        TIMEOUT,
        TIMEOUT,
        PromptResult("1"),
        TIMEOUT,
        FAILED,
    ],
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_recorded_replies_read_as_prompt_results(name: str) -> None:
    results = []
    for line, reply in replies(name):
        command = as_command(line)
        if isinstance(command, RecordMessage):
            assert record_command(command, line.split()[2]) == line
            results.append(prompt_result(command, reply))
        elif command is not None:
            assert agi_command(command) == line
            results.append(prompt_result(command, reply))
    assert results == EXPECTED[name]


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        ("200 result= (timeout)\n", PromptResult(status="timeout")),
        ("200 result=042\n", PromptResult("042")),  # leading zeros kept
        ("200 result=4 (timeout)\n", PromptResult("4")),  # typed some, then timed out
        ("200 result=\n", PromptResult()),  # '#' alone
        ("200 result=-1\n", PromptResult(status="failed")),  # missing prompt (17) or hang-up
        ("200 result=-1 endpos=0\n", PromptResult(status="failed")),
        (
            "511 Command Not Permitted on a dead channel or intercept routine\n",
            PromptResult(status="failed"),
        ),
    ],
)
def test_get_data_replies(reply: str, expected: PromptResult) -> None:
    assert prompt_result(CollectDigits("x", 5.0, 4), reply) == expected


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        ("200 result=0 endpos=8000\n", PromptResult()),
        ("200 result=-1 endpos=0\n", PromptResult(status="failed")),  # missing file (13)
        ("200 result=-1\n", PromptResult(status="failed")),
        ("200 result=35 endpos=100\n", PromptResult("#")),
        ("200 result=42 endpos=100\n", PromptResult("*")),
        # 'A' (DTMF A-D exist, but no IVR offers them)
        ("200 result=65 endpos=100\n", PromptResult(status="failed")),
        ("200 result=99999999 endpos=0\n", PromptResult(status="failed")),
        ("510 Invalid or unknown command\n", PromptResult(status="failed")),
    ],
)
def test_stream_file_replies(reply: str, expected: PromptResult) -> None:
    assert prompt_result(PlayPrompt("x", "12"), reply) == expected


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        ("200 result=0\n", PromptResult(status="timeout")),  # 02, 22
        ("200 result=55\n", PromptResult("7")),  # 15
        ("200 result=35\n", PromptResult("#")),
        ("200 result=-1\n", PromptResult(status="failed")),  # the caller hung up (22)
        ("200 result=65\n", PromptResult(status="failed")),  # 'A': no IVR offers it
        ("200 result=\n", PromptResult(status="failed")),
        ("511 Command Not Permitted on a dead channel\n", PromptResult(status="failed")),
    ],
)
def test_wait_for_digit_replies(reply: str, expected: PromptResult) -> None:
    assert prompt_result(CollectDigits("", 6.0), reply) == expected


def test_a_silent_read_takes_one_digit() -> None:
    with pytest.raises(ValueError, match="without a prompt reads one digit"):
        CollectDigits("", 6.0, 4)
    assert CollectDigits("", 6.0).silent and not CollectDigits("beep", 6.0).silent
