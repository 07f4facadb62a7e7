"""The controller's config file: YAML in, a validated :class:`HotlineConfig` or a :class:`ConfigError` out.

One file says which Asterisk nodes to connect to (one AMI connection each),
what the dialplan side looks like (``deploy/asterisk/``), where the IVR file,
the database and the recordings are, the queues and the web edge. Unknown
keys are refused. Every problem, in this file and in the IVR file it names,
is reported at once as ``file:line: dotted.path: reason``, sorted, by the
generic machinery of :mod:`yamlconf` (the IVR loader uses it too).

Secrets may come from the environment (``secret_env``); a variable that is
not set is a problem at load time, not at the first login.
"""

from __future__ import annotations

import copy
import os
import re
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path, PurePosixPath
from typing import Annotated, Any, Literal, Self, TypeVar

import phonenumbers
import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    SecretStr,
    ValidationInfo,
    field_validator,
    model_validator,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from acd import MAX_LEVEL, AcdConfig, AgentConfig, OfferFailure, QueueConfig, RelaxStep, Strategy
from ivr import ConfigProblem, IvrConfigError, IvrDefinition, load_ivr
from recordings.places import Place, RecordingPlaces
from recordings.policy import (
    DEFAULT_TEMPLATE,
    Legs,
    Mode,
    PolicyError,
    RecordingPolicy,
    check_template,
)
from yamlconf import YamlDocument, YamlProblems, dotted, matching, problem

__all__ = [
    "AcdSettings",
    "DEFAULT_DISPOSITIONS",
    "ConfigError",
    "ConfigProblem",
    "CrmSettings",
    "DialplanSettings",
    "HotlineConfig",
    "NodeConfig",
    "QueueSettings",
    "RecordingSettings",
    "RelaxSettings",
    "TierSettings",
    "WebSettings",
    "load_config",
]

#: the drivers Hotline's storage layer runs on (SQLAlchemy async URLs)
DATABASE_DRIVERS = ("sqlite+aiosqlite", "postgresql+asyncpg")
#: a web session key shorter than this is refused
MIN_SECRET_KEY_BYTES = 32

_NODE_NAME = re.compile(r"[A-Za-z0-9_-]+")
_QUEUE_NAME = re.compile(r"[a-z0-9_-]+")
# a dialplan context also goes into Bridge(...,F(ctx^s^1)): no , ^ ( ) | or spaces
_CONTEXT = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_ORIGIN = re.compile(r"https?://[^/\s?#]+")
_DISPOSITION = re.compile(r"[a-z][a-z0-9_]{0,31}")
_SKILL = re.compile(r"[a-z0-9][a-z0-9_-]{0,31}")

#: What an agent may pick after a call (code -> label, in display order): the one
#: definition, used unless the config file's ``dispositions`` says otherwise; the
#: web edge offers these and the store accepts only these.
DEFAULT_DISPOSITIONS: Mapping[str, str] = {
    "resolved": "Resolved on the call",
    "information": "Information given",
    "follow_up": "Needs follow-up",
    "callback_requested": "Callback requested",
    "escalated": "Escalated",
    "complaint": "Complaint logged",
    "sales": "Sale / upgrade",
    "wrong_number": "Wrong number",
    "no_action": "No action needed",
}


class ConfigError(Exception):
    """The config file (or the IVR file it names) failed to load.

    ``problems`` holds every problem found, sorted by file and line; ``str()``
    is one ``file:line: path: reason`` line per problem.
    """

    def __init__(self, problems: Iterable[ConfigProblem]) -> None:
        self.problems: tuple[ConfigProblem, ...] = tuple(sorted(problems))
        super().__init__("\n".join(str(p) for p in self.problems))


def _environ(info: ValidationInfo) -> Mapping[str, str]:
    ctx = info.context
    if isinstance(ctx, Mapping) and isinstance(ctx.get("environ"), Mapping):
        env: Mapping[str, str] = ctx["environ"]
        return env
    return os.environ


def _unique_names(kind: str, field: str) -> Callable[[list[Any]], list[Any]]:
    def check(items: list[Any]) -> list[Any]:
        seen: dict[str, int] = {}
        for i, item in enumerate(items):
            if item.name in seen:
                raise problem(
                    f"duplicate {kind} name {item.name!r} (first at {field}.{seen[item.name]})",
                    at=(i, "name"),
                )
            seen[item.name] = i
        return items

    return check


