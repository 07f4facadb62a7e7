"""A slow or dead HTTP CRM never delays routing: pbxsim callers over real TCP AMI, the
controller, SQL, and the CRM a local aiohttp server over real HTTP. What each agent
was shown is read from its desktop's WebSocket (logged in like the page does) and
from the screen-pop webhook (``crm.webhook``), also real HTTP."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

from crm_bridge.numbers import normalize_number

from .crm_server import LocalCrm, local_crm, refused_url
from .e2e_support import drain, hotline_rig, wait_until


def http_crm_config(crm_url: str, hook_url: str, **over: object) -> Callable[[str], str]:
    settings = {"lookup_timeout_s": 0.5, "retries": 0, "breaker_failures": 5,
                "breaker_reset_s": 30, **over}  # fmt: skip
    lines = "".join(f"  {k}: {v}\n" for k, v in settings.items())
    section = (
        "\ncrm:\n  backend: http\n" + lines
        + f"  http:\n    by_number_url: {crm_url}/customers?phone={{number}}\n"
        "    fields: {external_id: data.id, full_name: data.name, tier: data.tier}\n"
        f"  webhook:\n    url: {hook_url}/hooks/pop\n    timeout_s: 5\n"
    )  # fmt: skip
    return lambda text: text + section


@contextlib.asynccontextmanager
async def desktops(base: str, agents: int) -> AsyncIterator[list[dict[str, Any]]]:
    """Every message the agents' desktops receive, in order (agent1 .. agentN logged in)."""
    seen: list[dict[str, Any]] = []
    # unsafe: keep the cookies of a host that is an IP address (127.0.0.1)
    sessions = [aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
                for _ in range(agents)]  # fmt: skip

    async def listen(http: aiohttp.ClientSession, n: int) -> None:
        resp = await http.post(base + "/login", allow_redirects=False,
                               headers={"Origin": base},
                               data={"username": f"agent{n}", "password": f"agent{n}-pass"})  # fmt: skip
        assert resp.status in (302, 303), (resp.status, await resp.text())
        async with http.ws_connect(base + "/ws/agent", headers={"Origin": base}) as ws:
            async for msg in ws:
                if msg.type is aiohttp.WSMsgType.TEXT:
                    seen.append({**msg.json(), "_agent": str(n)})

    tasks = [asyncio.ensure_future(listen(h, i + 1)) for i, h in enumerate(sessions)]
    try:
        await wait_until(lambda: len({m["_agent"] for m in seen}) == agents or any(
            t.done() for t in tasks), 30, "every desktop to be connected")  # fmt: skip
        for t in tasks:
            if t.done():
                t.result()  # a login or connect that failed says why
        yield seen
    finally:
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for h in sessions:
            await h.close()


def pops_in(seen: list[dict[str, Any]]) -> int:
    return sum(1 for m in seen if m["type"] == "screen_pop")


def settled(seen: list[dict[str, Any]], call_id: str) -> str | None:
    """What the agent's desktop last showed of the CRM for ``call_id``."""
    last = [m["crm"] for m in seen if m.get("call_id") == call_id and "crm" in m]
    return last[-1] if last else None


async def scrape(url: str) -> dict[str, float]:
    async with aiohttp.ClientSession() as http, http.get(url) as resp:
        text = await resp.text()
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name.startswith("hotline_crm_"):
                key = s.name + ("{" + ",".join(f"{k}={v}" for k, v in s.labels.items()) + "}"
                                if s.labels else "")  # fmt: skip
                out[key] = s.value
    return out


async def test_a_crm_that_holds_every_request_delays_no_call_and_the_pops_say_unavailable(
    tmp_path: Path, db_url: str
) -> None:
    async with local_crm() as server:
        server.mode = "hold"  # answers nothing until the test ends
        edit = http_crm_config(server.url, server.url)
        async with hotline_rig(tmp_path, db_url, edit_config=edit) as rig:
            async with desktops(rig.hotline.urls.base, 3) as seen:
                # (calls may have rung before the desktops were connected: count what they saw)
                await wait_until(lambda: pops_in(seen) >= 3, 120, "three screen-pops seen")
                # calls were offered while the CRM answered nothing at all
                assert not server.release.is_set() and server.holding >= 3
                pops = [m for m in seen if m["type"] == "screen_pop"]
                # each pop went out before or after the lookup's budget ran out ("pending",
                # then a card message; or "unavailable" at once): never waiting for the CRM
                assert {p["crm"] for p in pops} <= {"pending", "unavailable"}
                assert all(p["card"] is None for p in pops)
                for pop in pops:
                    await wait_until(lambda p=pop: settled(seen, p["call_id"]) == "unavailable",
                                     30, f"the desktop to say unavailable for {pop['call_id']}")  # fmt: skip
            assert all(n >= 1 for n in server.holding_at_hook), server.holding_at_hook
            figures = await scrape(rig.hotline.urls.metrics)
            assert figures["hotline_crm_failures_total{reason=timeout}"] >= 3
            assert figures["hotline_crm_lookup_seconds_count"] >= 3
            await drain(rig)


