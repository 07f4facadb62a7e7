"""Position and wait announcements (flow core rule 11, callcenter.flow.announce), by hand:
the pure core, a hand-moved clock, the real ACD and the sample IVR."""

from __future__ import annotations

import datetime as dt

import pytest

from callcenter.flow import Stage
from callcenter.flow.announce import AnnouncePolicy, figure, lines
from callcenter.flow.inputs import CallRowLoaded
from callcenter.flow.place import Place
from callcenter.storage.writes import RecordCallEvent

from .flow_support import CALL, NODE, Flow
from .test_flow_core import arrive, pending, reply, to_queue


def holding(policy: AnnouncePolicy, **queue: float) -> Flow:
    """A caller (Vietnamese, by the sample IVR) on hold in support, nobody logged in."""
    f = Flow(**queue)
    f.core.announcements = {"support": policy}
    arrive(f)
    to_queue(f)
    assert f.core.calls[CALL].stage is Stage.HOLDING
    return f


def slice_ends(f: Flow, seconds: float) -> None:
    f.tick(seconds)
    reply(f, "200 result=0")  # WAIT FOR DIGIT ran out, nothing pressed


def test_told_first_after_m_seconds_then_every_n_only_when_the_figure_changed() -> None:
    f = holding(AnnouncePolicy(first_after_s=30, every_s=60), hold_slice_s=20.0)
    assert pending(f) == "SET MUSIC ON default"
    reply(f, "200 result=0")
    assert pending(f) == "WAIT FOR DIGIT 20000"
    slice_ends(f, 20)
    assert pending(f) == "WAIT FOR DIGIT 10000", "the slice is cut to end at 30 s"
    slice_ends(f, 10)
    # 30 s: alone in line, no estimate yet (nobody served): "you are next", in Vietnamese
    assert pending(f) == 'STREAM FILE hotline/vi/queue-youarenext ""'
    reply(f, "200 result=0 endpos=8000")
    assert pending(f) == "SET MUSIC ON default", "the prompt stopped the music (22)"
    reply(f, "200 result=0")
    assert pending(f) == "WAIT FOR DIGIT 20000"
    slice_ends(f, 20)
    slice_ends(f, 20)
    assert pending(f) == "WAIT FOR DIGIT 20000"
    slice_ends(f, 20)
    # 90 s: due again, the same figure: not said, the music goes on
    assert pending(f) == "WAIT FOR DIGIT 20000"
    told = [w.data for w in f.writes(RecordCallEvent) if w.kind == "announced"]
    assert told == [{"position": 1, "wait_s": None}]


def test_a_failed_announcement_prompt_drops_the_rest_and_the_hold_goes_on() -> None:
    f = holding(AnnouncePolicy(first_after_s=0, every_s=60, wait=False), hold_slice_s=20.0)
    call = f.core.calls[CALL]
    assert pending(f) == 'STREAM FILE hotline/vi/queue-youarenext ""'
    reply(f, "200 result=-1 endpos=0")  # a missing file ends AsyncAGI (13)
    assert not call.in_agi and call.pending is None
    assert [j.command for j in call.outbox] == ["SET MUSIC ON default", "WAIT FOR DIGIT 20000"]
    failed = [w.data for w in f.writes(RecordCallEvent) if w.kind == "prompt_failed"]
    assert failed[-1]["prompt"] == 'STREAM FILE hotline/vi/queue-youarenext ""'


@pytest.mark.parametrize(
    ("ewt_s", "round_s", "expected"),
    [(0.0, 60, None), (1.0, 60, 60), (60.0, 60, 60), (61.0, 60, 120), (44.0, 15, 45)],
)
def test_the_wait_is_rounded_up_to_round_s(
    ewt_s: float, round_s: int, expected: int | None
) -> None:
    assert figure(AnnouncePolicy(round_s=round_s), 3, ewt_s) == (3, expected)


def test_what_is_said_by_number_and_by_prompt_lists_in_each_language() -> None:
    policy = AnnouncePolicy()
    assert lines(policy, (3, 120), "en") == [
        'STREAM FILE hotline/en/queue-thereare ""', 'SAY NUMBER 3 ""',
        'STREAM FILE hotline/en/queue-callswaiting ""', 'STREAM FILE hotline/en/queue-holdtime ""',
        'SAY NUMBER 2 ""', 'STREAM FILE hotline/en/queue-minutes ""',
    ]  # fmt: skip
    prompts = AnnouncePolicy(say="prompts", round_s=15, digits="hotline/{language}/digits")
    assert lines(prompts, (1, 45), "vi") == [
        'STREAM FILE hotline/vi/queue-youarenext ""', 'STREAM FILE hotline/vi/queue-holdtime ""',
        'STREAM FILE hotline/vi/digits/40 ""', 'STREAM FILE hotline/vi/digits/5 ""',
        'STREAM FILE hotline/vi/queue-seconds ""',
    ]  # fmt: skip
    assert lines(prompts, (125, None), "vi")[1:4] == [
        f'STREAM FILE hotline/vi/digits/{d} ""' for d in (1, 2, 5)
    ]
    assert lines(AnnouncePolicy(position=False), (None, None), "vi") == []


def test_a_caller_adopted_after_a_restart_is_told_from_its_old_entry() -> None:
    # a restart during hold loses nothing: the new controller finds the caller parked
    # (transcript 15), SQL gives its entry 40 s ago; announcements are due from 30 s
    f = Flow()
    f.core.announcements = {"support": AnnouncePolicy(first_after_s=30, every_s=60)}
    a = f"{NODE}:1796314834.0"
    entered = f.wall - dt.timedelta(seconds=40)
    f.rows[a] = CallRowLoaded(a, queue="support", queued_at=entered, language="en",
                              place=Place("support", 0, entered))  # fmt: skip
    f.replay("15-restart-during-hold.ami", until=lambda m: m.name == "MusicOnHoldStop")
    call = f.core.calls[a]
    assert call.stage is Stage.HOLDING
    assert call.pending is not None
    assert call.pending.command == 'STREAM FILE hotline/en/queue-youarenext ""'
    assert [j.command for j in call.outbox] == ["SET MUSIC ON default", "WAIT FOR DIGIT 20000"]