# strict: YAML's `true` is not the number 1, nor "15" a timeout
Seconds = Annotated[float, Field(gt=0, strict=True)]
Port = Annotated[int, Field(ge=1, le=65535, strict=True)]
Context = Annotated[str, AfterValidator(matching(_CONTEXT, "dialplan context name"))]
EnvName = Annotated[str, AfterValidator(matching(_ENV_NAME, "environment variable name"))]
#: a skill's name (a-z 0-9 _ -) and a proficiency or minimum level, 1..5
SkillName = Annotated[str, AfterValidator(matching(_SKILL, "skill name (a-z 0-9 _ -)"))]
Level = Annotated[int, Field(ge=1, le=MAX_LEVEL, strict=True)]
Skills = dict[SkillName, Level]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _none_is_empty(value: object) -> object:
    # `acd:` with every key commented out is YAML null: take the defaults
    return {} if value is None else value


class NodeConfig(_Strict):
    """One Asterisk node: where its AMI listens and how the controller logs in."""

    name: Annotated[str, AfterValidator(matching(_NODE_NAME, "node name"))]
    host: str = Field("127.0.0.1", min_length=1)
    port: Port = 5038
    #: the ``[user]`` section of manager.conf
    username: str = Field(min_length=1)
    secret: SecretStr | None = None
    #: name of an environment variable holding the secret (instead of ``secret``)
    secret_env: EnvName | None = None
    #: md5: challenge-response (the secret never crosses the wire); plain: Secret header
    auth: Literal["md5", "plain"] = "md5"
    ping_interval_s: Seconds = 20.0
    action_timeout_s: Seconds = 10.0
    #: this node's own MixMonitor ``File=`` directory, as its Asterisk sees it (absolute);
    #: None: ``hotline.recordings_dir``
    recordings_dir: str | None = None
    #: where the controller reads this node's recordings (absolute, or relative to the
    #: config file); None: the same path as this node's ``recordings_dir``
    recordings_local_dir: Path | None = None

    _secret: str = PrivateAttr("")

    @field_validator("recordings_dir")
    @classmethod
    def _recordings_dir(cls, value: str | None) -> str | None:
        return None if value is None else _mixmonitor_dir(value)

    @model_validator(mode="after")
    def _local_needs_dir(self) -> Self:
        if self.recordings_local_dir is not None and self.recordings_dir is None:
            raise problem("recordings_local_dir needs this node's recordings_dir",
                          at="recordings_local_dir")  # fmt: skip
        return self

    @model_validator(mode="after")
    def _one_secret(self, info: ValidationInfo) -> Self:
        if self.secret is not None and self.secret_env is not None:
            raise problem("give secret or secret_env, not both", at="secret_env")
        if self.secret is not None:
            self._secret = self.secret.get_secret_value()
        elif self.secret_env is not None:
            value = _environ(info).get(self.secret_env)
            if not value:
                raise problem(f"environment variable {self.secret_env} is not set", at="secret_env")
            self._secret = value
        else:
            raise problem("required (or secret_env)", at="secret")
        return self

    @property
    def resolved_secret(self) -> str:
        """The AMI secret, from ``secret`` or from the environment at load time."""
        return self._secret


def _mixmonitor_dir(value: str) -> str:
    """A MixMonitor ``File=`` directory: absolute, with no character ``File=`` cannot take."""
    if not PurePosixPath(value).is_absolute():
        raise problem(
            f"{value!r} is not an absolute path (Asterisk would put a relative"
            " File= under its own spool directory)"
        )
    if any(c in value for c in ",|\"'\n\r"):
        raise problem(f"{value!r} holds a character MixMonitor cannot take in File=")
    return value


