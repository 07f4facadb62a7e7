"""AMI ingest benchmark: events/s from a loopback socket into the controller's call tracker.

Same bytes for every client: a replay server (``bench/_replay_server.py``, its
own process) sends a recorded Asterisk transcript's banner, answers the
client's Login with the client's ActionID, then sends the rest of the
transcript and closes. Each client runs in its own subprocess.

The work the controller does (the headline rows): every event the tracker
reads (``callcenter.tracker.TRACKED_EVENTS``) goes through
``CallTracker.on_event``, which reads its headers (Uniqueid, Channel,
Linkedid, CallerIDNum/Name, Context, Exten, ChannelStateDesc, Env, Cause...)
and returns domain events:

* ``raw``: asyncio Protocol that only counts bytes (the ceiling: the socket
  read to EOF with no parsing);
* ``ours``: the shipped :class:`callcenter.ami.AMIClient` (real login, its
  Link, codec, session and dispatcher), subscribed to the tracked events and
  with an ``on_event("*")`` callback that feeds the tracker, as
  ``callcenter/controller.py`` wires it;
* ``panoramisk``: its real ``Manager``/``AMIProtocol``, ``register_event('*')``,
  tracked events fed to the same tracker;
* ``asterisk_ami``: its real threaded ``AMIClient``, ``add_event_listener``,
  tracked events fed to the same tracker.

Second rows, labelled "names only" (the callback reads only the event name;
what this bench measured before issue 10):

* ``ours_names``: a bare asyncio Protocol feeding :class:`AMICodec` and
  looping ``next_messages()`` (no client, no dispatch, no header read);
* ``panoramisk_names``, ``asterisk_ami_names``: the peers, reading the name.

Every tracker client must hand the tracker the transcript's tracked events in
order and get the same domain events out of it (a digest of their reprs), so
all read the same headers with the same values.

What it does not measure: actions sent and their answers (only the Login),
the controller's core and SQL behind the tracker (``bench/pipeline.py`` does),
reconnects, a network slower than loopback, or a real Asterisk's pacing (the
transcript is sent as fast as the socket takes it).

Timing is from just before connecting to the end of stream (the client saw
EOF after handing out every event); events/s = transcript events / that time;
the figure is the median over ``--repeat`` timed runs. Untimed runs before
them: a cold one for memory and one that records the event names delivered
and the domain events (checked against the transcript and across clients, as
are the counts of every run). Peak memory: peak RSS delta of the cold run
(``VmHWM``, reset through ``/proc/self/clear_refs``, minus ``VmRSS`` of the
idle process with the client imported) and the tracemalloc peak of one extra
untimed run.

Usage: ``python bench/ami_ingest.py [--repeat N] [--transcript PATH ...] [--client NAME ...] [--json]``
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import hashlib
import json
import os
import platform
import statistics
import subprocess
import sys
import threading
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
sys.path.insert(0, str(BENCH_DIR))
sys.path.insert(0, str(ROOT))

from _replay_server import HOST, login_response, split_transcript  # noqa: E402

DEFAULT_TRANSCRIPTS = [
    ROOT / "tests" / "ami-transcripts" / "09-load.ami",
    ROOT / "tests" / "ami-transcripts" / "10-burst.ami",
]
from callcenter.tracker import TRACKED_EVENTS  # noqa: E402

CLIENTS = [
    "raw",
    "ours",
    "panoramisk",
    "asterisk_ami",
    "ours_names",
    "panoramisk_names",
    "asterisk_ami_names",
]
PEERS = ["panoramisk", "asterisk_ami"]
#: clients that feed the tracker (the others read only the event name)
TRACKER_CLIENTS = frozenset({"ours", "panoramisk", "asterisk_ami"})
LABELS = {
    "raw": "raw socket",
    "ours": "tracker",
    "panoramisk": "tracker",
    "asterisk_ami": "tracker",
    "ours_names": "names only",
    "panoramisk_names": "names only",
    "asterisk_ami_names": "names only",
}
RUN_TIMEOUT = 120.0
LOGIN = {"Username": "bench", "Secret": "bench"}
RAW_ACTION_ID = b"bench-raw"
RAW_LOGIN = b"Action: Login\r\nActionID: bench-raw\r\nUsername: bench\r\nSecret: bench\r\n\r\n"


# -- reference: what every client must deliver ----------------------------------------
@dataclass
class Reference:
    path: Path
    size: int
    banner: bytes
    body: bytes
    names: list[str]
    responses: int

    @property
    def events(self) -> int:
        return len(self.names)

    @property
    def tracked(self) -> list[str]:
        return [n for n in self.names if n in TRACKED_EVENTS]


def load_reference(path: Path) -> Reference:
    """Split the transcript with plain ``bytes.split``, independently of any client."""
    data = path.read_bytes()
    banner, body = split_transcript(data)
    names: list[str] = []
    responses = 0
    for frame in body.split(b"\r\n\r\n"):
        frame = frame.lstrip(b"\r\n")
        if frame.startswith(b"Event: "):
            names.append(frame[7:].split(b"\r\n", 1)[0].decode())
        elif frame.startswith(b"Response: "):
            responses += 1
    return Reference(path, len(data), banner, body, names, responses)


def digest(names: list[str]) -> str:
    return hashlib.sha256("\n".join(names).encode()).hexdigest()


# -- memory ---------------------------------------------------------------------------
def _status_kib(key: str) -> int | None:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def _reset_peak_rss() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")  # reset VmHWM to the current RSS (Linux >= 4.0)
        return True
    except OSError:
        return False


def _peak_rss_kib() -> int:
    hwm = _status_kib("VmHWM")
    if hwm is not None:
        return hwm
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


# -- one run of one client (inside the worker subprocess) -----------------------------
def _now() -> tuple[float, float]:
    """Wall clock and this process's CPU time (all threads), in seconds."""
    return time.perf_counter(), time.process_time()


