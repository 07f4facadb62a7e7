"""The IVR file's schema: pydantic 2 models, unknown keys forbidden.

An IVR is a set of named menu nodes. Each node plays an optional ``intro``
once on entry, then asks its ``prompt`` and reads one digit; each option maps a
keypad key to an action (set a language, then go to a node, enqueue in a
queue, or hang up). Invalid digits and timeouts count toward ``retries``; a
prompt that fails to play does not, at first: the digit is then read in
silence (:mod:`ivr.session`, rule 5). Past the retries the node's
``otherwise`` action runs, or the call goes to ``fallback_queue``. Prompts are sound files named per language: a mapping
``{vi: hotline/vi/welcome, en: hotline/en/welcome}`` holding every declared
language, or one string for a file shared by all languages.

References (goto targets, prompt names, languages, known queues) are checked
against names taken from the raw document and passed as validation context,
so a file's unknown keys and dangling references are reported in one pass;
build definitions with :func:`ivr.loader.parse_ivr` or :func:`ivr.loader.load_ivr`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping
from typing import Annotated, Any, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from yamlconf import matching, problem

from .events import DTMF_DIGITS

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")
_LANGUAGE = re.compile(r"[a-z]{2,3}(_[A-Za-z]{2,4})?")
# AGI arguments are space-separated and quoted: keep file names to plain characters
_PROMPT_FILE = re.compile(r"/?[A-Za-z0-9_][A-Za-z0-9_./-]*")
_QUEUE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")


def _context(info: ValidationInfo, key: str) -> Collection[str] | None:
    ctx = info.context
    if isinstance(ctx, Mapping):
        known = ctx.get(key)
        if known is not None:
            return frozenset(known)
    return None


def _known(kind: str, key: str) -> Callable[[str, ValidationInfo], str]:
    def check(value: str, info: ValidationInfo) -> str:
        known = _context(info, key)
        if known is not None and value not in known:
            raise problem(f"unknown {kind} {value!r}")
        return value

    return check


def _keypad_key(value: object) -> object:
    # YAML reads an unquoted `1:` as the integer 1
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value


def _one_key(value: str) -> str:
    if len(value) != 1 or value not in DTMF_DIGITS:
        raise problem(f"{value!r} is not a keypad key: use one of 0-9, '*' or '#' (quote * and #)")
    return value


def _spread_prompt(value: object, info: ValidationInfo) -> object:
    # one string means the same file in every language
    if isinstance(value, str):
        languages = (info.context or {}).get("languages") or ("",)
        return dict.fromkeys(languages, value)
    return value


def _every_language(value: dict[str, str], info: ValidationInfo) -> dict[str, str]:
    languages = (info.context or {}).get("languages")
    if languages:
        missing = [lang for lang in languages if lang not in value]
        unknown = [lang for lang in value if lang not in languages]
        reasons = [f"missing language {lang!r}" for lang in missing]
        reasons += [f"unknown language {lang!r}" for lang in unknown]
        if reasons:
            raise problem("; ".join(reasons))
    return value


Name = Annotated[str, AfterValidator(matching(_NAME, "name (letters, digits, _ and -)"))]
LanguageCode = Annotated[str, AfterValidator(matching(_LANGUAGE, "language code (vi, en, en_US)"))]
PromptFile = Annotated[str, AfterValidator(matching(_PROMPT_FILE, "sound file name"))]
PromptFiles = Annotated[
    dict[LanguageCode, PromptFile],
    BeforeValidator(_spread_prompt),
    AfterValidator(_every_language),
]
NodeRef = Annotated[str, AfterValidator(_known("node", "nodes"))]
PromptRef = Annotated[str, AfterValidator(_known("prompt", "prompts"))]
LanguageRef = Annotated[str, AfterValidator(_known("language", "languages"))]
QueueName = Annotated[
    str,
    AfterValidator(matching(_QUEUE, "queue name")),
    AfterValidator(_known("queue", "queues")),
]
KeypadKey = Annotated[str, BeforeValidator(_keypad_key), AfterValidator(_one_key)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Action(_Strict):
    """What a choice does: optionally set the language, then exactly one of goto, queue, hangup."""

    language: LanguageRef | None = None
    goto: NodeRef | None = None
    queue: QueueName | None = None
    #: the reason given in the Hangup command
    hangup: str | None = None

    @model_validator(mode="after")
    def _one_target(self) -> Self:
        targets = [k for k in ("goto", "queue", "hangup") if getattr(self, k) is not None]
        if len(targets) != 1:
            has = f" (has {' and '.join(targets)})" if targets else ""
            raise problem(f"needs exactly one of goto, queue or hangup{has}")
        return self


class MenuNode(_Strict):
    """A menu: intro once, then prompt and one digit, up to ``retries`` more times."""

    prompt: PromptRef
    #: played once on entry (STREAM FILE); an option key interrupts it and counts as the choice
    intro: PromptRef | None = None
    #: played after an invalid digit; defaults to the IVR's ``invalid_prompt``
    invalid_prompt: PromptRef | None = None
    timeout_s: float = Field(5.0, gt=0, le=60)
    #: how many more times the prompt is asked after a timeout or an invalid digit
    retries: int = Field(2, ge=0, le=9)
    options: dict[KeypadKey, Action] = Field(min_length=1)
    #: runs when retries are exhausted; without it the call goes to the fallback queue
    otherwise: Action | None = None

    @field_validator("otherwise")
    @classmethod
    def _never_drop(cls, value: Action | None) -> Action | None:
        if value is not None and value.hangup is not None:
            raise problem(
                "hangup is not allowed here: a timeout or a failed prompt never drops the caller"
            )
        return value

    @property
    def escape_digits(self) -> str:
        """The option keys, in file order: the digits that interrupt the intro."""
        return "".join(self.options)


class IvrDefinition(_Strict):
    """A whole IVR: languages, prompts, menu nodes, where to start and where to fall back."""

    languages: list[LanguageCode] = Field(min_length=1)
    default_language: str
    start: NodeRef
    fallback_queue: QueueName
    #: played after an invalid digit, unless a node names its own
    invalid_prompt: PromptRef | None = None
    prompts: dict[Name, PromptFiles]
    nodes: dict[Name, MenuNode] = Field(min_length=1)

    @field_validator("languages")
    @classmethod
    def _unique(cls, value: list[str]) -> list[str]:
        twice = sorted({lang for lang in value if value.count(lang) > 1})
        if twice:
            raise problem(f"listed twice: {', '.join(twice)}")
        return value

    @field_validator("default_language")
    @classmethod
    def _declared(cls, value: str, info: ValidationInfo) -> str:
        # the raw list from the context when `languages` itself failed validation
        languages = info.data.get("languages") or (info.context or {}).get("languages")
        if languages and value not in languages:
            raise problem(f"{value!r} is not one of the languages ({', '.join(languages)})")
        return value

    def prompt_file(self, name: str, language: str) -> str:
        """The sound file of prompt ``name`` in ``language``."""
        files = self.prompts[name]
        return files.get(language) or next(iter(files.values()))


def reference_context(data: Any, queues: Collection[str] | None = None) -> dict[str, Any]:
    """Names a raw IVR document declares, for checking references while validating it."""

    def keys(key: str) -> frozenset[str] | None:
        value = data.get(key) if isinstance(data, dict) else None
        return frozenset(str(k) for k in value) if isinstance(value, dict) else None

    languages = data.get("languages") if isinstance(data, dict) else None
    if not (isinstance(languages, list) and all(isinstance(x, str) for x in languages)):
        languages = None
    return {
        "languages": tuple(languages) if languages else None,
        "prompts": keys("prompts"),
        "nodes": keys("nodes"),
        "queues": frozenset(queues) if queues is not None else None,
    }
