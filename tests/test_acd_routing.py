"""ACD routing by hand: strategies, skills and relaxation, aging priority, several
queues, penalties, auto-pause per failure kind, pause time, per-queue options."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import pytest

from acd import (
    Acd,
    AcdConfig,
    AgentConfig,
    AgentLogin,
    AgentLogout,
    AgentPause,
    AgentReady,
    AgentState,
    CallEnded,
    CallLeft,
    CallQueued,
    CallResumed,
    Command,
    InvalidValue,
    OfferAnswered,
    OfferCall,
    OfferFailed,
    OfferFailure,
    PauseEnded,
    QueueConfig,
    RelaxStep,
    Strategy,
)

S = AgentState


def build(
    agents: Mapping[str, Iterable[str]],
    queues: Iterable[QueueConfig],
    *,
    skills: Mapping[str, Mapping[str, int]] | None = None,
    penalties: Mapping[str, Mapping[str, int]] | None = None,
    weights: Mapping[str, Mapping[str, int]] | None = None,
    **acd: Any,
) -> Acd:
    return Acd(
        AcdConfig(
            queues=tuple(queues),
            agents=tuple(
                AgentConfig(
                    a,
                    a.upper(),
                    f"PJSIP/{a}",
                    tuple(qs),
                    skills=(skills or {}).get(a, {}),
                    penalties=(penalties or {}).get(a, {}),
                    weights=(weights or {}).get(a, {}),
                )
                for a, qs in agents.items()
            ),
            **acd,
        )
    )


def offers(cmds: list[Command]) -> list[tuple[str, str]]:
    return [(c.call_id, c.agent_id) for c in cmds if isinstance(c, OfferCall)]


def one_queue(strategy: Strategy, n: int = 4, **queue: Any) -> Acd:
    q = QueueConfig("q", wrap_up_s=0.0, strategy=strategy, **queue)
    return build({f"a{i}": ("q",) for i in range(1, n + 1)}, [q])


def ring_and_drop(acd: Acd, calls: int, now: float, prefix: str = "c") -> list[str]:
    """Queue ``calls`` calls one by one; each rings and the caller hangs up at once."""
    who = []
    for i in range(calls):
        cmds = acd.handle(CallQueued(f"{prefix}{i}", "q", "1"), now)
        [(call_id, agent_id)] = offers(cmds)
        who.append(agent_id)
        acd.handle(CallLeft(call_id), now)
    return who


# -- strategies ------------------------------------------------------------------


def test_round_robin_rotates_in_login_order_and_remembers_where_it_was() -> None:
    acd = one_queue(Strategy.ROUND_ROBIN)
    for t, agent in enumerate(("a3", "a1", "a4", "a2")):
        acd.handle(AgentLogin(agent), t)
    assert ring_and_drop(acd, 6, 10) == ["a3", "a1", "a4", "a2", "a3", "a1"]
    # a1 logs out and in again: it goes to the end of the rotation
    acd.handle(AgentLogout("a1"), 11)
    acd.handle(AgentLogin("a1"), 12)
    assert ring_and_drop(acd, 4, 13, "d") == ["a4", "a2", "a1", "a3"]


def test_round_robin_ordered_rotates_in_configuration_order() -> None:
    acd = one_queue(Strategy.ROUND_ROBIN_ORDERED)
    for t, agent in enumerate(("a3", "a1", "a4", "a2")):
        acd.handle(AgentLogin(agent), t)
    assert ring_and_drop(acd, 5, 10) == ["a1", "a2", "a3", "a4", "a1"]


def test_linear_always_starts_from_the_first_agent() -> None:
    acd = one_queue(Strategy.LINEAR)
    for t, agent in enumerate(("a4", "a3", "a2", "a1")):
        acd.handle(AgentLogin(agent), t)
    assert ring_and_drop(acd, 3, 10) == ["a1", "a1", "a1"]
    acd.handle(AgentPause("a1", "break"), 11)
    assert ring_and_drop(acd, 2, 12, "d") == ["a2", "a2"]


def test_fewest_calls_picks_the_agent_who_answered_the_fewest() -> None:
    acd = one_queue(Strategy.FEWEST_CALLS, n=3)
    for t, agent in enumerate(("a1", "a2", "a3")):
        acd.handle(AgentLogin(agent), t)
    now = 10.0
    for answered_by in ("a1", "a1", "a2", "a1", "a2"):  # a1: 3, a2: 2, a3: 0
        for other in {"a1", "a2", "a3"} - {answered_by}:
            acd.handle(AgentPause(other, "x"), now)
        cmds = acd.handle(CallQueued(f"h{now}", "q", "1"), now)
        assert offers(cmds) == [(f"h{now}", answered_by)]
        acd.handle(OfferAnswered(f"h{now}", answered_by), now)
        acd.handle(CallEnded(f"h{now}"), now + 1)
        for other in {"a1", "a2", "a3"} - {answered_by}:
            acd.handle(AgentReady(other), now + 1)
        now += 2
    assert ring_and_drop(acd, 1, now) == ["a3"]
    acd.handle(AgentPause("a3", "x"), now)
    assert ring_and_drop(acd, 1, now, "d") == ["a2"]


def test_least_talk_time_picks_the_agent_who_talked_least() -> None:
    acd = one_queue(Strategy.LEAST_TALK_TIME, n=2)
    acd.handle(AgentLogin("a1"), 0)
    acd.handle(CallQueued("long", "q", "1"), 1)
    acd.handle(OfferAnswered("long", "a1"), 1)
    acd.handle(AgentLogin("a2"), 2)
    acd.handle(CallQueued("short1", "q", "1"), 3)
    acd.handle(OfferAnswered("short1", "a2"), 3)
    acd.handle(CallEnded("short1"), 13)  # a2 talked 10 s
    acd.handle(CallQueued("short2", "q", "1"), 14)
    acd.handle(OfferAnswered("short2", "a2"), 14)
    acd.handle(CallEnded("short2"), 24)  # a2: 20 s in two calls
    acd.handle(CallEnded("long"), 101)  # a1: 100 s in one call
    # fewest-calls would pick a1 (1 call); least talk time picks a2 (20 s)
    assert offers(acd.handle(CallQueued("next", "q", "1"), 102)) == [("next", "a2")]


def test_best_skill_match_picks_the_highest_levels_then_the_longest_idle() -> None:
    q = QueueConfig("q", strategy=Strategy.BEST_SKILL_MATCH, skills={"fr": 1, "billing": 1})
    levels = {
        "a1": {"fr": 2, "billing": 2},
        "a2": {"fr": 5, "billing": 4},
        "a3": {"fr": 4, "billing": 5},
        "a4": {"fr": 5},
    }
    acd = build({a: ("q",) for a in levels}, [q], skills=levels)
    for t, agent in enumerate(("a1", "a3", "a2", "a4")):
        acd.handle(AgentLogin(agent), t)
    # a2 and a3 both score 9; a3 is idle longer; a4 lacks billing
    assert offers(acd.handle(CallQueued("c1", "q", "1"), 10)) == [("c1", "a3")]
    assert offers(acd.handle(CallQueued("c2", "q", "1"), 10)) == [("c2", "a2")]
    assert offers(acd.handle(CallQueued("c3", "q", "1"), 10)) == [("c3", "a1")]


def test_random_is_seeded_and_replays() -> None:
    def run(seed: int) -> list[str]:
        q = QueueConfig("q", wrap_up_s=0.0, strategy="random")  # type: ignore[arg-type]
        acd = build({f"a{i}": ("q",) for i in range(5)}, [q], seed=seed)
        for i in range(5):
            acd.handle(AgentLogin(f"a{i}"), 0)
        return ring_and_drop(acd, 40, 1)

    assert run(7) == run(7)
    assert run(7) != run(8)
    assert set(run(7)) == {f"a{i}" for i in range(5)}


def test_penalty_tiers_are_tried_in_order_whatever_the_strategy() -> None:
    q = QueueConfig("q", strategy=Strategy.LONGEST_IDLE)
    acd = build({"a1": ("q",), "a2": ("q",), "a3": ("q",)}, [q], penalties={"a1": {"q": 1}})
    for t, agent in enumerate(("a1", "a2", "a3")):
        acd.handle(AgentLogin(agent), t)
    assert offers(acd.handle(CallQueued("c1", "q", "1"), 10)) == [("c1", "a2")]
    assert offers(acd.handle(CallQueued("c2", "q", "1"), 10)) == [("c2", "a3")]
    assert offers(acd.handle(CallQueued("c3", "q", "1"), 10)) == [("c3", "a1")]


# -- skills and relaxation ------------------------------------------------------------


def test_a_call_waits_for_a_skilled_agent_then_relaxes_step_by_step() -> None:
    q = QueueConfig(
        "q", skills={"fr": 4}, relax=(RelaxStep(30.0, 1), RelaxStep(60.0, 5)), max_wait_s=600
    )
    levels = {"expert": {"fr": 5}, "fair": {"fr": 3}, "none": {}}
    acd = build({a: ("q",) for a in levels}, [q], skills=levels)
    acd.handle(AgentLogin("fair"), 0)
    acd.handle(AgentLogin("none"), 0)
    assert offers(acd.handle(CallQueued("c1", "q", "1"), 0)) == []
    assert acd.next_timer() == 30.0
    assert offers(acd.on_timer(30.0)) == [("c1", "fair")]  # fr 3 now enough
    acd.handle(OfferAnswered("c1", "fair"), 31)
    assert offers(acd.handle(CallQueued("c2", "q", "1"), 40)) == []
    acd.handle(AgentLogin("expert"), 41)  # fr 5: fits at once
    acd.handle(OfferAnswered("c2", "expert"), 42)
    acd.handle(CallQueued("c3", "q", "1"), 50)
    assert offers(acd.on_timer(80)) == []  # 30 s in: fr 3 (nobody READY has it)
    assert offers(acd.on_timer(110)) == [("c3", "none")]  # 60 s in: anyone


def test_a_call_can_bring_its_own_skills() -> None:
    q = QueueConfig("q")
    levels = {"en": {"en": 3}, "fr": {"fr": 3}}
    acd = build({a: ("q",) for a in levels}, [q], skills=levels)
    acd.handle(AgentLogin("en"), 0)
    acd.handle(AgentLogin("fr"), 1)
    cmds = acd.handle(CallQueued("c1", "q", "1", skills={"fr": 2}), 5)
    assert offers(cmds) == [("c1", "fr")]


def test_a_restored_call_starts_at_the_relax_step_its_wait_reached() -> None:
    q = QueueConfig("q", skills={"fr": 5}, relax=(RelaxStep(30.0, 5),))
    acd = build({"a1": ("q",)}, [q])
    acd.handle(AgentLogin("a1"), 100)
    assert offers(acd.handle(CallQueued("c1", "q", "1", entered_at=60.0), 100)) == [("c1", "a1")]


# -- priority with aging, several queues --------------------------------------------------


def test_aging_lets_a_long_waiting_caller_pass_a_new_vip() -> None:
    # Broke: static priority served 199 VIP calls while a standard caller waited 11,940 s.
    q = QueueConfig("q", aging_per_s=1 / 60, wrap_up_s=0.0)
    acd = build({"a1": ("q",)}, [q])
    acd.handle(CallQueued("std", "q", "1", priority=0), 0)
    acd.handle(CallQueued("vip_new", "q", "2", priority=1), 61)  # std at 61 s: 61/60 > 1
    acd.handle(CallQueued("vip_newer", "q", "3", priority=1), 62)
    assert offers(acd.handle(AgentLogin("a1"), 62)) == [("std", "a1")]
    assert [acd.call(c, 62).position for c in ("std", "vip_new", "vip_newer")] == [1, 2, 3]  # type: ignore[union-attr]


def test_without_aging_priority_is_static_and_a_vip_stream_holds_a_caller_back() -> None:
    q = QueueConfig("q", aging_per_s=0.0)
    acd = build({"a1": ("q",)}, [q])
    acd.handle(CallQueued("std", "q", "1"), 0)
    acd.handle(CallQueued("vip", "q", "2", priority=1), 10_000)
    assert offers(acd.handle(AgentLogin("a1"), 10_001)) == [("vip", "a1")]


def test_an_agent_in_several_queues_takes_the_most_due_call_across_them() -> None:
    sales = QueueConfig("sales", aging_per_s=0.0)
    support = QueueConfig("support", aging_per_s=1.0)
    acd = build({"a1": ("sales", "support")}, [sales, support])
    acd.handle(CallQueued("s1", "sales", "1", priority=5), 0)
    acd.handle(CallQueued("h1", "support", "2", priority=0), 1)
    # at 10: s1 is due 5, h1 is due 0 + 9 * 1 = 9
    assert offers(acd.handle(AgentLogin("a1"), 10)) == [("h1", "a1")]


def test_equal_effective_priority_is_served_first_come_first_served() -> None:
    q = QueueConfig("q", aging_per_s=0.5)
    acd = build({"a1": ("q",)}, [q])
    acd.handle(CallQueued("first", "q", "1", priority=1), 0)  # due 1 + t/2
    acd.handle(CallQueued("second", "q", "2", priority=2), 2)  # due 2 + (t-2)/2: the same
    assert offers(acd.handle(AgentLogin("a1"), 5)) == [("first", "a1")]


# -- auto-pause per failure kind; pause time ----------------------------------------------


def test_each_failure_kind_has_its_own_count_and_limit() -> None:
    acd = build(
        {"a1": ("q",), "a2": ("q",)},
        [QueueConfig("q", wrap_up_s=0.0)],
        pause_after={"busy": 3, OfferFailure.NO_ANSWER: 2},
        pause_reasons={"busy": "phone-busy"},
    )
    acd.handle(AgentLogin("a1"), 0)
    acd.handle(AgentLogin("a2"), 1)
    acd.handle(AgentPause("a2", "x"), 1)
    now = 2.0
    kinds = [OfferFailure.BUSY, OfferFailure.NO_ANSWER, OfferFailure.BUSY, OfferFailure.BUSY]
    for i, kind in enumerate(kinds):
        acd.handle(CallQueued(f"c{i}", "q", "1"), now)
        cmds = acd.handle(OfferFailed(f"c{i}", "a1", kind), now + 1)
        acd.handle(CallLeft(f"c{i}"), now + 1)
        now += 2
    assert acd.agent("a1", now).state is S.PAUSED and acd.agent("a1", now).reason == "phone-busy"
    assert acd.agent("a1", now).rna_count == 4
    del cmds


def test_unreachable_pauses_at_once_by_default_and_zero_never_pauses() -> None:
    acd = build({"a1": ("q",)}, [QueueConfig("q")], pause_after={"no-answer": 0})
    acd.handle(AgentLogin("a1"), 0)
    for i in range(5):
        acd.handle(CallQueued(f"c{i}", "q", "1"), i)
        acd.handle(OfferFailed(f"c{i}", "a1", OfferFailure.NO_ANSWER), i)
        acd.handle(CallLeft(f"c{i}"), i)
    assert acd.agent("a1", 5).state is S.READY
    acd.handle(CallQueued("u", "q", "1"), 6)
    acd.handle(OfferFailed("u", "a1", OfferFailure.UNREACHABLE), 6)
    assert acd.agent("a1", 6).reason == "device-unreachable"


def test_pause_time_is_recorded_per_reason_when_each_pause_ends() -> None:
    acd = build({"a1": ("q",)}, [QueueConfig("q")])
    acd.handle(AgentLogin("a1"), 0)
    acd.handle(AgentPause("a1", "lunch"), 10)
    cmds = acd.handle(AgentPause("a1", "training"), 40)
    assert [c for c in cmds if isinstance(c, PauseEnded)] == [PauseEnded("a1", "lunch", 10, 40)]
    cmds = acd.handle(AgentReady("a1"), 100)
    [ended] = [c for c in cmds if isinstance(c, PauseEnded)]
    assert (ended.reason, ended.seconds) == ("training", 60)
    acd.handle(AgentPause("a1", "lunch"), 200)
    assert acd.pause_totals("a1", 205) == {"lunch": 35.0, "training": 60.0}
    cmds = acd.handle(AgentLogout("a1"), 210)
    assert [c for c in cmds if isinstance(c, PauseEnded)] == [PauseEnded("a1", "lunch", 200, 210)]


# -- snapshot of some queues; configuration errors name the option --------------------------


def test_a_snapshot_of_some_queues_shows_only_them_and_agrees_with_the_full_one() -> None:
    qs = [QueueConfig(n) for n in ("q1", "q2", "q3")]
    acd = build({"a1": ("q1",), "a2": ("q2", "q3"), "a3": ("q3",)}, qs)
    acd.handle(AgentLogin("a2"), 0)
    acd.handle(CallQueued("c1", "q1", "1"), 1)
    acd.handle(CallQueued("c2", "q2", "1"), 2)
    acd.handle(CallQueued("c3", "q3", "1"), 3)
    part = acd.snapshot(5, queues=["q3"])
    full = acd.snapshot(5)
    assert [q.queue for q in part.queues] == ["q3"]
    assert [a.agent_id for a in part.agents] == ["a2", "a3"]
    assert [c.call_id for c in part.calls] == ["c3"]
    assert part.queues[0] == full.queues[2]
    by_state = part.queues[0].agents_by_state
    assert (by_state[S.OFFERED], by_state[S.LOGGED_OUT], by_state[S.READY]) == (1, 1, 0)
    assert full.queues[0].agents_by_state[S.LOGGED_OUT] == 1
    assert part.calls[0] == next(c for c in full.calls if c.call_id == "c3")


@pytest.mark.parametrize(
    ("build_bad", "option"),
    [
        (lambda: QueueConfig("q", strategy="fastest"), "QueueConfig.strategy"),
        (lambda: QueueConfig("q", skills={"fr": 6}), "QueueConfig.skills['fr']"),
        (lambda: QueueConfig("q", skills={"fr": 0}), "QueueConfig.skills['fr']"),
        (lambda: QueueConfig("q", skills={" fr": 1}), "QueueConfig.skills key"),
        (lambda: QueueConfig("q", skills="fr"), "QueueConfig.skills"),
        (lambda: QueueConfig("q", relax=(RelaxStep(60, 2), RelaxStep(30, 3))), "QueueConfig.relax"),
        (lambda: QueueConfig("q", relax=(RelaxStep(30, 2), RelaxStep(60, 2))), "QueueConfig.relax"),
        (lambda: QueueConfig("q", relax=((30, 1),)), "QueueConfig.relax"),
        (lambda: QueueConfig("q", aging_per_s=-1), "QueueConfig.aging_per_s"),
        (lambda: QueueConfig("q", aging_per_s=float("nan")), "QueueConfig.aging_per_s"),
        (lambda: QueueConfig("q", retry_same_agent_s=-5), "QueueConfig.retry_same_agent_s"),
        (lambda: RelaxStep(-1, 1), "RelaxStep.after_s"),
        (lambda: RelaxStep(10, 6), "RelaxStep.lower_by"),
        (
            lambda: AgentConfig("a", "A", "P/1", ("q",), skills={"fr": 9}),
            "AgentConfig.skills['fr']",
        ),
        (
            lambda: AgentConfig("a", "A", "P/1", ("q",), penalties={"q": -1}),
            "AgentConfig.penalties",
        ),
        (lambda: AgentConfig("a", "A", "P/1", ("q",), penalties={"x": 1}), "AgentConfig.penalties"),
        (lambda: AgentConfig("a", "A", "P/1", ("q",), weights={"q": 0}), "AgentConfig.weights"),
        (
            lambda: AcdConfig((QueueConfig("q"),), pause_after={"ringing": 1}),
            "AcdConfig.pause_after",
        ),
        (lambda: AcdConfig((QueueConfig("q"),), pause_after={"busy": -1}), "AcdConfig.pause_after"),
        (
            lambda: AcdConfig((QueueConfig("q"),), pause_reasons={"busy": ""}),
            "AcdConfig.pause_reasons",
        ),
        (lambda: AcdConfig((QueueConfig("q"),), seed=1.5), "AcdConfig.seed"),
        (lambda: CallQueued("c", "q", "1", skills={"fr": 7}), "CallQueued.skills['fr']"),
    ],
)
def test_a_bad_option_raises_the_acd_error_naming_it(build_bad: Any, option: str) -> None:
    with pytest.raises(InvalidValue) as info:
        build_bad()
    assert option in str(info.value)
    assert info.value.code == "invalid_value"


def test_strategies_are_taken_by_name_and_every_default_is_set() -> None:
    q = QueueConfig("q", strategy="weighted-random")  # type: ignore[arg-type]
    assert q.strategy is Strategy.WEIGHTED_RANDOM
    d = QueueConfig("d")
    assert (d.strategy, dict(d.skills), d.relax, d.aging_per_s, d.retry_same_agent_s) == (
        Strategy.LONGEST_IDLE, {}, (), 1 / 60, 0.0,
    )  # fmt: skip
    a = AgentConfig("a", "A", "P/1", ("q",))
    assert (dict(a.skills), dict(a.penalties), dict(a.weights)) == ({}, {}, {})
    c = AcdConfig((q,))
    assert [c.pause_limit(k) for k in OfferFailure] == [2, 2, 1, 2, 2]
    assert hash(a) == hash(AgentConfig("a", "A", "P/1", ["q"]))  # type: ignore[arg-type]


def test_an_agent_who_just_failed_a_call_gets_it_again_only_after_the_retry_delay() -> None:
    q = QueueConfig("q", wrap_up_s=0.0, retry_same_agent_s=30.0)
    acd = build({"a1": ("q",), "a2": ("q",)}, [q])
    acd.handle(AgentLogin("a1"), 0)
    assert offers(acd.handle(CallQueued("c1", "q", "1"), 1)) == [("c1", "a1")]
    assert offers(acd.handle(OfferFailed("c1", "a1"), 5)) == []  # only a1 fits: not yet
    assert acd.agent("a1", 5).state is S.READY
    assert acd.next_timer() == 35.0
    # meanwhile a1 takes other calls
    assert offers(acd.handle(CallQueued("c2", "q", "1"), 6)) == [("c2", "a1")]
    acd.handle(CallLeft("c2"), 7)
    assert acd.on_timer(34.0) == []
    assert offers(acd.on_timer(35.0)) == [("c1", "a1")]
    # another agent who fits takes it at once
    acd.handle(AgentLogin("a2"), 36)
    assert offers(acd.handle(OfferFailed("c1", "a1"), 40)) == [("c1", "a2")]


def test_pause_reasons_can_be_limited_to_configured_codes() -> None:
    acd = build({"a1": ("q",)}, [QueueConfig("q")], pause_codes=("lunch", "training"))
    acd.handle(AgentLogin("a1"), 0)
    with pytest.raises(InvalidValue, match="'smoke' is not in AcdConfig.pause_codes"):
        acd.handle(AgentPause("a1", "smoke"), 1)
    assert acd.agent("a1", 1).state is S.READY
    acd.handle(AgentPause("a1", "lunch"), 2)
    assert acd.agent("a1", 2).reason == "lunch"
    with pytest.raises(InvalidValue, match="AcdConfig.pause_codes"):
        AcdConfig((QueueConfig("q"),), pause_codes=("lunch", "lunch"))


def test_configs_stay_hashable_and_comparable() -> None:
    def one() -> AcdConfig:
        return AcdConfig(
            (QueueConfig("q", skills={"fr": 2}, relax=(RelaxStep(10, 1),)),),
            (AgentConfig("a", "A", "P/1", ("q",), skills={"en": 3}, penalties={"q": 1}),),
            pause_after={"busy": 3},
            pause_reasons={"busy": "phone-busy"},
        )

    assert one() == one() and hash(one()) == hash(one())
    assert one() != AcdConfig((QueueConfig("q"),))


def test_a_call_resumed_during_wrap_up_drops_the_wrap_up_deadline() -> None:
    # Broke: the wrap-up deadline stayed armed and on_timer raised InvalidTransition
    # (ON_CALL on WRAP_UP_ELAPSED) when it fired, losing the other deadlines due.
    acd = build({"a1": ("q",)}, [QueueConfig("q", wrap_up_s=10.0)])
    acd.handle(AgentLogin("a1"), 0)
    acd.handle(CallQueued("c1", "q", "1"), 1)
    acd.handle(OfferAnswered("c1", "a1"), 2)
    acd.handle(CallEnded("c1"), 3)
    acd.handle(CallResumed("c2", "q", "a1", "1", 0.0, 0.0), 4)
    assert acd.next_timer() is None
    assert acd.on_timer(20) == []
    assert acd.agent("a1", 20).state is S.ON_CALL