class DialplanSettings(_Strict):
    """The Asterisk side the controller relies on (``deploy/asterisk/extensions.conf``)."""

    #: an AsyncAGIStart in one of these contexts is a new caller
    entry_contexts: list[Context] = Field(["hotline-safe"], min_length=1)
    #: where option F of Bridge() sends the caller when the agent hangs up (CSAT survey)
    after_call_context: Context = "after-call"
    #: where an answered ring-all leg waits until the controller picks it (exten ``s``)
    #: and bridges once picked (exten ``bridge``)
    ring_all_context: Context = "agent-ring-all"
    #: where an agent leg waits (``s``, priority 1) while its caller visits the IVR
    agent_wait_context: Context = "hotline-agent-wait"
    #: musiconhold.conf class played to queued callers
    moh_class: Context = "default"
    #: MixMonitor ``File=`` directory, as Asterisk sees it (absolute)
    recordings_dir: str = "/var/spool/asterisk/monitor"
    #: where the controller reads those WAVs; None: the same path
    recordings_local_dir: Path | None = None
    #: where an IVR voicemail node's RECORD FILE writes, as Asterisk sees it (absolute)
    voicemail_dir: str = "/var/spool/asterisk/voicemail/hotline"
    #: where the controller reads those files; None: the same path
    voicemail_local_dir: Path | None = None

    @field_validator("recordings_dir")
    @classmethod
    def _absolute(cls, value: str) -> str:
        return _mixmonitor_dir(value)

    @field_validator("voicemail_dir")
    @classmethod
    def _voicemail_absolute(cls, value: str) -> str:
        if not PurePosixPath(value).is_absolute():
            raise problem(
                f"{value!r} is not an absolute path (Asterisk would put a relative"
                " RECORD FILE name in a directory of its own)"
            )
        if any(c.isspace() or c in "\"'" for c in value):
            raise problem(f"{value!r} holds a space or a quote, which RECORD FILE cannot take")
        return value

    @property
    def bridge_after_call(self) -> str:
        """Option F of ``Bridge()``: ``F(after-call^s^1)`` (transcript 03, part B)."""
        return f"F({self.after_call_context}^s^1)"


class RelaxSettings(_Strict):
    """From ``after_s`` seconds of wait, every required level is lowered by ``lower_by``."""

    after_s: Annotated[float, Field(ge=0, strict=True)]
    #: 5 lowers every level to 0: any agent of the queue
    lower_by: Level = 1


def _relaxing_more(steps: list[RelaxSettings]) -> list[RelaxSettings]:
    for i, (before, after) in enumerate(zip(steps, steps[1:], strict=False), start=1):
        if after.after_s <= before.after_s or after.lower_by <= before.lower_by:
            raise problem(
                "each step must come later and lower more than the one before"
                f" (after_s {before.after_s:g} -> {after.after_s:g},"
                f" lower_by {before.lower_by} -> {after.lower_by})",
                at=(i,),
            )
    return steps


class RecordingSettings(_Strict):
    """When and how one queue's calls are recorded (:class:`recordings.RecordingPolicy`)."""

    #: always, never, sample (sample_percent of the calls, chosen by call id) or
    #: on-demand (the agent or the API starts it)
    mode: Literal["always", "never", "sample", "on-demand"] = "always"
    sample_percent: float | None = Field(None, ge=0, le=100, strict=True)
    #: mixed: one file; separate: also each direction apart (MixMonitor r()/t())
    legs: Literal["mixed", "separate"] = "mixed"
    #: fields {call} {date} {queue} {agent} {node} {linkedid}; {linkedid} or {call} required
    file_name: str = Field(DEFAULT_TEMPLATE, min_length=1, max_length=200)
    format: Literal["wav", "gsm"] = "wav"
    #: the call's agent may play and download its recording (supervisors always may)
    agent_may_listen: bool = Field(False, strict=True)
    #: days a recording is kept, then the sweeper deletes it unless on legal hold;
    #: null: kept until deleted by hand
    retention_days: int | None = Field(None, ge=1, le=36500, strict=True)
    #: a sound file played to the caller between the IVR and the queue, before the call
    #: may be recorded; a call whose announcement did not play is not recorded
    consent_prompt: str | None = Field(None, min_length=1, max_length=200)

    @field_validator("consent_prompt")
    @classmethod
    def _sound(cls, value: str | None) -> str | None:
        try:
            RecordingPolicy(consent_prompt=value)
        except PolicyError as exc:
            raise problem(str(exc)) from None
        return value

    @field_validator("file_name")
    @classmethod
    def _template(cls, value: str) -> str:
        try:
            return check_template(value)
        except PolicyError as exc:
            raise problem(str(exc)) from None

    @model_validator(mode="after")
    def _percent_with_sample(self) -> Self:
        if self.mode == "sample" and self.sample_percent is None:
            raise problem("mode sample needs sample_percent (0-100)", at="sample_percent")
        if self.mode != "sample" and self.sample_percent is not None:
            raise problem(f"sample_percent is only read with mode sample (not {self.mode})",
                          at="sample_percent")  # fmt: skip
        return self

    def policy(self) -> RecordingPolicy:
        """These settings as the recording policy core takes them."""
        return RecordingPolicy(
            mode=Mode(self.mode),
            sample_percent=100.0 if self.sample_percent is None else self.sample_percent,
            legs=Legs(self.legs),
            template=self.file_name,
            format=self.format,
            agent_may_listen=self.agent_may_listen,
            retention_days=self.retention_days,
            consent_prompt=self.consent_prompt,
        )


