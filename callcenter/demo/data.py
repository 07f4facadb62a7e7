"""Deterministic demo data: Vietnamese customers, their mobiles, and demo logins.

``demo_customers(n, seed)`` gives the same list for the same arguments, so
the demo can hand the very numbers it seeded into the CRM to the call
simulator (``DemoCustomer.national_numbers`` are what a caller ID shows).
Generation is pure; only :func:`seed_demo` touches the database.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, select

from callcenter.storage.models import Agent
from callcenter.storage.store import Store
from crm_bridge.models import Customer, Interaction

__all__ = [
    "MOBILE_PREFIXES",
    "DemoAgent",
    "DemoContact",
    "DemoCustomer",
    "demo_agents",
    "demo_customers",
    "seed_demo",
]

#: Vietnamese mobile prefixes (national, after the 10-digit renumbering of 2018),
#: those whose whole 7-digit range phonenumbers accepts as valid.
MOBILE_PREFIXES: tuple[str, ...] = (
    # Viettel
    "096", "097", "098", "086", "032", "033", "034", "035", "036", "037", "038", "039",
    # MobiFone
    "090", "093", "070", "079", "077", "076", "078",
    # VinaPhone
    "091", "094", "088", "081", "082", "083", "084", "085",
    # Vietnamobile, Gmobile
    "092", "056", "058", "059",
)  # fmt: skip

_FAMILY = (
    ("Nguyễn", 38), ("Trần", 11), ("Lê", 9), ("Phạm", 7), ("Hoàng", 5), ("Huỳnh", 4),
    ("Phan", 4), ("Vũ", 4), ("Võ", 3), ("Đặng", 2), ("Bùi", 2), ("Đỗ", 2), ("Hồ", 2),
    ("Ngô", 2), ("Dương", 1), ("Lý", 1), ("Đinh", 1), ("Trương", 1),
)  # fmt: skip
_MIDDLE_MALE = ("Văn", "Hữu", "Đức", "Minh", "Quang", "Thành", "Công", "Xuân", "Anh")
_MIDDLE_FEMALE = ("Thị", "Ngọc", "Thu", "Thanh", "Kim", "Phương", "Minh", "Hồng", "Mai")
_GIVEN_MALE = (
    "An", "Bình", "Cường", "Dũng", "Đạt", "Hải", "Hiếu", "Hùng", "Huy", "Khánh", "Khoa",
    "Long", "Lộc", "Nam", "Nghĩa", "Phong", "Phúc", "Quân", "Sơn", "Tài", "Thắng",
    "Trung", "Tuấn", "Việt", "Vinh",
)  # fmt: skip
_GIVEN_FEMALE = (
    "Anh", "Bích", "Chi", "Diệp", "Dung", "Giang", "Hà", "Hằng", "Hạnh", "Hoa", "Hương",
    "Lan", "Linh", "Loan", "Mai", "My", "Ngân", "Ngọc", "Nhung", "Oanh", "Phương",
    "Quyên", "Thảo", "Trang", "Tuyết", "Vy", "Yến",
)  # fmt: skip
_CONTACTS = (
    ("information", "Hỏi về cước phí tháng trước"),
    ("resolved", "Đã hướng dẫn đổi gói cước"),
    ("callback_requested", "Khách hẹn gọi lại buổi chiều"),
    ("complaint", "Phản ánh mất sóng khu vực nhà riêng"),
    ("follow_up", "Chờ bộ phận kỹ thuật kiểm tra"),
    ("sales", "Đăng ký gói data mới"),
    ("escalated", "Chuyển cấp trên xử lý khiếu nại"),
)


@dataclass(frozen=True, slots=True)
class DemoContact:
    """A past contact to seed into the history, ``days_ago`` before seeding."""

    days_ago: int
    disposition: str
    notes: str


@dataclass(frozen=True, slots=True)
class DemoCustomer:
    full_name: str
    account_no: str
    tier: str
    #: E.164, e.g. ``+84901234567``.
    numbers: tuple[str, ...]
    history: tuple[DemoContact, ...] = ()

    @property
    def national_numbers(self) -> tuple[str, ...]:
        """The numbers as a Vietnamese caller ID shows them: ``0901234567``."""
        return tuple("0" + number.removeprefix("+84") for number in self.numbers)


@dataclass(frozen=True, slots=True)
class DemoAgent:
    username: str
    password: str
    display_name: str
    role: str
    device: str | None
    queues: tuple[str, ...] = ()


def _full_name(rng: random.Random) -> str:
    family = rng.choices([name for name, _ in _FAMILY], [weight for _, weight in _FAMILY])[0]
    if rng.random() < 0.5:
        return f"{family} {rng.choice(_MIDDLE_MALE)} {rng.choice(_GIVEN_MALE)}"
    return f"{family} {rng.choice(_MIDDLE_FEMALE)} {rng.choice(_GIVEN_FEMALE)}"


def demo_customers(n: int, seed: int = 1) -> list[DemoCustomer]:
    """``n`` customers, the same ones for the same ``seed``: ~10 % VIP, ~20 % with
    two mobiles, ~30 % with past contacts. Numbers are unique and valid."""
    rng = random.Random(seed)
    used: set[str] = set()
    accounts: set[str] = set()
    customers = []
    for _ in range(n):
        numbers = []
        for _ in range(2 if rng.random() < 0.2 else 1):
            while True:
                number = "+84" + rng.choice(MOBILE_PREFIXES)[1:] + f"{rng.randrange(10**7):07d}"
                if number not in used:
                    used.add(number)
                    numbers.append(number)
                    break
        while True:
            account_no = f"{rng.randrange(10**9, 10**10)}"
            if account_no not in accounts:
                accounts.add(account_no)
                break
        history = tuple(
            DemoContact(rng.randrange(1, 90), *rng.choice(_CONTACTS))
            for _ in range(rng.randrange(1, 5) if rng.random() < 0.3 else 0)
        )
        customers.append(
            DemoCustomer(
                full_name=_full_name(rng),
                account_no=account_no,
                tier="vip" if rng.random() < 0.1 else "standard",
                numbers=tuple(numbers),
                history=tuple(sorted(history, key=lambda contact: contact.days_ago)),
            )
        )
    return customers


def demo_agents(k: int, *, queues: Sequence[str] = (), seed: int = 1) -> list[DemoAgent]:
    """``agent1`` .. ``agentK`` (password ``agentN-pass``, device ``PJSIP/100N``),
    plus ``supervisor``/``supervisor-pass`` and ``admin``/``admin-pass``."""
    rng = random.Random(seed)
    agents = [
        DemoAgent(
            username=f"agent{i}",
            password=f"agent{i}-pass",
            display_name=_full_name(rng),
            role="agent",
            device=f"PJSIP/{1000 + i}",
            queues=tuple(queues),
        )
        for i in range(1, k + 1)
    ]
    agents.append(DemoAgent("supervisor", "supervisor-pass", _full_name(rng), "supervisor", None))
    agents.append(DemoAgent("admin", "admin-pass", "Quản trị viên", "admin", None))
    return agents


async def seed_demo(
    store: Store,
    customers: Sequence[DemoCustomer],
    agents: Sequence[DemoAgent],
    *,
    now: dt.datetime | None = None,
) -> None:
    """Write the demo data; safe to run again (existing agents and a non-empty
    customer table are left alone). Past contacts are dated back from ``now``."""
    async with store.sessions() as session:
        usernames = set(await session.scalars(select(Agent.username)))
        has_customers = bool(await session.scalar(select(func.count()).select_from(Customer)))
    ids: list[int] = []
    for agent in agents:
        if agent.username not in usernames:
            created = await store.create_agent(
                agent.username,
                agent.password,
                agent.role,
                display_name=agent.display_name,
                device=agent.device,
                queues=agent.queues,
            )
            if agent.role == "agent":
                ids.append(created.id)
    if has_customers:
        return
    await store.add_customers(
        {
            "full_name": customer.full_name,
            "numbers": customer.numbers,
            "account_no": customer.account_no,
            "tier": customer.tier,
        }
        for customer in customers
    )
    now = now or dt.datetime.now(dt.UTC)
    async with store.write_session() as session:
        by_account = dict((await session.execute(select(Customer.account_no, Customer.id))).all())
        session.add_all(
            Interaction(
                customer_id=by_account[customer.account_no],
                agent_id=ids[index % len(ids)] if ids else None,
                created_at=now - dt.timedelta(days=contact.days_ago),
                disposition=contact.disposition,
                notes=contact.notes,
            )
            for index, customer in enumerate(customers)
            for contact in customer.history
        )
