"""The whole config file's schema: :class:`HotlineConfig`, its sections put
together, with the database URL and the dispositions, and what it hands to the
cores (the ACD config, the recording policies, the call tiers)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Annotated, Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    Field,
    PrivateAttr,
    field_validator,
    model_validator,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from acd import AcdConfig, AgentConfig, OfferFailure
from acd.kpis import QueueTargets
from callcenter.flow.announce import AnnouncePolicy
from callcenter.flow.callback import CallbackPolicy
from callcenter.flow.homes import PhoneHomes
from callcenter.flow.overflow import OverflowTarget
from ivr import IvrDefinition
from recordings.places import Place, RecordingPlaces
from recordings.policy import RecordingPolicy
from yamlconf import matching, problem

from .asterisk import DialplanSettings, NodeConfig
from .edge import CrmSettings, LeaderSettings, WallboardSettings, WebSettings
from .fields import _Strict
from .queues import AcdSettings, QueueSettings

#: the drivers Hotline's storage layer runs on (SQLAlchemy async URLs)
DATABASE_DRIVERS = ("sqlite+aiosqlite", "postgresql+asyncpg")

_DISPOSITION = re.compile(r"[a-z][a-z0-9_]{0,31}")


#: What an agent may pick after a call (code -> label, in display order): the one
#: definition, used unless the config file's ``dispositions`` says otherwise; the
#: web edge offers these and the store accepts only these.
DEFAULT_DISPOSITIONS: Mapping[str, str] = {
    "resolved": "Resolved on the call",
    "information": "Information given",
    "follow_up": "Needs follow-up",
    "callback_requested": "Callback requested",
    "escalated": "Escalated",
    "complaint": "Complaint logged",
    "sales": "Sale / upgrade",
    "wrong_number": "Wrong number",
    "no_action": "No action needed",
}


#: The pause reasons an empty list starts with (code -> label, in display order);
#: the admin page edits the list in SQL from then on (``callcenter.administration``).
DEFAULT_PAUSE_REASONS: Mapping[str, str] = {
    "break": "Break",
    "lunch": "Lunch",
    "training": "Training",
    "meeting": "Meeting",
    "admin": "Back-office work",
}


#: the default dispositions that settle the caller's matter on the call (FCR)
DEFAULT_FCR_DISPOSITIONS = ("resolved", "information", "sales", "no_action")


def _unique_names(kind: str, field: str) -> Callable[[list[Any]], list[Any]]:
    def check(items: list[Any]) -> list[Any]:
        seen: dict[str, int] = {}
        for i, item in enumerate(items):
            if item.name in seen:
                raise problem(
                    f"duplicate {kind} name {item.name!r} (first at {field}.{seen[item.name]})",
                    at=(i, "name"),
                )
            seen[item.name] = i
        return items

    return check


def _none_is_empty(value: object) -> object:
    # `acd:` with every key commented out is YAML null: take the defaults
    return {} if value is None else value


_M = TypeVar("_M", bound=BaseModel)
#: a settings section; null (every key commented out) takes the defaults
Section = Annotated[_M, BeforeValidator(_none_is_empty)]


class HotlineConfig(_Strict):
    """The whole controller config. Build it with :func:`load_config`."""

    nodes: Annotated[list[NodeConfig], AfterValidator(_unique_names("node", "nodes"))] = Field(
        min_length=1
    )
    hotline: Section[DialplanSettings] = Field(default={}, validate_default=True)
    #: the IVR file, relative to this config file
    ivr_file: str = Field(min_length=1)
    database_url: str = "sqlite+aiosqlite:///var/hotline.db"
    queues: Annotated[list[QueueSettings], AfterValidator(_unique_names("queue", "queues"))] = (
        Field(min_length=1)
    )
    acd: Section[AcdSettings] = Field(default={}, validate_default=True)
    crm: Section[CrmSettings] = Field(default={}, validate_default=True)
    web: Section[WebSettings] = Field(default={}, validate_default=True)
    wallboard: Section[WallboardSettings] = Field(default={}, validate_default=True)
    #: leader election on PostgreSQL (several controllers, one database)
    leader: Section[LeaderSettings] = Field(default={}, validate_default=True)
    #: disposition code (a-z 0-9 _, 32 at most) -> the label agents see, in display order
    dispositions: dict[
        Annotated[str, AfterValidator(matching(_DISPOSITION, "disposition code (a-z 0-9 _)"))],
        Annotated[str, Field(min_length=1, max_length=80)],
    ] = Field(default_factory=lambda: dict(DEFAULT_DISPOSITIONS), min_length=1)
    #: the disposition codes that mean the caller's matter was settled on this call: a
    #: disposition's FCR flag when the agent does not give one (the desk's box starts
    #: ticked for them); null: those of DEFAULT_FCR_DISPOSITIONS among ``dispositions``
    fcr_dispositions: list[str] | None = None
    #: the hotline's time zone (IANA name): reports bucket hours, days, weeks and
    #: months by its clock
    time_zone: str = "UTC"

    _path: Path | None = PrivateAttr(None)
    _ivr: IvrDefinition | None = PrivateAttr(None)

    @field_validator("database_url")
    @classmethod
    def _async_url(cls, value: str) -> str:
        hint = "use sqlite+aiosqlite:///PATH or postgresql+asyncpg://USER@HOST/DB"
        try:
            url = make_url(value)
        except (ArgumentError, ValueError):  # ValueError: a port that is not a number
            raise problem(f"not a database URL; {hint}") from None
        if url.drivername not in DATABASE_DRIVERS:
            raise problem(f"unsupported driver {url.drivername!r}; {hint}")
        if not url.database:
            raise problem(f"no database named; {hint}")
        return value

    @field_validator("time_zone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise problem(f"unknown time zone {value!r}; give an IANA name like Europe/Brussels"
                          " or UTC") from None  # fmt: skip
        return value

    @model_validator(mode="after")
    def _trunks_reach_the_phones(self) -> HotlineConfig:
        """Every trunk names another node; a node holding phones is reached from each other."""
        names = [n.name for n in self.nodes]
        for i, node in enumerate(self.nodes):
            for to in node.trunks:
                if to == node.name or to not in names:
                    raise problem(f"{to!r} is not another node (nodes: {', '.join(names)})",
                                  at=("nodes", i, "trunks", to))  # fmt: skip
            for home in self.nodes:
                if home.phones and home is not node and home.name not in node.trunks:
                    raise problem(f"no trunk to {home.name!r}, whose phones ({', '.join(home.phones)}) "
                                  f"this node's callers are offered to",
                                  at=("nodes", i, "trunks"))  # fmt: skip
        return self

    @model_validator(mode="after")
    def _fcr_codes_are_dispositions(self) -> HotlineConfig:
        stray = [c for c in self.fcr_dispositions or () if c not in self.dispositions]
        if stray:
            raise problem(f"codes that are not dispositions: {stray}",
                          at="fcr_dispositions")  # fmt: skip
        return self

    @model_validator(mode="after")
    def _election_needs_postgresql(self) -> HotlineConfig:
        if self.leader.enabled and not self.database_url.startswith("postgresql"):
            raise problem("leader election needs PostgreSQL (a SQLite database has one "
                          "controller, always the leader)", at=("leader", "enabled"))  # fmt: skip
        return self

    @property
    def fcr_codes(self) -> frozenset[str]:
        """The disposition codes whose FCR flag defaults to resolved (``fcr_dispositions``)."""
        if self.fcr_dispositions is not None:
            return frozenset(self.fcr_dispositions)
        return frozenset(c for c in DEFAULT_FCR_DISPOSITIONS if c in self.dispositions)

    @property
    def zone(self) -> ZoneInfo:
        """``time_zone`` as a tzinfo."""
        return ZoneInfo(self.time_zone)

    @property
    def path(self) -> Path | None:
        """The file this config was loaded from."""
        return self._path

    @property
    def ivr_path(self) -> Path:
        """``ivr_file`` resolved against the config file's directory."""
        base = self._path.parent if self._path is not None else Path()
        return base / self.ivr_file

    @property
    def ivr(self) -> IvrDefinition:
        """The IVR loaded from ``ivr_file`` (its queues checked against ``queues``)."""
        if self._ivr is None:
            raise LookupError("HotlineConfig.ivr is only set by load_config()")
        return self._ivr

    @property
    def recordings_read_dir(self) -> Path:
        """Where the controller reads recordings: ``recordings_local_dir`` or ``recordings_dir``."""
        local = self.hotline.recordings_local_dir
        if local is None:
            return Path(self.hotline.recordings_dir)
        if self._path is not None and not local.is_absolute():
            return self._path.parent / local
        return local

    @property
    def voicemail_read_dir(self) -> Path:
        """Where the controller reads voicemails: ``voicemail_local_dir`` or ``voicemail_dir``."""
        local = self.hotline.voicemail_local_dir
        if local is None:
            return Path(self.hotline.voicemail_dir)
        if self._path is not None and not local.is_absolute():
            return self._path.parent / local
        return local

    def recording_places(self) -> RecordingPlaces:
        """The hotline's recordings directory and the nodes' own ones (as Asterisk and as
        this controller see them)."""
        nodes = {}
        for n in self.nodes:
            if n.recordings_dir is not None:
                local = n.recordings_local_dir or Path(n.recordings_dir)
                if self._path is not None and not local.is_absolute():
                    local = self._path.parent / local
                nodes[n.name] = Place(n.recordings_dir, local)
        return RecordingPlaces(Place(self.hotline.recordings_dir, self.recordings_read_dir), nodes)

    def acd_config(self, agents: Iterable[AgentConfig] = ()) -> AcdConfig:
        """The ACD core's config: these queues and rules, with ``agents`` from the caller."""
        return AcdConfig(
            queues=tuple(q.acd_queue() for q in self.queues),
            agents=tuple(agents),
            rna_pause_after=self.acd.rna_pause_after,
            offer_grace_s=self.acd.offer_grace_s,
            pause_after={OfferFailure(k): v for k, v in self.acd.pause_after.items()},
            pause_reasons={OfferFailure(k): v for k, v in self.acd.pause_reasons.items()},
        )

    def recording_policies(self) -> dict[str, RecordingPolicy]:
        """Each queue's recording policy, by queue name."""
        return {q.name: q.recording.policy() for q in self.queues}

    def announcement_policies(self) -> dict[str, AnnouncePolicy]:
        """Each queue's announcements, by queue name (a queue without: not listed)."""
        return {q.name: q.announce.policy() for q in self.queues if q.announce is not None}

    def callback_policies(self) -> dict[str, CallbackPolicy]:
        """Each queue's queued callback, by queue name (a queue without: not listed)."""
        return {q.name: q.callback.policy() for q in self.queues if q.callback is not None}

    def phone_homes(self) -> PhoneHomes:
        """Which node each agent's phone is on and the trunks between nodes (``nodes``)."""
        return PhoneHomes({n.name: tuple(n.phones) for n in self.nodes if n.phones},
                          {(n.name, to): endpoint for n in self.nodes
                           for to, endpoint in n.trunks.items()})  # fmt: skip

    def overflow_targets(self) -> dict[str, OverflowTarget]:
        """Each queue's overflow target, by queue name (a queue without: not listed)."""
        return {q.name: q.overflow.target() for q in self.queues if q.overflow is not None}

    def queue_targets(self) -> dict[str, QueueTargets]:
        """Each queue's targets (``acd.kpis.QueueTargets``), by queue name."""
        return {q.name: q.targets() for q in self.queues}

    def call_tiers(self) -> dict[str, tuple[int, dict[str, int]]]:
        """``acd.tiers`` as the call-flow core takes them: tier -> (priority, skills)."""
        return {name: (t.priority, dict(t.skills)) for name, t in self.acd.tiers.items()}