async def test_a_crm_that_answers_after_the_pop_sends_the_card_after_it(
    tmp_path: Path, db_url: str
) -> None:
    async with local_crm() as server:
        server.mode = "hold"
        edit = http_crm_config(server.url, server.url, lookup_timeout_s=600)
        async with hotline_rig(tmp_path, db_url, edit_config=edit) as rig:
            await wait_until(lambda: server.hooks, 120, "a screen-pop")
            first = server.hooks[0]
            assert (first["crm"], first["card"]) == ("pending", None)
            assert server.holding_at_hook[0] >= 1, "the pop waited for the CRM"
            hub = rig.hotline.hub
            assert hub.pushed["card"] == 0
            server.customers = {normalize_number(n): {"id": f"C-{i}", "name": f"Khách {i}",
                                                      "tier": "standard"}
                                for i, n in enumerate(rig.numbers)}  # fmt: skip
            server.mode = "ok"
            server.release.set()  # the held lookups answer {"data": null}: nobody
            await wait_until(lambda: hub.pushed["card"] >= 1, 60, "the card after the pop")
            await drain(rig)


async def test_a_dead_crm_opens_the_breaker_and_a_probe_to_the_revived_crm_closes_it(
    tmp_path: Path, db_url: str
) -> None:
    dead = refused_url()
    port = int(dead.rsplit(":", 1)[1])
    async with local_crm() as hooks:
        edit = http_crm_config(dead, hooks.url, breaker_failures=2, breaker_reset_s=2)
        async with hotline_rig(tmp_path, db_url, edit_config=edit) as rig:
            metrics_url = rig.hotline.urls.metrics
            await wait_until(lambda: len(hooks.hooks) >= 3, 120, "three screen-pops")
            assert {h["crm"] for h in hooks.hooks} == {"unavailable"}
            figures = await scrape(metrics_url)
            assert figures["hotline_crm_failures_total{reason=refused}"] >= 2
            assert figures["hotline_crm_failures_total{reason=breaker_open}"] >= 1
            # the CRM comes back on its address: the next lookup after breaker_reset_s is
            # the probe; it finds the caller and closes the breaker
            revived = LocalCrm()
            revived.customers = {normalize_number(n): {"id": f"C-{i}", "name": f"Khách {i}",
                                                       "tier": "standard"}
                                 for i, n in enumerate(rig.numbers)}  # fmt: skip
            async with local_crm(port, revived):
                seen = len(hooks.hooks)
                await wait_until(lambda: any(h["crm"] == "found" for h in hooks.hooks[seen:]),
                                 180, "a pop with the card from the revived CRM")  # fmt: skip
                assert revived.requests, "the probe reached the CRM"
                figures = await scrape(metrics_url)
                assert figures["hotline_crm_breaker_state"] == 0
                await drain(rig)


#: An IVR that branches on the caller's tier first: the call cannot be queued before
#: the CRM answered or the lookup's budget ran out.
TIER_IVR = """\
languages: [vi]
default_language: vi
start: tier
fallback_queue: support
prompts: {}
nodes:
  tier:
    type: condition
    branches:
      - {when: {tier: [vip]}, then: {queue: support}}
    otherwise: {queue: support}
"""


async def test_an_ivr_waiting_on_the_tier_waits_no_longer_than_the_budget(
    tmp_path: Path, db_url: str
) -> None:
    ivr = tmp_path / "tier-ivr.yaml"
    ivr.write_text(TIER_IVR, encoding="utf-8")
    async with local_crm() as server:
        server.mode = "hold"  # answers nothing until the test ends
        edit = http_crm_config(server.url, server.url, lookup_timeout_s=1.0)
        async with hotline_rig(tmp_path, db_url, edit_config=edit, ivr_file=ivr) as rig:
            async with desktops(rig.hotline.urls.base, 3) as seen:
                await wait_until(lambda: pops_in(seen) >= 3, 120, "three screen-pops seen")
                assert not server.release.is_set() and server.holding >= 3
                pops = [m for m in seen if m["type"] == "screen_pop"]
                # the condition waited for the lookup, which gave up at its budget: every
                # call was routed (as a caller of no tier) and popped as unavailable
                assert {(p["crm"], p["card"]) for p in pops} == {("unavailable", None)}
            await drain(rig)
