"""The people around the PBX, driven by a :class:`~pbxsim.scenario.Scenario`.

- Callers arrive (Poisson or a trace) as inbound ``PJSIP/<trunk>-0000000N``
  channels entering the scenario's context (``hotline-safe``) at the DNID.
- A caller holds a queue of digit strings (one per menu) and presses the next one
  during the next AGI command that listens for digits, after a press delay; once
  it has talked to an agent (back in the after-call context), it presses its
  ``survey`` strings instead, one per question it hears (a prompt that listens: not
  the silence or music of a ``WAIT FOR DIGIT``, which a controller's hold slice sent
  while the caller was being bridged runs as the call ends, 21).
- A caller hangs up after its patience runs out unless bridged to an agent; the
  clock starts again when the bridge ends (an after-call survey, say).
- Agent phones ring, then answer after a delay, or never (the Originate times
  out: Reason 3), or are busy (Reason 5 for a Local phone running Busy(), 03;
  Reason 0 with cause 17 / TechCause 486 for a PJSIP endpoint, 16); a PJSIP
  endpoint may be ``unreachable`` (no contact: Reason 0 at once, no channel). Bridged to a caller, the call lasts a
  talk time; then the agent hangs up (the caller goes to the Bridge F() target)
  or the caller does (both legs end).
"""

from __future__ import annotations

import random
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .channels import Bridge, Channel, State

if TYPE_CHECKING:
    from .scenario import Dist, Scenario
    from .world import World

VN_PREFIXES = (
    "90", "91", "93", "94", "96", "97", "98", "86", "88", "89", "32", "33", "34", "35",
    "36", "37", "38", "39", "70", "76", "77", "78", "79", "81", "82", "83", "84", "85",
)  # fmt: skip


def phone_plan(world: World, key: str) -> tuple[str, float]:
    """How an agent phone takes a call: ("answer", delay) / ("busy", 0) / ("noanswer", 0)."""
    if world.population is None:
        return ("answer", 0.0)
    plan: tuple[str, float] = world.population.agent_plan(key)
    return plan


async def agent_rings(world: World, phone: Channel) -> bool:
    """``Answer()`` on the phone half of an agent Local pair: ring first, per the scenario."""
    if world.population is None or phone.peer is None:
        return True  # 03: the test bench's agent-phones answer at once
    outcome, delay = world.population.agent_plan(phone.peer.agent_key)
    if outcome == "unreachable":
        outcome = "answer"  # a Local phone has no contact to lack: it answers at once
    if outcome == "busy":
        world.busy(phone)
        await world.sleep(1e9)
        return False
    world.ringing(phone)
    await world.sleep(1e9 if outcome == "noanswer" else delay)
    return True


@dataclass(eq=False)
class SimCaller:
    """One simulated customer and what happened to them."""

    number: str
    digits: deque[str]
    patience: float
    press_delay: Dist
    rng: random.Random
    channel: str = ""
    outcome: str = ""  #: "abandoned", "hung-up-on-agent", "ended"
    pressed: list[str] = field(default_factory=list)
    #: digit strings for prompts heard after talking to an agent (a post-call survey)
    survey: deque[str] = field(default_factory=deque)
    #: has been bridged to an agent
    talked: bool = False
    _pressing: bool = False
    _patience_task: Any = None

    def start_patience(self, world: World, ch: Channel) -> None:
        self.stop_patience()
        self._patience_task = world.spawn(self._wait_out(world, ch), f"patience {ch.name}")

    def stop_patience(self) -> None:
        if self._patience_task is not None:
            self._patience_task.cancel()
            self._patience_task = None

    async def _wait_out(self, world: World, ch: Channel) -> None:
        await world.sleep(self.patience)
        if not ch.hanging and not _with_agent(ch):
            self.outcome = self.outcome or "abandoned"
            world.hangup(ch, how="remote", cause=16)

    def _script(self, ch: Channel) -> deque[str]:
        return self.survey if self.talked else self.digits

    def prompt_started(self, world: World, ch: Channel, reader: Any) -> None:
        if self.talked and not reader.prompted:
            return  # survey answers go to the questions, not to a hold slice (21)
        if self._script(ch) and not self._pressing:
            self._pressing = True
            world.spawn(self._press(world, ch, reader), f"press {ch.name}")

    async def _press(self, world: World, ch: Channel, reader: Any) -> None:
        try:
            await world.sleep(self.press_delay.sample(self.rng))
            listening = ch.dtmf_sink  # GET DATA listens in two steps: prompt, then digits
            script = self._script(ch)
            if (
                listening is None
                or not getattr(listening, "accept", "")
                or self.talked and not listening.prompted
                or ch.hanging
                or not script
            ):
                return
            digits = script.popleft()
            self.pressed.append(digits)
            for i, digit in enumerate(digits):
                if i:
                    await world.sleep(0.25)  # SendDTMF(...,250) pacing, as in 11
                world.dtmf(ch, digit)
        finally:
            self._pressing = False


def _with_agent(ch: Channel) -> bool:
    return ch.bridge is not None and any(
        o.role == "agent" for o in ch.bridge.channels if o is not ch
    )


