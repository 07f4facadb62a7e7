"""The built-in CRM's customers: CSV import (every bad row named by its line, nothing
half-imported), languages and notes, tickets with status and escalation on the card."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from callcenter.demo import config_text
from callcenter.storage import Store, make_engine, make_session_factory, migrate
from crm_bridge.csv_import import CsvRejected, import_rows, read_csv
from crm_bridge.models import Customer
from crm_bridge.sql_crm import SqlCrm
from crm_bridge.tickets import TicketRejected, open_ticket, update_ticket

ROOT = Path(__file__).resolve().parent.parent
T0 = dt.datetime(2026, 3, 2, 8, 30, tzinfo=dt.UTC)

GOOD = (
    "full_name,numbers,account_no,tier,language,notes\n"
    "Nguyễn Văn An,0901234567; +84 91 234 5678,A-1,vip,vi,prefers mornings\n"
    '"Trần, Thị Bích",0987654321,,standard,en,"two\nlines"\n'
    "\n"
    "Lê Cường,0321234567,A-3,,,\n"
)


def problems(text: str | bytes) -> list[str]:
    data = text.encode() if isinstance(text, str) else text
    with pytest.raises(CsvRejected) as caught:
        read_csv(data, "c.csv")
    return [str(p) for p in caught.value.problems]


def test_a_good_file_reads_every_row_with_its_line() -> None:
    rows = read_csv(GOOD.encode("utf-8-sig"), "c.csv")  # a byte-order mark is fine
    assert [(r.line, r.customer.full_name, r.phones) for r in rows] == [
        (2, "Nguyễn Văn An", ["+84901234567", "+84912345678"]),
        (3, "Trần, Thị Bích", ["+84987654321"]),
        (6, "Lê Cường", ["+84321234567"]),  # the quoted field spans lines 3-4; 5 is blank
    ]
    an = rows[0].customer
    assert (an.account_no, an.tier, an.language, an.notes) == ("A-1", "vip", "vi",
                                                               "prefers mornings")  # fmt: skip
    assert rows[1].customer.notes == "two\nlines" and rows[2].customer.tier == "standard"


HEADER = "full_name,numbers,account_no,tier,language\n"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", ["c.csv:1: empty file: a header row is needed"]),
        ("name,numbers\nAn,0901234567\n",
         ["c.csv:1: unknown column 'name' (columns: full_name, numbers, account_no, tier,"
          " language, notes); missing column full_name"]),
        ("full_name,numbers,numbers\n", ["c.csv:1: column numbers given twice"]),
        (HEADER, ["c.csv:1: no customer rows under the header"]),
        (HEADER + ",0901234567\n", ["c.csv:2: empty full_name"]),
        (HEADER + "An,\n", ["c.csv:2: no number"]),
        (HEADER + "An,0901234567;12\n", ["c.csv:2: not a phone number: '12'"]),
        (HEADER + "An,0901234567,,Gold Tier\n",
         ["c.csv:2: tier 'Gold Tier': a-z 0-9 _ -, 16 at most"]),
        (HEADER + "An,0901234567,,,vietnamese\n",
         ["c.csv:2: language 'vietnamese': a code like vi or en"]),
        (HEADER + "An,0901234567," + "9" * 33 + "\n",
         ["c.csv:2: account '" + "9" * 33 + "': 1-32 characters"]),
        (HEADER + "An," + "0901234567" + ",,,,extra\n", ["c.csv:2: 6 fields, the header has 5"]),
        (HEADER + "An,0901234567,A\nBình,+84901234567,B\nCường,0912345678,A\n",
         ["c.csv:3: number +84901234567 is also on line 2",
          "c.csv:4: account 'A' is also on line 2"]),
        (HEADER + 'An,"0901234567\n', ["c.csv:2: not CSV: unexpected end of data"]),
    ],
)  # fmt: skip
def test_each_bad_file_is_refused_naming_its_lines(text: str, expected: list[str]) -> None:
    assert problems(text) == expected


def test_a_file_that_is_not_utf8_names_the_line() -> None:
    data = (HEADER + "An,0901234567\n").encode() + "Bình,0912345678\n".encode("latin-1")
    assert problems(data) == ["c.csv:3: not UTF-8 (save the file as UTF-8)"]


def test_every_bad_row_is_listed_not_only_the_first() -> None:
    text = HEADER + ",0901234567\nAn,\nBình,0912345678\nCường,x\n"
    assert problems(text) == ["c.csv:2: empty full_name", "c.csv:3: no number",
                              "c.csv:5: not a phone number: 'x'"]  # fmt: skip


@pytest.fixture
async def store(db_url: str) -> AsyncIterator[Store]:
    await migrate(db_url)
    engine = make_engine(db_url)
    yield Store(make_session_factory(engine))
    await engine.dispose()


async def customers(store: Store) -> int:
    async with store.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(Customer)) or 0)


async def test_import_adds_every_row_and_the_card_shows_language_and_notes(store: Store) -> None:
    async with store.write_session() as session:
        assert await import_rows(session, read_csv(GOOD.encode(), "c.csv"), "c.csv") == 3
    crm = SqlCrm(store.sessions.kw["bind"])
    try:
        card = await crm.lookup_by_number("0912345678")
        assert card is not None and card.full_name == "Nguyễn Văn An" and card.is_vip
        assert (card.language, card.notes) == ("vi", "prefers mornings")
        assert card.to_json()["language"] == "vi"
        by_account = await crm.lookup_by_account("A-3")
        assert by_account is not None and by_account.full_name == "Lê Cường"
    finally:
        await crm.close()


async def test_a_row_clashing_with_a_customer_refuses_the_whole_file(store: Store) -> None:
    await store.add_customer("Khách cũ", ["0987654321"], account_no="A-3")
    with pytest.raises(CsvRejected) as caught:
        async with store.write_session() as session:
            await import_rows(session, read_csv(GOOD.encode(), "c.csv"), "c.csv")
    assert [str(p) for p in caught.value.problems] == [
        "c.csv:3: number +84987654321 is already a customer's",
        "c.csv:6: account 'A-3' is already a customer's",
    ]
    assert await customers(store) == 1, "nothing of the file was written"


async def test_tickets_with_status_and_escalation_on_the_card(store: Store) -> None:
    customer = await store.add_customer("Nguyễn Văn An", ["0901234567"], language="vi")
    async with store.write_session() as session:
        low = await open_ticket(session, customer.id, "Router blinks", T0)
        high = await open_ticket(session, customer.id, "No service", T0, escalation=2)
        done = await open_ticket(session, customer.id, "Bill question", T0)
    async with store.write_session() as session:
        await update_ticket(session, done.id, T0, status="resolved")
        await update_ticket(session, low.id, T0, status="pending")
    crm = SqlCrm(store.sessions.kw["bind"])
    try:
        card = await crm.lookup_by_number("0901234567")
        assert card is not None
        assert [(t.subject, t.status, t.escalation) for t in card.tickets] == [
            ("No service", "open", 2), ("Router blinks", "pending", 0)]  # fmt: skip
        assert card.to_json()["tickets"][0] == {"id": high.id, "subject": "No service",
                                                "status": "open", "escalation": 2}  # fmt: skip
    finally:
        await crm.close()
    for kwargs, code in [({"status": "lost"}, "bad_status"), ({"escalation": 4}, "bad_escalation")]:
        with pytest.raises(TicketRejected) as caught:
            async with store.write_session() as session:
                await update_ticket(session, high.id, T0, **kwargs)  # type: ignore[arg-type]
        assert caught.value.code == code
    with pytest.raises(TicketRejected) as caught:
        async with store.write_session() as session:
            await open_ticket(session, 9999, "x", T0)
    assert caught.value.code == "unknown_customer"


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "callcenter.cli", *args], capture_output=True, text=True,
        cwd=ROOT, timeout=120, env=dict(os.environ),
    )  # fmt: skip


def test_the_import_command_imports_a_good_file_and_refuses_a_bad_one_whole(
    tmp_path: Path,
) -> None:
    db = tmp_path / "crm.db"
    cfg = tmp_path / "hotline.yaml"
    (tmp_path / "monitor").mkdir()
    cfg.write_text(config_text(ami_port=5038, database_url=f"sqlite+aiosqlite:///{db}",
                               monitor=tmp_path / "monitor"))  # fmt: skip
    bad = tmp_path / "bad.csv"
    bad.write_text(HEADER + "An,0901234567\nBình,12\nCường,0912345678\n", encoding="utf-8")
    refused = cli("crm", "import", str(bad), "--config", str(cfg))
    assert refused.returncode == 1
    assert refused.stderr.splitlines() == [
        f"{bad}:3: not a phone number: '12'",
        f"callcenter crm import: {bad}: nothing imported",
    ]
    good = tmp_path / "good.csv"
    good.write_text(GOOD, encoding="utf-8")
    done = cli("crm", "import", str(good), "--config", str(cfg))
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"{good}: 3 customers imported"
    again = cli("crm", "import", str(good), "--config", str(cfg))
    assert again.returncode == 1
    assert f"{good}:2: number +84901234567 is already a customer's" in again.stderr
    missing = cli("crm", "import", str(tmp_path / "nope.csv"), "--config", str(cfg))
    assert missing.returncode == 1 and "cannot read" in missing.stderr
