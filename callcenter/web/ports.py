"""What the web edge needs from the rest of Hotline, as small Protocols.

The web edge never imports the controller or the storage: the composition root
hands it objects that fit these shapes (the controller is a ``Desk``, the
storage ``Store`` is both ``Accounts`` and ``Dispositions``).

Ids are strings at the edge: an account's ``id`` (an int in SQL) is turned into
``str(account.id)`` and that string is the ``agent_id`` given to ``Desk`` and
``Dispositions`` and used in ``/api/agents/{agent_id}``.

Domain errors (storage's ``DispositionRejected``, acd's ``InvalidTransition`` ...)
are recognised by their ``code``, not by class: the one table in
``callcenter.web.errors`` maps each known code to an HTTP status; an exception
whose code is not in the table is a bug and stays a 500.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal, Protocol

from typing_extensions import TypedDict  # pydantic reads these for the OpenAPI document

#: A JSON object as sent to the browser.
JSONObject = dict[str, Any]


class Account(Protocol):
    """A verified login (the storage ``Agent`` row fits)."""

    @property
    def id(self) -> int | str: ...
    @property
    def username(self) -> str: ...
    @property
    def display_name(self) -> str: ...
    @property
    def role(self) -> str:
        """``agent`` | ``supervisor`` | ``admin`` (a ``StrEnum`` member fits)."""
        ...


class Accounts(Protocol):
    """Checks a username and password (argon2 lives in the store)."""

    async def verify_login(self, username: str, password: str) -> Account | None: ...


class Dispositions(Protocol):
    """Writes an agent's disposition of a call back to storage and CRM."""

    async def save_disposition(
        self, call_id: str, agent_id: str, code: str, notes: str, *, fcr: bool
    ) -> None:
        """Save (or, saved again, edit) the disposition with its FCR flag (``fcr``:
        the caller's matter was settled on this call).

        Raise a domain error (``code``/``reason``), e.g. ``unknown_call``, on bad input."""
        ...


