"""The HTTP CRM backend, the lookup's budget, retries and breaker, the pop webhook:
all over real HTTP to a local aiohttp server that is slow, down or answers garbage."""

from __future__ import annotations

import asyncio

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from crm_bridge.breaker import Breaker, BreakerState
from crm_bridge.card import CrmUnavailable
from crm_bridge.figures import CrmFigures
from crm_bridge.http_crm import HttpCrm
from crm_bridge.lookup import CrmLookup
from crm_bridge.mapping import parse_path
from crm_bridge.webhook import PopWebhook

from .crm_server import AN, FIELDS, local_crm, refused_url
from .e2e_support import wait_until


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def http_crm(base: str) -> HttpCrm:
    return HttpCrm(
        by_number_url=base + "/customers?phone={number}",
        by_account_url=base + "/customers?account={account}",
        fields=FIELDS,
        headers={"Authorization": "Bearer t0k3n"},
    )


def figures_of(registry: CollectorRegistry) -> dict[str, float]:
    text = generate_latest(registry).decode()
    out = {}
    for line in text.splitlines():
        if line.startswith("hotline_crm_") and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            out[name] = float(value)
    return out


def test_json_paths() -> None:
    assert parse_path("data.items[0].name") == ("data", "items", 0, "name")
    assert parse_path("a[1][2]") == ("a", 1, 2)
    for bad in ("", "a..b", "a[x]", "a.0", "$.a", "a[*]"):
        with pytest.raises(ValueError):
            parse_path(bad)


async def test_a_card_by_number_and_by_account_with_the_auth_header() -> None:
    async with local_crm() as server:
        crm = http_crm(server.url)
        try:
            card = await crm.lookup_by_number("090 123 4567")
            assert card is not None
            assert (card.external_id, card.full_name, card.tier, card.account_no) == (
                "C-17", "Nguyễn Văn An", "vip", "42")  # fmt: skip
            assert card.numbers == ("+84901234567",) and card.language == "vi"
            assert card.customer_id is None and card.is_vip
            first = server.requests[0]
            assert first.query["phone"] == "+84901234567"  # sent as %2B84..., read back
            assert "%2B84901234567" in first.raw_path
            assert first.headers["Authorization"] == "Bearer t0k3n"
            by_account = await crm.lookup_by_account(" 42 ")
            assert by_account is not None and by_account.external_id == "C-17"
            assert await crm.lookup_by_number("0987654321") is None  # 404: nobody
            server.customers["+84987654321"] = {"id": None, "name": "x"}  # 200, no id: nobody
            assert await crm.lookup_by_number("0987654321") is None
            assert await crm.lookup_by_number("anonymous") is None
            assert len(server.requests) == 4  # garbage never reaches the CRM
        finally:
            await crm.close()


@pytest.mark.parametrize(
    ("mode", "reason"),
    [("500", "http_status"), ("text", "bad_answer"), ("types", "bad_answer"),
     ("huge", "bad_answer"), ("list", None)],
)  # fmt: skip
async def test_garbage_is_a_failure_with_its_reason_never_a_crash(
    mode: str, reason: str | None
) -> None:
    async with local_crm() as server:
        server.mode = mode
        crm = http_crm(server.url)
        registry = CollectorRegistry()
        lookup = CrmLookup(crm, retries=0, figures=CrmFigures(registry))
        try:
            if reason is None:  # a JSON list: the mapped paths lead nowhere: nobody
                assert await crm.lookup_by_number("0901234567") is None
                return
            with pytest.raises(CrmUnavailable) as caught:
                await crm.lookup_by_number("0901234567")
            assert caught.value.reason == reason
            answer = await lookup.answer("0901234567", 5)
            assert (answer.status, answer.card, answer.reason) == ("unavailable", None, reason)
            assert figures_of(registry)[f'hotline_crm_failures_total{{reason="{reason}"}}'] == 1
        finally:
            await lookup.close()