class QueueSettings(_Strict):
    """One queue of the controller's ACD (see :class:`acd.QueueConfig`)."""

    name: Annotated[str, AfterValidator(matching(_QUEUE_NAME, "queue name (use a-z 0-9 _ -)"))]
    wrap_up_s: float = Field(10.0, ge=0, strict=True)
    offer_timeout_s: Seconds = 15.0
    sl_threshold_s: Seconds = 20.0
    hold_slice_s: Seconds = 20.0
    max_wait_s: Seconds | None = None
    #: how the queue picks among its READY agents who fit a call (acd.Strategy);
    #: weighted-random reads the agents' weights, best-skill-match their skills
    strategy: Literal[
        "longest-idle", "round-robin", "round-robin-ordered", "fewest-calls",
        "least-talk-time", "linear", "random", "weighted-random", "best-skill-match",
        "ring-all",
    ] = "longest-idle"  # fmt: skip
    #: skills every call of the queue requires, with minimum levels (a caller's
    #: tier may add its own: ``acd.tiers``)
    skills: Skills = {}
    #: how the required levels are lowered as a caller waits, applied live
    relax: Annotated[list[RelaxSettings], AfterValidator(_relaxing_more)] = []
    #: priority points a caller gains per second waited (0: static priority)
    aging_per_s: float = Field(1 / 60, ge=0, strict=True)
    #: an agent who failed a call is offered it again only this much later
    retry_same_agent_s: float = Field(0.0, ge=0, strict=True)
    #: when and how its calls are recorded
    recording: RecordingSettings = Field(default={}, validate_default=True)

    def acd_queue(self) -> QueueConfig:
        """This queue as the ACD core takes it."""
        return QueueConfig(
            name=self.name,
            wrap_up_s=self.wrap_up_s,
            offer_timeout_s=self.offer_timeout_s,
            sl_threshold_s=self.sl_threshold_s,
            hold_slice_s=self.hold_slice_s,
            max_wait_s=self.max_wait_s,
            strategy=Strategy(self.strategy),
            skills=self.skills,
            relax=tuple(RelaxStep(r.after_s, r.lower_by) for r in self.relax),
            aging_per_s=self.aging_per_s,
            retry_same_agent_s=self.retry_same_agent_s,
        )


class TierSettings(_Strict):
    """What a caller of one CRM tier (the customer card's ``tier``) brings to the queue."""

    #: base priority: higher is served first (aging adds the wait on top)
    priority: int = Field(0, ge=0, le=1000, strict=True)
    #: skills this caller requires besides the queue's (the higher level of the two)
    skills: Skills = {}


#: the tiers a config without ``acd.tiers`` gets: VIP customers first
DEFAULT_TIERS: Mapping[str, TierSettings] = {"vip": TierSettings(priority=1)}


#: how an offer to an agent can fail (acd.OfferFailure), as the config file names them:
#: no-report is the core's own (the shell never said), counted with no-answer
FailureKind = Literal["no-answer", "busy", "unreachable", "failed", "no-report"]
_PAUSE_REASON = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


def _one_no_answer_count(limits: dict[str, int]) -> dict[str, int]:
    both = [limits.get("no-answer"), limits.get("no-report")]
    if None not in both and both[0] != both[1]:
        raise problem("no-answer and no-report are one count: give them one limit",
                      at=("no-report",))  # fmt: skip
    return limits


