"""The composition root: the whole controller assembled as one aiohttp application.

:func:`create_app` returns the web app with every long-lived part of the
controller as a ``cleanup_ctx`` generator, in dependency order: the database
(migrations, engine, store), the write-behind writer, the CRM lookup, the
controller (ACD, AMI clients, recorder, desk publisher) and the event-loop lag
monitor. aiohttp enters them when the app starts and leaves them in reverse
order when it stops, and if one step fails at start, the steps already entered
are left again: nothing stays half started (a test makes each step fail).

:class:`Hotline` runs that app on a TCP site for ``callcenter run``,
``callcenter demo``, the tests and the benches, and waits for the nodes.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import secrets
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine

import acd
from acd import kpis
from callcenter.administration import Administration
from callcenter.ami import AMIClient
from callcenter.config import DEFAULT_PAUSE_REASONS, HotlineConfig
from callcenter.controller import Controller, Node
from callcenter.desk import ControllerDesk
from callcenter.fanout import PublishingHub, RedisFanout, follow
from callcenter.ivr_messages import IvrMessages
from callcenter.leader import Election
from callcenter.live import LiveHub
from callcenter.looplag import LoopLagMonitor
from callcenter.metrics import (
    Metrics,
    read_floor,
)
from callcenter.mirror import MirrorDesk
from callcenter.preflight import login_warnings, settings_warnings
from callcenter.recordings_library import RecordingLibrary
from callcenter.reload import Reloaded, agent_configs, reload_config
from callcenter.reports.service import SqlReports
from callcenter.storage import (
    Store,
    StoreWriter,
    default_journal_path,
    make_engine,
    make_session_factory,
    migrate,
)
from callcenter.storage.models import Agent
from callcenter.storage.store import REMOVED
from callcenter.storage.tokens import Tokens
from callcenter.web import create_app as create_web_app
from callcenter.web.app import create_metrics_app
from callcenter.web.keys import (
    ACCOUNTS,
    ADMIN,
    DESK,
    DISPOSITION_CODES,
    DISPOSITIONS,
    MESSAGES,
    PAUSE_REASONS,
    PHONES,
    RECORDINGS,
    REPORTS,
    SESSIONS,
)
from callcenter.web.session import Session
from callcenter.web.throttle import LoginThrottle
from crm_bridge.breaker import Breaker
from crm_bridge.dispositions import DispositionWriteBack
from crm_bridge.figures import CrmFigures
from crm_bridge.http_crm import HttpCrm
from crm_bridge.lookup import CrmLookup
from crm_bridge.sql_crm import SqlCrm
from crm_bridge.webhook import PopWebhook
from recordings import Recorder

log = logging.getLogger(__name__)

#: how long start() waits for the nodes before it goes on without them
CONNECT_WAIT_S = 10.0


#: Seconds between two reads of the logins (``_accounts``): a login removed with
#: ``callcenter users remove`` loses its open sessions within this time.
ACCOUNTS_POLL_S = 2.0


@dataclass
class Parts:
    """What the cleanup contexts built, for those who drive the app (tests, the demo)."""

    config: HotlineConfig
    hub: LiveHub
    metrics: Metrics
    lag: LoopLagMonitor
    auto_login_agents: bool
    connect_wait_s: float
    #: how often the logins are read again from SQL (removed ones lose their sessions)
    accounts_poll_s: float = ACCOUNTS_POLL_S
    #: one change of the ACD's configuration at a time (a reload, the agents' poll)
    reloading: asyncio.Lock = field(default_factory=asyncio.Lock, repr=False)
    engine: AsyncEngine | None = None
    store: Store | None = None
    writer: StoreWriter | None = None
    crm: CrmLookup | None = None
    #: the IVR's lookup by entered account (the CRM's backend)
    accounts: SqlCrm | HttpCrm | None = None
    #: the CRM's outgoing webhook per screen-pop (``crm.webhook``), if configured
    webhook: PopWebhook | None = None
    controller: Controller | None = None
    desk: ControllerDesk | None = None
    #: done once every node answered (or ``connect_wait_s`` passed) and agents logged in;
    #: None while a standby (``election``): its takeover sets it
    ready: asyncio.Task[None] | None = field(default=None, repr=False)
    #: the leader election on PostgreSQL (:mod:`callcenter.leader`); None on SQLite
    election: Election | None = None
    #: set when this controller lost the lead: it has stopped acting (``callcenter run``
    #: exits with status 3)
    lost: asyncio.Event = field(default_factory=asyncio.Event, repr=False)
    #: a standby's wait for the lead, then its takeover
    takeover: asyncio.Task[None] | None = field(default=None, repr=False)
    #: the controller's wall clock (the calls' times, the day's midnight, the last 30
    #: minutes of the wallboard and /metrics); a test sets another before the start
    wall_clock: Callable[[], dt.datetime] = field(default=lambda: dt.datetime.now(dt.UTC),
                                                  repr=False)  # fmt: skip
    #: live events to and from the other web nodes (``web.fanout_url``), if configured
    fanout: RedisFanout | None = None
    #: serve the web and follow the fan-out, drive no PBX (``callcenter run --web-only``)
    web_only: bool = False

    @property
    def pushes(self) -> LiveHub | PublishingHub:
        """The controller's hub: the local one, and the fan-out when this node publishes."""
        if self.fanout is None or self.web_only:
            return self.hub
        return PublishingHub(self.hub, self.fanout)


