"""The built-in CRM's writes: a customer and their numbers, checked and added.

The caller owns the transaction (the store's write session, so seeding many
customers is one transaction): :func:`new_customer` checks and normalizes without
SQL, :func:`insert_customer` adds the rows on the session it is given.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from crm_bridge.models import Customer, CustomerPhone
from crm_bridge.numbers import normalize_number

__all__ = ["CustomerRejected", "insert_customer", "new_customer"]

_TIER = re.compile(r"[a-z0-9][a-z0-9_-]{0,15}")
#: an IVR language code: ``vi``, ``en``, ``en-US``
_LANGUAGE = re.compile(r"[a-z]{2,3}(-[A-Za-z]{2})?")
#: the columns' lengths (``crm_bridge.models``)
_MAX_NAME, _MAX_ACCOUNT = 128, 32


class CustomerRejected(ValueError):
    """A customer could not be added (nothing written).

    Codes: ``no_name``, ``invalid_number``, ``number_taken``, ``duplicate_account``,
    ``bad_field`` (a tier, language or field too long or of the wrong form).
    """

    code = "customer_rejected"

    def __init__(self, detail: str = "", *, code: str | None = None) -> None:
        if code is not None:
            self.code = code
        self.detail = detail
        super().__init__(f"{self.code}: {detail}" if detail else self.code)


def new_customer(
    full_name: str,
    numbers: Iterable[str],
    *,
    account_no: str | None = None,
    tier: str = "standard",
    notes: str | None = None,
    language: str | None = None,
    region: str = "VN",
) -> tuple[Customer, list[str]]:
    """The customer row and their numbers in E.164 (any spelling in, duplicates once)."""
    if not full_name or not full_name.strip():
        raise CustomerRejected("empty name", code="no_name")
    if len(full_name.strip()) > _MAX_NAME:
        raise CustomerRejected(f"a name of over {_MAX_NAME} characters", code="bad_field")
    if account_no is not None and not 0 < len(account_no) <= _MAX_ACCOUNT:
        raise CustomerRejected(f"account {account_no!r}: 1-{_MAX_ACCOUNT} characters",
                               code="bad_field")  # fmt: skip
    if not _TIER.fullmatch(tier):
        raise CustomerRejected(f"tier {tier!r}: a-z 0-9 _ -, 16 at most", code="bad_field")
    if language is not None and not _LANGUAGE.fullmatch(language):
        raise CustomerRejected(f"language {language!r}: a code like vi or en", code="bad_field")
    phones: list[str] = []
    for raw in numbers:
        e164 = normalize_number(raw, region)
        if e164 is None:
            raise CustomerRejected(f"{raw!r}", code="invalid_number")
        if e164 not in phones:
            phones.append(e164)
    customer = Customer(full_name=full_name.strip(), account_no=account_no, tier=tier,
                        notes=notes, language=language)  # fmt: skip
    return customer, phones


async def insert_customer(session: AsyncSession, customer: Customer, phones: list[str]) -> None:
    """Add the rows; a reused account number or a number another customer has is refused."""
    if customer.account_no is not None and await session.scalar(
        select(Customer.id).where(Customer.account_no == customer.account_no)
    ):
        raise CustomerRejected(customer.account_no, code="duplicate_account")
    if phones:
        taken = await session.scalar(
            select(CustomerPhone.e164).where(CustomerPhone.e164.in_(phones)).limit(1)
        )
        if taken is not None:
            raise CustomerRejected(taken, code="number_taken")
    session.add(customer)
    await session.flush()
    session.add_all(CustomerPhone(customer_id=customer.id, e164=e164) for e164 in phones)