class AcdSettings(_Strict):
    """Rules shared by every queue."""

    #: consecutive failed offers after which an agent is paused; 0 disables
    rna_pause_after: int = Field(2, ge=0, strict=True)
    #: per failure kind, consecutive failures of that kind that pause the agent (0:
    #: never); unlisted kinds: rna_pause_after, but unreachable: 1
    pause_after: Annotated[
        dict[FailureKind, Annotated[int, Field(ge=0, strict=True)]],
        AfterValidator(_one_no_answer_count),
    ] = {}
    #: per failure kind, the pause reason the agent gets (acd.DEFAULT_PAUSE_REASONS)
    pause_reasons: dict[
        FailureKind,
        Annotated[str, AfterValidator(matching(_PAUSE_REASON, "pause reason (A-Z a-z 0-9 _ . -)"))],
    ] = {}
    #: how long past offer_timeout_s the ACD waits for the offer's outcome before it
    #: cancels the offer itself (a lost OriginateResponse)
    offer_grace_s: float = Field(5.0, ge=0, strict=True)
    #: CRM tier -> its callers' base priority and skills; callers without a card,
    #: or of a tier not listed, get priority 0 and the queue's skills
    tiers: dict[
        Annotated[str, AfterValidator(matching(_SKILL, "tier name (a-z 0-9 _ -)"))],
        TierSettings,
    ] = Field(default_factory=lambda: dict(DEFAULT_TIERS))


class CrmSettings(_Strict):
    """The caller lookup."""

    #: how numbers without a country code are read (phonenumbers region, ISO 3166)
    region: str = "VN"
    lookup_timeout_s: Seconds = 1.5

    @field_validator("region")
    @classmethod
    def _known_region(cls, value: str) -> str:
        if value not in phonenumbers.SUPPORTED_REGIONS:
            raise problem(f"{value!r} is not a region phonenumbers knows (e.g. VN, US, GB)")
        return value


class WebSettings(_Strict):
    """The aiohttp edge: agent desktop, wallboard, API."""

    host: str = Field("127.0.0.1", min_length=1)
    port: Port = 8080
    #: environment variable holding the session-signing key (>= 32 bytes);
    #: unset: a random key per start (everyone logs in again after a restart)
    secret_key_env: EnvName | None = "HOTLINE_SECRET_KEY"
    #: origins besides the page's own allowed to POST and open WebSockets
    allowed_origins: list[Annotated[str, AfterValidator(matching(_ORIGIN, "origin"))]] = []

    _secret_key: bytes | None = PrivateAttr(None)

    @model_validator(mode="after")
    def _read_key(self, info: ValidationInfo) -> Self:
        if self.secret_key_env is None:
            return self
        value = _environ(info).get(self.secret_key_env)
        if value:
            key = value.encode()
            if len(key) < MIN_SECRET_KEY_BYTES:
                raise problem(
                    f"{self.secret_key_env} holds {len(key)} bytes;"
                    f" a session key needs at least {MIN_SECRET_KEY_BYTES}",
                    at="secret_key_env",
                )
            self._secret_key = key
        return self

    @property
    def secret_key(self) -> bytes | None:
        """The key read from the environment at load time; None: generate one per start."""
        return self._secret_key


_M = TypeVar("_M", bound=BaseModel)
#: a settings section; null (every key commented out) takes the defaults
Section = Annotated[_M, BeforeValidator(_none_is_empty)]


