"""The asyncio AMI client over real TCP, against servers that replay real Asterisk 22 bytes.

Each fake server here answers the client's actions with the bytes a real
Asterisk sent for the same action in ``tests/ami-transcripts`` (only the
ActionID/CommandID are swapped for the client's), and checks that the client
sent the same fields the recording's client did. The helpers (``Transcript``,
``FakeAsterisk``, ``replay``) are also used by ``test_ami_client_actions.py``.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import logging
import random
import re
import socket
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest

from callcenter.ami import (
    ActionTimeout,
    AMIClient,
    AMIConnectionError,
    AuthenticationError,
    Backoff,
    ConnectionState,
    NotAMIError,
    Response,
)
from callcenter.ami.state import ConnectionStateMachine, InvalidTransition

from .transcripts import TRANSCRIPTS

BANNER = b"Asterisk Call Manager/11.0.0\r\n"
S = ConnectionState


# -- recorded sessions -----------------------------------------------------------


@dataclass
class Action:
    """An action as a client wrote it: ordered headers and the raw bytes."""

    headers: list[tuple[str, str]]
    raw: bytes = b""

    @property
    def name(self) -> str:
        return self.get("Action") or ""

    def get(self, name: str) -> str | None:
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None

    def fields(self) -> Counter[tuple[str, str]]:
        """Headers other than the ids, as a multiset (Asterisk ignores order)."""
        skip = {"actionid", "commandid"}
        return Counter((k, v) for k, v in self.headers if k.lower() not in skip)


def parse_action(raw: bytes) -> Action:
    text = raw.decode().replace("\r\n", "\n").strip("\n")
    headers = []
    for line in text.split("\n"):
        k, _, v = line.partition(":")
        headers.append((k, v.removeprefix(" ")))
    return Action(headers, raw)


@dataclass
class Step:
    """One recorded action and the bytes Asterisk sent from its response on."""

    action: Action
    chunk: bytes

    def render(self, sent: Action) -> bytes:
        out = self.chunk
        for ours, theirs in (("ActionID", "ActionID"), ("CommandID", "CommandId")):
            old, new = self.action.get(ours), sent.get(ours)
            if old and new:
                out = out.replace(
                    f"\r\n{theirs}: {old}\r\n".encode(), f"\r\n{theirs}: {new}\r\n".encode()
                )
        return out


class Transcript:
    """A recorded AMI session, cut into steps: one per action with an ActionID.

    A step's chunk runs from the action's response to the next recorded
    response, so events Asterisk interleaved travel with it.
    """

    def __init__(self, stem: str, conn: str = "main") -> None:
        path = TRANSCRIPTS / (f"{stem}.ami" if conn == "main" else f"{stem}.{conn}.ami")
        data = path.read_bytes()
        nl = data.index(b"\r\n") + 2
        self.banner = data[:nl]
        assert self.banner == BANNER
        self.frames = [f + b"\r\n\r\n" for f in data[nl:].split(b"\r\n\r\n")[:-1]]
        responses: dict[str, int] = {}
        for i, f in enumerate(self.frames):
            m = re.match(rb"Response: [^\r]*\r\nActionID: ([^\r]*)\r\n", f)
            if m:
                responses.setdefault(m.group(1).decode(), i)
        located = []
        for action in self._actions(stem, conn):
            aid = action.get("ActionID")
            if aid is not None and aid in responses:
                located.append((responses[aid], action))
        located.sort(key=lambda x: x[0])
        self.steps: dict[str, Step] = {}
        for n, (i, action) in enumerate(located):
            end = located[n + 1][0] if n + 1 < len(located) else len(self.frames)
            self.steps[action.get("ActionID") or ""] = Step(action, b"".join(self.frames[i:end]))

    @staticmethod
    def _actions(stem: str, conn: str) -> list[Action]:
        text = (TRANSCRIPTS / f"{stem}.actions.txt").read_text()
        out = []
        for block in re.split(r"^## t=\S+ conn=", text, flags=re.M)[1:]:
            label, _, body = block.partition("\n")
            if label.strip() == conn:
                out.append(parse_action(body.strip("\n").encode()))
        return out

    def select(self, *action_ids: str) -> list[Step]:
        return [self.steps[a] for a in action_ids]

    def frame(self, start: bytes, contains: bytes = b"") -> bytes:
        """The first recorded frame starting with ``start`` and containing ``contains``."""
        return next(f for f in self.frames if f.startswith(start) and contains in f)


T01 = Transcript("01-login-banner-and-ping")
LOGIN = T01.steps["s01-1"]
PING = T01.steps["s01-2"]
LOGOFF = T01.steps["s01-5"]


# -- a TCP server that plays Asterisk ------------------------------------------------


class Peer:
    """The server side of one accepted connection."""

    def __init__(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, server: FakeAsterisk
    ) -> None:
        self.reader = reader
        self.writer = writer
        self.server = server

    async def send(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def read_action(self) -> Action | None:
        try:
            raw = await self.reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, ConnectionError):
            return None
        action = parse_action(raw)
        self.server.received.append(action)
        return action


Handler = Callable[[Peer], Awaitable[None]]


class FakeAsterisk:
    """``asyncio.start_server`` on 127.0.0.1:0; the n-th connection runs ``handlers[n]``
    (the last one for every later connection)."""

    def __init__(self, *handlers: Handler) -> None:
        self.handlers = handlers
        self.connections = 0
        self.received: list[Action] = []
        self.mismatches: list[str] = []
        self._writers: list[asyncio.StreamWriter] = []
        self._tasks: list[asyncio.Task[Any]] = []
        self._server: asyncio.Server | None = None

    @property
    def port(self) -> int:
        assert self._server is not None
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    def actions(self) -> list[str]:
        return [a.name for a in self.received]

    async def __aenter__(self) -> FakeAsterisk:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        for w in self._writers:
            w.transport.abort()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._server.wait_closed()
        assert not self.mismatches, self.mismatches

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        handler = self.handlers[min(self.connections, len(self.handlers) - 1)]
        self.connections += 1
        self._writers.append(writer)
        task = asyncio.current_task()
        assert task is not None
        self._tasks.append(task)
        try:
            await handler(Peer(reader, writer, self))
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()


async def idle(peer: Peer) -> None:
    """Answer nothing but Logoff (with Asterisk's Goodbye, then close, as 01 shows)."""
    while (action := await peer.read_action()) is not None:
        if action.name == "Logoff":
            await peer.send(LOGOFF.render(action))
            return


async def answer_pings(peer: Peer) -> None:
    """Answer every Ping with 01's Pong (and Logoff with its Goodbye)."""
    while (action := await peer.read_action()) is not None:
        if action.name == "Ping":
            await peer.send(PING.render(action))
        elif action.name == "Logoff":
            await peer.send(LOGOFF.render(action))
            return


def replay(
    steps: list[Step],
    *,
    delay: float = 0.0,
    close: bool = False,
    then: Handler = idle,
) -> Handler:
    """Banner, then each step's recorded answer to the client's matching action."""

    async def handler(peer: Peer) -> None:
        await peer.send(BANNER)
        for step in steps:
            sent = await peer.read_action()
            if sent is None:
                return
            if sent.name != step.action.name or sent.fields() != step.action.fields():
                peer.server.mismatches.append(f"expected {step.action.headers}, got {sent.headers}")
            if delay:
                await asyncio.sleep(delay)
            await peer.send(step.render(sent))
        if not close:
            await then(peer)

    return handler


def bounded(seconds: float = 5.0) -> Callable[[Any], Any]:
    """Fail a test that runs longer than ``seconds`` instead of hanging the suite."""

    def deco(fn: Any) -> Any:
        @functools.wraps(fn)
        async def wrapper(*args: Any, **kwargs: Any) -> Any:
            async with asyncio.timeout(seconds):
                return await fn(*args, **kwargs)

        return wrapper

    return deco


def make_client(port: int, **kw: Any) -> AMIClient:
    opts: dict[str, Any] = dict(
        action_timeout=2.0, connect_timeout=2.0, ping_interval=None, reconnect=False
    )
    opts.update(kw)
    username = opts.pop("username", "ctl")
    secret = opts.pop("secret", "ctlsecret")
    return AMIClient("127.0.0.1", port, username, secret, **opts)


def record_states(client: AMIClient) -> list[ConnectionState]:
    states: list[ConnectionState] = []
    client.on_state(states.append)
    return states


# -- pure parts -----------------------------------------------------------------------


def test_backoff_is_exponential_with_full_jitter() -> None:
    b = Backoff(0.5, 30.0, random.Random(42))
    draws = random.Random(42)
    expected = [min(30.0, 0.5 * 2**n) * draws.random() for n in range(10)]
    assert [b.delay(n) for n in range(10)] == expected
    assert [b.ceiling(n) for n in (0, 1, 5, 6, 10_000)] == [0.5, 1.0, 16.0, 30.0, 30.0]
    with pytest.raises(ValueError, match="need 0 < backoff_initial <= backoff_max"):
        Backoff(1.0, 0.5)


def test_state_machine_rejects_moves_outside_its_table() -> None:
    m = ConnectionStateMachine()
    assert m.move(S.CONNECTING) and m.move(S.CONNECTED) and m.move(S.CLOSED)
    with pytest.raises(InvalidTransition, match="cannot go from CLOSED to CONNECTING"):
        m.move(S.CONNECTING)
    assert not m.move(S.CLOSED)  # staying put is not a transition


# -- logging in --------------------------------------------------------------------------


@bounded()
async def test_login_ping_logoff_against_transcript_01() -> None:
    async with FakeAsterisk(replay(T01.select("s01-1", "s01-2", "s01-3"))) as srv:
        client = make_client(srv.port)
        states = record_states(client)
        seen: list[str] = []
        client.on_event("*", lambda ev: seen.append(ev.name))
        await client.connect()
        assert client.connected and client.state is S.CONNECTED
        assert client.banner == "Asterisk Call Manager/11.0.0"
        assert srv.received[0].raw == (
            b"Action: Login\r\nActionID: node1-1\r\nUsername: ctl\r\nSecret: ctlsecret\r\n\r\n"
        )
        rtt = await client.ping()
        assert rtt >= 0
        settings = await client.send_action("CoreSettings")
        assert isinstance(settings, Response) and settings["AsteriskVersion"] == "22.10.1"
        assert seen == ["FullyBooted", "SuccessfulAuth"]
        await client.close()
        await client.close()  # idempotent
        assert srv.actions() == ["Login", "Ping", "CoreSettings", "Logoff"]
        assert states == [S.CONNECTING, S.CONNECTED, S.CLOSED]
        with pytest.raises(AMIConnectionError) as err:
            await client.send_action("Ping")
        assert str(err.value) == f"AMI client node1 for 127.0.0.1:{srv.port} is closed"


@pytest.mark.parametrize(
    ("conn", "action_id", "username", "secret"),
    [("badlogin", "s08b-96", "ctl", "wrongsecret"), ("baduser", "s08u-97", "nosuchuser", "x")],
)
@bounded()
async def test_refused_login_raises_authentication_error(
    conn: str, action_id: str, username: str, secret: str
) -> None:
    # Asterisk answers a bad login ~1 s later, then closes the socket (08-errors.<conn>.ami).
    steps = Transcript("08-errors", conn).select(action_id)
    async with FakeAsterisk(replay(steps, delay=0.3, close=True)) as srv:
        client = make_client(srv.port, username=username, secret=secret, reconnect=True)
        states = record_states(client)
        with pytest.raises(AuthenticationError) as err:
            await client.connect()
        assert str(err.value) == (
            f"AMI login failed: wrong username or secret for user {username!r} on "
            f"127.0.0.1:{srv.port} (Asterisk said: Authentication failed)"
        )
        assert states == [S.CONNECTING, S.DISCONNECTED]
        assert not client.connected
        await asyncio.sleep(0.05)
        assert srv.connections == 1  # a refused first login is not retried
        await client.close()


def md5_server(expected_secret: str) -> Handler:
    """Asterisk's Challenge answer (manager.c action_challenge: an ack plus
    ``Challenge:``), then the real answer to the Login: 01 if the key is right,
    08-errors.badlogin if not."""
    challenge = "840215617"
    bad = Transcript("08-errors", "badlogin").steps["s08b-96"]

    async def handler(peer: Peer) -> None:
        await peer.send(BANNER)
        ch = await peer.read_action()
        assert ch is not None and ch.name == "Challenge" and ch.get("AuthType") == "MD5"
        await peer.send(
            f"Response: Success\r\nActionID: {ch.get('ActionID')}\r\n"
            f"Challenge: {challenge}\r\n\r\n".encode()
        )
        login = await peer.read_action()
        assert login is not None and login.name == "Login"
        assert login.get("AuthType") == "MD5" and login.get("Secret") is None
        key = hashlib.md5((challenge + expected_secret).encode()).hexdigest()
        if login.get("Key") == key:
            await peer.send(LOGIN.render(login))
            await idle(peer)
        else:
            await peer.send(bad.render(login))

    return handler


@bounded()
async def test_md5_login_sends_md5_of_challenge_and_secret() -> None:
    async with FakeAsterisk(md5_server("ctlsecret")) as srv:
        client = make_client(srv.port, auth="md5")
        await client.connect()
        assert client.connected
        assert srv.received[1].get("Username") == "ctl"
        await client.close()
    async with FakeAsterisk(md5_server("ctlsecret")) as srv:
        client = make_client(srv.port, auth="md5", secret="wrong")
        with pytest.raises(AuthenticationError) as err:
            await client.connect()
        assert str(err.value) == (
            f"AMI login failed: wrong username or secret for user 'ctl' on "
            f"127.0.0.1:{srv.port} (Asterisk said: Authentication failed)"
        )
        await client.close()


# -- peers that are not (or no longer) Asterisk ---------------------------------------------


@bounded()
async def test_http_server_is_not_ami() -> None:
    async def http(peer: Peer) -> None:
        await peer.send(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")

    async with FakeAsterisk(http) as srv:
        client = make_client(srv.port)
        with pytest.raises(NotAMIError) as err:
            await client.connect()
        assert str(err.value) == (
            f"127.0.0.1:{srv.port} is not an Asterisk Manager Interface (wrong port? AMI "
            "listens on 5038 by default): banner 'HTTP/1.1 400 Bad Request' does not start "
            "with 'Asterisk Call Manager/' (at byte offset 0)"
        )
        assert err.value.fatal and err.value.offset == 0
        assert client.state is S.DISCONNECTED
        await client.close()


@bounded()
async def test_peer_that_closes_or_stays_silent_before_the_banner() -> None:
    async def hang_up(peer: Peer) -> None:
        return

    async def silent(peer: Peer) -> None:
        await peer.read_action()

    async with FakeAsterisk(hang_up) as srv:
        client = make_client(srv.port)
        with pytest.raises(AMIConnectionError) as err:
            await client.connect()
        assert str(err.value) == (
            f"127.0.0.1:{srv.port} closed the connection before sending the AMI banner"
        )
    async with FakeAsterisk(silent) as srv:
        client = make_client(srv.port, connect_timeout=0.2)
        with pytest.raises(AMIConnectionError) as err:
            await client.connect()
        assert str(err.value) == (
            f"connected to 127.0.0.1:{srv.port} but no AMI banner came within 0.2 s "
            "(is this the Asterisk manager port, 5038 by default?)"
        )
        assert (err.value.host, err.value.port) == ("127.0.0.1", srv.port)


@bounded()
async def test_refused_port_names_host_port_and_os_error() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    client = make_client(port)
    with pytest.raises(AMIConnectionError) as err:
        await client.connect()
    assert str(err.value) == (
        f"cannot connect to AMI at 127.0.0.1:{port}: "
        f"[Errno 111] Connect call failed ('127.0.0.1', {port})"
    )
    assert isinstance(err.value.__cause__, ConnectionRefusedError)
    assert client.state is S.DISCONNECTED
    await client.close()
    assert client.state is S.CLOSED


@bounded()
async def test_tcp_connect_timeout_names_host_port() -> None:
    # A listener with a full accept queue drops further SYNs: connect() hangs.
    with socket.socket() as listener, socket.socket() as filler:
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        port = listener.getsockname()[1]
        filler.connect(("127.0.0.1", port))
        client = make_client(port, connect_timeout=0.2)
        with pytest.raises(AMIConnectionError) as err:
            await client.connect()
        assert str(err.value) == f"cannot connect to AMI at 127.0.0.1:{port}: timed out after 0.2 s"
        assert client.state is S.DISCONNECTED
        await client.close()


# -- actions that never come back ---------------------------------------------------------


@bounded()
async def test_unanswered_action_times_out_and_the_link_stays_up() -> None:
    async with FakeAsterisk(replay([LOGIN])) as srv:
        client = make_client(srv.port)
        await client.connect()
        with pytest.raises(ActionTimeout) as err:
            await client.send_action("Ping", timeout=0.2)
        assert str(err.value) == (
            f"Ping (ActionID node1-2) got no answer from AMI at 127.0.0.1:{srv.port} within 0.2 s"
        )
        assert (err.value.action, err.value.timeout) == ("Ping", 0.2)
        assert client.connected
        await client.close()
        assert srv.actions() == ["Login", "Ping", "Logoff"]


# -- bad frames ---------------------------------------------------------------------------


@bounded()
async def test_malformed_frame_is_counted_and_reading_goes_on() -> None:
    booted = T01.frame(b"Event: FullyBooted")

    async def after_login(peer: Peer) -> None:
        ping = await peer.read_action()
        assert ping is not None
        await peer.send(b"this line is no header\r\nnor this\r\n\r\n" + booted + PING.render(ping))
        await idle(peer)

    async with FakeAsterisk(replay([LOGIN], then=after_login)) as srv:
        client = make_client(srv.port)
        booted_seen: list[str] = []
        client.on_event("FullyBooted", lambda ev: booted_seen.append(ev["Status"]))
        await client.connect()
        await client.ping()
        assert client.protocol_errors == 1
        assert booted_seen == [
            "Fully Booted",
            "Fully Booted",
        ]  # login's, then the one after the junk
        assert client.connected
        await client.close()


@bounded()
async def test_oversized_frame_drops_the_link_and_the_client_reconnects() -> None:
    huge = b"Event: VarSet\r\nValue: " + b"x" * 5000 + b"\r\n\r\n"
    # the login answer as replayed: our ActionID node1-1 is 2 bytes longer than s01-1
    login_bytes = len(BANNER) + len(LOGIN.chunk) + 2

    async def flood(peer: Peer) -> None:
        await peer.read_action()
        await peer.send(huge)
        await idle(peer)

    async with FakeAsterisk(replay([LOGIN], then=flood), replay([LOGIN, PING])) as srv:
        client = make_client(
            srv.port, max_frame=4096, reconnect=True, backoff_initial=0.01, backoff_max=0.02
        )
        reconnected = asyncio.Event()
        client.on_reconnect(reconnected.set)
        await client.connect()
        with pytest.raises(AMIConnectionError) as err:
            await client.send_action("Ping")
        assert str(err.value) == (
            f"connection to AMI at 127.0.0.1:{srv.port} lost while waiting for Ping "
            f"(ActionID node1-2): fatal protocol error: frame of {len(huge) - 4} bytes "
            f"exceeds max_frame=4096 (at byte offset {login_bytes})"
        )
        await reconnected.wait()
        assert client.protocol_errors == 1 and client.reconnects == 1
        await client.ping()
        await client.close()
        assert srv.connections == 2


# -- reconnecting ------------------------------------------------------------------------------


@bounded()
async def test_reconnect_with_seeded_full_jitter_and_on_reconnect() -> None:
    async def drop_on_ping(peer: Peer) -> None:
        await peer.read_action()  # the Ping: hang up instead of answering

    async def no_banner(peer: Peer) -> None:
        return

    async with FakeAsterisk(
        replay([LOGIN], then=drop_on_ping), no_banner, replay([LOGIN, PING])
    ) as srv:
        client = make_client(
            srv.port, reconnect=True, backoff_initial=0.01, backoff_max=0.015, rng=random.Random(7)
        )
        states = record_states(client)
        resynced: asyncio.Future[float] = asyncio.get_running_loop().create_future()

        async def resync() -> None:  # like the controller: send actions from the callback
            resynced.set_result(await client.ping())

        client.on_reconnect(resync)
        await client.connect()
        with pytest.raises(AMIConnectionError) as err:
            await client.ping()
        assert str(err.value) == (
            f"connection to AMI at 127.0.0.1:{srv.port} lost while waiting for Ping "
            "(ActionID node1-2): peer closed the connection"
        )
        assert not client.connected
        with pytest.raises(AMIConnectionError, match=r"is not connected to .* \(state DISC"):
            await client.send_action("Ping")
        await resynced
        draws = random.Random(7)
        assert list(client.recent_backoffs) == [0.01 * draws.random(), 0.015 * draws.random()]
        assert states == [
            S.CONNECTING, S.CONNECTED,
            S.DISCONNECTED, S.CONNECTING,  # attempt 1: no banner
            S.DISCONNECTED, S.CONNECTING, S.CONNECTED,  # attempt 2
        ]  # fmt: skip
        assert str(client.last_error) == (
            f"127.0.0.1:{srv.port} closed the connection before sending the AMI banner"
        )
        assert client.reconnects == 1
        # ActionIDs keep counting across connections: a stale answer never matches.
        assert [a.get("ActionID") for a in srv.received] == [
            "node1-1", "node1-2", "node1-3", "node1-4"
        ]  # fmt: skip
        await client.close()
        assert states[-1] is S.CLOSED


@bounded()
async def test_unanswered_keepalive_ping_drops_the_link(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, "callcenter.ami.client")
    async with FakeAsterisk(replay([LOGIN]), replay([LOGIN], then=answer_pings)) as srv:
        client = make_client(
            srv.port,
            ping_interval=0.1,
            action_timeout=0.15,
            reconnect=True,
            backoff_initial=0.01,
            backoff_max=0.02,
        )
        reconnected = asyncio.Event()
        client.on_reconnect(reconnected.set)
        await client.connect()
        await reconnected.wait()
        while client.last_ping_rtt is None:  # the new link answers its Pings
            await asyncio.sleep(0.02)
        assert srv.actions()[:3] == ["Login", "Ping", "Login"]
        assert "keepalive Ping unanswered for 0.15 s; dropping the link" in caplog.text
        assert "link lost: keepalive Ping got no answer within 0.15 s" in caplog.text
        await client.close()


@bounded()
async def test_close_during_backoff_stops_reconnecting() -> None:
    async def drop(peer: Peer) -> None:
        return

    async with FakeAsterisk(replay([LOGIN], close=True), drop) as srv:
        client = make_client(srv.port, reconnect=True, backoff_initial=5.0, backoff_max=5.0)
        states = record_states(client)
        await client.connect()
        while client.connected:
            await asyncio.sleep(0.01)
        await client.close()
        assert states == [S.CONNECTING, S.CONNECTED, S.DISCONNECTED, S.CLOSED]
        assert srv.connections == 1