async def test_a_slow_crm_is_given_up_at_the_budget_while_it_still_holds_the_request() -> None:
    async with local_crm() as server:
        server.mode = "hold"
        registry = CollectorRegistry()
        lookup = CrmLookup(http_crm(server.url), figures=CrmFigures(registry))
        try:
            answer = await lookup.answer("0901234567", 0.3)
            assert (answer.status, answer.reason) == ("unavailable", "timeout")
            # the answer came while the CRM still held the request: nothing waited for it
            assert server.holding == 1 and not server.release.is_set()
            f = figures_of(registry)
            assert f['hotline_crm_failures_total{reason="timeout"}'] == 1
            # a failure is never cached: the next call asks again
            assert (await lookup.answer("0901234567", 0.3)).status == "unavailable"
            assert len(server.requests) == 2

            # the given-up requests were cancelled: the client closed their connections
            def dropped() -> bool:
                return all(r.transport is None or r.transport.is_closing()
                           for r in server.requests)  # fmt: skip

            await wait_until(dropped, 10, "the held requests' connections to be closed")
        finally:
            await lookup.close()


async def test_a_crm_that_is_down_is_retried_within_the_budget_then_unavailable() -> None:
    registry = CollectorRegistry()
    lookup = CrmLookup(http_crm(refused_url()), retries=2, figures=CrmFigures(registry))
    try:
        answer = await lookup.answer("0901234567", 5)
        assert (answer.status, answer.reason) == ("unavailable", "refused")
        assert figures_of(registry)['hotline_crm_failures_total{reason="refused"}'] == 3
    finally:
        await lookup.close()


async def test_a_failed_attempt_is_retried_and_the_retry_finds_the_card() -> None:
    async with local_crm() as server:
        server.fail_first = 1
        lookup = CrmLookup(http_crm(server.url), retries=1)
        try:
            answer = await lookup.answer("0901234567", 5)
            assert answer.status == "found" and answer.card is not None
            assert len(server.requests) == 2
            assert lookup.breaker.state is BreakerState.CLOSED
        finally:
            await lookup.close()


async def test_the_breaker_opens_after_n_failures_and_a_successful_probe_closes_it() -> None:
    async with local_crm() as server:
        server.mode = "500"
        clock = Clock()
        registry = CollectorRegistry()
        lookup = CrmLookup(http_crm(server.url), retries=0, clock=clock,
                           breaker=Breaker(failures=3, reset_s=30),
                           figures=CrmFigures(registry))  # fmt: skip
        try:
            for _ in range(3):
                assert (await lookup.answer("0901234567", 5)).reason == "http_status"
            assert lookup.breaker.state is BreakerState.OPEN
            assert figures_of(registry)["hotline_crm_breaker_state"] == 2
            # open: answered at once, the CRM not asked
            answer = await lookup.answer("0901234567", 5)
            assert (answer.status, answer.reason) == ("unavailable", "breaker_open")
            assert len(server.requests) == 3
            clock.now += 29
            assert (await lookup.answer("0901234567", 5)).reason == "breaker_open"
            assert len(server.requests) == 3
            # after reset_s one probe goes; it fails: open again for another reset_s
            clock.now += 1
            assert (await lookup.answer("0901234567", 5)).reason == "http_status"
            assert len(server.requests) == 4 and lookup.breaker.state is BreakerState.OPEN
            assert (await lookup.answer("0901234567", 5)).reason == "breaker_open"
            # the CRM is back: the next probe finds the card and closes the breaker
            server.mode = "ok"
            clock.now += 30
            answer = await lookup.answer("0901234567", 5)
            assert answer.status == "found" and answer.card is not None
            assert lookup.breaker.state is BreakerState.CLOSED
            assert figures_of(registry)["hotline_crm_breaker_state"] == 0
            assert (await lookup.answer("0987654321", 5)).status == "not_found"
            assert len(server.requests) == 6
            f = figures_of(registry)
            assert f['hotline_crm_failures_total{reason="breaker_open"}'] == 3
            assert f['hotline_crm_failures_total{reason="http_status"}'] == 4
        finally:
            await lookup.close()


def test_the_breakers_half_open_state_lets_one_probe_through() -> None:
    b = Breaker(failures=2, reset_s=10)
    b.failed(0)
    assert b.allow(1) and b.state is BreakerState.CLOSED
    b.failed(1)
    assert b.state is BreakerState.OPEN and not b.allow(10.9)
    assert b.allow(11) and b.state is BreakerState.HALF_OPEN
    assert not b.allow(11), "a second request while the probe is in flight"
    b.succeeded()
    assert b.state is BreakerState.CLOSED and b.allow(12)
    b.failed(13)
    assert b.state is BreakerState.CLOSED, "one failure after a success does not open it"
    b.failed(14)
    assert b.allow(24) and not b.allow(33.9), "the probe is in flight"
    assert b.allow(34), "a probe unanswered for reset_s is lost: another one goes"


