"""The hotline's figures, each defined once: pure functions over plain records.

The reports (``callcenter report``), the ACD's live board (``acd.stats``) and the
store's survey and pause sums call these; ``docs/kpis.md`` states the same
formulas for people. No I/O, no clock: records in, numbers out.

A call counts in the figures of the interval in which it **entered the queue**,
once it has **left** it (its outcome is known): a caller still waiting is in no
report yet. Every ratio is None when its denominator is 0 (nothing to say), never 0.

Counts (per queue, over the calls of an interval):

    offered          calls that entered the queue and left it: answered + abandoned
                     + timeout + lost (lost: the PBX dropped the call before an answer)
    answered         calls an agent answered
    answered_in_sl   answered with wait <= T (T: the queue's ``sl_threshold_s``)
    abandoned        callers who hung up before an answer (short ones included)
    short_abandoned  abandoned with wait < S (S: the queue's ``short_abandon_s``): a
                     misdial or a caller who changed their mind; no agent could have
                     answered, so these leave the service level and the abandon rate
    abandoned_in_sl  abandoned with wait <= T (app_queue's ``callsabandonedinsl``)

Ratios:

    service level (ours)     SL = answered_in_sl / (offered - short_abandoned)
    app_queue ServicelevelPerf   answered_in_sl / answered
    app_queue ServicelevelPerf2  (answered_in_sl + abandoned_in_sl) / (answered + abandoned)
    abandon rate             (abandoned - short_abandoned) / (offered - short_abandoned)
    ASA                      sum(wait of answered calls) / answered
    AHT                      (sum talk + sum hold + sum wrap-up) / handled, over the
                             answered calls whose talk time is known (``handled``); a
                             call's wrap-up is the agent's wrap-up spell that began when
                             its conversation ended. One definition for the reports (per
                             queue, interval, agent), the wallboard's agent grid and
                             /metrics (talk and wrap-up histograms)
    longest wait             max(wait) over every offered call, answered or not
    occupancy                handle time / (staffed - paused): the share of the time
                             agents were available or busy that they were busy
    utilisation              handle time / staffed: the share of logged-in time on calls
    FCR                      answered calls whose disposition carries the FCR flag (the
                             agent's "resolved on first contact"; a disposition saved
                             before the flag: its code is one of the config's
                             ``fcr_dispositions``) / answered calls with a disposition
    CSAT                     mean of CSAT answers (1-5); CSAT % = share of 4 and 5
    NPS                      100 * (promoters 9-10 - detractors 0-6) / NPS answers (0-10)
    CES                      mean of CES answers (1-7)
    callback success         callbacks ``completed`` / callbacks no longer ``pending``
    transfer rate            answered calls transferred on / answered
    pause time by reason     sum of pause seconds per reason, clipped to the interval

Erlang C staffing (``acd.erlang``) per interval: arrival rate = offered / interval
seconds, handle time = AHT, the queue's T and SL target: ``agents_needed``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from . import erlang

__all__ = [
    "AgentTime",
    "CallRecord",
    "Tally",
    "CallbackRecord",
    "Figures",
    "PauseRecord",
    "QueueTargets",
    "SurveyFigures",
    "SurveyRecord",
    "abandon_rate",
    "average_handle_time",
    "average_speed_of_answer",
    "clipped_seconds",
    "figures",
    "figures_by",
    "service_level",
    "service_level_app_queue",
    "service_level_app_queue2",
    "staffing",
]

#: outcome words (``acd.Outcome`` values) a queued call can leave its queue with
ANSWERED, ABANDONED, TIMEOUT, LOST = "answered", "abandoned", "timeout", "lost"
_QUEUED_OUTCOMES = frozenset((ANSWERED, ABANDONED, TIMEOUT, LOST))


@dataclass(frozen=True, slots=True)
class QueueTargets:
    """What a queue's figures are measured against (from its config)."""

    #: T: an answer within this wait counts in the service level
    sl_threshold_s: float = 20.0
    #: S: an abandon before this wait is short (left out of SL and abandon rate)
    short_abandon_s: float = 5.0
    #: the service level aimed at, a share (0.8: 80 % within T): Erlang C staffs for it
    sl_target: float = 0.8
    #: the longest wait past which the wallboard turns red and an alert fires
    longest_wait_limit_s: float = 60.0


@dataclass(frozen=True, slots=True)
class SurveyRecord:
    """A post-call survey's answers (None: not answered)."""

    csat: int | None = None
    nps: int | None = None
    ces: int | None = None


