"""``callcenter demo``: pbxsim, the controller and the web app on this machine.

pbxsim runs as its own process (the outside world, like a real Asterisk),
driven by a scenario made from the options; the controller is the same
``Hotline`` that ``callcenter run`` starts. Two kinds of agents:

- **seats** (``agent1`` .. ``agentS``, ``--seats``, default 1) are for the people
  at the browser: nobody logs them in or presses Ready for them. Their phone
  is pbxsim's, a headset on auto-answer: it rings :data:`SEAT_RING_S` seconds
  (the screen-pop shows meanwhile), answers, and the caller talks
  :data:`SEAT_TALK_S` seconds.
- **simulated agents** (the next ``--agents``, default 5) have a desktop played
  by the demo (:class:`AgentDesktop`: a real HTTP login, Ready, a WebSocket on
  ``/ws/agent`` counting the screen-pops that reach it) and are labelled
  ``simulated`` on the wallboard.

``--load normal`` (the default) offers :data:`LOADS` calls per minute per
simulated agent, which keeps the service level near its 80 % target;
``--load high`` is the stress picture. At the end the demo stops the arrivals,
lets the calls in progress finish (then hangs up what is left), and checks SQL
against ``/metrics`` and every recording file against its row.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, select

from callcenter.app import Hotline
from callcenter.config import load_config
from callcenter.demo.data import demo_agents, demo_customers, seed_demo
from callcenter.demo.sip import LISTENING, SIP_ON, port_of, spawn, start_phones
from callcenter.demo.sip import stop as stop_process
from callcenter.demo.workdir import WorkdirError, prepare_workdir
from callcenter.storage import Store, make_engine, make_session_factory, migrate
from callcenter.storage.models import Call, QueueOutcome, Recording
from recordings import file_facts

ROOT = Path(__file__).resolve().parents[2]
SECRET = "hotline-demo-secret"
#: calls per minute per simulated agent. A simulated agent takes about 2.7 calls a minute
#: (ring 1-4 s, talk 8-25 s, 3 s wrap-up, some phones ring out or are busy). Five of them
#: for 5 minutes (seed 1): "normal" (10 calls/min) answered 43 of 48 calls, service level
#: 100 % in 20 s; "high" (20 calls/min) answered 72 of 110, 33 abandoned, service level 37 %.
LOADS = {"normal": 2.0, "high": 4.0}
#: how long a seat's phone rings before it answers itself, and how long its callers talk
SEAT_RING_S = 3.0
SEAT_TALK_S = (20, 40)


class DemoError(Exception):
    """The demo cannot start as asked; the message says why and what to do."""


@dataclass
class DemoOptions:
    duration: float | None = None
    seed: int = 1
    #: simulated agents (their desktops are played by the demo)
    agents: int = 5
    #: agents for the people at the browser (agent1 .. agentS), logged in by nobody
    seats: int = 1
    load: str = "normal"
    #: overrides ``load`` when set
    calls_per_minute: float | None = None
    json: bool = False
    web_port: int = 8080
    workdir: Path = ROOT / "var" / "demo"
    time_scale: float = 1.0
    drain_s: float = 20.0
    customers: int = 200
    database_url: str | None = None
    #: simulated agents whose phone is a real SIP phone (pjsua2), the rest simulated by pbxsim
    sip_agents: int = 0

    @property
    def rate(self) -> float:
        """Calls per minute: ``calls_per_minute``, else ``load`` times the simulated agents."""
        if self.calls_per_minute is not None:
            return self.calls_per_minute
        return round(LOADS[self.load] * max(self.agents, 1), 1)

    def seat_names(self) -> list[str]:
        return [f"agent{i}" for i in range(1, self.seats + 1)]

    def simulated_names(self) -> list[str]:
        return [f"agent{i}" for i in range(self.seats + 1, self.seats + self.agents + 1)]


def check_options(opts: DemoOptions) -> None:
    """Refuse what the demo cannot do, before anything starts (:class:`DemoError`)."""
    if opts.load not in LOADS:
        raise DemoError(f"--load must be one of {', '.join(LOADS)}, not {opts.load!r}")
    if opts.agents < 0 or opts.seats < 0 or opts.agents + opts.seats == 0:
        raise DemoError("--agents and --seats must be >= 0, and one of them > 0")
    if opts.sip_agents > opts.agents:
        raise DemoError(f"--sip-agents {opts.sip_agents}: there are only {opts.agents} "
                        "simulated agents (--agents)")  # fmt: skip
    if opts.sip_agents:
        try:
            import pjsua2  # noqa: F401
        except ImportError as exc:
            raise DemoError(
                f"--sip-agents needs pjsua2 ({exc}), which the demo does not install: "
                "`.venv/bin/python -m pip install -e '.[sip]'` (Linux x86_64), "
                "or run without --sip-agents"
            ) from exc


def _scenario(opts: DemoOptions, numbers: list[str], prompts: list[str]) -> str:
    rng = random.Random(opts.seed)
    known = rng.sample(numbers, min(len(numbers), 60))
    unknown = [f"09{rng.randrange(10**8):08d}" for _ in range(20)]
    quoted = ", ".join(f'"{n}"' for n in known + unknown)
    prompt_lines = "\n".join(f'"{p}" = {round(rng.uniform(1.5, 3.5), 1)}' for p in prompts)
    # a seat's phone: a headset on auto-answer, never busy, never ringing out
    seat_phones = "".join(
        f"""[agents.phones."{1000 + i}"]
