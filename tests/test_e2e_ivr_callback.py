"""An IVR callback node's request dialled back (flow core rule 13), over the whole
hotline: pbxsim over real AMI, real SQL.

A caller presses 2 at the menu, its ``callback`` node stores the request and the flow
thanks it and hangs up; nobody is Ready, so the call waits in the node's queue as a
virtual caller (its row pending, no outcome). An agent goes Ready: its phone rings into
the callback context, it hears the whisper and the number, the customer's phone rings
and answers, they talk, and the request ends ``completed`` after one attempt (the
call's outcome ``answered``). What the channels heard is read from pbxsim's side, the
rows from SQL.
"""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

from .e2e_support import hotline_rig, scenario, wait_until
from .test_e2e_callback import Heard, _call, _rows

FLOW = textwrap.dedent(
    """\
    name: care
    languages: [vi]
    default_language: vi
    start: main
    fallback_queue: support
    prompts:
      menu: hotline/vi/main-menu
      thanks: hotline/vi/thanks
    nodes:
      main:
        prompt: menu
        timeout_s: 8
        options:
          1: {queue: support}
          2: {goto: call_me}
      call_me: {type: callback, queue: support, next: {goto: bye}}
      bye: {type: hangup, prompt: thanks, reason: done}
    """
)


def world(numbers: list[str]) -> dict[str, Any]:
    w = scenario(numbers, arrivals={"kind": "trace", "calls": []},
                 callers={"press_delay": [1.0, 1.2]},
                 agents={"default": {"answer_delay": [1, 1.5], "talk_time": [3, 4],
                                     "agent_hangs_up_probability": 0.0}})  # fmt: skip
    w["prompts"] = {"hotline/vi/main-menu": 1.0, "hotline/vi/thanks": 1.0,
                    "hotline/vi/callback-whisper": 1.0}  # fmt: skip
    return w


async def test_an_ivr_callback_request_is_dialled_back_when_an_agent_is_ready(
    tmp_path: Path, db_url: str
) -> None:
    ivr = tmp_path / "flow.yaml"
    ivr.write_text(FLOW)
    heard = Heard()
    async with hotline_rig(tmp_path, db_url, world, ivr_file=ivr, auto_login=False,
                           agents=1) as rig:  # fmt: skip
        ctl, sim = rig.ctl, rig.sim
        sim.world.listeners.append(heard.on_event)
        number = rig.numbers[0]
        [agent] = [str(a.id) for a in await rig.hotline.store.list_agents()
                   if a.username == "agent1"]  # fmt: skip
        caller = sim.world.population.arrive(number, ("2",), patience=600)
        await wait_until(lambda: caller.outcome, 90, "the caller thanked and hung up")
        await wait_until(lambda: _call(rig, number) is not None, 30,
                         "its request waiting in support")  # fmt: skip
        view = _call(rig, number)
        waiting_call, _events, waiting_outcomes, waiting = await _rows(rig, number)
        await ctl.agent_ready(agent)

        def customer_talking() -> Any:
            return next((ch for ch in sim.world.channels.values()
                         if ch.name.startswith(f"Local/{number}@hotline-callback-out")
                         and ch.name.endswith(";1") and ch.bridge is not None), None)  # fmt: skip

        await wait_until(customer_talking, 90, "the customer's phone rung and bridged")
        sim.world.hangup(customer_talking().peer, how="remote", cause=16)
        await wait_until(lambda: ctl.counters["outcomes"] >= 1, 60, "the call's outcome")
        await wait_until(lambda: not ctl.calls, 60, "the call over")
        call, events, outcomes, requests = await _rows(rig, number)
    # the caller heard the thanks and was hung up by the flow; its call waited on
    commands = heard.commands(caller.channel)
    assert commands[-2:] == ['STREAM FILE hotline/vi/thanks ""', "HANGUP"], commands
    assert caller.outcome == "ended" and not caller.talked
    assert view is not None and view.queue == "support"
    assert waiting_call.outcome is None and waiting_outcomes == []
    [req] = waiting
    assert (req.node, req.queue, req.number, req.status) == ("call_me", "support", number,
                                                             "pending")  # fmt: skip
    # the agent's leg heard the whisper and the number, then the customer was bridged
    [leg] = [ch for ch in heard.steps if ch.startswith("PJSIP/1001")]
    assert heard.commands(leg)[:2] == ['STREAM FILE hotline/vi/callback-whisper ""',
                                       f'SAY DIGITS {number} ""'], heard.steps[leg]  # fmt: skip
    assert ("Bridge", "") in heard.steps[leg]
    # SQL: the request completed after one attempt, the call answered by the agent
    [req] = requests
    assert (req.node, req.status, req.attempts) == ("call_me", "completed", 1)
    assert req.ended_at is not None
    [outcome] = outcomes
    assert (outcome.queue, outcome.outcome, outcome.agent_id) == ("support", "answered", int(agent))
    kinds = [e.kind for e in events]
    assert kinds.index("callback_requested") < kinds.index("callback_queued") < kinds.index(
        "callback_attempt") < kinds.index("callback_completed")  # fmt: skip
