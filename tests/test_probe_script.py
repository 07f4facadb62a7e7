"""The probe's call script: parsing, and errors that name the file and line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from callcenter.cli import main
from callcenter.probe.script import (
    DEFAULT_SCRIPT,
    Dtmf,
    Hangup,
    ScriptError,
    Tone,
    Wait,
    WaitAgent,
    load_script,
    parse_script,
    step_label,
)

ROOT = Path(__file__).resolve().parents[1]

GOOD = """\
# walk the IVR, then wait for an agent
- wait: 2
- dtmf: "1"
- dtmf: 42
- wait_agent: 30
- wait_agent: {seconds: 20, hz: 620, min_rms: 500}
- tone: {hz: 440, seconds: 3}
- hangup
"""


def test_every_step_kind_parses() -> None:
    assert parse_script(GOOD) == (
        Wait(2.0),
        Dtmf("1"),
        Dtmf("42"),
        WaitAgent(30.0),
        WaitAgent(20.0, hz=620.0, min_rms=500.0),
        Tone(hz=440.0, seconds=3.0),
        Hangup(),
    )


def test_labels_read_like_the_script() -> None:
    assert [step_label(s) for s in parse_script(GOOD)] == [
        "wait 2",
        "dtmf 1",
        "dtmf 42",
        "wait_agent 30",
        "wait_agent 20 620Hz",
        "tone 440Hz 3",
        "hangup",
    ]
    assert [step_label(s) for s in DEFAULT_SCRIPT] == ["wait_agent 60", "tone 1000Hz 2", "hangup"]


@pytest.mark.parametrize(
    ("text", "line", "reason"),
    [
        ("- wait: 2\n- wait: [1\n", 3, "not valid YAML"),
        ("wait: 2\n", 1, "expected a list of steps"),
        ("", 1, "empty script"),
        ("- wait: 2\n- ring: 3\n", 2, "ring: unknown step"),
        ("- wait: 2\n\n- wait: -1\n", 3, "wait: seconds must be a number >= 0, got -1"),
        ("- wait: yes\n", 1, "wait: seconds must be a number >= 0, got True"),
        ("- dtmf: '12x'\n", 1, "dtmf: digits must be a string of 0-9 * # A-D, got '12x'"),
        ("- tone: {hz: 440}\n", 1, "tone: missing field 'seconds'"),
        ("- tone: {hz: 9000, seconds: 1}\n", 1, "tone: hz must be between 50 and 3900"),
        ("- wait_agent: {secs: 3}\n", 1, "wait_agent: unknown field 'secs'"),
        ("- hangup\n- bye\n", 2, "unknown step 'bye'"),
        ("- {wait: 1, dtmf: '2'}\n", 1, "a step is one 'kind: value' pair"),
    ],
)
def test_a_bad_script_names_file_and_line(text: str, line: int, reason: str) -> None:
    with pytest.raises(ScriptError) as caught:
        parse_script(text, "calls/probe.yaml")
    assert (caught.value.file, caught.value.line) == ("calls/probe.yaml", line)
    assert reason in caught.value.reason
    assert str(caught.value).startswith(f"calls/probe.yaml:{line}: ")


def test_an_unreadable_script_is_a_script_error(tmp_path: Path) -> None:
    with pytest.raises(ScriptError, match=r"missing\.yaml:0: cannot read: No such file"):
        load_script(tmp_path / "missing.yaml")


def test_cli_rejects_a_broken_script_with_status_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("- wait: 1\n- dtmf: 'x'\n")
    assert main(["probe", "sip:1001@127.0.0.1:5070", "--script", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err == (
        f"callcenter probe: bad script {bad}:2: dtmf: digits must be a string of"
        " 0-9 * # A-D, got 'x'\n"
    )


def test_cli_broken_script_subprocess_exit_status(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("- wait: 1\n- tone: {hz: 440}\n")
    done = subprocess.run(
        [sys.executable, "-m", "callcenter.cli", "probe", "sip:x@127.0.0.1", "--script", str(bad)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert done.stdout == ""
    assert f"{bad}:2: tone: missing field 'seconds'" in done.stderr


def test_cli_without_pjsua2_exits_2_with_a_clear_message(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import callcenter.probe.runner as runner

    monkeypatch.setattr(runner, "PJSUA2_MISSING", "pjsua2 is not importable (test)")
    assert main(["probe", "sip:1001@127.0.0.1:5070"]) == 2
    assert capsys.readouterr().err == "callcenter probe: pjsua2 is not importable (test)\n"