def _span(t0: tuple[float, float], t1: tuple[float, float]) -> tuple[float, float]:
    return t1[0] - t0[0], t1[1] - t0[1]


@dataclass
class Run:
    seconds: float
    cpu_s: float  # CPU of the client's process over the same span (all its threads)
    events: int = 0  # events consumed (delivered + skipped)
    delivered: int = 0  # events handed to the callback
    nbytes: int = 0  # raw only
    login_ok: bool = True
    names: list[str] | None = None
    domain: str | None = None  # digest of the tracker's domain events (check run)
    error: str | None = None


class Sink:
    """What a client hands its events to: the tracker (or nothing), and the check run's record.

    ``feed(event)`` takes anything with ``.name`` and ``.get(name, default)``
    (the tracker's ``AmiEvent``). In the check run it records the names fed
    and the domain events the tracker returned, for the driver to compare.
    """

    def __init__(self, tracker: bool, collect: list[str] | None) -> None:
        from callcenter.tracker import CallTracker

        self.count = 0
        self.names = collect
        self.domain: list[str] | None = [] if collect is not None and tracker else None
        on_event = CallTracker().on_event if tracker else None
        if collect is not None:
            domain = self.domain if self.domain is not None else []

            def feed(ev: Any) -> None:
                self.count += 1
                collect.append(ev.name)
                if on_event is not None:
                    domain.extend(map(repr, on_event(ev)))

        elif on_event is not None:

            def feed(ev: Any) -> None:
                self.count += 1
                on_event(ev)

        else:

            def feed(ev: Any) -> None:
                self.count += 1
                ev.name  # noqa: B018  (what a dispatcher reads)

        self.feed = feed

    def digest(self) -> str | None:
        return None if self.domain is None else digest(self.domain)


class _View:
    """A peer's event as the tracker reads it: a name and a ``get``."""

    __slots__ = ("name", "get")

    def __init__(self, name: str, get: Callable[..., Any]) -> None:
        self.name = name
        self.get = get


class _RawProtocol(asyncio.Protocol):
    def __init__(self, done: asyncio.Future[tuple[float, float]]) -> None:
        self.done = done
        self.nbytes = 0

    def connection_made(self, transport: Any) -> None:
        transport.write(RAW_LOGIN)

    def data_received(self, data: bytes) -> None:
        self.nbytes += len(data)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.done.done():
            self.done.set_result(_now())