answer_delay = {SEAT_RING_S}
no_answer_probability = 0
busy_probability = 0
talk_time = [{SEAT_TALK_S[0]}, {SEAT_TALK_S[1]}]
"""
        for i in range(1, opts.seats + 1)
    )
    return f"""# generated by callcenter demo (seed {opts.seed})
context = "hotline-safe"
[arrivals]
kind = "poisson"
calls_per_minute = {opts.rate}
[callers]
numbers = [{quoted}]
patience = {{kind = "exponential", mean = 70, cap = 150}}
press_delay = [0.5, 2.0]
[[callers.menus]]
choices = [{{digits = "1", weight = 3}}, {{digits = "2", weight = 1}}]
[[callers.menus]]
choices = [{{digits = "1", weight = 5}}, {{digits = "2", weight = 2}}, {{digits = "0", weight = 1}}]
[agents.default]
answer_delay = [1, 4]
no_answer_probability = 0.08
busy_probability = 0.03
talk_time = [8, 25]
agent_hangs_up_probability = 0.5
{seat_phones}[prompts]
{prompt_lines}
"""


def config_text(
    *,
    ami_port: int,
    database_url: str,
    monitor: Path,
    web_port: int = 8080,
    ivr_file: Path = ROOT / "config" / "ivr.yaml",
    offer_timeout_s: float = 12,
    wrap_up_s: float = 3,
    hold_slice_s: float = 10,
) -> str:
    """The controller's config for a pbxsim on this machine (demo and tests)."""
    return f"""# generated by callcenter demo
nodes:
  - name: pbxsim
    host: 127.0.0.1
    port: {ami_port}
    username: hotline
    secret: {SECRET}
    auth: md5
    ping_interval_s: 10
hotline:
  entry_contexts: [hotline-safe]
  after_call_context: after-call
  recordings_dir: {monitor}
ivr_file: {ivr_file}
database_url: {database_url}
queues:
  - name: support
    wrap_up_s: {wrap_up_s}
    offer_timeout_s: {offer_timeout_s}
    sl_threshold_s: 20
    hold_slice_s: {hold_slice_s}
web:
  host: 127.0.0.1
  port: {web_port or 8080}
  secret_key_env: null
"""  # fmt: skip


async def _start_pbxsim(opts: DemoOptions, scenario: Path, spool: Path) -> tuple[Any, int]:
    args = ["-m", "pbxsim", "--port", "0", "--scenario", str(scenario), "--seed", str(opts.seed),
            "--spool", str(spool), "--user", "hotline", "--secret", SECRET,
            "--time-scale", str(opts.time_scale)]  # fmt: skip
    if opts.sip_agents:
        args += ["--sip", "127.0.0.1:0"]
    proc, lines = await spawn(*args, ready=SIP_ON if opts.sip_agents else LISTENING)
    return proc, port_of(lines, LISTENING)


