"""`callcenter prompts install DIR`: every prompt of the sample flow spoken into an 8 kHz WAV.

The install runs Debian's espeak-ng and sox (`.ci/run` installs them); without them
those cases skip, saying so. The checks of the words need neither.
"""

from __future__ import annotations

import os
import subprocess
import sys
import wave
from pathlib import Path

import pytest

from callcenter.prompts import DEFAULT_IVR, PromptError, missing_programs, prompts_of, read_texts
from ivr import load_ivr, parse_ivr

from .test_e2e_ivr import FLOW

CLI = [sys.executable, "-m", "callcenter.cli"]
needs_programs = pytest.mark.skipif(
    bool(missing_programs()),
    reason=f"prompts install needs {', '.join(missing_programs())}: apt-get install espeak-ng sox",
)


@needs_programs
def test_every_prompt_of_the_sample_flow_is_installed_as_8khz_wav(tmp_path: Path) -> None:
    done = subprocess.run(
        [*CLI, "prompts", "install", str(tmp_path)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    ivr = load_ivr(DEFAULT_IVR)
    names = {name for files in ivr.prompts.values() for name in files.values()}
    assert len(names) == 8  # four prompts, vi and en
    assert sorted(done.stdout.split()) == sorted(str(tmp_path / f"{n}.wav") for n in names)
    for name in names:
        with wave.open(str(tmp_path / f"{name}.wav")) as w:
            assert (w.getframerate(), w.getnchannels(), w.getsampwidth()) == (8000, 1, 2)
            assert w.getnframes() / 8000 > 0.5, f"{name}: too short to hold words"


def test_the_words_cover_every_prompt_of_the_flows_we_ship_and_test() -> None:
    texts = read_texts()
    assert len(prompts_of(load_ivr(DEFAULT_IVR), texts)) == 8
    # the node types' and survey's prompts (tests/test_e2e_ivr.py's flow) too
    assert {p.language for p in prompts_of(parse_ivr(FLOW), texts)} == {"vi", "en"}


def test_a_prompt_without_words_is_named_before_anything_is_written() -> None:
    texts = read_texts()
    del texts["hotline/en/invalid"]
    with pytest.raises(PromptError, match="no words for hotline/en/invalid: add them"):
        prompts_of(load_ivr(DEFAULT_IVR), texts)


def test_missing_programs_are_named_with_their_package(tmp_path: Path) -> None:
    env = {**os.environ, "PATH": str(tmp_path / "empty")}
    done = subprocess.run(
        [*CLI, "prompts", "install", str(tmp_path / "out")],
        capture_output=True, text=True, check=False, env=env,
    )  # fmt: skip
    assert done.returncode == 1
    assert done.stderr.strip() == (
        "callcenter prompts install: missing programs: espeak-ng (Debian package espeak-ng),"
        " sox (Debian package sox) (apt-get install them)"
    )
    assert not (tmp_path / "out").exists()
