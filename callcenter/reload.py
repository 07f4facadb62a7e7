"""A config reload without a restart: SIGHUP on ``callcenter run``, or :meth:`Hotline.reload`.

The file the controller was started with is read and checked again. A broken
file is refused: each problem is logged as ``file:line: path: reason`` and the
running config is kept, whole. A good one takes effect at once for what the
ACD owns: the queues (timings, strategies, skills, relax rules, aging), the
rules of ``acd`` (auto-pause, the CRM tiers) and the agents' routing data,
read again from SQL (queues, skills, penalties, weights). Callers already
waiting keep their place under the new rules (:meth:`acd.Acd.reconfigure`).
A new config the ACD cannot take (a queue dropped while a caller waits in it,
an agent dropped while logged in) is refused the same way, nothing changed.
The IVR file (``ivr_file``, read again with the config) applies to new calls
at once; calls in the IVR finish on the version they started with (each
session holds its own definition), and a broken IVR file refuses the whole
reload with its ``file:line`` problems, the running IVR kept.
The other sections (nodes, the dialplan names, the database, the
web edge) keep running as they were started: each one that changed is named in
a warning, and takes effect at the next restart. ``dispositions`` only fills an
empty list at the first start: the list lives in SQL, edited live by the admin
page (``callcenter.administration``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import acd
from callcenter.config import ConfigError, HotlineConfig, load_config

log = logging.getLogger(__name__)

#: the sections of the config file a reload applies live
LIVE_SECTIONS = ("queues", "acd", "ivr_file", "wallboard")


class Agents(Protocol):
    async def list_agents(self) -> Sequence[Any]: ...


class Reloadable(Protocol):
    def reload(self, config: acd.AcdConfig, tiers: Any, sl_threshold_s: float) -> None: ...

    def reload_ivr(self, ivr: Any) -> None: ...

    def reload_recording(self, policies: Any) -> None: ...

    def reload_announcements(self, policies: Any) -> None: ...

    def reload_overflow(self, targets: Any) -> None: ...

    def reload_callbacks(self, policies: Any) -> None: ...


@dataclass(frozen=True)
class Reloaded:
    """What a reload did: the config that runs now (the old one when refused)."""

    config: HotlineConfig
    #: why the new file was refused (``file:line: path: reason``); empty: applied
    problems: tuple[str, ...] = ()
    #: sections that changed but take effect at the next restart
    restart_needed: tuple[str, ...] = ()

    @property
    def applied(self) -> bool:
        return not self.problems


async def agent_configs(store: Agents, config: HotlineConfig) -> list[acd.AgentConfig]:
    """The ACD's agents from SQL: every row of role ``agent``, with its routing data.

    An agent serves the queues its row lists that the config declares (all of them
    when it lists none, or none of those); its skills, penalties and weights are
    taken as stored (penalties and weights only for the queues it serves). A row
    the ACD cannot take raises :class:`acd.InvalidValue` naming the row.
    """
    names = [q.name for q in config.queues]
    out = []
    for a in await store.list_agents():
        if a.role != "agent":
            continue
        queues = tuple(q for q in (a.queues or names) if q in names) or tuple(names)
        try:
            agent = acd.AgentConfig(
                str(a.id),
                a.display_name,
                a.device or f"PJSIP/{a.username}",
                queues,
                skills=dict(a.skills or {}),
                penalties={q: p for q, p in (a.penalties or {}).items() if q in queues},
                weights={q: w for q, w in (a.weights or {}).items() if q in queues},
            )
        except acd.InvalidValue as exc:  # a row edited by hand in SQL: say which
            raise acd.InvalidValue(f"agents row {a.id} ({a.username!r}): {exc}") from None
        out.append(agent)
    return out


async def reload_config(running: HotlineConfig, store: Agents, controller: Reloadable) -> Reloaded:
    """Read ``running.path`` again and apply it live (see the module docstring)."""
    path = running.path
    if path is None:
        raise ValueError("this config was not loaded from a file: nothing to reload")
    try:
        new = await asyncio.to_thread(load_config, path)
    except ConfigError as exc:
        for p in exc.problems:
            log.error("config reload refused, the running config kept: %s", p)
        return Reloaded(running, tuple(str(p) for p in exc.problems))
    try:
        agents = await agent_configs(store, new)
        controller.reload(new.acd_config(agents), new.call_tiers(), new.queues[0].sl_threshold_s)
        controller.reload_recording(new.recording_policies())
        controller.reload_announcements(new.announcement_policies())
        controller.reload_overflow(new.overflow_targets())
        controller.reload_callbacks(new.callback_policies())
    except acd.AcdError as exc:
        reason = f"{path}: {exc}"
        log.error("config reload refused, the running config kept: %s", reason)
        return Reloaded(running, (reason,))
    later = tuple(
        name
        for name in HotlineConfig.model_fields
        if name not in (*LIVE_SECTIONS, "dispositions")
        and getattr(new, name) != getattr(running, name)
    )
    if new.dispositions != running.dispositions:  # it only fills an empty list
        log.warning("config reload: dispositions changed; the list lives in the database"
                    " (filled from the file at the first start): edit it at /admin")  # fmt: skip
    if new.ivr != running.ivr:
        controller.reload_ivr(new.ivr)
        log.info("IVR reloaded from %s: new calls take it, calls in the IVR keep theirs",
                 new.ivr_path)  # fmt: skip
    for name in later:
        log.warning("config reload: %s changed; it takes effect at the next restart", name)
    log.info("config reloaded from %s: queues %s", path, ", ".join(q.name for q in new.queues))
    return Reloaded(new, (), later)