class _CodecProtocol(asyncio.Protocol):
    """``ours_names``: the codec alone in ``data_received``, batches of ``next_messages()``."""

    def __init__(
        self, done: asyncio.Future[tuple[float, float]], codec: Any, on_event: Callable[[Any], None]
    ):
        self.done = done
        self.codec = codec
        self.on_event = on_event
        self.error: BaseException | None = None
        self.login_ok = False
        self.transport: Any = None

    def connection_made(self, transport: Any) -> None:
        from callcenter.ami.codec import encode_action

        self.transport = transport
        transport.write(encode_action("Login", LOGIN, action_id="bench-ours"))

    def data_received(self, data: bytes) -> None:
        codec = self.codec
        on_event = self.on_event
        try:
            codec.receive_data(data)
            while batch := codec.next_messages():
                for msg in batch:
                    if msg.kind == "event":
                        on_event(msg)
                    elif not self.login_ok and msg.action_id == "bench-ours":
                        self.login_ok = msg.ok
        except Exception as exc:  # a codec error fails the run
            self.error = exc
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        from callcenter.ami.codec import CLOSED

        if self.error is None:
            try:
                self.codec.receive_data(None)
                while (msg := self.codec.next_message()) is not CLOSED:
                    if msg.kind == "event":
                        self.on_event(msg)
            except Exception as e:
                self.error = e
        if not self.done.done():
            self.done.set_result(_now())


async def run_raw(port: int, collect: list[str] | None) -> Run:
    loop = asyncio.get_running_loop()
    done: asyncio.Future[tuple[float, float]] = loop.create_future()
    t0 = _now()
    transport, proto = await loop.create_connection(lambda: _RawProtocol(done), HOST, port)
    t1 = await asyncio.wait_for(done, RUN_TIMEOUT)
    transport.close()
    return Run(*_span(t0, t1), nbytes=proto.nbytes)


async def run_ours_names(port: int, collect: list[str] | None) -> Run:
    from callcenter.ami.codec import AMICodec

    loop = asyncio.get_running_loop()
    done: asyncio.Future[tuple[float, float]] = loop.create_future()
    codec = AMICodec()
    sink = Sink(False, collect)
    t0 = _now()
    transport, proto = await loop.create_connection(
        lambda: _CodecProtocol(done, codec, sink.feed), HOST, port
    )
    t1 = await asyncio.wait_for(done, RUN_TIMEOUT)
    transport.close()
    return Run(
        *_span(t0, t1),
        events=sink.count + codec.skipped,
        delivered=sink.count,
        login_ok=proto.login_ok,
        names=collect,
        error=None if proto.error is None else repr(proto.error),
    )


async def run_ours(port: int, collect: list[str] | None) -> Run:
    """The shipped client, wired to the tracker as ``callcenter/controller.py`` does."""
    from callcenter.ami import AMIClient, AMIConnectionError, ConnectionState

    loop = asyncio.get_running_loop()
    done: asyncio.Future[tuple[float, float]] = loop.create_future()
    sink = Sink(True, collect)
    client = AMIClient(
        HOST,
        port,
        LOGIN["Username"],
        LOGIN["Secret"],
        name="bench",
        reconnect=False,
        ping_interval=None,
        events=(),
    )
    client.subscribe(TRACKED_EVENTS)
    feed = sink.feed

    def on_event(ev: Any) -> None:
        if ev.name in TRACKED_EVENTS:  # the controller's own test (_on_ami_event)
            feed(ev)

    def on_state(state: ConnectionState) -> None:
        if state is ConnectionState.DISCONNECTED and not done.done():
            done.set_result(_now())

    client.on_event("*", on_event)
    client.on_state(on_state)
    t0 = _now()
    try:
        await client.connect()
    except AMIConnectionError:
        pass  # the whole stream was read before connect() resumed: the login was answered
    link = client._link  # noqa: SLF001  (its codec counts the events skipped unread)
    codec = link.codec if link is not None else None
    t1 = await asyncio.wait_for(done, RUN_TIMEOUT)
    skipped = codec.skipped if codec is not None else 0
    callback_errors = client.callback_errors
    await client.close()
    return Run(
        *_span(t0, t1),
        events=sink.count + skipped,
        delivered=sink.count,
        login_ok=client.banner is not None,
        names=collect,
        domain=sink.digest(),
        error=f"{callback_errors} callback errors" if callback_errors else None,
    )


_PANORAMISK_MANAGER: Any = None


