"""Customers imported from a CSV file: every row checked first, then all added in one
transaction, or none.

The file is UTF-8 (a byte-order mark is allowed) with a header row naming its
columns: ``full_name`` and ``numbers`` are required; ``account_no``, ``tier``,
``language`` and ``notes`` are optional; any other column is refused.
``numbers`` holds one or more numbers separated by ``;`` (any spelling,
normalized to E.164 as the lookups do). A bad row is named by its line in the
file (the line its record starts on) with the reason: an empty name, no number,
a number that is not one, a number or account given twice in the file or
already a customer's, a field of the wrong form or length, a row with more
fields than the header. :class:`CsvRejected` carries every problem found.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from crm_bridge.customers import CustomerRejected, new_customer
from crm_bridge.models import Customer, CustomerPhone

__all__ = ["COLUMNS", "CsvProblem", "CsvRejected", "CsvRow", "import_rows", "read_csv"]

#: the columns a file may have; the first two are required
COLUMNS = ("full_name", "numbers", "account_no", "tier", "language", "notes")
_REQUIRED = ("full_name", "numbers")


@dataclass(frozen=True, slots=True)
class CsvProblem:
    """One bad line: ``file:line: reason``."""

    file: str
    line: int
    reason: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.reason}"


class CsvRejected(Exception):
    """The file was not imported (nothing written); ``problems`` says why, by line."""

    def __init__(self, problems: list[CsvProblem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


@dataclass(frozen=True, slots=True)
class CsvRow:
    """A checked row: the customer and their E.164 numbers, and its line."""

    line: int
    customer: Customer
    phones: list[str]


def read_csv(data: bytes, file: str, region: str = "VN") -> list[CsvRow]:
    """Every row of ``data`` checked (no SQL); :class:`CsvRejected` lists the bad ones."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise CsvRejected([CsvProblem(file, line, "not UTF-8 (save the file as UTF-8)")]) from None
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    problems: list[CsvProblem] = []
    try:
        header = next(reader, None)
    except csv.Error as exc:
        raise CsvRejected([CsvProblem(file, reader.line_num, f"not CSV: {exc}")]) from None
    if header is None:
        raise CsvRejected([CsvProblem(file, 1, "empty file: a header row is needed")])
    header = [h.strip() for h in header]
    unknown = [h for h in header if h not in COLUMNS]
    missing = [h for h in _REQUIRED if h not in header]
    twice = sorted({h for h in header if header.count(h) > 1})
    if unknown or missing or twice:
        parts = []
        if unknown:
            parts.append(f"unknown column {', '.join(map(repr, unknown))}"
                         f" (columns: {', '.join(COLUMNS)})")  # fmt: skip
        if missing:
            parts.append(f"missing column {', '.join(missing)}")
        if twice:
            parts.append(f"column {', '.join(twice)} given twice")
        why = "; ".join(parts)
        raise CsvRejected([CsvProblem(file, 1, why)])
    rows: list[CsvRow] = []
    numbers_at: dict[str, int] = {}
    accounts_at: dict[str, int] = {}
    start = reader.line_num + 1
    while True:
        try:
            record = next(reader, None)
        except csv.Error as exc:
            problems.append(CsvProblem(file, start, f"not CSV: {exc}"))
            break
        if record is None:
            break
        line, start = start, reader.line_num + 1
        if not any(field.strip() for field in record):
            continue  # a blank line
        if len(record) > len(header):
            problems.append(CsvProblem(file, line, f"{len(record)} fields, the header has "
                                                   f"{len(header)}"))  # fmt: skip
            continue
        row = {h: (record[i].strip() if i < len(record) else "") for i, h in enumerate(header)}
        raw_numbers = [n for n in row["numbers"].split(";") if n.strip()]
        if not raw_numbers:
            problems.append(CsvProblem(file, line, "no number"))
            continue
        try:
            customer, phones = new_customer(
                row["full_name"], raw_numbers, account_no=row.get("account_no") or None,
                tier=row.get("tier") or "standard", language=row.get("language") or None,
                notes=row.get("notes") or None, region=region,
            )  # fmt: skip
        except CustomerRejected as exc:
            problems.append(CsvProblem(file, line, _reason(exc)))
            continue
        for e164 in phones:
            if e164 in numbers_at:
                problems.append(CsvProblem(file, line, f"number {e164} is also on line "
                                                       f"{numbers_at[e164]}"))  # fmt: skip
            numbers_at.setdefault(e164, line)
        if customer.account_no is not None:
            if customer.account_no in accounts_at:
                problems.append(CsvProblem(file, line, f"account {customer.account_no!r} is also"
                                                       f" on line {accounts_at[customer.account_no]}"))  # fmt: skip
            accounts_at.setdefault(customer.account_no, line)
        rows.append(CsvRow(line, customer, phones))
    if problems:
        raise CsvRejected(problems)
    if not rows:
        raise CsvRejected([CsvProblem(file, 1, "no customer rows under the header")])
    return rows


async def import_rows(session: AsyncSession, rows: list[CsvRow], file: str) -> int:
    """Add the checked ``rows`` on ``session`` (the caller's one transaction); a number
    or account some customer already has refuses the whole file, naming the line."""
    problems: list[CsvProblem] = []
    by_phone = {e164: r.line for r in rows for e164 in r.phones}
    by_account = {r.customer.account_no: r.line for r in rows if r.customer.account_no}
    phones = list(by_phone)
    for i in range(0, len(phones), 500):  # bounded IN lists
        for e164 in await session.scalars(
            select(CustomerPhone.e164).where(CustomerPhone.e164.in_(phones[i : i + 500]))
        ):
            problems.append(CsvProblem(file, by_phone[e164],
                                       f"number {e164} is already a customer's"))  # fmt: skip
    accounts = list(by_account)
    for i in range(0, len(accounts), 500):
        for account in await session.scalars(
            select(Customer.account_no).where(Customer.account_no.in_(accounts[i : i + 500]))
        ):
            if account is not None:
                problems.append(CsvProblem(file, by_account[account],
                                           f"account {account!r} is already a customer's"))  # fmt: skip
    if problems:
        raise CsvRejected(sorted(problems, key=lambda p: p.line))
    session.add_all(r.customer for r in rows)
    await session.flush()
    session.add_all(CustomerPhone(customer_id=r.customer.id, e164=e164)
                    for r in rows for e164 in r.phones)  # fmt: skip
    return len(rows)


def _reason(exc: CustomerRejected) -> str:
    if exc.code == "no_name":
        return "empty full_name"
    if exc.code == "invalid_number":
        return f"not a phone number: {exc.detail}"
    return exc.detail
