"""The ACD side of the config file: each queue (``queues``: skills, relaxing,
recording) and the rules shared by every queue (``acd``: pauses, CRM tiers)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated, Literal, Self

from pydantic import AfterValidator, Field, field_validator, model_validator

from acd import QueueConfig, RelaxStep, Strategy
from acd.kpis import QueueTargets
from callcenter.flow.announce import AnnouncePolicy
from callcenter.flow.callback import CallbackPolicy
from callcenter.flow.overflow import OverflowTarget
from recordings.policy import (
    DEFAULT_TEMPLATE,
    Legs,
    Mode,
    PolicyError,
    RecordingPolicy,
    check_template,
)
from yamlconf import matching, problem

from .fields import _SKILL, Level, Region, Seconds, Skills, _Strict

_QUEUE_NAME = re.compile(r"[a-z0-9_-]+")


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


_PROMPT = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_/-]{0,199}")


def _prompt_name(value: str) -> str:
    if _PROMPT.fullmatch(value.replace("{language}", "vi")) is None:
        raise problem(f"{value!r} is not a sound file name (A-Z a-z 0-9 _ - /, no extension; "
                      "{language} is the caller's language)")  # fmt: skip
    return value


Prompt = Annotated[str, AfterValidator(_prompt_name)]


def _whole_minutes(value: int) -> int:
    if value >= 60 and value % 60:
        raise problem(f"round_s {value} from 60 on must be whole minutes (60, 120, ...)")
    return value


class AnnounceSettings(_Strict):
    """A queue's position and wait announcements (``callcenter.flow.announce``)."""

    #: the first announcement this long after the caller entered the queue
    first_after_s: float = Field(30.0, ge=0, strict=True)
    #: then one every this long (only when the figure changed)
    every_s: Seconds = 60.0
    #: say the caller's position ("you are next" at 1)
    position: bool = Field(True, strict=True)
    #: say the estimated wait (acd.ewt), rounded up to a multiple of round_s
    wait: bool = Field(True, strict=True)
    round_s: Annotated[int, Field(ge=5, le=3600, strict=True), AfterValidator(_whole_minutes)] = 60
    #: numbers by SAY NUMBER, or as lists of digits/<n> prompts
    say: Literal["number", "prompts"] = "number"
    #: the prompts ({language}: the caller's), and where the digits/<n> files are
    you_are_next: Prompt = "hotline/{language}/queue-youarenext"
    there_are: Prompt = "hotline/{language}/queue-thereare"
    calls_waiting: Prompt = "hotline/{language}/queue-callswaiting"
    hold_time: Prompt = "hotline/{language}/queue-holdtime"
    minutes: Prompt = "hotline/{language}/queue-minutes"
    seconds: Prompt = "hotline/{language}/queue-seconds"
    digits: Prompt = "digits"

    @model_validator(mode="after")
    def _something_said(self) -> Self:
        if not self.position and not self.wait:
            raise problem("position and wait are both off: nothing to announce", at="wait")
        return self

    def policy(self) -> AnnouncePolicy:
        """These settings as the call-flow core takes them."""
        return AnnouncePolicy(**self.model_dump())


class OverflowSettings(_Strict):
    """Where a queue's callers go past its ``max_wait_s`` (``callcenter.flow.overflow``):
    exactly one of the keys."""

    #: another queue: the caller keeps its entry time (its wait and aging priority)
    queue: str | None = Field(None, min_length=1)
    #: an IVR node of type voicemail (a message is taken)
    voicemail: str | None = Field(None, min_length=1)
    #: an IVR node of type callback (a callback request is stored)
    callback: str | None = Field(None, min_length=1)
    #: any IVR node
    ivr: str | None = Field(None, min_length=1)
    #: hang up after this prompt (null with no other key: hang up at once)
    hangup: Prompt | None = None

    @model_validator(mode="after")
    def _one_target(self) -> Self:
        given = [k for k in ("queue", "voicemail", "callback", "ivr", "hangup")
                 if getattr(self, k) is not None]  # fmt: skip
        if len(given) > 1:
            raise problem(f"one target only, not {' and '.join(given)}", at=given[1])
        return self

    def target(self) -> OverflowTarget:
        """This target as the call-flow core takes it."""
        if self.queue is not None:
            return OverflowTarget("queue", self.queue)
        if self.voicemail is not None:
            return OverflowTarget("voicemail", self.voicemail)
        if self.callback is not None:
            return OverflowTarget("callback", self.callback)
        if self.ivr is not None:
            return OverflowTarget("ivr", self.ivr)
        return OverflowTarget("hangup", self.hangup)


_DIAL = re.compile(r"[A-Za-z0-9]+/[^\s,|]*\{number\}[^\s,|]*")