def _panoramisk_manager_class() -> Any:
    """panoramisk's Manager, except that end of stream ends the run instead of reconnecting."""
    global _PANORAMISK_MANAGER
    if _PANORAMISK_MANAGER is None:
        from panoramisk import Manager

        class BenchManager(Manager):  # type: ignore[misc]
            bench_done: asyncio.Future[tuple[float, float]]

            def connection_lost(self, exc: Exception | None) -> None:
                self._connected = False
                if self.pinger:
                    self.pinger.cancel()
                    self.pinger = None
                if not self.bench_done.done():
                    self.bench_done.set_result(_now())

        _PANORAMISK_MANAGER = BenchManager
    return _PANORAMISK_MANAGER


async def run_panoramisk(port: int, collect: list[str] | None, tracker: bool) -> Run:
    loop = asyncio.get_running_loop()
    manager = _panoramisk_manager_class()(
        host=HOST, port=port, loop=loop, ping_delay=3600, **{k.lower(): v for k, v in LOGIN.items()}
    )
    manager.bench_done = done = loop.create_future()
    sink = Sink(tracker, collect)
    feed = sink.feed
    seen = [0]
    if tracker:

        def on_event(mgr: Any, event: Any) -> None:
            seen[0] += 1
            name = event.event
            if name in TRACKED_EVENTS:
                feed(_View(name, event.get))

    else:

        def on_event(mgr: Any, event: Any) -> None:
            seen[0] += 1
            feed(_View(event["Event"], event.get))

    manager.register_event("*", on_event)
    t0 = _now()
    manager.connect()
    t1 = await asyncio.wait_for(done, RUN_TIMEOUT)
    manager.close()
    await asyncio.sleep(0)  # let the on_login/send_awaiting_actions callbacks run
    return Run(
        *_span(t0, t1),
        events=seen[0],
        delivered=sink.count,
        login_ok=manager.authenticated,
        names=collect,
        domain=sink.digest(),
    )


def run_asterisk_ami(port: int, collect: list[str] | None, tracker: bool) -> Run:
    from asterisk.ami import AMIClient

    client = AMIClient(address=HOST, port=port, timeout=30)
    ended = threading.Event()
    end: dict[str, Any] = {}

    def on_disconnect(source: Any, error: BaseException | None = None) -> None:
        end["t1"] = _now()
        end["error"] = error
        ended.set()

    client.add_listener(on_disconnect=on_disconnect)
    sink = Sink(tracker, collect)
    feed = sink.feed
    seen = [0]
    if tracker:

        def on_event(event: Any, source: Any) -> None:
            seen[0] += 1
            name = event.name
            if name in TRACKED_EVENTS:
                feed(_View(name, event.keys.get))

    else:

        def on_event(event: Any, source: Any) -> None:
            seen[0] += 1
            feed(event)

    client.add_event_listener(on_event)
    t0 = _now()
    future = client.login("bench", "bench")
    if not ended.wait(RUN_TIMEOUT):
        raise TimeoutError("asterisk-ami did not reach end of stream")
    client.disconnect()
    # its listener thread ends on EOF by letting StopIteration out of its generator
    error = end["error"]
    resp = future._response
    return Run(
        *_span(t0, end["t1"]),
        events=seen[0],
        delivered=sink.count,
        login_ok=resp is not None and not resp.is_error(),
        names=collect,
        domain=sink.digest(),
        error=None if error is None or isinstance(error, StopIteration) else repr(error),
    )


def _runner(client: str, port: int) -> Callable[[list[str] | None], Run]:
    tracker = client in TRACKER_CLIENTS
    if client.startswith("asterisk_ami"):
        return lambda collect: run_asterisk_ami(port, collect, tracker)
    coro: Callable[[list[str] | None], Any]
    if client == "raw":
        coro = lambda collect: run_raw(port, collect)  # noqa: E731
    elif client.startswith("panoramisk"):
        coro = lambda collect: run_panoramisk(port, collect, tracker)  # noqa: E731
    elif client == "ours":
        coro = lambda collect: run_ours(port, collect)  # noqa: E731
    elif client == "ours_names":
        coro = lambda collect: run_ours_names(port, collect)  # noqa: E731
    else:
        raise SystemExit(f"unknown client {client!r}")
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    return lambda collect: loop.run_until_complete(coro(collect))