class Population:
    """Arrivals, callers and agent phones for one world."""

    def __init__(self, world: World, scenario: Scenario) -> None:
        self.world = world
        self.scenario = scenario
        self.rng = random.Random(world.rng.getrandbits(64))
        self.callers: list[SimCaller] = []
        self.stats: Counter[str] = Counter()
        self._task: Any = None
        self._number_i = 0
        #: agent phone key -> how many of its scripted calls (``plan``) were taken
        self._planned: Counter[str] = Counter()
        world.bridge_hooks.append(self._on_bridge)
        world.hangup_hooks.append(self._on_hangup)

    def start(self) -> None:
        self._task = self.world.spawn(self._arrivals(), "arrivals")

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
        for caller in self.callers:
            caller.stop_patience()

    def stop_arrivals(self) -> None:
        """No new callers from now on; the calls in progress go on as before."""
        if self._task is not None:
            self._task.cancel()

    def agent_plan(self, key: str) -> tuple[str, float]:
        """How agent phone ``key`` takes the next call: ("answer", delay), ("busy", 0),
        ("noanswer", 0) or ("unreachable", 0) (a PJSIP endpoint with no contact: 16)."""
        agent = self.scenario.agent(key)
        if agent.unreachable:
            return ("unreachable", 0.0)
        done = self._planned[key]
        if done < len(agent.plan):  # its scripted calls first, in order
            self._planned[key] += 1
            step = agent.plan[done]
            return (step, agent.answer_delay.sample(self.rng) if step == "answer" else 0.0)
        r = self.rng.random()
        if r < agent.busy_probability:
            return ("busy", 0.0)
        if r < agent.busy_probability + agent.no_answer_probability:
            return ("noanswer", 0.0)
        return ("answer", agent.answer_delay.sample(self.rng))

    async def _arrivals(self) -> None:
        arr = self.scenario.arrivals
        limit = arr.max_calls
        await self.world.sleep(arr.start_after)
        if arr.kind == "trace":
            start = self.world.now()
            for n, call in enumerate(arr.calls):
                if limit is not None and n >= limit:
                    return
                await self.world.sleep(call.at - (self.world.now() - start))
                self.arrive(call.number, call.digits, call.patience)
            return
        rate = arr.calls_per_minute / 60.0
        n = 0
        while rate > 0 and (limit is None or n < limit):
            await self.world.sleep(self.rng.expovariate(rate))
            self.arrive()
            n += 1

    def make_number(self) -> str:
        numbers = self.scenario.callers.numbers
        if numbers:
            self._number_i += 1
            return numbers[(self._number_i - 1) % len(numbers)]
        fmt = self.scenario.callers.number_format
        if fmt == "mixed":
            fmt = self.rng.choice(("national", "e164"))
        body = self.rng.choice(VN_PREFIXES) + "".join(
            self.rng.choice("0123456789") for _ in range(7)
        )
        return ("+84" if fmt == "e164" else "0") + body

    def arrive(
        self,
        number: str = "",
        digits: tuple[str, ...] | None = None,
        patience: float | None = None,
        survey: tuple[str, ...] = (),
    ) -> SimCaller:
        """A new inbound call: a PJSIP channel entering the scenario's context (11)."""
        sc, world = self.scenario, self.world
        menus = sc.callers.menus
        caller = SimCaller(
            number=number or self.make_number(),
            digits=deque(digits if digits is not None else [m.pick(self.rng) for m in menus]),
            patience=patience if patience is not None else sc.callers.patience.sample(self.rng),
            press_delay=sc.callers.press_delay,
            rng=self.rng,
            survey=deque(survey),
        )
        ch = world.new_tech_channel("PJSIP", sc.trunk, sc.context, sc.dnid)
        ch.state = State.RING
        ch.role = "caller"
        ch.cid_num = caller.number
        ch.dnid = sc.dnid
        ch.sim_caller = caller
        caller.channel = ch.name
        self.callers.append(caller)
        self.stats["arrived"] += 1
        world.add_channel(ch)
        world.start_dialplan(ch, sc.context, sc.dnid, 1)
        caller.start_patience(world, ch)
        return caller

    def _on_hangup(self, ch: Channel) -> None:
        caller = ch.sim_caller
        if caller is not None:
            caller.stop_patience()
            caller.outcome = caller.outcome or "ended"
            self.stats[caller.outcome] += 1

    def _on_bridge(self, bridge: Bridge, ch: Channel, entered: bool) -> None:
        if not entered:
            if ch.sim_caller is not None and not ch.hanging:
                ch.sim_caller.start_patience(self.world, ch)
            return
        callers = [c for c in bridge.channels if c.role == "caller"]
        agents = [c for c in bridge.channels if c.role == "agent"]
        if not callers or not agents or bridge.talk_timer is not None:
            return
        for c in callers:
            if c.sim_caller is not None:
                c.sim_caller.stop_patience()
                c.sim_caller.talked = True
        agent = self.scenario.agent(agents[0].agent_key)
        talk = agent.talk_time.sample(self.rng)
        agent_first = self.rng.random() < agent.agent_hangs_up_probability
        self.stats["bridged"] += 1
        bridge.talk_timer = self.world.spawn(
            self._talk(bridge, callers[0], agents[0], talk, agent_first), f"talk {bridge.uniqueid}"
        )

    async def _talk(
        self, bridge: Bridge, caller: Channel, agent: Channel, talk: float, agent_first: bool
    ) -> None:
        await self.world.sleep(talk)
        bridge.talk_timer = None
        if caller.bridge is not bridge or agent.bridge is not bridge:
            return
        who = agent if agent_first else caller
        self.stats["agent-hangup" if agent_first else "caller-hangup"] += 1
        if caller.sim_caller is not None and not agent_first:
            caller.sim_caller.outcome = "hung-up-on-agent"
        # The phone hangs up: the far half of a Local pair, or the PJSIP channel itself.
        phone = who.peer if who.half == 1 and who.peer is not None else who
        self.world.hangup(phone, how="remote", cause=16)
