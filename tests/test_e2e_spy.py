"""A supervisor listens to, whispers to and barges into an agent's call from their phone.

pbxsim over real TCP AMI (ChanSpy as transcript 19 recorded it), the controller, a real
database (SQLite and PostgreSQL) and the HTTP API over a real socket: a caller talks to
its agent; ``POST /api/agents/{id}/spy`` rings the supervisor's phone into
``ChanSpy(<the agent's channel>,qE|qwE|qBE)``. An AMI session of the test sees each
spy's channel made, its ChanSpyStart naming the agent's channel as the spyee, and its
ChanSpyStop when the supervisor hangs up (listen, whisper) or when the agent does (barge,
option E). The refusals (anonymous, agent, no phone, unknown agent, bad mode, no call)
each get their status and code.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aiohttp

from callcenter.demo import SECRET
from pbxsim.testing import connect

from .e2e_support import hotline_rig, scenario, wait_until

#: the supervisor's phone: the Local channel transcript 19 rang (pbxsim's supervisor-phone)
PHONE = "Local/9000@supervisor-phone"
OPTIONS = {"listen": "qE", "whisper": "qwE", "barge": "qBE"}


def world(numbers: list[str]) -> dict[str, Any]:
    return scenario(numbers, arrivals={"kind": "poisson", "calls_per_minute": 0},
                    agents={"default": {"answer_delay": [1, 1], "talk_time": [1e6, 1e6]}})  # fmt: skip


async def _login(base: str, user: str) -> aiohttp.ClientSession:
    jar = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
    async with jar.post(f"{base}/login", data={"username": user, "password": f"{user}-pass"},
                        allow_redirects=False) as r:  # fmt: skip
        assert r.status == 303, await r.text()
    return jar


async def _spy(http: aiohttp.ClientSession, base: str, agent: str, mode: Any) -> tuple[int, Any]:
    async with http.post(f"{base}/api/agents/{agent}/spy", json={"mode": mode}) as r:
        return r.status, await r.json()


async def test_listen_whisper_and_barge_ring_the_supervisors_phone_into_chanspy(
    tmp_path: Path, db_url: str
) -> None:
    async with hotline_rig(tmp_path, db_url, world, agents=1) as rig:
        ctl, sim, store = rig.ctl, rig.sim, rig.hotline.store
        base = rig.hotline.urls.base
        agent = str((await store.get_login("agent1")).id)
        sent: list[Any] = []
        sim.world.action_hooks.append(
            lambda f: sent.append(f) if f.get("Action") == "Originate"
            and f.get("Application") == "ChanSpy" else None)  # fmt: skip
        ami = await connect(sim.port, login=False)
        await ami.login("hotline", SECRET)
        anon = aiohttp.ClientSession()
        sup = await _login(base, "supervisor")
        adm = await _login(base, "admin")
        desk = await _login(base, "agent1")
        try:
            # Refusals before any call: who may, and what is missing.
            assert (await _spy(anon, base, agent, "listen"))[0] == 401
            status, body = await _spy(desk, base, agent, "listen")
            assert (status, body["error"]) == (403, "forbidden")
            status, body = await _spy(sup, base, agent, "listen")
            assert (status, body["error"]) == (409, "no_phone"), body
            await store.set_agent_profile("supervisor", device=PHONE)
            await store.set_agent_profile("admin", device=PHONE)
            status, body = await _spy(sup, base, "999999", "listen")
            assert (status, body["error"]) == (404, "unknown_agent"), body
            status, body = await _spy(sup, base, agent, "eavesdrop")
            assert (status, body["error"]) == (400, "invalid_field"), body
            status, body = await _spy(adm, base, agent, "listen")
            assert (status, body["error"]) == (409, "not_talking"), body
            assert sent == []

            # A real call, answered by the agent.
            sim.world.population.arrive(rig.numbers[0], ("1",), patience=600)

            def talking() -> Any:
                return next((c for c in ctl.calls.values() if c.agent_id == agent
                             and c.connected() and c.bridged), None)  # fmt: skip

            await wait_until(lambda: talking() is not None, 60, "the agent to talk")
            call = talking()
            node = ctl.nodes[call.node]
            [offer] = [o for o in call.live_offers() if o.agent_id == agent]
            agent_channel = node.tracker.channels[offer.leg].name
            assert agent_channel.startswith("PJSIP/1001-")

            for i, mode in enumerate(("listen", "whisper", "barge")):
                start = len(ami.messages)
                status, body = await _spy(adm if mode == "whisper" else sup, base, agent, mode)
                assert (status, body) == (202, {"agent_id": agent, "mode": mode,
                                                "phone": PHONE}), body  # fmt: skip
                # The action: Originate of the supervisor's phone into ChanSpy on the
                # agent's channel, with the mode's options (19).
                await wait_until(lambda n=i + 1: len(sent) == n, 10, f"the {mode} Originate")
                action = sent[i]
                assert action.get("Channel") == PHONE
                assert action.get("Data") == f"{agent_channel},{OPTIONS[mode]}"
                spy_id = action.get("ChannelId")
                # The events: the spy's channel made, its ChanSpyStart on the agent.
                made = await ami.event("Newchannel", timeout=10, start=start, Uniqueid=spy_id)
                spyer = made["Channel"]
                assert spyer.startswith(PHONE + "-") and spyer.endswith(";1")
                began = await ami.event("ChanSpyStart", timeout=10, start=start,
                                        SpyerChannel=spyer)  # fmt: skip
                assert began["SpyeeChannel"] == agent_channel
                assert began["SpyeeUniqueid"] == offer.leg
                assert not [m for m in ami.events("BridgeEnter") if m["Channel"] == spyer]
                # the spy's channels are no call of the hotline's: still the one call
                assert list(ctl.calls) == [call.call_id]
                if mode != "barge":
                    # The supervisor hangs up their phone (the ;2 half, as in 19).
                    await ami.action("Hangup", {"Channel": spyer[:-1] + "2"})
                else:
                    # Option E: the agent hangs up, the spy ends with them (19).
                    await ami.action("Hangup", {"Channel": agent_channel})
                stop = await ami.event("ChanSpyStop", timeout=10, start=start,
                                       SpyerChannel=spyer)  # fmt: skip
                assert stop["SpyeeChannel"] == agent_channel
                await ami.event("Hangup", timeout=10, start=start, Channel=spyer)
            assert [m["SpyeeChannel"] for m in ami.events("ChanSpyStart")] == [agent_channel] * 3

            # The call is over: nothing to spy on.
            await wait_until(lambda: talking() is None, 30, "the call to end")
            status, body = await _spy(sup, base, agent, "barge")
            assert (status, body["error"]) == (409, "not_talking"), body
            assert len(sent) == 3
            await wait_until(lambda: not ctl.calls, 30, "every call to end")
            assert ctl.counters["outcomes"] == 1
        finally:
            for s in (anon, sup, adm, desk):
                await s.close()
            await ami.close()