def _preload(client: str) -> None:
    """Import everything a client's run needs, so the memory baseline includes it."""
    import callcenter.tracker  # noqa: F401  (the tracker, for every client)

    if client.startswith("ours"):
        import callcenter.ami  # noqa: F401
    elif client.startswith("panoramisk"):
        _panoramisk_manager_class()
    elif client.startswith("asterisk_ami"):
        import asterisk.ami  # noqa: F401


def worker(client: str, port: int, repeat: int) -> dict[str, Any]:
    """Measure one client; runs in its own subprocess. Returns the JSON-able result.

    Order: one cold run measuring peak RSS over the idle, imported process; one
    run recording the event names delivered; ``repeat`` timed runs; one run
    under tracemalloc. Only the timed runs' times are reported.
    """
    _preload(client)
    run = _runner(client, port)
    gc.collect()
    baseline = _status_kib("VmRSS") or 0
    reset = _reset_peak_rss()
    cold = run(None)
    peak_rss = max(0, _peak_rss_kib() - baseline)
    names: list[str] = []
    check = run(names)
    runs = [run(None) for _ in range(repeat)]
    gc.collect()
    tracemalloc.start()
    traced = run(None)
    tm_peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    every = [cold, check, *runs, traced]
    return {
        "client": client,
        "times_s": [r.seconds for r in runs],
        "cpu_s": [r.cpu_s for r in runs],
        "events": sorted({r.events for r in every}),
        "delivered": sorted({r.delivered for r in every}),
        "nbytes": sorted({r.nbytes for r in every}),
        "login_ok": all(r.login_ok for r in every),
        "errors": sorted({r.error for r in every if r.error}),
        "names_sha256": digest(names),
        "domain_sha256": check.domain,
        "peak_rss_delta_kib": peak_rss,
        "rss_method": "VmHWM reset" if reset else "ru_maxrss (includes imports)",
        "tracemalloc_peak_kib": tm_peak // 1024,
    }


# -- driver ---------------------------------------------------------------------------
class BenchFailure(Exception):
    pass


@dataclass
class ClientResult:
    name: str
    eps: float
    median_s: float
    times_s: list[float]
    cpu_eps: float  # events / median CPU seconds of the client's process
    median_cpu_s: float
    events_counted: int
    delivered: int
    peak_rss_delta_kib: int
    tracemalloc_peak_kib: int
    extra: dict[str, Any] = field(default_factory=dict)