@dataclass(frozen=True, slots=True)
class CallRecord:
    """One call's visit to a queue, as the figures read it."""

    call_id: str
    queue: str
    #: when it entered the queue, in seconds since the epoch: the interval it counts in
    entered_at: float
    #: how it left: answered, abandoned, timeout or lost (others are not queue calls)
    outcome: str
    #: time in queue: until the answer if answered, until leaving otherwise
    wait_s: float
    #: the agent who answered (any key the caller groups by), None if nobody did
    agent: str | None = None
    #: answer to end of conversation (None: not known, e.g. rows written before 0.1)
    talk_s: float | None = None
    #: time the agent held the caller during the conversation
    hold_s: float = 0.0
    #: the agent's after-call work following this call
    wrap_up_s: float = 0.0
    #: the call was transferred on after the answer
    transferred: bool = False
    #: the disposition's FCR flag (the agent's word, else its code's default): True/False,
    #: None when the call has no disposition
    fcr: bool | None = None
    survey: SurveyRecord | None = None
    #: when it left the queue (answered: the conversation's end), epoch seconds; None:
    #: not known (the reports group by ``entered_at`` only; the wallboard's "last 30
    #: minutes" are the calls that left in them)
    left_at: float | None = None


@dataclass(frozen=True, slots=True)
class AgentTime:
    """An agent's time in an interval: logged in (any state but logged out) and paused."""

    agent: str
    staffed_s: float
    paused_s: float = 0.0


@dataclass(frozen=True, slots=True)
class PauseRecord:
    """A pause's part inside an interval (``clipped_seconds``)."""

    agent: str
    reason: str
    seconds: float


@dataclass(frozen=True, slots=True)
class CallbackRecord:
    """A callback request: its queue and status (``pending``, ``completed``, ``failed`` ...)."""

    queue: str
    status: str


@dataclass(frozen=True, slots=True)
class SurveyFigures:
    """A group's post-call survey results (CSAT 1-5, NPS 0-10, CES 1-7).

    ``csat_satisfied`` is the share of CSAT answers of 4 or 5 (the usual CSAT %);
    ``nps`` is promoters (9-10) minus detractors (0-6), in percent of NPS answers;
    an average or share is None when nobody answered that question.
    """

    surveyed: int
    csat_answers: int
    csat_avg: float | None
    csat_satisfied: float | None
    nps_answers: int
    nps: float | None
    ces_answers: int
    ces_avg: float | None

    @classmethod
    def of(cls, answers: Sequence[tuple[int | None, int | None, int | None]]) -> SurveyFigures:
        """The figures of (csat, nps, ces) answers, one tuple per surveyed call."""
        csat = [a[0] for a in answers if a[0] is not None]
        nps = [a[1] for a in answers if a[1] is not None]
        ces = [a[2] for a in answers if a[2] is not None]
        return cls(
            surveyed=len(answers),
            csat_answers=len(csat),
            csat_avg=_ratio(sum(csat), len(csat)),
            csat_satisfied=_ratio(sum(c >= 4 for c in csat), len(csat)),
            nps_answers=len(nps),
            nps=_ratio(100.0 * (sum(n >= 9 for n in nps) - sum(n <= 6 for n in nps)), len(nps)),
            ces_answers=len(ces),
            ces_avg=_ratio(sum(ces), len(ces)),
        )


def _ratio(top: float, bottom: float) -> float | None:
    return top / bottom if bottom else None


def service_level(answered_in_sl: int, offered: int, short_abandoned: int) -> float | None:
    """Ours: ``answered_in_sl / (offered - short_abandoned)``; None if nothing counts."""
    return _ratio(answered_in_sl, offered - short_abandoned)


def service_level_app_queue(answered_in_sl: int, answered: int) -> float | None:
    """Asterisk app_queue's ``ServicelevelPerf``: ``answered_in_sl / answered``."""
    return _ratio(answered_in_sl, answered)


def service_level_app_queue2(
    answered_in_sl: int, abandoned_in_sl: int, answered: int, abandoned: int
) -> float | None:
    """app_queue's ``ServicelevelPerf2``: abandons within T count as met,
    ``(answered_in_sl + abandoned_in_sl) / (answered + abandoned)``."""
    return _ratio(answered_in_sl + abandoned_in_sl, answered + abandoned)


def abandon_rate(abandoned: int, offered: int, short_abandoned: int) -> float | None:
    """``(abandoned - short_abandoned) / (offered - short_abandoned)``."""
    return _ratio(abandoned - short_abandoned, offered - short_abandoned)


def average_speed_of_answer(answer_wait_total_s: float, answered: int) -> float | None:
    """ASA: ``sum(wait of answered calls) / answered``."""
    return _ratio(answer_wait_total_s, answered)


def average_handle_time(talk_s: float, hold_s: float, wrap_up_s: float, handled: int) -> float | None:
    """AHT: ``(talk + hold + wrap-up) / handled`` (answered calls whose talk is known)."""
    return _ratio(talk_s + hold_s + wrap_up_s, handled)


