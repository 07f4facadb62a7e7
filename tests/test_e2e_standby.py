"""A standby controller follows the leader's live fan-out until it leads (issue 18).

Two ``callcenter run`` processes on one PostgreSQL database (``TwoControllers``: a
leads, b stands by), both with ``web.fanout_url`` on a Redis of the test's own, one
pbxsim over TCP under a steady load. A real Chromium desk (agent1) and wallboard are
logged in on the STANDBY only:

- while b stands by, agent1's card shows while pbxsim still rings agent1's phone
  (its answer comes later, as pbxsim saw it), the board moves, and an action on b is
  refused with 503 ``not_driving``; its ``/metrics`` counts the leader's agents at
  work; b has sent pbxsim no AMI action;
- a is killed (SIGKILL), b takes over; the same page, never reloaded, gets the card of
  a call b itself offers, again before pbxsim's answer, exactly once (b no longer
  follows the feed: its own messages would come back from Redis), b's ``/healthz``
  says it only publishes now, and the page's Pause works.

agent1's phone answers late (``SLOW_ANSWER_S``) so the ring is long enough to look at;
every wait is for a condition, with a generous deadline.
"""

from __future__ import annotations

import json
import re
import signal
from pathlib import Path
from typing import Any

import aiohttp

from callcenter.config import DEFAULT_PAUSE_REASONS
from callcenter.demo import SECRET, AgentDesktop
from pbxsim.channels import Channel, State
from pbxsim.scenario import Scenario
from pbxsim.server import PBXSim

from .e2e_observer import Observer
from .e2e_support import seeded, stop_all, wait_until
from .redis_support import PrivateRedis
from .test_e2e_browser import (
    CUSTOMERS,
    LIVE_MS,
    chromium,
    expect,
    fetch,
    log_in,
    open_page,
    shows_at_least,
)
from .test_e2e_fanout import TWO_NODES_IN_CHROMIUM
from .test_e2e_restart_storm import world
from .test_e2e_takeover import TwoControllers, everyone_hung_up

pytestmark = TWO_NODES_IN_CHROMIUM

#: agent1's phone (PJSIP/1001) rings this long, in simulated seconds (3x: 8 s)
SLOW_ANSWER_S = 24
TIME_SCALE = 3.0
#: the controllers' offer timeout (s): above agent1's ring, so its offers are answered
OFFER_TIMEOUT_S = 30


def slow_agent1_sim(tmp_path: Path, numbers: list[str]) -> PBXSim:
    """The restart storm's world at 20 calls a minute (``test_e2e_takeover.new_sim``'s),
    agent1's phone slow to answer."""
    users = {"hotline": SECRET, "hotline-a": SECRET, "hotline-b": SECRET}
    spec = world(numbers)
    spec["arrivals"] = {"kind": "poisson", "calls_per_minute": 20}
    spec["agents"] = {**spec["agents"],
                      "phones": {"1001": {"answer_delay": SLOW_ANSWER_S}}}  # fmt: skip
    return PBXSim(port=0, users=users, scenario=Scenario.from_dict(spec), seed=18,
                  spool_dir=tmp_path / "spool", time_scale=TIME_SCALE)  # fmt: skip


def slow_offers(rig: TwoControllers) -> None:
    """Offers wait ``OFFER_TIMEOUT_S`` for an answer."""
    for path in rig.configs.values():
        text = path.read_text()
        text = text.replace("offer_timeout_s: 6\n", f"offer_timeout_s: {OFFER_TIMEOUT_S}\n")
        assert f"offer_timeout_s: {OFFER_TIMEOUT_S}\n" in text
        path.write_text(text)


def agent1_ringing(sim: PBXSim, seen: set[str]) -> Channel | None:
    """agent1's phone leg ringing now, if it is one not in ``seen``."""
    for ch in list(sim.world.channels.values()):
        if ch.role == "agent" and ch.agent_key == "1001" and ch.name not in seen \
                and ch.state == State.RINGING:  # fmt: skip
            return ch
    return None


def legs_of_agent1(sim: PBXSim) -> set[str]:
    return {ch.name for ch in sim.world.channels.values()
            if ch.role == "agent" and ch.agent_key == "1001"}  # fmt: skip


def customer_name(number: str) -> str:
    return next(c.full_name for c in CUSTOMERS if number in c.national_numbers)


async def pop_before_answer(sim: PBXSim, desk: Any, seen: set[str]) -> tuple[str, str]:
    """Wait for a new ring on agent1's phone; the page shows that caller's card while
    pbxsim still rings it, and pbxsim's answer comes after. Returns the call's id as the
    page shows it and the leg's name."""
    leg: Channel | None = None

    def rings() -> bool:
        nonlocal leg
        leg = agent1_ringing(sim, seen)
        return leg is not None

    await wait_until(rings, 180, "agent1's phone to ring")
    assert leg is not None and leg.answered is not None
    answered = leg.answered  # pbxsim's dial outcome of the leg: "answer" once picked up
    name = customer_name(leg.cid_num)  # the controller's Originate carries the caller's number
    await expect(desk.get_by_test_id("card")).to_contain_text(name, timeout=LIVE_MS)
    # the card is on the page: pbxsim has not answered agent1's leg yet...
    assert not answered.done(), f"{leg.name} answered ({answered.result()}) before the card"
    call_id = (await desk.locator("#call-id").text_content() or "").strip()
    assert call_id.startswith("pbxsim:"), call_id
    # ...and answers it later: the pop came first
    await wait_until(answered.done, 120, "agent1 to answer")
    assert answered.result() == "answer", f"{leg.name}: {answered.result()}"
    return call_id, leg.name