def _start_server(path: Path) -> tuple[subprocess.Popen[bytes], int]:
    proc = subprocess.Popen(
        [sys.executable, str(BENCH_DIR / "_replay_server.py"), str(path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line.strip():
        proc.kill()
        raise BenchFailure(f"replay server for {path} did not start")
    return proc, int(line)


def _stop_server(proc: subprocess.Popen[bytes]) -> None:
    assert proc.stdin is not None
    proc.stdin.close()
    try:
        proc.wait(5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _run_worker(client: str, port: int, repeat: int) -> dict[str, Any]:
    cmd = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--worker",
        client,
        "--port",
        str(port),
        "--repeat",
        str(repeat),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=RUN_TIMEOUT * (repeat + 3))
    if proc.returncode != 0:
        raise BenchFailure(f"{client} worker failed (exit {proc.returncode}):\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _check(ref: Reference, w: dict[str, Any]) -> list[str]:
    """Every way a client's result can disagree with the reference split."""
    c = w["client"]
    bad: list[str] = []
    if w["errors"]:
        bad.append(f"{c}: errors {w['errors']}")
    if not w["login_ok"]:
        bad.append(f"{c}: login was not answered with Success")
    if c == "raw":
        want = len(ref.banner) + len(login_response(RAW_ACTION_ID)) + len(ref.body)
        if w["nbytes"] != [want]:
            bad.append(f"raw: read {w['nbytes']} bytes, expected {want}")
        return bad
    if w["events"] != [ref.events]:
        bad.append(f"{c}: counted {w['events']} events, the transcript has {ref.events}")
    names = ref.tracked if c in TRACKER_CLIENTS else ref.names
    if w["delivered"] != [len(names)]:
        bad.append(f"{c}: delivered {w['delivered']} events, expected {len(names)}")
    if w["names_sha256"] != digest(names):
        bad.append(f"{c}: the sequence of event names differs from the transcript's")
    return bad


def bench_transcript(
    path: Path, clients: list[str], repeat: int
) -> tuple[Reference, dict[str, ClientResult]]:
    ref = load_reference(path)
    if not ref.events:
        raise BenchFailure(f"{path.name}: no events after the Login, nothing to measure")
    proc, port = _start_server(path)
    results: dict[str, ClientResult] = {}
    problems: list[str] = []
    digests: dict[str, str | None] = {}
    try:
        for c in clients:
            w = _run_worker(c, port, repeat)
            problems += _check(ref, w)
            digests[c] = w.get("domain_sha256")
            med = statistics.median(w["times_s"])
            med_cpu = statistics.median(w["cpu_s"])
            results[c] = ClientResult(
                name=c,
                eps=ref.events / med,
                median_s=med,
                times_s=w["times_s"],
                cpu_eps=ref.events / med_cpu if med_cpu > 0 else 0.0,
                median_cpu_s=med_cpu,
                events_counted=w["events"][0] if c != "raw" else ref.events,
                delivered=w["delivered"][0] if c != "raw" else ref.events,
                peak_rss_delta_kib=w["peak_rss_delta_kib"],
                tracemalloc_peak_kib=w["tracemalloc_peak_kib"],
                extra={"rss_method": w["rss_method"], "domain_sha256": w.get("domain_sha256")},
            )
    finally:
        _stop_server(proc)
    domains = {c: d for c, d in digests.items() if d is not None}
    if len(set(domains.values())) > 1:
        problems.append(f"the tracker's domain events differ between clients: {domains}")
    if problems:
        raise BenchFailure(
            f"{path.name}: clients disagree with the transcript:\n  " + "\n  ".join(problems)
        )
    return ref, results


def _fmt_ratio(x: float | None) -> str:
    return "" if x is None else f"{x:.2f}x"


def _peer_of(name: str) -> str:
    """The ``ours`` row a row is compared with: same work (tracker, or names only)."""
    return "ours_names" if name.endswith("_names") else "ours"


def print_table(ref: Reference, results: dict[str, ClientResult], repeat: int) -> None:
    print(
        f"\n{ref.path.name}: {ref.size:,} bytes, {ref.events:,} events "
        f"({len(ref.tracked):,} tracked) + {ref.responses:,} responses after the Login; "
        f"events/s: median of {repeat} runs"
    )
    header = (
        f"{'client':<19} {'work':<11} {'events/s':>12} {'of raw':>7} {'ours/this':>10} "
        f"{'CPU ev/s':>10} {'ours/this':>10} {'peak RSS Δ':>11} {'tracemalloc':>12}"
    )
    print(header)
    print("-" * len(header))
    raw = results.get("raw")
    for r in results.values():
        of_raw = _fmt_ratio(r.eps / raw.eps) if raw else ""
        ours = results.get(_peer_of(r.name))
        mine = ours is None or r.name in ("raw", ours.name)
        vs = "" if mine or ours is None else _fmt_ratio(ours.eps / r.eps)
        vs_cpu = (
            "" if mine or ours is None or not r.cpu_eps else _fmt_ratio(ours.cpu_eps / r.cpu_eps)
        )
        print(
            f"{r.name:<19} {LABELS[r.name]:<11} {r.eps:>12,.0f} {of_raw:>7} {vs:>10} "
            f"{r.cpu_eps:>10,.0f} {vs_cpu:>10} "
            f"{r.peak_rss_delta_kib:>8,} KiB {r.tracemalloc_peak_kib:>8,} KiB"
        )


def summary(per: list[tuple[Reference, dict[str, ClientResult]]], repeat: int) -> dict[str, Any]:
    """Top level: all transcripts together, eps = total events / sum of median times."""
    out: dict[str, Any] = {}
    clients = list(per[0][1])
    for c in clients:
        events = sum(ref.events for ref, res in per)
        secs = sum(res[c].median_s for ref, res in per)
        out[f"{c}_eps"] = round(events / secs, 1)
        cpu = sum(res[c].median_cpu_s for ref, res in per)
        out[f"{c}_cpu_eps"] = round(events / cpu, 1) if cpu > 0 else 0.0
    for mine, others in (
        ("ours", (*PEERS, "raw")),
        ("ours_names", ("panoramisk_names", "asterisk_ami_names", "raw")),
    ):
        for other in others:
            if f"{mine}_eps" in out and f"{other}_eps" in out:
                out[f"{mine}_vs_{other}"] = round(out[f"{mine}_eps"] / out[f"{other}_eps"], 3)
                if other != "raw" and out[f"{other}_cpu_eps"]:
                    out[f"{mine}_vs_{other}_cpu"] = round(
                        out[f"{mine}_cpu_eps"] / out[f"{other}_cpu_eps"], 3
                    )
    out["work"] = {
        "tracker": "tracked events (callcenter.tracker.TRACKED_EVENTS) fed to CallTracker.on_event, "
        "which reads their headers; ours is the shipped AMIClient",
        "names only": "every event's name read, nothing else; ours_names is the bare codec",
    }
    out["statistic"] = f"median of {repeat} timed runs per client (after 2 untimed runs)"
    out["eps_definition"] = "transcript events / seconds from connect to end of stream"
    out["cpu_eps_definition"] = (
        "transcript events / CPU seconds of the client's process (all threads) over the same "
        "span: less moved by other processes on a shared machine than the wall clock"
    )
    out["memory"] = (
        "peak_rss_delta_kib: first (cold) run in a fresh worker process, VmHWM (reset via "
        "/proc/self/clear_refs) minus VmRSS of the idle process with the client imported; "
        "tracemalloc_peak_kib: peak traced Python allocations during one extra untimed run"
    )
    out["python"] = platform.python_version()
    out["versions"] = {p: _version(p) for p in ("panoramisk", "asterisk-ami")}
    out["transcripts"] = [
        {
            "path": str(ref.path),
            "bytes": ref.size,
            "events": ref.events,
            "responses": ref.responses,
            "clients": {
                c: {
                    "eps": round(r.eps, 1),
                    "median_s": r.median_s,
                    "times_s": r.times_s,
                    "cpu_eps": round(r.cpu_eps, 1),
                    "median_cpu_s": r.median_cpu_s,
                    "events_counted": r.events_counted,
                    "delivered": r.delivered,
                    "work": LABELS[c],
                    "peak_rss_delta_kib": r.peak_rss_delta_kib,
                    "tracemalloc_peak_kib": r.tracemalloc_peak_kib,
                }
                for c, r in res.items()
            },
        }
        for ref, res in per
    ]
    return out


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--repeat", type=int, default=15, help="timed runs per client (default 15)")
    p.add_argument(
        "--transcript",
        action="append",
        type=Path,
        help="AMI transcript to replay (repeatable; default 09-load.ami and 10-burst.ami)",
    )
    p.add_argument(
        "--client", action="append", choices=CLIENTS, help="only these clients (repeatable)"
    )
    p.add_argument("--json", action="store_true", help="print one JSON object as the last line")
    p.add_argument("--worker", help=argparse.SUPPRESS)
    p.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.repeat < 1:
        p.error("--repeat must be at least 1")

    if args.worker:
        print(json.dumps(worker(args.worker, args.port, args.repeat)))
        return 0

    clients = args.client or CLIENTS
    clients = [c for c in CLIENTS if c in clients]  # keep the table order
    transcripts = args.transcript or DEFAULT_TRANSCRIPTS
    print(
        f"AMI ingest over loopback: Python {platform.python_version()}, {os.cpu_count()} CPUs, "
        f"panoramisk {_version('panoramisk')}, asterisk-ami {_version('asterisk-ami')}"
    )
    per = []
    try:
        for path in transcripts:
            ref, results = bench_transcript(path, clients, args.repeat)
            print_table(ref, results, args.repeat)
            per.append((ref, results))
    except BenchFailure as e:
        print(f"\nBENCH FAILED: {e}", file=sys.stderr)
        return 1
    out = summary(per, args.repeat)
    if len(per) > 1:
        print("\nall transcripts: " + ", ".join(f"{c} {out[f'{c}_eps']:,.0f}/s" for c in clients))
        print(
            "all transcripts, per CPU second: "
            + ", ".join(f"{c} {out[f'{c}_cpu_eps']:,.0f}/s" for c in clients)
        )
    print("ratios: " + ", ".join(f"{k} {v:.2f}x" for k, v in out.items() if "_vs_" in k))
    if args.json:
        print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