async def test_a_probe_that_runs_out_of_budget_opens_the_breaker_again() -> None:
    # A probe given up at the lookup's budget must still give the breaker its verdict,
    # or the breaker would wait half-open for it and refuse every lookup meanwhile.
    async with local_crm() as server:
        server.mode = "hold"
        clock = Clock()
        lookup = CrmLookup(http_crm(server.url), retries=0, clock=clock,
                           breaker=Breaker(failures=1, reset_s=30))  # fmt: skip
        try:
            assert (await lookup.answer("0901234567", 0.2)).reason == "timeout"
            await wait_until(lambda: lookup.breaker.state is BreakerState.OPEN, 10,
                             "the breaker to open on the timed-out request")  # fmt: skip
            clock.now += 30
            assert (await lookup.answer("0901234567", 0.2)).reason == "timeout"  # the probe
            await wait_until(lambda: lookup.breaker.state is BreakerState.OPEN, 10,
                             "the timed-out probe to open the breaker again")  # fmt: skip
            assert len(server.requests) == 2
            server.mode = "ok"
            clock.now += 30
            assert (await lookup.answer("0901234567", 5)).status == "found"
            assert lookup.breaker.state is BreakerState.CLOSED
        finally:
            await lookup.close()


async def test_the_card_carries_its_open_in_crm_link() -> None:
    async with local_crm() as server:
        lookup = CrmLookup(http_crm(server.url),
                           link_template="https://crm.example/c/{external_id}?n={number}")  # fmt: skip
        try:
            card = await lookup.lookup("0901234567", 5)
            assert card is not None
            assert card.link == "https://crm.example/c/C-17?n=+84901234567"
            assert card.to_json()["link"] == card.link
        finally:
            await lookup.close()


async def test_the_pop_webhook_posts_the_card_and_call_id_and_never_waits() -> None:
    async with local_crm() as server:
        registry = CollectorRegistry()
        figures = CrmFigures(registry)
        hook = PopWebhook(server.url + "/hooks/pop", timeout_s=5, figures=figures)
        pop = {"type": "screen_pop", "call_id": "pbx1:1.1", "caller_number": "0901234567",
               "card": {"external_id": "C-17", "full_name": AN["name"]}}  # fmt: skip
        try:
            server.hook_delay_s = 0.5
            hook.send("7", pop)  # returns at once: the POST runs on its own
            assert server.hooks == [] and hook.sent == 0
            await wait_until(lambda: hook.sent == 1, 10, "the webhook's POST")
            assert server.hooks == [{"call_id": "pbx1:1.1", "agent_id": "7",
                                     "caller_number": "0901234567", "card": pop["card"],
                                     "crm": None}]  # fmt: skip
            # a receiver slower than the webhook's budget: given up, counted
            server.hook_delay_s = 30
            hook.timeout_s = 0.2
            hook.send("7", pop)
            await wait_until(lambda: hook.failures == 1, 10, "the slow webhook to be given up")
        finally:
            await hook.close()
        down = PopWebhook(refused_url() + "/hooks/pop", figures=figures)
        down.send("7", pop)
        await wait_until(lambda: down.failures == 1, 10, "the refused webhook")
        await down.close()
        assert figures_of(registry)["hotline_crm_webhook_failures_total"] == 2


async def test_concurrent_lookups_share_one_http_request() -> None:
    async with local_crm() as server:
        server.mode = "hold"
        lookup = CrmLookup(http_crm(server.url))
        try:
            waiting = [asyncio.ensure_future(lookup.answer(n, 10))
                       for n in ("0901234567", "+84901234567", "84901234567")]  # fmt: skip
            await wait_until(lambda: server.holding == 1, 10, "the request to reach the CRM")
            server.customers["+84901234567"] = AN
            server.mode = "ok"
            server.release.set()  # the held request answers {"data": null}: nobody
            answers = await asyncio.gather(*waiting)
            assert [a.status for a in answers] == ["not_found"] * 3
            assert len(server.requests) == 1
        finally:
            await lookup.close()
