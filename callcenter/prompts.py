"""The sample flow's sound files, generated: ``callcenter prompts install DIR``.

Asterisk plays a prompt ``hotline/vi/welcome`` from
``<sounds dir>/hotline/vi/welcome.<format>``; this module writes
``DIR/hotline/vi/welcome.wav`` for every prompt an IVR file uses, in each of
its languages, speaking the words of ``config/prompts.yaml`` with Debian's
``espeak-ng`` (its ``vi`` and ``en`` voices) and converting them with ``sox``
to what Asterisk's ``wav`` format reads: 8 kHz, mono, 16-bit PCM. A prompt
whose words are missing is named before anything is written; a missing
program is named with the package that has it.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import yaml

from ivr import IvrDefinition

ROOT = Path(__file__).resolve().parent.parent
#: the sample flow
DEFAULT_IVR = ROOT / "config" / "ivr.yaml"
#: the words of every prompt of the sample flow (and of the survey and entry prompts)
DEFAULT_TEXTS = ROOT / "config" / "prompts.yaml"
#: the programs the install runs, and the Debian package of each
PROGRAMS = {"espeak-ng": "espeak-ng", "sox": "sox"}
#: espeak-ng's voice per IVR language
VOICES = {"vi": "vi", "en": "en-us"}


class PromptError(Exception):
    """The prompts cannot be made: a missing program, missing words, a failed run."""


@dataclass(frozen=True, slots=True)
class Prompt:
    """One sound file to make: its name (as the IVR plays it), language and words."""

    name: str
    language: str
    text: str


def missing_programs() -> list[str]:
    """The programs of :data:`PROGRAMS` not on PATH, with their package."""
    return [f"{p} (Debian package {pkg})" for p, pkg in PROGRAMS.items() if not shutil.which(p)]


def prompts_of(ivr: IvrDefinition, texts: dict[str, str]) -> list[Prompt]:
    """Every sound file ``ivr`` plays, with its words; :class:`PromptError` names those
    ``texts`` has no words for."""
    wanted: dict[str, str] = {}
    for files in ivr.prompts.values():
        for language, name in files.items():
            wanted.setdefault(name, language)
    missing = sorted(name for name in wanted if not texts.get(name))
    if missing:
        raise PromptError(f"no words for {', '.join(missing)}: add them to the texts file")
    return [Prompt(name, lang, texts[name]) for name, lang in sorted(wanted.items())]


def read_texts(path: Path = DEFAULT_TEXTS) -> dict[str, str]:
    """The texts file: sound file name -> words."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
        raise PromptError(f"{path}: expected a mapping of sound file names to words")
    return {str(k): v for k, v in data.items()}


def install(directory: Path, prompts: list[Prompt]) -> list[Path]:
    """Write each prompt as ``directory/<name>.wav`` (8 kHz mono 16-bit); returns the files."""
    missing = missing_programs()
    if missing:
        raise PromptError(f"missing programs: {', '.join(missing)} (apt-get install them)")
    written = []
    with tempfile.TemporaryDirectory() as tmp:
        for prompt in prompts:
            target = directory / f"{prompt.name}.wav"
            target.parent.mkdir(parents=True, exist_ok=True)
            raw = Path(tmp) / "speech.wav"
            voice = VOICES.get(prompt.language.split("_")[0], prompt.language)
            _run(["espeak-ng", "-v", voice, "-s", "150", "-w", str(raw), prompt.text])
            _run(["sox", str(raw), "-r", "8000", "-c", "1", "-b", "16", "-e", "signed-integer",
                  str(target)])  # fmt: skip
            written.append(target)
    return written


def _run(argv: list[str]) -> None:
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise PromptError(f"{argv[0]} failed ({done.returncode}): {done.stderr.strip()}")