def clipped_seconds(started: float, ended: float, since: float, until: float) -> float:
    """The part of ``[started, ended)`` inside ``[since, until)`` (0 if none), each a
    time in seconds on one clock (the reports: seconds since the epoch)."""
    return max(0.0, min(ended, until) - max(started, since))


@dataclass(frozen=True, slots=True)
class Figures:
    """The figures of one group of calls (a queue, an agent, an interval of a queue).

    Counts, sums and the ratios of the module's docstring; ``agents_needed`` is
    filled by :func:`staffing` (Erlang C), None until then or when it cannot say.
    """

    offered: int = 0
    answered: int = 0
    answered_in_sl: int = 0
    abandoned: int = 0
    short_abandoned: int = 0
    abandoned_in_sl: int = 0
    timed_out: int = 0
    lost: int = 0
    #: answered calls whose talk time is known (AHT's denominator)
    handled: int = 0
    wait_answered_s: float = 0.0
    talk_s: float = 0.0
    hold_s: float = 0.0
    wrap_up_s: float = 0.0
    longest_wait_s: float | None = None
    transferred: int = 0
    disposed: int = 0
    resolved_first_contact: int = 0
    service_level: float | None = None
    service_level_app_queue: float | None = None
    service_level_app_queue2: float | None = None
    abandon_rate: float | None = None
    asa_s: float | None = None
    aht_s: float | None = None
    fcr: float | None = None
    transfer_rate: float | None = None
    survey: SurveyFigures = field(default_factory=lambda: SurveyFigures.of(()))
    callbacks_requested: int = 0
    callbacks_completed: int = 0
    callback_success: float | None = None
    staffed_s: float | None = None
    paused_s: float | None = None
    occupancy: float | None = None
    utilisation: float | None = None
    pause_s_by_reason: dict[str, float] = field(default_factory=dict)
    #: Erlang C (``staffing``): observed arrivals per second and agents needed
    arrival_per_s: float | None = None
    agents_needed: int | None = None


def figures(
    calls: Iterable[CallRecord],
    targets: QueueTargets,
    *,
    agent_time: Iterable[AgentTime] | None = None,
    pauses: Iterable[PauseRecord] = (),
    callbacks: Iterable[CallbackRecord] = (),
) -> Figures:
    """The figures of ``calls`` (one group) against ``targets``.

    Records whose outcome is not a queue's (``ivr_hangup``, ``failed``) are skipped.
    ``agent_time``: the staffed and paused time of the agents the group covers
    (None: occupancy and utilisation are not the group's to say, e.g. a queue's,
    since an agent's idle time belongs to no one queue). ``pauses``: the pauses'
    parts inside the interval, summed by reason.
    """
    n = Tally()
    for call in calls:
        n.add(call, targets)
    staffed = paused = None
    if agent_time is not None:
        times = list(agent_time)
        staffed = sum(t.staffed_s for t in times)
        paused = sum(t.paused_s for t in times)
    by_reason: dict[str, float] = {}
    for p in pauses:
        by_reason[p.reason] = by_reason.get(p.reason, 0.0) + p.seconds
    requested = completed = settled = 0
    for cb in callbacks:
        requested += 1
        settled += cb.status != "pending"
        completed += cb.status == "completed"
    handle = n.talk + n.hold + n.wrap_up
    return Figures(
        offered=n.offered,
        answered=n.answered,
        answered_in_sl=n.answered_in_sl,
        abandoned=n.abandoned,
        short_abandoned=n.short,
        abandoned_in_sl=n.abandoned_in_sl,
        timed_out=n.timed_out,
        lost=n.lost,
        handled=n.handled,
        wait_answered_s=n.wait_answered,
        talk_s=n.talk,
        hold_s=n.hold,
        wrap_up_s=n.wrap_up,
        longest_wait_s=n.longest,
        transferred=n.transferred,
        disposed=n.disposed,
        resolved_first_contact=n.resolved,
        service_level=service_level(n.answered_in_sl, n.offered, n.short),
        service_level_app_queue=service_level_app_queue(n.answered_in_sl, n.answered),
        service_level_app_queue2=service_level_app_queue2(
            n.answered_in_sl, n.abandoned_in_sl, n.answered, n.abandoned
        ),
        abandon_rate=abandon_rate(n.abandoned, n.offered, n.short),
        asa_s=average_speed_of_answer(n.wait_answered, n.answered),
        aht_s=average_handle_time(n.talk, n.hold, n.wrap_up, n.handled),
        fcr=_ratio(n.resolved, n.disposed),
        transfer_rate=_ratio(n.transferred, n.answered),
        survey=SurveyFigures.of(n.surveys),
        callbacks_requested=requested,
        callbacks_completed=completed,
        callback_success=_ratio(completed, settled),
        staffed_s=staffed,
        paused_s=paused,
        occupancy=None if staffed is None or paused is None else _ratio(handle, staffed - paused),
        utilisation=None if staffed is None else _ratio(handle, staffed),
        pause_s_by_reason=dict(sorted(by_reason.items())),
    )