PARTS = web.AppKey("hotline_parts", Parts)


async def _database(app: web.Application) -> AsyncIterator[None]:
    parts = app[PARTS]
    url = parts.config.database_url
    if url.startswith("sqlite+aiosqlite:///"):
        Path(url.removeprefix("sqlite+aiosqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    await migrate(url)
    parts.engine = make_engine(url)
    parts.store = Store(make_session_factory(parts.engine),
                        disposition_codes=parts.config.dispositions)  # fmt: skip
    app[ACCOUNTS] = parts.store
    app[PHONES] = parts.store
    try:
        yield
    finally:
        await parts.engine.dispose()


async def _writer(app: web.Application) -> AsyncIterator[None]:
    parts = app[PARTS]
    assert parts.store is not None
    # the journal: next to a SQLite file, else in var/ beside the config file
    cfg = parts.config
    folder = cfg.path.parent / "var" if cfg.path is not None else None
    journal = default_journal_path(cfg.database_url, folder)
    fence = None
    if cfg.leader.enabled and not parts.web_only:  # a web-only node never leads
        election = parts.election = Election(
            cfg.database_url, cfg.leader, holder=Election.default_holder(journal),
            on_lost=lambda _why: _lost_lead(parts),
        )  # fmt: skip
        fence = election.write_term
    parts.writer = StoreWriter(parts.store, journal=journal, fence=fence,
                               fence_idle_s=cfg.leader.lease_s)  # fmt: skip
    parts.writer.start()
    parts.metrics.watch_writer(parts.writer.health)
    if parts.election is None:
        await parts.writer.flush()  # a previous run's journal is replayed before SQL is read
    try:
        yield
    finally:
        await parts.writer.close()
        if parts.election is not None:
            await parts.election.close()


def _lost_lead(parts: Parts) -> None:
    """The lead is lost (:mod:`callcenter.leader` rule 4): stop acting at once."""
    parts.lost.set()
    if parts.controller is not None:
        asyncio.get_running_loop().create_task(parts.controller.close(), name="stop acting")


async def _crm(app: web.Application) -> AsyncIterator[None]:
    parts = app[PARTS]
    c = parts.config.crm
    backend: SqlCrm | HttpCrm
    if c.backend == "http" and c.http is not None:
        h = c.http
        backend = HttpCrm(by_number_url=h.by_number_url, by_account_url=h.by_account_url,
                          fields=h.fields, headers=h.headers,
                          not_found_statuses=tuple(h.not_found_statuses),
                          max_body_bytes=h.max_body_bytes, region=c.region)  # fmt: skip
    else:
        # lookups on an engine of their own (one kept connection), so a card never waits
        # behind the controller's other SQL; cards cached (crm_bridge.lookup)
        engine = make_engine(parts.config.database_url, pool_size=1, max_overflow=1)
        backend = SqlCrm(engine, region=c.region, owned=True)
    figures = CrmFigures(parts.metrics.registry)
    crm = parts.crm = CrmLookup(
        backend, region=c.region, ttl_s=c.cache_ttl_s, negative_ttl_s=c.not_found_ttl_s,
        retries=c.retries, breaker=Breaker(failures=c.breaker_failures, reset_s=c.breaker_reset_s),
        figures=figures, link_template=c.link_template,
    )  # fmt: skip
    parts.metrics.watch_crm(lambda: crm)
    parts.accounts = backend
    if c.webhook is not None:
        parts.webhook = PopWebhook(c.webhook.url, timeout_s=c.webhook.timeout_s,
                                   figures=figures)  # fmt: skip
    try:
        yield
    finally:
        if parts.webhook is not None:
            await parts.webhook.close()
        await parts.crm.close()


async def _controller(app: web.Application) -> AsyncIterator[None]:
    parts = app[PARTS]
    store, writer, crm = parts.store, parts.writer, parts.crm
    assert store is not None and writer is not None and crm is not None
    ctl = parts.controller = await _build_controller(parts, store, writer, crm)
    ctl.wall_clock = parts.wall_clock
    parts.metrics.know_ivr(ctl.flow.ivr)
    parts.metrics.watch_floor(lambda: read_floor(ctl.core, ctl.now()))
    app[DISPOSITIONS] = DispositionWriteBack(store, crm, before=writer.flushed)
    # the policies the core holds: a config reload changes who may listen at once
    app[RECORDINGS] = RecordingLibrary(store.sessions, parts.config.recording_places(),
                                       lambda: ctl.flow.recording)  # fmt: skip
    app[MESSAGES] = IvrMessages(store.sessions, parts.config.voicemail_read_dir)
    app[REPORTS] = SqlReports(store.sessions, lambda: parts.config)
    fanout = parts.fanout
    election = parts.election
    if election is not None:
        ctl.may_act = election.may_act
        for node in ctl.nodes.values():
            node.client.may_act = election.may_act
    # a standby (another controller leads) serves what the leader publishes until it leads
    standby = election is not None and not await election.try_lead()
    desk: ControllerDesk
    if fanout is not None and (parts.web_only or standby):  # the feed is its desk
        following = follow(fanout, parts.hub)
        desk = MirrorDesk(ctl, lambda: parts.config, hub=parts.hub, following=following)
        parts.metrics.watch_floor(desk.floor)  # the driving node's floor, not the idle ACD's
    else:
        desk = ControllerDesk(ctl, lambda: parts.config)
    parts.desk = desk
    ctl.on_change(desk.changed)
    parts.metrics.watch_service_level(lambda: recent_service_levels(desk, parts.config))
    app[DESK] = desk
    await desk.load_today(store)
    if fanout is not None:
        parts.metrics.watch_fanout(fanout.health)
        fanout.start()
    if parts.web_only:
        pass  # the controller is never started
    elif election is None:
        await ctl.start()
        parts.ready = asyncio.create_task(_when_synced(parts, ctl), name="nodes synced")
        desk.start()
    elif not standby:
        await _lead(parts, ctl)
    else:
        log.warning("standby: another controller leads; taking over when its lock is free")
        parts.takeover = asyncio.create_task(_take_over(parts, ctl), name="standby")
    try:
        yield
    finally:
        if parts.takeover is not None:
            parts.takeover.cancel()
        if parts.ready is not None:
            parts.ready.cancel()
        await desk.stop()
        if fanout is not None:
            await fanout.close()
        await ctl.close()
        parts.hub.close()


async def _lead(parts: Parts, ctl: Controller) -> None:
    """This controller leads now: replay its journal under its term, then drive the
    PBXs from what SQL holds (the restart's adoption of every node's calls)."""
    assert parts.writer is not None
    await parts.writer.flush()  # a previous run's journal is replayed before SQL is read
    if isinstance(parts.desk, MirrorDesk):
        parts.desk.drive()  # a standby that followed the leader's feed: its own now
    await ctl.start()
    parts.ready = asyncio.create_task(_when_synced(parts, ctl), name="nodes synced")
    if parts.desk is not None:
        parts.desk.start()  # a standby publishes no board of its own (it has no calls)


async def _take_over(parts: Parts, ctl: Controller) -> None:
    assert parts.election is not None
    await parts.election.wait_lead()
    if parts.writer is not None and parts.store is not None and parts.desk is not None:
        # what the old leader wrote since this standby started: the day's figures
        await parts.writer.flush()
        await parts.desk.load_today(parts.store)
    await _lead(parts, ctl)


async def _when_synced(parts: Parts, ctl: Controller) -> None:
    try:
        await ctl.wait_synced(parts.connect_wait_s)
    except TimeoutError:
        log.warning("not every node answered within %g s: running, and connecting meanwhile",
                    parts.connect_wait_s)  # fmt: skip
    if parts.auto_login_agents:
        ctl.login_all()
    if parts.desk is not None:
        parts.desk.publish()


def _agents_seen(logins: list[Agent]) -> tuple[Any, ...]:
    """What the ACD takes from the agents' rows: a change here is applied live."""
    return tuple(
        (a.id, a.display_name, a.device, tuple(a.queues or ()), sorted((a.skills or {}).items()),
         sorted((a.penalties or {}).items()), sorted((a.weights or {}).items()))
        for a in logins
        if a.role == "agent"
    )  # fmt: skip


async def _apply_agents(parts: Parts) -> bool:
    """Give the ACD the agents as SQL has them now (added, changed, removed: an agent
    removed while logged in is logged out first; one still on a call is retried at the
    next read). True when the ACD took them."""
    store, ctl, cfg = parts.store, parts.controller, parts.config
    assert store is not None and ctl is not None
    async with parts.reloading:
        agents = await agent_configs(store, cfg)
        kept = {a.agent_id for a in agents}
        for view in ctl.core.snapshot(ctl.now()).agents:
            if view.agent_id not in kept and view.state is not acd.AgentState.LOGGED_OUT:
                ctl.agent_logout(view.agent_id)
        try:
            ctl.reload(cfg.acd_config(agents), cfg.call_tiers(), cfg.queues[0].sl_threshold_s)
        except acd.AcdError as exc:
            log.info("agents changed in SQL; not applied yet: %s", exc)
            return False
    log.info("agents changed in SQL: the ACD has %d agent(s) now", len(agents))
    return True


async def _accounts(app: web.Application) -> AsyncIterator[None]:
    """Logins changed by the operator's commands (``callcenter users``/``agents``/``tokens``,
    another process) or by the admin page reach this one: read every ``accounts_poll_s``,
    and at once after each admin write (:class:`Administration`); the sessions and
    tokens of removed logins stop counting, those of a login whose role changed take
    the new role (a token's session is made from its login's row each time), the live API tokens are taken, agents
    added, changed or removed are given to the ACD (:func:`_apply_agents`) and the
    desk's lists are read again. Warns once at start when nobody can sign in or take a
    call."""
    parts = app[PARTS]
    store = parts.store
    assert store is not None
    signer = app[SESSIONS]

    tokens = Tokens(store)
    lock = asyncio.Lock()

    async def read() -> list[Agent]:
        rows = await store.list_agents(removed=True)
        signer.revoked = frozenset(str(a.id) for a in rows if a.password_hash == REMOVED)
        if changed := signer.take_roles({str(a.id): a.role for a in rows}):
            log.info("%d session(s) took their login's new role", changed)
        signer.tokens = {t.token_hash: Session(t.account_id, t.role, t.display_name, 0,
                                               scopes=t.scopes)
                         for t in await tokens.live()}  # fmt: skip
        return [a for a in rows if a.password_hash != REMOVED]

    logins = await read()
    applied = _agents_seen(logins)  # what _build_controller gave the ACD
    for text in login_warnings(len(logins), sum(a.role == "agent" for a in logins)):
        log.warning("%s", text)

    async def sync() -> None:
        nonlocal applied
        async with lock:
            seen = _agents_seen(await read())
            if seen != applied and await _apply_agents(parts):
                applied = seen
            await admin.read_lists()

    admin = Administration(store, lambda: parts.config, sync, dispositions=app[DISPOSITION_CODES],
                           pause_reasons=app[PAUSE_REASONS])  # fmt: skip
    # an empty list (a new database) starts from the config's dispositions and the
    # default pause reasons; from then on SQL holds them (callcenter.administration)
    await admin.lists.seed("dispositions", parts.config.dispositions)
    await admin.lists.seed("pause_reasons", DEFAULT_PAUSE_REASONS)
    await admin.read_lists()
    app[ADMIN] = admin

    async def poll() -> None:
        while True:
            await asyncio.sleep(parts.accounts_poll_s)
            try:
                await sync()
            except Exception as exc:  # the database away: keep the last list, try again
                log.warning("reading the logins failed (%r); trying again", exc)

    task = asyncio.create_task(poll(), name="logins")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def _lag(app: web.Application) -> AsyncIterator[None]:
    parts = app[PARTS]
    parts.lag.start()
    try:
        yield
    finally:
        await parts.lag.stop()


async def _build_controller(
    parts: Parts, store: Store, writer: StoreWriter, crm: CrmLookup
) -> Controller:
    cfg = parts.config
    agent_cfgs = await agent_configs(store, cfg)
    nodes = [
        Node(
            n.name,
            AMIClient(
                n.host,
                n.port,
                n.username,
                n.resolved_secret,
                auth=n.auth,
                name=n.name,
                ping_interval=n.ping_interval_s,
                action_timeout=n.action_timeout_s,
                events=(),
            ),
        )  # fmt: skip
        for n in cfg.nodes
    ]
    recorder = Recorder(
        recordings_dir=cfg.hotline.recordings_dir,
        local_dir=str(cfg.recordings_read_dir),
        writer=writer,
        metrics=parts.metrics,
        places=cfg.recording_places(),
    )
    return Controller(
        nodes=nodes,
        ivr=cfg.ivr,
        acd_core=acd.Acd(cfg.acd_config(agent_cfgs)),
        writer=writer,
        store=store,
        crm=crm,
        hub=parts.pushes,
        metrics=parts.metrics,
        recorder=recorder,
        entry_contexts=cfg.hotline.entry_contexts,
        after_call_context=cfg.hotline.after_call_context,
        ring_all_context=cfg.hotline.ring_all_context,
        moh_class=cfg.hotline.moh_class,
        crm_timeout_s=cfg.crm.lookup_timeout_s,
        sl_threshold_s=cfg.queues[0].sl_threshold_s if cfg.queues else 20.0,
        tiers=cfg.call_tiers(),
        accounts=parts.accounts,
        recording=cfg.recording_policies(),
        announcements=cfg.announcement_policies(),
        overflow=cfg.overflow_targets(),
        callbacks=cfg.callback_policies(),
        callback_context=cfg.hotline.callback_context,
        consult_context=cfg.hotline.consult_context,
        agent_wait_context=cfg.hotline.agent_wait_context,
        voicemail_dir=cfg.hotline.voicemail_dir,
        voicemail_read_dir=cfg.voicemail_read_dir,
        on_pop=parts.webhook.send if parts.webhook is not None else None,
        homes=cfg.phone_homes(),
    )


def create_app(
    config: HotlineConfig,
    *,
    auto_login_agents: bool = False,
    secret_key: bytes | None = None,
    connect_wait_s: float = CONNECT_WAIT_S,
    accounts_poll_s: float = ACCOUNTS_POLL_S,
    web_only: bool = False,
) -> web.Application:
    """The controller as one aiohttp application (see the module docstring).

    ``web_only``: serve the pages, the API's reads and the WebSockets from the live
    fan-out (``web.fanout_url``, required) and drive no PBX (``callcenter.mirror``)."""
    web_cfg = config.web
    if web_only and web_cfg.fanout_url is None:
        raise ValueError("a web-only node needs web.fanout_url: its live pages come from there")
    metrics = Metrics(queues=[q.name for q in config.queues], nodes=[n.name for n in config.nodes])
    lag = LoopLagMonitor(on_sample=metrics.loop_lag_observed)
    parts = Parts(config, LiveHub(), metrics, lag, auto_login_agents, connect_wait_s,
                  accounts_poll_s, web_only=web_only)  # fmt: skip
    if web_cfg.fanout_url is not None:
        parts.fanout = RedisFanout(web_cfg.fanout_url, web_cfg.fanout_channel)
    metrics.watch_targets(lambda: parts.config.queue_targets())
    for text in settings_warnings(config, key_given=secret_key is not None):
        log.warning("%s", text)
    app = create_web_app(
        hub=parts.hub,
        metrics=parts.metrics,
        secret_key=secret_key or web_cfg.secret_key or secrets.token_bytes(32),
        allowed_origins=list(web_cfg.allowed_origins) or None,
        disposition_codes=config.dispositions,
        fcr_codes=lambda: parts.config.fcr_codes,
        secure_cookies=web_cfg.secure_cookies,
        login_throttle=LoginThrottle(
            web_cfg.login_failures_per_account, web_cfg.login_failures_per_address
        ),  # fmt: skip
        # a metrics port of its own: /metrics is not on the web port (404)
        metrics_token=None if web_cfg.metrics_port is not None else web_cfg.metrics_token,
        time_zone=config.time_zone,
        callback_max_days=web_cfg.callback_max_days,
    )
    app[PARTS] = parts
    app.cleanup_ctx.extend([_database, _writer, _crm, _controller, _accounts, _lag])
    return app


def recent_service_levels(
    desk: ControllerDesk, config: HotlineConfig, now: float | None = None
) -> dict[str, float | None]:
    """Each queue's service level over the 30 minutes before ``now`` (default: the
    controller's wall clock):
    the wallboard's figure (the calls of the day it holds, restored from SQL at start,
    that left the queue in the last 30 minutes), by ``acd.kpis.service_level``, unrounded."""
    now = desk.now() if now is None else now
    levels: dict[str, float | None] = {}
    for q in config.queues:
        t = desk.day.queue(q.name).recent_tally(now)
        levels[q.name] = kpis.service_level(t.answered_in_sl, t.offered, t.short)
    return levels


@dataclass
class Urls:
    base: str
    agent: str
    supervisor: str
    metrics: str


class Hotline:
    """The app of :func:`create_app` served on ``config.web`` (or ``web_port``)."""

    def __init__(
        self,
        config: HotlineConfig,
        *,
        web_port: int | None = None,
        auto_login_agents: bool = False,
        secret_key: bytes | None = None,
        connect_wait_s: float = CONNECT_WAIT_S,
        accounts_poll_s: float = ACCOUNTS_POLL_S,
        web_only: bool = False,
    ) -> None:
        self.config = config
        self.web_port = config.web.port if web_port is None else web_port
        self.app = create_app(config, auto_login_agents=auto_login_agents,
                              secret_key=secret_key, connect_wait_s=connect_wait_s,
                              accounts_poll_s=accounts_poll_s, web_only=web_only)  # fmt: skip
        self.parts = self.app[PARTS]
        self.runner: web.AppRunner | None = None
        self.metrics_runner: web.AppRunner | None = None
        self.urls: Urls | None = None

    @property
    def hub(self) -> LiveHub:
        return self.parts.hub

    @property
    def metrics(self) -> Metrics:
        return self.parts.metrics

    @property
    def store(self) -> Store | None:
        return self.parts.store

    @property
    def writer(self) -> StoreWriter | None:
        return self.parts.writer

    @property
    def controller(self) -> Controller | None:
        return self.parts.controller

    @property
    def desk(self) -> ControllerDesk | None:
        return self.parts.desk

    @property
    def lag(self) -> LoopLagMonitor:
        return self.parts.lag

    async def start(self) -> None:
        """Start every part, then serve; waits for the nodes (at most ``connect_wait_s``)."""
        self.runner = runner = web.AppRunner(self.app)
        try:
            await runner.setup()  # enters the cleanup contexts; leaves them if one fails
            site = web.TCPSite(runner, self.config.web.host, self.web_port)
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        port = runner.addresses[0][1]
        base = f"http://{self.config.web.host}:{port}"
        metrics_url = f"{base}/metrics"
        web_cfg = self.config.web
        if web_cfg.metrics_port is not None:  # /metrics on a listener of its own
            self.metrics_runner = metrics = web.AppRunner(
                create_metrics_app(self.parts.metrics, token=web_cfg.metrics_token)
            )
            try:
                await metrics.setup()
                await web.TCPSite(metrics, web_cfg.metrics_host, web_cfg.metrics_port).start()
            except BaseException:
                await self.stop()
                raise
            metrics_url = f"http://{web_cfg.metrics_host}:{metrics.addresses[0][1]}/metrics"
        self.urls = Urls(base, f"{base}/agent", f"{base}/supervisor", metrics_url)
        if self.parts.ready is not None:
            await asyncio.shield(self.parts.ready)

    async def reload(self) -> Reloaded:
        """Read the config file again and apply what can change live (:mod:`callcenter.reload`):
        queues, ACD rules, tiers and the agents' routing data; a broken file is refused,
        its problems logged, the running config kept. One reload at a time."""
        parts = self.parts
        if parts.store is None or parts.controller is None:
            raise RuntimeError("the hotline is not running")
        async with parts.reloading:
            done = await reload_config(parts.config, parts.store, parts.controller)
            parts.config = self.config = done.config
        return done

    async def stop(self) -> None:
        if self.metrics_runner is not None:
            await self.metrics_runner.cleanup()
        if self.runner is not None:
            await self.runner.cleanup()

    async def __aenter__(self) -> Hotline:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()
