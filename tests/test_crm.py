"""The built-in CRM: number normalization, lookups over real databases, demo data."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import AsyncIterator

import pytest
from argon2 import PasswordHasher
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from callcenter.demo.data import MOBILE_PREFIXES, demo_agents, demo_customers, seed_demo
from callcenter.storage import Store, make_engine, make_session_factory, migrate
from crm_bridge.card import CustomerCard
from crm_bridge.dispositions import DispositionWriteBack
from crm_bridge.lookup import CrmLookup
from crm_bridge.models import Customer
from crm_bridge.numbers import normalize_number
from crm_bridge.sql_crm import SqlCrm

T0 = dt.datetime(2026, 3, 2, 8, 30, tzinfo=dt.UTC)

SPELLINGS = [
    "0901234567",
    "84901234567",
    "+84901234567",
    "+84 90 123 4567",
    "0084901234567",
    "(090) 123-4567",
    "090.123.4567",
    " 090 123 4567 ",
    "tel:+84-90-123-4567",
]


@pytest.mark.parametrize("raw", SPELLINGS)
def test_every_spelling_of_a_vietnamese_mobile_is_one_e164(raw: str) -> None:
    assert normalize_number(raw) == "+84901234567"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("0321234567", "+84321234567"),  # Viettel 032
        ("0861234567", "+84861234567"),
        ("02838123456", "+842838123456"),  # Ho Chi Minh City landline
        ("+1 650 253 0000", "+16502530000"),  # foreign, with country code
        ("6502530000", None),  # a US number read as Vietnamese: invalid
        ("", None),
        ("   ", None),
        ("anonymous", None),
        ("1001", None),  # an internal extension
        ("090123456", None),  # a digit short
        ("09012345678", None),  # a digit long
        ("8490123456", None),
        ("+84 90 123 4567 ext. 12 and a very long tail of text after it all", None),
        (None, None),
        (901234567, None),
    ],
)
def test_normalization_table(raw: object, expected: str | None) -> None:
    assert normalize_number(raw) == expected


def test_region_decides_numbers_without_country_code() -> None:
    assert normalize_number("6502530000", region="US") == "+16502530000"
    assert normalize_number("+84901234567", region="US") == "+84901234567"


def test_demo_data_is_deterministic_for_a_seed() -> None:
    first = demo_customers(200, seed=7)
    assert first == demo_customers(200, seed=7)
    assert first != demo_customers(200, seed=8)
    assert demo_customers(50, seed=7) == first[:50]

    numbers = [n for c in first for n in c.numbers]
    assert len(numbers) == len(set(numbers)) > 200  # some customers have two mobiles
    assert all(normalize_number(n) == n for n in numbers)
    assert all(c.national_numbers[0][:3] in MOBILE_PREFIXES for c in first)
    assert all(normalize_number(n) in c.numbers for c in first for n in c.national_numbers)
    assert len({c.account_no for c in first}) == 200
    assert {c.tier for c in first} == {"vip", "standard"}
    names = [c.full_name for c in first]
    assert all(len(name.split()) == 3 for name in names)
    assert any(name.startswith("Nguyễn ") for name in names)
    assert any(" Thị " in name for name in names)


def test_demo_agents() -> None:
    agents = demo_agents(3, queues=["support"])
    assert [(a.username, a.password, a.role) for a in agents] == [
        ("agent1", "agent1-pass", "agent"),
        ("agent2", "agent2-pass", "agent"),
        ("agent3", "agent3-pass", "agent"),
        ("supervisor", "supervisor-pass", "supervisor"),
        ("admin", "admin-pass", "admin"),
    ]
    assert agents[0].device == "PJSIP/1001" and agents[0].queues == ("support",)
    assert agents == demo_agents(3, queues=["support"])


def engine_of(store: Store) -> AsyncEngine:
    engine: AsyncEngine = store.sessions.kw["bind"]
    return engine


@pytest.fixture
async def store(db_url: str) -> AsyncIterator[Store]:
    await migrate(db_url)
    engine = make_engine(db_url)
    hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    yield Store(make_session_factory(engine), hasher=hasher)
    await engine.dispose()


async def test_lookup_finds_the_customer_for_every_spelling(store: Store) -> None:
    customer = await store.add_customer(
        "Nguyễn Văn An", ["0901234567", "0321234567"], account_no="1000001", tier="vip"
    )
    await store.add_customer("Trần Thị Bích", ["0987654321"], account_no="1000002")
    agent = await store.create_agent("agent1", "agent1-pass")
    for day, code in enumerate(["information", "complaint", "follow_up", "resolved"]):
        await store.save_disposition(
            None,
            agent.id,
            code,
            f"lần {day}",
            customer_id=customer.id,
            at=T0 + dt.timedelta(days=day),
        )
    crm = SqlCrm(engine_of(store))

    cards = [await crm.lookup_by_number(raw) for raw in SPELLINGS]
    assert all(card == cards[0] for card in cards)
    card = cards[0]
    assert card is not None
    assert (card.customer_id, card.full_name, card.account_no, card.tier) == (
        customer.id,
        "Nguyễn Văn An",
        "1000001",
        "vip",
    )
    assert card.is_vip
    assert card.numbers == ("+84901234567", "+84321234567")
    assert [(i.disposition, i.created_at) for i in card.last_interactions] == [
        ("resolved", T0 + dt.timedelta(days=3)),
        ("follow_up", T0 + dt.timedelta(days=2)),
        ("complaint", T0 + dt.timedelta(days=1)),
    ]
    assert await crm.lookup_by_number("+84 32 123 4567") == card
    assert await crm.lookup_by_account("1000001") == card

    other = await crm.lookup_by_number("84987654321")
    assert other is not None and other.full_name == "Trần Thị Bích"
    assert other.last_interactions == ()
    assert await crm.lookup_by_number("0911111111") is None
    assert await crm.lookup_by_number("anonymous") is None
    assert await crm.lookup_by_account("999") is None
    await crm.close()


async def test_seeded_demo_customers_are_found_and_agents_log_in(store: Store) -> None:
    customers = demo_customers(40, seed=3)
    await seed_demo(store, customers, demo_agents(2), now=T0)
    await seed_demo(store, customers, demo_agents(2), now=T0)  # again: nothing doubles
    crm = SqlCrm(engine_of(store))
    for customer in customers:
        card = await crm.lookup_by_number(customer.national_numbers[-1])
        assert card is not None
        assert (card.full_name, card.numbers) == (customer.full_name, customer.numbers)
        assert len(card.last_interactions) == min(3, len(customer.history))
    assert await store.verify_login("agent2", "agent2-pass") is not None
    assert await store.verify_login("supervisor", "supervisor-pass") is not None
    assert await store.verify_login("supervisor", "agent2-pass") is None
    assert len(await store.list_agents()) == 4
    await crm.close()


class SlowCrm:
    def __init__(self, delay_s: float) -> None:
        self.delay_s = delay_s

    async def lookup_by_number(self, raw: str) -> CustomerCard | None:
        await asyncio.sleep(self.delay_s)
        return CustomerCard(1, "Lê Văn Cường", "42", "standard", (raw,))


class BrokenCrm:
    async def lookup_by_number(self, raw: str) -> CustomerCard | None:
        raise ConnectionError("CRM down")


async def test_lookup_times_out_to_none_and_logs(caplog: pytest.LogCaptureFixture) -> None:
    fast = CrmLookup(SlowCrm(0))
    assert (await fast.lookup("+84901234567", timeout_s=1)) is not None

    slow = CrmLookup(SlowCrm(10))
    with caplog.at_level(logging.WARNING, logger="crm_bridge.lookup"):
        assert await slow.lookup("+84901234567", timeout_s=0.01) is None
    assert slow.timeouts == 1
    assert "timed out" in caplog.text
    await slow.close()

    broken = CrmLookup(BrokenCrm())
    with caplog.at_level(logging.WARNING, logger="crm_bridge.lookup"):
        assert await broken.lookup("+84901234567", timeout_s=1) is None
    assert broken.errors == 1
    assert "CRM down" in caplog.text


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def rename(store: Store, customer_id: int, name: str) -> None:
    async with store.write_session() as session:
        customer = await session.get(Customer, customer_id)
        assert customer is not None
        customer.full_name = name


async def test_cards_are_cached_by_number_until_their_ttl(store: Store) -> None:
    customer = await store.add_customer("Nguyễn Văn An", ["0901234567"])
    clock = Clock()
    engine = make_engine(engine_of(store).url.render_as_string(False), pool_size=1)
    crm = SqlCrm(engine, owned=True)
    lookup = CrmLookup(crm, ttl_s=60, negative_ttl_s=5, clock=clock)
    try:
        card = await lookup.lookup("0901234567", timeout_s=5)
        assert card is not None and card.full_name == "Nguyễn Văn An"
        await rename(store, customer.id, "Nguyễn Văn Bình")
        # every spelling is one key: served from the cache, the rename not seen yet
        again = await lookup.lookup("+84 90 123 4567", timeout_s=5)
        assert again == card
        assert (lookup.hits, lookup.misses) == (1, 1)
        clock.now += 61
        fresh = await lookup.lookup("0901234567", timeout_s=5)
        assert fresh is not None and fresh.full_name == "Nguyễn Văn Bình"

        # no customer is cached for the shorter negative TTL
        assert await lookup.lookup("0987654321", timeout_s=5) is None
        await store.add_customer("Trần Thị Bích", ["0987654321"])
        assert await lookup.lookup("0987654321", timeout_s=5) is None
        clock.now += 6
        found = await lookup.lookup("0987654321", timeout_s=5)
        assert found is not None and found.full_name == "Trần Thị Bích"

        # garbage never reaches the CRM
        misses = lookup.misses
        assert await lookup.lookup("anonymous", timeout_s=5) is None
        assert lookup.misses == misses
    finally:
        await lookup.close()  # closes the CRM's own engine too


async def test_a_disposition_written_back_refreshes_the_card(store: Store) -> None:
    customer = await store.add_customer("Nguyễn Văn An", ["0901234567"])
    agent = await store.create_agent("agent1", "agent1-pass")
    await store.record_call_started("pbx1:1.1", "1.1", "pbx1", T0, customer_id=customer.id)
    await store.record_call_update("pbx1:1.1", agent_id=agent.id)
    lookup = CrmLookup(SqlCrm(engine_of(store)), ttl_s=3600)
    card = await lookup.lookup("0901234567", timeout_s=5)
    assert card is not None and card.last_interactions == ()
    flushed: list[bool] = []

    async def flush() -> None:
        flushed.append(True)

    back = DispositionWriteBack(store, lookup, before=flush)
    await back.save_disposition("pbx1:1.1", str(agent.id), "resolved", "đã xử lý", fcr=False)
    assert flushed == [True]
    card = await lookup.lookup("0901234567", timeout_s=5)
    assert card is not None
    assert [(i.disposition, i.notes) for i in card.last_interactions] == [("resolved", "đã xử lý")]
    await lookup.close()


class CountingCrm:
    """A backend (the protocol's, not ours) that counts the requests reaching the real CRM."""

    def __init__(self, crm: SqlCrm) -> None:
        self.crm = crm
        self.requests = 0

    async def lookup_by_number(self, raw: str) -> CustomerCard | None:
        self.requests += 1
        return await self.crm.lookup_by_number(raw)


async def test_concurrent_lookups_of_one_number_share_one_request(store: Store) -> None:
    await store.add_customer("Nguyễn Văn An", ["0901234567"])
    backend = CountingCrm(SqlCrm(engine_of(store)))
    lookup = CrmLookup(backend)
    spellings = ["0901234567", "+84901234567", "84901234567", "090 123 4567"] * 5
    cards = await asyncio.gather(*(lookup.lookup(raw, 5) for raw in spellings))
    assert all(c is not None and c == cards[0] for c in cards)
    assert backend.requests == 1
    assert (await lookup.lookup("0901234567", 5)) == cards[0] and backend.requests == 1
    await backend.crm.close()


async def test_a_lookup_after_the_database_dropped_the_crms_connection_finds_the_card(
    store: Store, db_url: str
) -> None:
    # The CRM keeps one connection; one the server closed meanwhile (a restart) is
    # replaced at once, not left to fail the next caller's lookup.
    if not db_url.startswith("postgresql"):
        pytest.skip("only a server can drop a connection under the CRM")
    await store.add_customer("Nguyễn Văn An", ["0901234567"])
    crm = SqlCrm(engine_of(store))
    try:
        assert await crm.lookup_by_number("0901234567") is not None
        async with store.sessions() as session:
            killed = await session.scalar(text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            ))  # fmt: skip
        assert killed and killed >= 1
        card = await crm.lookup_by_number("0901234567")
        assert card is not None and card.full_name == "Nguyễn Văn An"
    finally:
        await crm.close()


async def test_the_crm_reads_outside_any_transaction(store: Store) -> None:
    # Its kept connection runs in autocommit: it holds no snapshot between lookups
    # (a customer added meanwhile is found) and no lock that would hold up a writer.
    crm = SqlCrm(engine_of(store))
    try:
        assert await crm.lookup_by_number("0901234567") is None
        await store.add_customer("Nguyễn Văn An", ["0901234567"])
        card = await crm.lookup_by_number("0901234567")
        assert card is not None and card.full_name == "Nguyễn Văn An"
    finally:
        await crm.close()