class HotlineConfig(_Strict):
    """The whole controller config. Build it with :func:`load_config`."""

    nodes: Annotated[list[NodeConfig], AfterValidator(_unique_names("node", "nodes"))] = Field(
        min_length=1
    )
    hotline: Section[DialplanSettings] = Field(default={}, validate_default=True)
    #: the IVR file, relative to this config file
    ivr_file: str = Field(min_length=1)
    database_url: str = "sqlite+aiosqlite:///var/hotline.db"
    queues: Annotated[list[QueueSettings], AfterValidator(_unique_names("queue", "queues"))] = (
        Field(min_length=1)
    )
    acd: Section[AcdSettings] = Field(default={}, validate_default=True)
    crm: Section[CrmSettings] = Field(default={}, validate_default=True)
    web: Section[WebSettings] = Field(default={}, validate_default=True)
    #: disposition code (a-z 0-9 _, 32 at most) -> the label agents see, in display order
    dispositions: dict[
        Annotated[str, AfterValidator(matching(_DISPOSITION, "disposition code (a-z 0-9 _)"))],
        Annotated[str, Field(min_length=1, max_length=80)],
    ] = Field(default_factory=lambda: dict(DEFAULT_DISPOSITIONS), min_length=1)

    _path: Path | None = PrivateAttr(None)
    _ivr: IvrDefinition | None = PrivateAttr(None)

    @field_validator("database_url")
    @classmethod
    def _async_url(cls, value: str) -> str:
        hint = "use sqlite+aiosqlite:///PATH or postgresql+asyncpg://USER@HOST/DB"
        try:
            url = make_url(value)
        except (ArgumentError, ValueError):  # ValueError: a port that is not a number
            raise problem(f"not a database URL; {hint}") from None
        if url.drivername not in DATABASE_DRIVERS:
            raise problem(f"unsupported driver {url.drivername!r}; {hint}")
        if not url.database:
            raise problem(f"no database named; {hint}")
        return value

    @property
    def path(self) -> Path | None:
        """The file this config was loaded from."""
        return self._path

    @property
    def ivr_path(self) -> Path:
        """``ivr_file`` resolved against the config file's directory."""
        base = self._path.parent if self._path is not None else Path()
        return base / self.ivr_file

    @property
    def ivr(self) -> IvrDefinition:
        """The IVR loaded from ``ivr_file`` (its queues checked against ``queues``)."""
        if self._ivr is None:
            raise LookupError("HotlineConfig.ivr is only set by load_config()")
        return self._ivr

    @property
    def recordings_read_dir(self) -> Path:
        """Where the controller reads recordings: ``recordings_local_dir`` or ``recordings_dir``."""
        local = self.hotline.recordings_local_dir
        if local is None:
            return Path(self.hotline.recordings_dir)
        if self._path is not None and not local.is_absolute():
            return self._path.parent / local
        return local

    @property
    def voicemail_read_dir(self) -> Path:
        """Where the controller reads voicemails: ``voicemail_local_dir`` or ``voicemail_dir``."""
        local = self.hotline.voicemail_local_dir
        if local is None:
            return Path(self.hotline.voicemail_dir)
        if self._path is not None and not local.is_absolute():
            return self._path.parent / local
        return local

    def recording_places(self) -> RecordingPlaces:
        """The hotline's recordings directory and the nodes' own ones (as Asterisk and as
        this controller see them)."""
        nodes = {}
        for n in self.nodes:
            if n.recordings_dir is not None:
                local = n.recordings_local_dir or Path(n.recordings_dir)
                if self._path is not None and not local.is_absolute():
                    local = self._path.parent / local
                nodes[n.name] = Place(n.recordings_dir, local)
        return RecordingPlaces(Place(self.hotline.recordings_dir, self.recordings_read_dir), nodes)

    def acd_config(self, agents: Iterable[AgentConfig] = ()) -> AcdConfig:
        """The ACD core's config: these queues and rules, with ``agents`` from the caller."""
        return AcdConfig(
            queues=tuple(q.acd_queue() for q in self.queues),
            agents=tuple(agents),
            rna_pause_after=self.acd.rna_pause_after,
            offer_grace_s=self.acd.offer_grace_s,
            pause_after={OfferFailure(k): v for k, v in self.acd.pause_after.items()},
            pause_reasons={OfferFailure(k): v for k, v in self.acd.pause_reasons.items()},
        )

    def recording_policies(self) -> dict[str, RecordingPolicy]:
        """Each queue's recording policy, by queue name."""
        return {q.name: q.recording.policy() for q in self.queues}

    def call_tiers(self) -> dict[str, tuple[int, dict[str, int]]]:
        """``acd.tiers`` as the call-flow core takes them: tier -> (priority, skills)."""
        return {name: (t.priority, dict(t.skills)) for name, t in self.acd.tiers.items()}