class AgentDesktop:
    """One agent's browser, as the demo plays it: log in, keep /ws/agent open."""

    def __init__(self, base: str, username: str, password: str, *, ready: bool = False) -> None:
        self.base, self.username, self.password = base, username, password
        self.ready_at_start = ready
        self.screen_pops = 0
        self.back_after_s = 8.0
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name=self.username)

    async def _run(self) -> None:
        # unsafe=True: the jar must keep cookies of a bare IP address (127.0.0.1)
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
            async with http.post(
                f"{self.base}/login",
                data={"username": self.username, "password": self.password},
                allow_redirects=False,
            ) as resp:
                if resp.status not in (200, 302, 303):
                    raise RuntimeError(f"{self.username}: login answered {resp.status}")
            async with http.ws_connect(f"{self.base}/ws/agent", origin=self.base) as ws:
                if self.ready_at_start:
                    await self._ready(http)
                async for msg in ws:
                    if msg.type != aiohttp.WSMsgType.TEXT:
                        continue
                    data = json.loads(msg.data)
                    if data.get("type") == "screen_pop":
                        self.screen_pops += 1
                    elif data.get("type") == "state" and data.get("state") == "paused":
                        # auto-paused after ring-no-answer: back to work a little later
                        asyncio.get_running_loop().call_later(
                            self.back_after_s, lambda: asyncio.ensure_future(self._ready(http))
                        )

    async def _ready(self, http: aiohttp.ClientSession) -> None:
        with contextlib.suppress(aiohttp.ClientError):
            async with http.post(
                f"{self.base}/api/agent/ready", json={}, headers={"Origin": self.base}
            ):
                pass

    async def stop(self) -> None:
        if self._task is not None:
            if self._task.done() and not self._task.cancelled() and self._task.exception():
                print(
                    f"desktop {self.username} failed: {self._task.exception()!r}", file=sys.stderr
                )
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task


async def seed_database(url: str, *, customers: int, agents: int, seed: int) -> list[str]:
    """Migrate and fill a database with demo customers and agents; their numbers."""
    await migrate(url)
    engine = make_engine(url)
    try:
        store = Store(make_session_factory(engine))
        people = demo_customers(customers, seed=seed)
        await seed_demo(store, people, demo_agents(agents, queues=("support",), seed=seed))
    finally:
        await engine.dispose()
    return [n for c in people for n in c.national_numbers]


def _line(h: Hotline, started: float) -> str:
    assert h.desk is not None
    b = h.desk.wallboard()
    agents: dict[str, int] = {}
    for a in b["agents"]:
        agents[a["state"]] = agents.get(a["state"], 0) + 1
    sl = b["service_level_pct"]
    return (
        f"[{time.monotonic() - started:5.0f}s] offered {b['offered']:3} answered {b['answered']:3}"
        f" abandoned {b['abandoned']:3} waiting {b['waiting']:2} longest {b['longest_wait_s']:4.0f}s"
        f" SL {'-' if sl is None else f'{sl:.0f}%'} agents "
        + " ".join(f"{k}:{v}" for k, v in sorted(agents.items()))
    )