class CallbackSettings(_Strict):
    """A queue's queued callback (``callcenter.flow.callback``): offered to a waiting
    caller, who keeps its place in line while it is called back."""

    #: offered once the caller waited this long; null: not by the wait
    offer_after_s: float | None = Field(60.0, ge=0, strict=True)
    #: offered once the estimated wait (acd.ewt) is at least this; null: not by it
    offer_ewt_s: float | None = Field(None, ge=0, strict=True)
    #: how an entered number without its country code is read (phonenumbers region)
    region: Region = "VN"
    #: the caller may say a name after the beep (RECORD FILE), shown to the agent
    record_name: bool = Field(False, strict=True)
    name_max_s: float = Field(5.0, gt=0, le=30, strict=True)
    #: how often a confirmation or an entry is asked before the dialog gives up
    tries: int = Field(3, ge=1, le=10, strict=True)
    #: attempts to reach the customer before the callback fails
    max_attempts: int = Field(3, ge=1, le=10, strict=True)
    #: the wait between two attempts
    retry_s: float = Field(120.0, gt=0, strict=True)
    #: how long the customer's phone rings per attempt
    customer_timeout_s: Seconds = 30.0
    #: the customer's dial string (the Originate Channel), {number} the number
    dial: Annotated[str, AfterValidator(matching(_DIAL, "dial string TECH/... with {number}"))] = (
        "Local/{number}@hotline-callback-out"
    )
    offer: Prompt = "hotline/{language}/callback-offer"
    number_is: Prompt = "hotline/{language}/callback-number-is"
    confirm: Prompt = "hotline/{language}/callback-confirm"
    enter_number: Prompt = "hotline/{language}/callback-enter-number"
    invalid_number: Prompt = "hotline/{language}/callback-invalid-number"
    say_name: Prompt = "hotline/{language}/callback-say-name"
    thanks: Prompt = "hotline/{language}/callback-thanks"
    whisper: Prompt = "hotline/{language}/callback-whisper"

    @model_validator(mode="after")
    def _offered_somehow(self) -> Self:
        if self.offer_after_s is None and self.offer_ewt_s is None:
            raise problem("offer_after_s and offer_ewt_s are both null: never offered",
                          at="offer_ewt_s")  # fmt: skip
        return self

    def policy(self) -> CallbackPolicy:
        """These settings as the call-flow core takes them."""
        return CallbackPolicy(**self.model_dump())


class StickySettings(_Strict):
    """Sticky agent: a returning caller is offered first to the agent who last served
    its number (``acd.routing`` rule 5)."""

    #: how long the call waits for that agent alone, if it is not READY at arrival
    wait_s: Seconds = 20.0
    #: a caller is returning when an agent answered its number within this many days
    days: float = Field(30.0, gt=0, le=3650, strict=True)


class QueueSettings(_Strict):
    """One queue of the controller's ACD (see :class:`acd.QueueConfig`)."""

    name: Annotated[str, AfterValidator(matching(_QUEUE_NAME, "queue name (use a-z 0-9 _ -)"))]
    wrap_up_s: float = Field(10.0, ge=0, strict=True)
    #: the longest an agent may extend a wrap-up to, from the call's end (the desk's
    #: Extend); null: wrap_up_s (no extension)
    wrap_up_max_s: float | None = Field(None, ge=0, strict=True)
    offer_timeout_s: Seconds = 15.0
    sl_threshold_s: Seconds = 20.0
    #: the wallboard's service-level target: this % answered within sl_threshold_s
    sl_target_pct: float = Field(80.0, gt=0, le=100, strict=True)
    #: the wallboard shows the queue's longest wait red from this wait on
    longest_wait_limit_s: Seconds = 60.0
    hold_slice_s: Seconds = 20.0
    max_wait_s: Seconds | None = None
    #: a caller arriving when this many calls are unanswered overflows at once
    max_length: int | None = Field(None, ge=1, strict=True)
    #: false: a caller arriving while no agent can take calls (each logged out or
    #: paused) overflows at once
    join_empty: bool = Field(True, strict=True)
    #: true: the waiting callers overflow when the last agent able to take calls leaves
    leave_when_empty: bool = Field(False, strict=True)
    #: where an overflowing caller goes; null: hung up (no message)
    overflow: OverflowSettings | None = None
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
    #: a caller who hangs up before this wait is a short abandon, left out of the
    #: service level and the abandon rate (docs/kpis.md)
    short_abandon_s: float = Field(5.0, ge=0, strict=True)
    #: when and how its calls are recorded
    recording: RecordingSettings = Field(default={}, validate_default=True)
    #: position and estimated-wait announcements to its waiting callers; null: none
    announce: AnnounceSettings | None = None
    #: the queued callback offered to its waiting callers (keeping their place); null: none
    callback: CallbackSettings | None = None
    #: sticky agent: a returning caller waits up to wait_s for the agent who last served
    #: it within days; null: off
    sticky: StickySettings | None = None

    @model_validator(mode="after")
    def _wrap_up_limit_above_wrap_up(self) -> Self:
        if self.wrap_up_max_s is not None and self.wrap_up_max_s < self.wrap_up_s:
            raise problem(f"wrap_up_max_s {self.wrap_up_max_s:g} is below wrap_up_s "
                          f"{self.wrap_up_s:g}: the limit of an extended wrap-up",
                          at="wrap_up_max_s")  # fmt: skip
        return self

    def targets(self) -> QueueTargets:
        """What this queue's figures are held against (``acd.kpis``): the reports, the
        wallboard and /metrics take them from here."""
        return QueueTargets(self.sl_threshold_s, self.short_abandon_s, self.sl_target_pct / 100.0,
                            self.longest_wait_limit_s)  # fmt: skip

    def acd_queue(self) -> QueueConfig:
        """This queue as the ACD core takes it."""
        return QueueConfig(
            name=self.name,
            wrap_up_s=self.wrap_up_s,
            wrap_up_max_s=self.wrap_up_max_s,
            offer_timeout_s=self.offer_timeout_s,
            sl_threshold_s=self.sl_threshold_s,
            hold_slice_s=self.hold_slice_s,
            max_wait_s=self.max_wait_s,
            strategy=Strategy(self.strategy),
            skills=self.skills,
            relax=tuple(RelaxStep(r.after_s, r.lower_by) for r in self.relax),
            aging_per_s=self.aging_per_s,
            retry_same_agent_s=self.retry_same_agent_s,
            short_abandon_s=self.short_abandon_s,
            max_length=self.max_length,
            join_empty=self.join_empty,
            leave_when_empty=self.leave_when_empty,
            **({} if self.sticky is None
               else {"sticky_wait_s": self.sticky.wait_s, "sticky_days": self.sticky.days}),
        )  # fmt: skip


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