async def agents_at_work(base: str) -> int:
    """Agents not offline on ``base``'s ``/metrics`` (``hotline_agents`` by state)."""
    async with aiohttp.ClientSession() as http, http.get(f"{base}/metrics") as resp:
        text = await resp.text()
    found = re.findall(r'^hotline_agents\{state="([a-z]+)"\} ([0-9.]+)$', text, re.M)
    assert found, text[:2000]
    return int(sum(float(n) for state, n in found if state != "offline"))


async def healthz(base: str) -> dict[str, Any]:
    async with aiohttp.ClientSession() as http, http.get(f"{base}/healthz") as resp:
        body: dict[str, Any] = await resp.json()
        return body


async def test_a_desk_on_the_standby_is_live_and_stays_live_when_it_takes_over(
    tmp_path: Path, db_url: str, private_redis: PrivateRedis
) -> None:
    numbers = await seeded(db_url, agents=3)
    sim = slow_agent1_sim(tmp_path, numbers)
    await sim.start()
    rig = TwoControllers(tmp_path, db_url, sim, fanout_url=private_redis.url)
    slow_offers(rig)
    observer = Observer(sim.port)
    await observer.start()
    desks: list[AgentDesktop] = []
    errors: list[str] = []
    frames: list[dict[str, Any]] = []
    try:
        a, base_a = await rig.start("a")
        assert await rig.wait_term(1) == "a"
        b, base_b = await rig.start("b")
        # the agents are made ready on the leader (the standby refuses it)
        desks = [AgentDesktop(base_a, f"agent{i}", f"agent{i}-pass", ready=True)
                 for i in (1, 2, 3)]  # fmt: skip
        for d in desks:
            d.start()
        async with chromium() as browser:
            board = await open_page(browser, errors)
            await log_in(board, f"{base_b}/supervisor", "supervisor")
            desk = await open_page(browser, errors)

            def on_socket(ws: Any) -> None:
                ws.on("framereceived", lambda payload: frames.append(json.loads(payload)))

            desk.on("websocket", on_socket)
            await log_in(desk, f"{base_b}/agent", "agent1")
            # a ring that began before the page was live shows in its first state message:
            # the pop looked at is one of a ring that begins after
            live_from = legs_of_agent1(sim)
            loads: list[str] = []
            desk.on("load", lambda: loads.append(desk.url))
            board.on("load", lambda: loads.append(board.url))
            await desk.evaluate("window.sameDocument = 'not reloaded'")
            await board.evaluate("window.sameDocument = 'not reloaded'")

            # -- b stands by: the leader's feed is its pages -----------------------------
            offered = int(await board.get_by_test_id("offered").text_content() or 0)
            await shows_at_least(board, {"offered": offered + 2}, LIVE_MS / 1000)
            call_1, _leg = await pop_before_answer(sim, desk, live_from)
            refused = await fetch(desk, "/api/agent/pause",
                                  json.dumps({"reason": next(iter(DEFAULT_PAUSE_REASONS))}),
                                  "application/json")  # fmt: skip
            assert refused["status"] == 503, refused
            assert refused["data"]["error"] == "not_driving", refused
            assert rig.actions_of("b") == 0, "the standby sent AMI actions"
            assert (await healthz(base_b))["fanout"]["role"] == "subscriber"
            # /metrics' floor is the leader's too: b's own ACD has every agent offline
            assert await agents_at_work(base_b) >= 1
            pops_1 = [f for f in frames if f.get("type") == "screen_pop"
                      and f.get("call_id") == call_1]  # fmt: skip
            assert len(pops_1) == 1, pops_1

            # -- the leader dies; b leads --------------------------------------------------
            a.send_signal(signal.SIGKILL)
            await a.wait()
            before = legs_of_agent1(sim)  # every leg a originated
            assert await rig.wait_term(2) == "b"
            await wait_until(lambda: rig.actions_of("b") > 0, 60, "the new leader to act")
            call_2, leg_2 = await pop_before_answer(sim, desk, before)
            assert leg_2 not in before and call_2 != call_1
            pops_2 = [f for f in frames if f.get("type") == "screen_pop"
                      and f.get("call_id") == call_2]  # fmt: skip
            assert len(pops_2) == 1, f"the new leader's pop reached the page {len(pops_2)} times"
            health = await healthz(base_b)
            assert health["fanout"]["role"] == "publisher", health
            # the board follows b's own controller now
            offered = int(await board.get_by_test_id("offered").text_content() or 0)
            await shows_at_least(board, {"offered": offered + 1}, LIVE_MS / 1000)

            # -- actions work on b now: the page's own Pause --------------------------------
            sim.world.population.stop_arrivals()
            await everyone_hung_up(observer)
            await expect(desk.get_by_test_id("state")).to_have_text("Ready", timeout=LIVE_MS)
            await desk.get_by_test_id("pause").click()
            await expect(desk.get_by_test_id("state")).to_have_text("Paused", timeout=LIVE_MS)

            assert await desk.evaluate("window.sameDocument") == "not reloaded"
            assert await board.evaluate("window.sameDocument") == "not reloaded"
            assert loads == []
        assert b.returncode is None, "the new leader stopped"
    finally:
        await stop_all(rig.procs, desks)
        await observer.close()
        await sim.close()
    assert errors == []