async def run_demo(
    opts: DemoOptions,
    stop: asyncio.Event | None = None,
    on_start: Callable[[Hotline], None] | None = None,
) -> dict[str, Any]:
    """Run the demo until ``stop`` is set (or ``opts.duration`` passed); its summary.

    ``on_start`` is called with the running :class:`Hotline` once its URLs are printed
    (tests drive the seats from there). Raises :class:`DemoError` before anything starts
    when the options or the workdir are refused.
    """
    check_options(opts)
    try:
        work = prepare_workdir(opts.workdir)
    except WorkdirError as exc:
        raise DemoError(str(exc)) from exc
    (work / "monitor").mkdir()
    url = opts.database_url or f"sqlite+aiosqlite:///{work / 'demo.db'}"
    numbers = await seed_database(
        url, customers=opts.customers, agents=opts.seats + opts.agents, seed=opts.seed
    )
    cfg_path = work / "hotline.yaml"
    ivr_prompts = ivr_prompt_files()
    (work / "scenario.toml").write_text(_scenario(opts, numbers, ivr_prompts))
    phones = (
        await start_phones(url, opts.sip_agents, first=opts.seats + 1) if opts.sip_agents else []
    )
    proc, ami_port = await _start_pbxsim(opts, work / "scenario.toml", work / "spool")
    hotline: Hotline | None = None
    desktops: list[AgentDesktop] = []
    say = (lambda s: print(s, file=sys.stderr, flush=True)) if opts.json else print
    try:
        cfg_path.write_text(
            config_text(ami_port=ami_port, database_url=url, monitor=work / "monitor")
        )
        config = load_config(cfg_path)
        # nobody is logged in for the seats: the simulated desktops log themselves in
        hotline = Hotline(config, auto_login_agents=False, web_port=opts.web_port)
        await hotline.start()
        assert hotline.urls is not None and hotline.controller is not None
        assert hotline.desk is not None and hotline.store is not None
        urls = hotline.urls
        simulated = opts.simulated_names()
        ids = {a.username: str(a.id) for a in await hotline.store.list_agents()}
        hotline.desk.label_simulated(ids[name] for name in simulated)
        load = "" if opts.calls_per_minute is not None else f" (--load {opts.load})"
        say(f"Hotline demo: pbxsim on 127.0.0.1:{ami_port}, {_count(opts.seats, 'seat')} for "
            f"you and {_count(opts.agents, 'simulated agent')}, {opts.rate:g} calls/min{load}, "
            f"seed {opts.seed}")  # fmt: skip
        say(f"  wallboard  {urls.supervisor}   (login supervisor / supervisor-pass)")
        for name in opts.seat_names():
            say(f"  your seat  {urls.agent}        (login {name} / {name}-pass: press Ready; "
                f"its phone answers itself {SEAT_RING_S:g} s after the screen-pop)")  # fmt: skip
        if simulated:
            say(f"  simulated  {_span(simulated)}: the demo plays their desks "
                "(marked 'simulated' on the wallboard)")  # fmt: skip
        say(f"  metrics    {urls.metrics}")
        if on_start is not None:
            on_start(hotline)
        for name in simulated:
            d = AgentDesktop(urls.base, name, f"{name}-pass", ready=True)
            d.start()
            desktops.append(d)
        started = time.monotonic()
        stop = stop or asyncio.Event()
        deadline = None if opts.duration is None else started + opts.duration
        while not stop.is_set() and (deadline is None or time.monotonic() < deadline):
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 5.0)
            say(_line(hotline, started))
        say("stopping arrivals; letting the calls in progress finish ...")
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(signal.SIGUSR1)
        await _drain(hotline, opts.drain_s)
        summary = await _summary(hotline, desktops, url)
        say(_line(hotline, started))
        return summary
    finally:
        for d in desktops:
            await d.stop()
        if hotline is not None:
            await hotline.stop()
        for p in [proc, *phones]:
            await stop_process(p)


def _count(n: int, what: str) -> str:
    return f"{n} {what}{'' if n == 1 else 's'}"


def _span(names: list[str]) -> str:
    return names[0] if len(names) == 1 else f"{names[0]} ... {names[-1]}"


def ivr_prompt_files(path: Path = ROOT / "config" / "ivr.yaml") -> list[str]:
    """Every sound file the IVR plays (pbxsim must know their lengths)."""
    from ivr import load_ivr

    ivr = load_ivr(path)
    return sorted({f for files in ivr.prompts.values() for f in files.values()})