def figures_by(
    calls: Iterable[CallRecord],
    targets: Mapping[str, QueueTargets],
    *,
    callbacks: Iterable[CallbackRecord] = (),
    default: QueueTargets | None = None,
) -> dict[str, Figures]:
    """Per queue: the figures of each queue's calls (the rows of one time range)
    against its own targets (``default``, or ``QueueTargets()``, for a queue the
    mapping lacks). Every queue of ``targets`` has an entry, calls or not."""
    grouped: dict[str, list[CallRecord]] = {name: [] for name in targets}
    for call in calls:
        grouped.setdefault(call.queue, []).append(call)
    asked: dict[str, list[CallbackRecord]] = {}
    for cb in callbacks:
        asked.setdefault(cb.queue, []).append(cb)
    fallback = default or QueueTargets()
    return {
        name: figures(rows, targets.get(name, fallback), callbacks=asked.get(name, ()))
        for name, rows in sorted(grouped.items())
    }


def staffing(fig: Figures, span_s: float, targets: QueueTargets) -> Figures:
    """``fig`` with the Erlang C line: arrivals ``offered / span_s`` and the agents
    needed to answer ``sl_target`` of them within ``sl_threshold_s`` at handle time
    AHT (None when no AHT is known or the span is empty; 0 with no call)."""
    if span_s <= 0:
        return fig
    rate = fig.offered / span_s
    needed: int | None = None
    if fig.offered == 0:
        needed = 0
    elif fig.aht_s is not None and fig.aht_s > 0:
        needed = erlang.agents_needed(rate, fig.aht_s, targets.sl_threshold_s, targets.sl_target)
    return dataclasses.replace(fig, arrival_per_s=rate, agents_needed=needed)


@dataclass(slots=True)
class Tally:
    """The counts and sums of a group of calls, added one call at a time: what
    :func:`figures` computes every figure from, and what the wallboard keeps live
    (a queue's day, its last 30 minutes, the centre's sum, an agent's calls).

    ``offered`` is the calls that left the queue; ``handled``, ``talk``, ``hold`` and
    ``wrap_up`` are AHT's inputs (:func:`average_handle_time`).
    """

    offered: int = 0
    answered: int = 0
    answered_in_sl: int = 0
    abandoned: int = 0
    short: int = 0
    abandoned_in_sl: int = 0
    timed_out: int = 0
    lost: int = 0
    handled: int = 0
    wait_answered: float = 0.0
    talk: float = 0.0
    hold: float = 0.0
    wrap_up: float = 0.0
    longest: float | None = None
    transferred: int = 0
    disposed: int = 0
    resolved: int = 0
    surveys: list[tuple[int | None, int | None, int | None]] = field(default_factory=list)

    def plus(self, other: Tally) -> Tally:
        """The sum of two groups (each call counted against its own queue's targets)."""
        out = Tally()
        for f in dataclasses.fields(Tally):
            a, b = getattr(self, f.name), getattr(other, f.name)
            if f.name == "longest":
                value = a if b is None else b if a is None else max(a, b)
            else:
                value = a + b
            setattr(out, f.name, value)
        return out

    def add(self, call: CallRecord, targets: QueueTargets) -> None:
        """Count ``call`` against ``targets``; a call that is not a queue's (``ivr_hangup``,
        ``failed``) counts in nothing."""
        if call.outcome not in _QUEUED_OUTCOMES:
            return
        wait = call.wait_s
        self.offered += 1
        self.longest = wait if self.longest is None else max(self.longest, wait)
        if call.outcome == ANSWERED:
            self.answered += 1
            self.wait_answered += wait
            self.answered_in_sl += wait <= targets.sl_threshold_s
            if call.talk_s is not None:
                self.handled += 1
                self.talk += call.talk_s
                self.hold += call.hold_s
                self.wrap_up += call.wrap_up_s
            self.transferred += call.transferred
            if call.fcr is not None:
                self.disposed += 1
                self.resolved += call.fcr
        elif call.outcome == ABANDONED:
            self.abandoned += 1
            self.short += wait < targets.short_abandon_s
            self.abandoned_in_sl += wait <= targets.sl_threshold_s
        elif call.outcome == TIMEOUT:
            self.timed_out += 1
        else:
            self.lost += 1
        if call.survey is not None:
            s = call.survey
            self.surveys.append((s.csat, s.nps, s.ces))