def load_config(path: str | Path, *, environ: Mapping[str, str] | None = None) -> HotlineConfig:
    """Read and validate the config file at ``path``, then the IVR file it names.

    ``environ`` (default ``os.environ``) is where ``secret_env`` and
    ``secret_key_env`` are looked up. Raises :class:`ConfigError` listing
    every problem of both files, including an unreadable or missing one.
    """
    path = Path(path)
    try:
        doc = YamlDocument.load(path)
    except YamlProblems as e:
        raise ConfigError(e.problems) from None
    env = os.environ if environ is None else environ
    doc, overridden, env_problems = _with_env_overrides(doc, env)
    config, problems = doc.validate(HotlineConfig, context={"environ": env})
    problems = env_problems + [_named_by_env(p, overridden) for p in problems]

    ivr_file = config.ivr_file if config is not None else _raw(doc.data, "ivr_file")
    queues = [q.name for q in config.queues] if config is not None else _raw_queue_names(doc.data)
    ivr: IvrDefinition | None = None
    if isinstance(ivr_file, str) and ivr_file:
        ivr_path = path.parent / ivr_file
        try:
            ivr = load_ivr(ivr_path, queues=queues)
        except IvrConfigError as e:
            for p in e.problems:
                if p.file == str(ivr_path) and p.line == 0:  # the IVR file itself is unreadable
                    problems.append(doc.problem(("ivr_file",), f"{ivr_path}: {p.reason}"))
                else:
                    problems.append(p)

    if problems or config is None or ivr is None:
        raise ConfigError(problems)
    config._path = path
    config._ivr = ivr
    return config


#: ``HOTLINE_WEB__PORT=8081`` sets ``web.port``: the prefix, then the path with ``__``
#: between keys (list items by index: ``HOTLINE_NODES__0__HOST``). Only variables whose
#: first key is a top-level key of the file count, so ``HOTLINE_SECRET_KEY`` (a secret
#: the file names by ``secret_key_env``) and ``HOTLINE_LOG_FORMAT`` are not read here.
ENV_PREFIX = "HOTLINE_"


def _with_env_overrides(
    doc: YamlDocument, env: Mapping[str, str]
) -> tuple[YamlDocument, dict[str, str], list[ConfigProblem]]:
    """The document with the environment's ``HOTLINE_...`` values put in (each value
    read as YAML: ``8081`` a number, ``[a, b]`` a list), the dotted paths set (path ->
    variable) and the problems of variables naming no place in the file."""
    tops = set(HotlineConfig.model_fields)
    data = copy.deepcopy(doc.data) if isinstance(doc.data, dict) else doc.data
    overridden: dict[str, str] = {}
    problems: list[ConfigProblem] = []
    for name in sorted(env):
        if not name.startswith(ENV_PREFIX):
            continue
        keys = name.removeprefix(ENV_PREFIX).lower().split("__")
        if keys[0] not in tops or not isinstance(data, dict):
            continue
        where = f"environment variable {name}"
        try:
            value = yaml.safe_load(env[name]) if env[name].strip() else None
        except yaml.YAMLError as exc:
            why = getattr(exc, "problem", None) or exc
            problems.append(ConfigProblem(where, 0, ".".join(keys), f"not a YAML value: {why}"))
            continue
        node: Any = data
        loc: list[str | int] = []
        for i, key in enumerate(keys):
            last = i == len(keys) - 1
            step: str | int = int(key) if key.isdigit() and isinstance(node, list) else key
            if isinstance(node, list) and not (isinstance(step, int) and step < len(node)):
                problems.append(ConfigProblem(where, 0, dotted((*loc, key)),
                                              f"the file's list has {len(node)} item(s)"))  # fmt: skip
                break
            if not isinstance(node, (dict, list)):
                problems.append(
                    ConfigProblem(where, 0, dotted(tuple(loc)), "not a mapping in the file")
                )
                break
            loc.append(step)
            if last:
                node[step] = value  # type: ignore[index]
                overridden[dotted(tuple(loc))] = name
            else:
                if isinstance(node, dict) and node.get(step) is None:
                    node[step] = {}
                node = node[step]
    return YamlDocument(doc.filename, doc.root, data), overridden, problems


def _named_by_env(problem: ConfigProblem, overridden: Mapping[str, str]) -> ConfigProblem:
    """A problem of a value the environment set names the variable, not a file line."""
    for path, name in overridden.items():
        if problem.path == path or problem.path.startswith(path + "."):
            return ConfigProblem(f"environment variable {name}", 0, problem.path, problem.reason)
    return problem


def _raw(data: Any, key: str) -> Any:
    return data.get(key) if isinstance(data, dict) else None


def _raw_queue_names(data: Any) -> list[str] | None:
    """Queue names from a document that failed validation; None when unusable."""
    queues = _raw(data, "queues")
    if not isinstance(queues, list):
        return None
    names = [_raw(q, "name") for q in queues]
    return names if all(isinstance(n, str) for n in names) else None