async def _drain(h: Hotline, grace: float) -> None:
    ctl = h.controller
    assert ctl is not None
    end = time.monotonic() + grace
    while ctl.calls and time.monotonic() < end:
        await asyncio.sleep(0.25)
    if ctl.calls:
        # Closing time: hang up who is left, as an operator would (regex Hangup, transcript 06).
        for node in ctl.nodes.values():
            with contextlib.suppress(Exception):
                await node.client.send_action("Hangup", {"Channel": "/./"}, check=False)
        end = time.monotonic() + 10
        while ctl.calls and time.monotonic() < end:
            await asyncio.sleep(0.25)
    await asyncio.sleep(0.5)  # recordings of the last hangups are hashed in a thread
    assert h.writer is not None
    await h.writer.flush()


def metric_outcomes(text: str) -> dict[str, int]:
    """Calls by outcome as ``/metrics`` shows them, every queue summed (outcomes with a
    count only)."""
    counts: dict[str, int] = {}
    for family in text_string_to_metric_families(text):
        if family.name != "hotline_calls":
            continue
        for sample in family.samples:
            if sample.name == "hotline_calls_total":
                outcome = sample.labels["outcome"]
                counts[outcome] = counts.get(outcome, 0) + int(sample.value)
    return {k: v for k, v in counts.items() if v}


async def _summary(h: Hotline, desktops: list[AgentDesktop], url: str) -> dict[str, Any]:
    assert h.store is not None and h.controller is not None and h.desk is not None
    sessions = h.store.sessions
    async with sessions() as s:
        calls = await s.scalar(select(func.count()).select_from(Call)) or 0
        without = (
            await s.scalar(select(func.count()).select_from(Call).where(Call.outcome.is_(None)))
            or 0
        )
        dup = await s.scalar(
            select(func.count()).select_from(
                select(QueueOutcome.call_id).group_by(QueueOutcome.call_id)
                .having(func.count() > 1).subquery()
            )
        ) or 0  # fmt: skip
        recs = list(await s.scalars(select(Recording)))
    outcomes = await h.store.count_outcomes()
    verified = 0
    for r in recs:
        local = Path(h.config.recordings_read_dir) / Path(r.path).name
        if r.sha256 and local.exists():
            size, sha, _ = await asyncio.to_thread(file_facts, local)
            verified += int(size == r.size_bytes and sha == r.sha256)
    metrics = metric_outcomes(h.metrics.render().decode())
    board = h.desk.wallboard()
    lag = h.lag
    return {
        # every call into the hotline; offered: those that reached a queue and left it
        # (docs/kpis.md: what the wallboard and the reports call offered)
        "calls": calls,
        "calls_offered": sum(outcomes.get(k, 0) for k in ("answered", "abandoned", "timeout",
                                                         "lost")),  # fmt: skip
        "calls_answered": outcomes.get("answered", 0),
        "calls_abandoned": outcomes.get("abandoned", 0),
        "calls_ivr_hangup": outcomes.get("ivr_hangup", 0),
        "calls_timeout": outcomes.get("timeout", 0),
        "calls_without_outcome": without,
        "duplicate_outcomes": dup,
        "recordings": len(recs),
        "recordings_verified": verified,
        "screen_pops": sum(d.screen_pops for d in desktops),
        "screen_pops_sent": h.controller.counters["screen_pops_sent"],
        "service_level": board["service_level_pct"],
        "asa_seconds": board["asa_s"],
        "metrics_agree_with_sql": metrics == {k: v for k, v in outcomes.items() if v},
        "agi_retries": h.controller.counters["agi_retries"],
        "loop_lag_p99_ms": round(lag.percentile(0.99) * 1000, 2),
        "loop_lag_max_ms": round(lag.max * 1000, 2),
        "database": url,
    }


def main(opts: DemoOptions) -> int:
    async def go() -> dict[str, Any]:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(sig, stop.set)
        return await run_demo(opts, stop)

    try:
        summary = asyncio.run(go())
    except DemoError as exc:
        print(f"callcenter demo: {exc}", file=sys.stderr)
        return 2
    if opts.json:
        print(json.dumps(summary, ensure_ascii=False))
    else:
        print(json.dumps(summary, ensure_ascii=False, indent=2))
    ok = summary["calls_without_outcome"] == 0 and summary["duplicate_outcomes"] == 0
    return 0 if ok else 1


__all__ = ["LOADS", "DemoError", "DemoOptions", "main", "run_demo"]
