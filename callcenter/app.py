"""The composition root: every part of the controller built and wired in one place.

``Hotline(config)`` owns the database engine, the write-behind StoreWriter,
the CRM lookup, the LiveHub, the metrics, one AMI client per node, the ACD
and the controller, the desk publisher and the web server. ``start()`` brings
them up in dependency order and ``stop()`` takes them down in reverse, so
``callcenter run`` and ``callcenter demo`` share one wiring.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import web

import acd
from callcenter.ami import AMIClient
from callcenter.config import HotlineConfig
from callcenter.controller import Controller, Node
from callcenter.desk import Desk
from callcenter.live import LiveHub
from callcenter.looplag import LoopLagMonitor
from callcenter.metrics import Metrics
from callcenter.storage import Store, StoreWriter, make_engine, make_session_factory, migrate
from callcenter.web import create_app
from crm_bridge.lookup import CrmLookup
from crm_bridge.sql_crm import SqlCrm
from recordings import Recorder

log = logging.getLogger(__name__)

#: how long start() waits for the nodes before it goes on without them
CONNECT_WAIT_S = 10.0


class StoreDispositions:
    """The web edge's ``Dispositions``: agent ids are strings at the edge, ints in SQL.

    The call's facts are written behind (StoreWriter); flushing first makes the
    store's "whose call is it" check see the answering agent.
    """

    def __init__(self, store: Store, writer: StoreWriter) -> None:
        self.store = store
        self.writer = writer

    async def save_disposition(self, call_id: str, agent_id: str, code: str, notes: str) -> None:
        await self.writer.flush()
        await self.store.save_disposition(call_id, int(agent_id), code, notes)


@dataclass
class Urls:
    base: str
    agent: str
    supervisor: str
    metrics: str


class Hotline:
    """The running controller: AMI nodes, cores, storage, web."""

    def __init__(
        self,
        config: HotlineConfig,
        *,
        web_port: int | None = None,
        auto_login_agents: bool = False,
        secret_key: bytes | None = None,
        connect_wait_s: float = CONNECT_WAIT_S,
    ) -> None:
        self.config = config
        self.web_port = config.web.port if web_port is None else web_port
        self.auto_login_agents = auto_login_agents
        self.connect_wait_s = connect_wait_s
        self.secret_key = secret_key or config.web.secret_key or secrets.token_bytes(32)
        self.hub = LiveHub()
        self.metrics = Metrics()
        self.lag = LoopLagMonitor(on_sample=self.metrics.loop_lag_observed)
        self.engine: Any = None
        self.store: Store | None = None
        self.writer: StoreWriter | None = None
        self.controller: Controller | None = None
        self.desk: Desk | None = None
        self.runner: web.AppRunner | None = None
        self.urls: Urls | None = None

    async def start(self) -> None:
        cfg = self.config
        url = cfg.database_url
        if url.startswith("sqlite+aiosqlite:///"):
            Path(url.removeprefix("sqlite+aiosqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        await migrate(url)
        self.engine = make_engine(url)
        sessions = make_session_factory(self.engine)
        self.store = store = Store(sessions)
        self.writer = writer = StoreWriter(store)
        writer.start()
        crm = CrmLookup(SqlCrm(sessions, region=cfg.crm.region))
        agents = [a for a in await store.list_agents() if a.role == "agent"]
        queue_names = [q.name for q in cfg.queues]
        agent_cfgs = [
            acd.AgentConfig(
                str(a.id),
                a.display_name,
                a.device or f"PJSIP/{a.username}",
                tuple(q for q in (a.queues or queue_names) if q in queue_names)
                or tuple(queue_names),
            )
            for a in agents
        ]
        core = acd.Acd(cfg.acd_config(agent_cfgs))
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
            )
            for n in cfg.nodes
        ]
        recorder = Recorder(
            recordings_dir=cfg.hotline.recordings_dir,
            local_dir=str(cfg.recordings_read_dir),
            writer=writer,
            metrics=self.metrics,
        )
        ctl = Controller(
            nodes=nodes,
            ivr=cfg.ivr,
            acd_core=core,
            writer=writer,
            store=store,
            crm=crm,
            hub=self.hub,
            metrics=self.metrics,
            recorder=recorder,
            entry_contexts=cfg.hotline.entry_contexts,
            after_call_context=cfg.hotline.after_call_context,
            moh_class=cfg.hotline.moh_class,
            crm_timeout_s=cfg.crm.lookup_timeout_s,
            sl_threshold_s=cfg.queues[0].sl_threshold_s if cfg.queues else 20.0,
        )
        self.controller = ctl
        self.desk = desk = Desk(ctl)
        ctl._on_change = desk.changed
        app = create_app(
            desk=desk,
            accounts=store,
            dispositions=StoreDispositions(store, writer),
            hub=self.hub,
            metrics=self.metrics,
            secret_key=self.secret_key,
            allowed_origins=list(cfg.web.allowed_origins) or None,
        )
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        site = web.TCPSite(self.runner, cfg.web.host, self.web_port)
        await site.start()
        port = self.runner.addresses[0][1]
        base = f"http://{cfg.web.host}:{port}"
        self.urls = Urls(base, f"{base}/agent", f"{base}/supervisor", f"{base}/metrics")
        self.lag.start()
        await ctl.start()
        try:
            await ctl.wait_synced(self.connect_wait_s)
        except TimeoutError:
            log.warning("not every node answered within %g s: running, and connecting meanwhile",
                        self.connect_wait_s)  # fmt: skip
        if self.auto_login_agents:
            ctl.login_all()
        desk.start()
        desk.publish()

    async def stop(self) -> None:
        if self.desk is not None:
            await self.desk.stop()
        if self.controller is not None:
            await self.controller.close()
        await self.lag.stop()
        if self.runner is not None:
            await self.runner.cleanup()
        if self.writer is not None:
            await self.writer.close()
        if self.engine is not None:
            await self.engine.dispose()
        self.hub.close()

    async def __aenter__(self) -> Hotline:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()
