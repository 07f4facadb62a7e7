"""Test helpers: a tiny asyncio AMI client that records everything it receives.

It keeps the raw bytes (so a test can re-parse them with another codec) and
each message as an ordered list of (name, value) headers. Self-contained on
purpose: pbxsim imports nothing of Hotline's.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

Headers = list[tuple[str, str]]


@dataclass
class Msg:
    """One received frame."""

    headers: Headers

    @property
    def kind(self) -> str:
        return "event" if self.headers and self.headers[0][0] == "Event" else "response"

    @property
    def name(self) -> str:
        return self.headers[0][1] if self.headers else ""

    def get(self, name: str, default: str | None = None) -> str | None:
        low = name.lower()
        for k, v in self.headers:
            if k.lower() == low:
                return v
        return default

    def getall(self, name: str) -> list[str]:
        return [v for k, v in self.headers if k.lower() == name.lower()]

    def names(self) -> list[str]:
        return [k for k, _ in self.headers]

    def __getitem__(self, name: str) -> str:
        value = self.get(name)
        if value is None:
            raise KeyError(name)
        return value

    def __repr__(self) -> str:
        return f"Msg({dict(self.headers)!r})"


class AMIClient:
    """Connect, send actions, await responses and events. For tests and demos."""

    _ids = itertools.count(1)

    def __init__(self) -> None:
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.banner = ""
        self.raw = bytearray()
        self.messages: list[Msg] = []
        self._cond = asyncio.Condition()
        self._task: asyncio.Task[None] | None = None
        self.closed = asyncio.Event()
        self.sent_actions: list[tuple[str, str]] = []  #: (ActionID, Action) as sent

    async def connect(self, host: str, port: int) -> AMIClient:
        self.reader, self.writer = await asyncio.open_connection(host, port)
        line = await self.reader.readline()
        self.raw += line
        self.banner = line.decode().rstrip("\r\n")
        self._task = asyncio.get_running_loop().create_task(self._read())
        return self

    async def _read(self) -> None:
        assert self.reader is not None
        buf = b""
        try:
            while True:
                data = await self.reader.read(65536)
                if not data:
                    break
                self.raw += data
                buf += data
                while b"\r\n\r\n" in buf:
                    frame, buf = buf.split(b"\r\n\r\n", 1)
                    headers = []
                    for line in frame.decode("utf-8", "replace").split("\r\n"):
                        k, _, v = line.partition(": ")
                        headers.append((k, v))
                    async with self._cond:
                        self.messages.append(Msg(headers))
                        self._cond.notify_all()
        except (ConnectionError, OSError):
            pass
        finally:
            self.closed.set()
            async with self._cond:
                self._cond.notify_all()

    def send_raw(self, data: bytes) -> None:
        assert self.writer is not None
        self.writer.write(data)

    def send(
        self,
        action: str,
        fields: Iterable[tuple[str, str]] | dict[str, str] = (),
        action_id: str | None = "",
    ) -> str:
        """Send an action; returns its ActionID ("" means one is generated, None means none)."""
        if action_id == "":
            action_id = f"t-{next(self._ids)}"
        items = list(fields.items()) if isinstance(fields, dict) else list(fields)
        lines = [f"Action: {action}"]
        if action_id is not None:
            lines.append(f"ActionID: {action_id}")
            self.sent_actions.append((action_id, action))
        lines += [f"{k}: {v}" for k, v in items]
        self.send_raw(("\r\n".join(lines) + "\r\n\r\n").encode())
        return action_id or ""

    async def wait_for(
        self, pred: Callable[[Msg], bool], timeout: float = 5.0, start: int = 0
    ) -> Msg:
        """The first message (from index ``start``) matching ``pred``."""

        async def scan() -> Msg:
            i = start
            async with self._cond:
                while True:
                    while i < len(self.messages):
                        m = self.messages[i]
                        i += 1
                        if pred(m):
                            return m
                    if self.closed.is_set():
                        raise ConnectionError("AMI connection closed")
                    await self._cond.wait()

        return await asyncio.wait_for(scan(), timeout)

    async def response(self, action_id: str, timeout: float = 5.0) -> Msg:
        return await self.wait_for(
            lambda m: m.kind == "response" and m.get("ActionID") == action_id, timeout
        )

    async def event(self, name: str, timeout: float = 5.0, start: int = 0, **match: str) -> Msg:
        def pred(m: Msg) -> bool:
            return (
                m.kind == "event"
                and m.name == name
                and all(m.get(k) == v for k, v in match.items())
            )

        return await self.wait_for(pred, timeout, start)

    async def action(
        self,
        action: str,
        fields: Iterable[tuple[str, str]] | dict[str, str] = (),
        timeout: float = 5.0,
    ) -> Msg:
        return await self.response(self.send(action, fields), timeout)

    async def collect_list(
        self,
        action: str,
        fields: Iterable[tuple[str, str]] | dict[str, str] = (),
        timeout: float = 5.0,
    ) -> tuple[Msg, list[Msg], Msg]:
        """Send a list action: (response, items, the Complete event)."""
        aid = self.send(action, fields)
        resp = await self.response(aid, timeout)
        done = await self.wait_for(
            lambda m: m.get("ActionID") == aid and m.get("EventList") == "Complete", timeout
        )
        items = [
            m
            for m in self.messages
            if m.kind == "event" and m.get("ActionID") == aid and m is not done
        ]
        return resp, items, done

    async def login(self, user: str = "hotline", secret: str = "hotline-secret") -> Msg:
        return await self.action("Login", {"Username": user, "Secret": secret})

    def events(self, name: str | None = None) -> list[Msg]:
        return [m for m in self.messages if m.kind == "event" and (name is None or m.name == name)]

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            with contextlib.suppress(Exception):
                await self.writer.wait_closed()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(BaseException):
                await self._task


async def connect(port: int, host: str = "127.0.0.1", login: bool = True) -> AMIClient:
    client = await AMIClient().connect(host, port)
    if login:
        await client.login()
    return client


# -- recorded transcripts (tests/ami-transcripts) --------------------------------
@dataclass
class ActionBlock:
    """One action as written to the socket in a ``NN-*.actions.txt`` file."""

    t: float
    conn: str
    raw: bytes

    @property
    def headers(self) -> Headers:
        out: Headers = []
        for line in self.raw.decode().replace("\r\n", "\n").split("\n"):
            if ":" in line:
                k, _, v = line.partition(":")
                out.append((k.strip(), v.strip()))
        return out

    def get(self, name: str) -> str:
        return next((v for k, v in self.headers if k.lower() == name.lower()), "")


def read_actions(path: str | Path) -> tuple[list[ActionBlock], dict[str, str]]:
    """The action blocks of a transcript, and its ``conn label -> .ami file`` map."""
    data = Path(path).read_bytes()
    conns: dict[str, str] = {}
    for m in re.finditer(rb"^# conn (\S+) -> transcript (\S+)", data, re.M):
        conns[m.group(1).decode()] = m.group(2).decode()
    blocks = []
    marks = list(re.finditer(rb"## t=\+([0-9.]+)s conn=(\S+)\r?\n", data))
    for i, m in enumerate(marks):
        end = marks[i + 1].start() if i + 1 < len(marks) else len(data)
        blocks.append(ActionBlock(float(m.group(1)), m.group(2).decode(), data[m.end() : end]))
    return blocks, conns


def read_ami(path: str | Path) -> tuple[str, list[Msg]]:
    """A raw ``.ami`` capture: (banner, messages)."""
    text = Path(path).read_bytes().decode("utf-8", "replace")
    banner, _, rest = text.partition("\r\n")
    msgs = []
    for frame in rest.split("\r\n\r\n"):
        if frame.strip():
            msgs.append(
                Msg(
                    [
                        tuple(line.split(": ", 1)) if ": " in line else (line.rstrip(":"), "")  # type: ignore[misc]
                        for line in frame.split("\r\n")
                    ]
                )
            )
    return banner, msgs


def read_timeline(path: str | Path) -> list[tuple[float, str, str, str, str]]:
    """``NN-*.timeline.tsv`` rows: (t, kind, name, action_id, channel)."""
    rows = []
    for line in Path(path).read_text().splitlines()[1:]:
        cols = line.split("\t")
        if len(cols) >= 6:
            rows.append((float(cols[0]), cols[2], cols[3], cols[4], cols[5]))
    return rows


def read_inventory(path: str | Path) -> dict[str, list[list[str]]]:
    """header-inventory.txt: ``"Event: X"`` / ``"Response: Y to Z"`` -> header-name lists."""
    inv: dict[str, list[list[str]]] = {}
    key = ""
    for line in Path(path).read_text().splitlines():
        if line.startswith("== "):
            m = re.match(r"== (Event|Response): (\S+)(?:\s+\(to Action: (.*)\))?\s*$", line)
            assert m, line
            key = (
                f"Event: {m.group(2)}"
                if m.group(1) == "Event"
                else f"Response: {m.group(2)} to {m.group(3)}"
            )
            inv[key] = []
        elif line.strip().startswith("[") and key:
            names = line.strip()[1 : line.strip().index("]")]
            inv[key].append([n.strip() for n in names.split(",")])
    return inv


# -- comparing pbxsim's events with a transcript's ------------------------------------
TRAIL_FIELDS = ("ChannelState", "Cause", "TechCause", "DialStatus", "State", "Response",
                "Reason", "Uniqueid", "CallerIDNum", "CallerIDName", "Class")  # fmt: skip


def transcript(name: str, folder: str | Path | None = None) -> list[Msg]:
    """The messages of ``<folder>/<name>.ami`` (default: the repository's tests/ami-transcripts)."""
    base = (
        Path(folder)
        if folder is not None
        else Path(__file__).resolve().parent.parent / ("tests/ami-transcripts")
    )
    return read_ami(base / f"{name}.ami")[1]


def trail(
    msgs: Iterable[Msg],
    channels: Iterable[str],
    *,
    devices: Iterable[str] = (),
    skip: Iterable[str] = (),
    fields: Iterable[str] = TRAIL_FIELDS,
) -> list[tuple[str, ...]]:
    """The events about ``channels`` (``Channel``, ``DestChannel``, ``SpyerChannel``), ``devices``
    (DeviceStateChange) and OriginateResponses naming a channel, in order, each as
    (event name, ``;1``/``;2`` for a Local half, the values of ``fields`` it has)."""
    chans, devs, skipped, wanted = set(channels), set(devices), set(skip), tuple(fields)
    out = []
    for m in msgs:
        if m.kind != "event" or m.name in skipped:
            continue
        chan = m.get("Channel") or m.get("DestChannel") or m.get("SpyerChannel") or ""
        if m.name == "DeviceStateChange":
            if m.get("Device") not in devs:
                continue
        elif not (chan in chans or any(chan.startswith(c + "-") for c in chans)):
            continue
        half = chan[-2:] if chan[-2:] in (";1", ";2") else ""
        out.append((m.name, half, *(f"{f}={m[f]}" for f in wanted if m.get(f) is not None)))
    return out


async def send_paced(
    client: AMIClient,
    blocks: Iterable[ActionBlock],
    scale: float,
    rename: Callable[[str], str] = lambda text: text,
    skip: Iterable[str] = ("Login", "Logoff"),
) -> None:
    """Send a transcript's action blocks on its clock, ``scale`` times faster (the first
    block sent at once), each after ``rename`` maps its text (channel names), waiting for
    each response; an async Originate's OriginateResponse too, so ``rename`` can learn."""
    loop = asyncio.get_running_loop()
    skipped = {s.lower() for s in skip}
    start = first = None
    for block in blocks:
        if block.get("Action").lower() in skipped:
            continue
        if start is None or first is None:
            start, first = loop.time(), block.t
        await asyncio.sleep(max(0.0, start + (block.t - first) / scale - loop.time()))
        client.send_raw(rename(block.raw.decode()).encode())
        aid = block.get("ActionID")
        await client.response(aid, timeout=10)
        if block.get("Action").lower() == "originate" and block.get("Async").lower() == "true":

            def answered(m: Msg, aid: str | None = aid) -> bool:
                return bool(m.name == "OriginateResponse" and m.get("ActionID") == aid)

            await client.wait_for(answered, timeout=10)
