"""What the controller needs from its collaborators, as small Protocols.

The composition root (:mod:`callcenter.app`) hands the controller and the
recorder objects that fit these shapes: the storage ``StoreWriter`` is a
``Writes``, the ``Store`` a ``CallFacts``, the CRM bridge's ``CrmLookup`` a
``CardLookup``, the ``LiveHub`` a ``Pushes``, ``Metrics`` a ``ShellMetrics``.
Tests may hand anything of the same shape.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, Protocol

from callcenter.storage.models import Call, CallbackRequest, CallEvent, Recording
from callcenter.storage.writes import WriteRequest
from crm_bridge.card import CardAnswer, CustomerCard
from ivr import IvrDefinition

if TYPE_CHECKING:
    from callcenter.web.ports import WallboardSnapshot


class Writes(Protocol):
    """Writes behind: queued at once, in SQL soon."""

    def submit(self, request: WriteRequest) -> bool: ...

    async def flush(self, timeout: float | None = None) -> None: ...

    @property
    def db_up(self) -> bool:
        """False from a failed attempt to reach the database until one succeeds."""
        ...


class CallFacts(Protocol):
    """What SQL knows of calls and agents, read at a (re)connect."""

    async def get_call(self, call_id: str) -> Call | None: ...

    async def open_calls(self, node: str) -> list[Call]: ...

    async def pending_callbacks(self, node: str) -> list[CallbackRequest]: ...

    async def scheduled_callbacks(self, node: str) -> list[CallbackRequest]: ...

    async def callback_scheduled_on(self, call_id: str) -> bool: ...

    async def unfinished_recordings(self, node: str) -> list[Recording]: ...

    async def latest_agent_states(self) -> dict[int, tuple[str, str | None]]: ...

    async def last_answered(self, since: dt.datetime) -> list[tuple[str, str, float]]: ...

    async def list_call_events(self, call_id: str) -> list[CallEvent]: ...

    async def list_recordings(
        self, call_id: str | None = None, limit: int = 100
    ) -> list[Recording]: ...


class CardLookup(Protocol):
    """What the CRM says of a caller's number within a time budget: a card, no such
    customer, or unavailable (failed, too slow, breaker open); never raises."""

    async def answer(self, number: str, budget_s: float) -> CardAnswer: ...


class AccountLookup(Protocol):
    """The customer with an account number a caller entered, or None (the built-in
    SQL CRM's ``lookup_by_account``); the controller bounds it with the node's budget."""

    async def lookup_by_account(self, account_no: str) -> CustomerCard | None: ...


class Pushes(Protocol):
    """Messages to the agents' pages and the wallboards."""

    def push_to_agent(self, agent_id: str, message: Mapping[str, Any]) -> int: ...

    def publish_wallboard(self, snapshot: WallboardSnapshot) -> int: ...

    @property
    def wallboards_open(self) -> int: ...

    def forget_wallboard(self) -> None: ...


class ShellMetrics(Protocol):
    """The figures the controller and the recorder count (``callcenter.metrics.Metrics``)."""

    def ami_state(self, node: str, up: bool) -> None: ...

    def call_outcome(
        self,
        outcome: str,
        wait_s: float | None = None,
        *,
        queue: str = "",
        talk_s: float | None = None,
    ) -> None: ...

    def wrap_up_ended(self, queue: str, seconds: float) -> None: ...

    def routing_decision(self, seconds: float) -> None: ...

    def screen_pop_sent(self, call_id: str) -> None: ...

    def crm_lookup(self, seconds: float) -> None: ...

    def crm_account_failure(self, reason: str) -> None: ...

    def recording_started(self) -> None: ...

    def recording_missing(self) -> None: ...

    def ivr_entry(self, flow: str, node: str) -> None: ...

    def ivr_dropoff(self, flow: str, node: str) -> None: ...

    def ivr_voicemail(self, flow: str, node: str) -> None: ...

    def ivr_callback(self, flow: str, node: str) -> None: ...

    def survey_answer(self, queue: str, question: str, score: int) -> None: ...

    def know_queues(self, names: Iterable[str]) -> None: ...

    def know_ivr(self, ivr: IvrDefinition) -> None: ...