class Desk(Protocol):
    """The controller as the web edge sees it."""

    def wallboard(self) -> WallboardSnapshot:
        """The current wallboard snapshot."""
        ...

    def agent_view(self, agent_id: str) -> AgentPage | None:
        """The agent's state; ``None`` for an unknown agent."""
        ...

    async def agent_ready(self, agent_id: str) -> None: ...

    async def agent_pause(self, agent_id: str, reason: str) -> None: ...

    async def agent_wrap_up(self, agent_id: str, action: str, seconds: float) -> None:
        """``end`` the agent's wrap-up now, or ``extend`` it by ``seconds`` (bounded by
        the queue's ``wrap_up_max_s``); a domain error (409) outside wrap-up or at the
        limit."""
        ...

    async def agent_logout(self, agent_id: str) -> None:
        """The agent logged out of the desk: out of the ACD too (no call is offered to an
        empty desk); an agent on a call is logged out when the call ends."""
        ...

    def waiting_calls(self, queue: str | None) -> list[WaitingCall]:
        """The unanswered calls of ``queue`` (every queue: None), each queue's in line
        order; an unknown queue raises a domain error (``unknown_queue``)."""
        ...

    def call_agent(self, call_id: str) -> str | None:
        """The agent of a live call ("" before one answered); ``None``: no such live call."""
        ...

    def mute_recording(self, call_id: str, muted: bool, by: str) -> bool:
        """Ask to (un)mute the call's recording; False: no recording is running."""
        ...

    def record_on_demand(self, call_id: str, by: str) -> bool:
        """Start recording the talking call; False: not talking, or recorded already."""
        ...

    def send_to_ivr(self, call_id: str, node: str, by: str) -> str | None:
        """Send the talking caller to IVR node ``node``; why not (``"no such node"``,
        ``"not talking"``), or None when asked."""
        ...

    def queue_names(self) -> list[str]:
        """The ACD's queues, by name (where an agent may transfer a caller)."""
        ...

    def agent_names(self) -> list[tuple[str, str]]:
        """The ACD's agents, (id, name) by name (to whom an agent may transfer a caller)."""
        ...

    def transfer(
        self, call_id: str, queue: str, by_agent: str, agent: str | None = None
    ) -> str | None:
        """Hand agent ``by_agent``'s talking call on to ``queue`` (blind), or to ``agent``
        in ``queue`` ("": the call's queue); why not (``"unknown_queue"``,
        ``"unknown_agent"``, ``"not_talking"``, ``"not_your_call"``, ``"same_agent"``,
        ``"agent_unavailable"``), or None when asked."""
        ...

    def consult(
        self, call_id: str, by_agent: str, agent: str | None, queue: str = ""
    ) -> str | None:
        """Agent ``by_agent`` consults ``agent`` about its talking call before handing it
        on (attended transfer: the other agent's phone rings, the caller holds), or
        (``agent`` None) ``queue``'s next Ready agent as the ACD would route; why not
        (a transfer's refusals, ``"consulting"``, ``"agent_busy"``,
        ``"no_agent_ready"``), or None when asked."""
        ...

    def end_consult(self, call_id: str, by_agent: str, complete: bool) -> str | None:
        """Complete (the caller talks to the consulted agent) or cancel (back to
        ``by_agent``) the consultation; why not (``"not_talking"``, ``"not_your_call"``,
        ``"not_consulting"``, ``"not_answered"``), or None when asked."""
        ...

    async def schedule_callback(
        self, call_id: str, by_agent: str, due: dt.datetime, number: str | None, note: str
    ) -> tuple[str, str] | str:
        """Schedule a callback on agent ``by_agent``'s call for ``due`` (aware): (the number
        dialled, the queue), or why not (``"unknown_call"``, ``"not_your_call"``,
        ``"no_queue"``, ``"bad_number"``, ``"already_scheduled"``, ``"unavailable"``)."""
        ...

    def move_call(
        self, call_id: str, queue: str | None, priority: int | None, position: int | None,
        by: str,
    ) -> WaitingCall | None:  # fmt: skip
        """A supervisor moves a waiting call (another queue keeping its wait, a new
        priority, a place in line); its row of :meth:`waiting_calls` after the move (None:
        gone meanwhile). The ACD's refusals are domain errors: ``unknown_call``,
        ``unknown_queue``, ``call_not_waiting``, ``past_max_wait``."""
        ...

    def spy(self, agent_id: str, phone: str, mode: str, by: str) -> str | None:
        """Ring ``phone`` into ChanSpy on the agent's call (``listen``, ``whisper``,
        ``barge``); why not (``"unknown mode"``, ``"not talking"``), or None when sent."""
        ...


class Phones(Protocol):
    """The phone of a login (the storage ``Store`` fits): a supervisor's, to spy from."""

    async def phone_of(self, account_id: str) -> str | None:
        """The dial string of the login's phone (``PJSIP/9000``); None: none set."""
        ...


# -- The JSON the pages render. The controller builds these; keys not listed are
#    ignored by the pages, missing optional keys are shown as "–".


class AgentRow(TypedDict, total=False):
    id: str
    name: str
    #: ready | ringing | talking | wrapup | paused | offline
    state: str
    #: Epoch seconds (server clock) of the last state change; None for an agent
    #: logged out since before the controller started (when is not known).
    since: float | None
    call_id: str | None
    pause_reason: str | None
    #: a program plays this agent's desk (the demo's simulated agents)
    simulated: bool
    #: calls the agent answered since local midnight
    calls: int
    #: average handle time today (talk, hold and wrap-up over calls answered); None: no call
    aht_s: float | None


class AmiNode(TypedDict):
    node: str
    connected: bool
    #: the last connect error while the node is down, else None
    error: str | None


class WaitingCall(TypedDict):
    call_id: str
    queue: str
    caller: str
    #: Epoch seconds when the call entered the queue
    entered_at: float
    priority: int
    #: 1-based place in its queue's line (effective priority, then entry)
    position: int | None
    #: WAITING calls before it, the input of its estimated wait beside the queue's
    ahead: int | None
    #: its estimated wait still ahead, seconds (``acd.ewt``; None: no estimate yet)
    ewt_s: float | None
    #: in line, or an agent's phone rings with it (only a waiting call can be moved)
    state: Literal["waiting", "ringing"]


class EwtInputs(TypedDict):
    """What a queue's estimated wait is computed from (``acd.ewt``)."""

    #: mean talk time of its last answered calls, and over how many
    talk_s: float | None
    talk_samples: int
    #: talk + wrap-up: an agent's cycle per caller
    handle_s: float | None
    #: agents counted as serving its line (talking, wrapping up, ringing, or ready
    #: while nobody waits)
    serving_agents: int


class Interval(TypedDict):
    """The whole centre's calls that left a queue in one 15 minutes of the day."""

    #: Epoch seconds the interval starts
    start: float
    answered: int
    abandoned: int
    #: timed out or lost
    other: int
    service_level_pct: float | None


class QueueTile(TypedDict, total=False):
    """One queue's figures: waiting now, and since local midnight (``callcenter.board``)."""

    name: str
    #: the queue's place in the config
    index: int
    waiting: int
    #: Epoch seconds the longest-waiting call entered (None: nobody waits)
    oldest_at: float | None
    longest_wait_s: float
    offered: int
    answered: int
    abandoned: int
    service_level_pct: float | None
    #: the same over the visits that ended in the last 30 minutes
    service_level_30m_pct: float | None
    asa_s: float | None
    abandon_rate_pct: float | None
    #: abandoned before short_abandon_s: left out of SL and abandon rate (``acd.kpis``)
    short_abandoned: int
    sl_threshold_s: float
    short_abandon_s: float
    sl_target_pct: float
    longest_wait_limit_s: float
    #: agents serving the queue, by page state
    agents: dict[str, int]
    #: the estimated wait of a caller joining now, seconds (None: no estimate: no
    #: talk time observed yet, or nobody to serve the queue), and its inputs
    ewt_s: float | None
    ewt_inputs: EwtInputs


class WallboardSnapshot(TypedDict, total=False):
    """The centre's figures at the top level (the queues' tallies summed), then the
    queues, the waiting calls, the agents and the AMI links."""

    #: Epoch seconds (server clock) when the snapshot was taken.
    at: float
    waiting: int
    oldest_at: float | None
    longest_wait_s: float
    offered: int
    answered: int
    abandoned: int
    service_level_pct: float | None
    service_level_30m_pct: float | None
    #: The service-level target (e.g. 80 % answered within 20 s): the centre's is the
    #: queues' targets weighted by their offered calls.
    sl_target_pct: float
    #: the queues' SL threshold when they share one, else None
    sl_threshold_s: float | None
    asa_s: float | None
    abandon_rate_pct: float | None
    short_abandoned: int
    #: Epoch seconds of the local midnight the day's figures count from
    day_start: float
    #: the colours' thresholds (config ``wallboard``)
    thresholds: dict[str, float]
    queues: list[QueueTile]
    waiting_calls: list[WaitingCall]
    #: the day by 15 minutes (those a call left a queue in), in order
    intervals: list[Interval]
    agents: list[AgentRow]
    ami: list[AmiNode]
    #: the AMI nodes whose link is down (the wallboard's banner)
    pbx_down: list[str]


class AgentPage(TypedDict, total=False):
    agent_id: str
    name: str
    state: str
    since: float
    pause_reason: str | None
    call_id: str | None
    caller_number: str | None
    #: The CRM card of the current caller, or ``None``.
    card: JSONObject | None
    ivr: JSONObject | None
    #: in wrap-up: when it ends (epoch seconds) and the latest an extension may reach
    wrap_up_until: float
    wrap_up_limit: float
