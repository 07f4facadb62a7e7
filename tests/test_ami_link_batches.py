"""The link's two batches: the messages of one read go up in one call, the actions of
one turn of the loop go down in one write (issue 10: one message at a time, one
send per action).
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from callcenter.ami.codec import AMICodec
from callcenter.ami.errors import AMIConnectionError, RemoteProtocolError
from callcenter.ami.link import Link
from callcenter.ami.message import Message

BANNER = b"Asterisk Call Manager/11.0.0\r\n"


class FakeTransport:
    def __init__(self) -> None:
        self.aborted = False

    def abort(self) -> None:
        self.aborted = True


class FakeWriter:
    """What the link needs of an ``asyncio.StreamWriter``; records every write."""

    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.transport = FakeTransport()

    def write(self, data: bytes) -> None:
        self.writes.append(data)

    async def drain(self) -> None:
        return None


def make_link() -> tuple[Link, asyncio.StreamReader, FakeWriter, list[list[Message]], list[Any]]:
    reader = asyncio.StreamReader()
    writer = FakeWriter()
    batches: list[list[Message]] = []
    errors: list[RemoteProtocolError] = []
    link = Link(
        "127.0.0.1", 5038, reader, writer, AMICodec(),  # type: ignore[arg-type]
        batches.append, errors.append, lambda *_: None,
    )  # fmt: skip
    return link, reader, writer, batches, errors


async def test_actions_written_in_one_turn_go_out_in_one_write_in_order() -> None:
    link, _, writer, _, _ = make_link()
    link.write(b"Action: Ping\r\nActionID: 1\r\n\r\n")
    link.write(b"Action: Ping\r\nActionID: 2\r\n\r\n")
    link.write(b"Action: Ping\r\nActionID: 3\r\n\r\n")
    assert writer.writes == []  # sent when the writing turn is over
    await asyncio.sleep(0)
    assert writer.writes == [
        b"Action: Ping\r\nActionID: 1\r\n\r\n"
        b"Action: Ping\r\nActionID: 2\r\n\r\n"
        b"Action: Ping\r\nActionID: 3\r\n\r\n"
    ]
    link.write(b"Action: Ping\r\nActionID: 4\r\n\r\n")
    await asyncio.sleep(0)
    assert writer.writes[1:] == [b"Action: Ping\r\nActionID: 4\r\n\r\n"]
    await link.cancel()


async def test_an_action_queued_when_the_link_drops_is_not_sent_and_later_ones_fail() -> None:
    link, _, writer, _, _ = make_link()
    link.write(b"Action: Ping\r\nActionID: 1\r\n\r\n")
    link.abort("test")
    await asyncio.sleep(0)
    assert writer.writes == []
    with pytest.raises(AMIConnectionError):
        link.write(b"Action: Ping\r\nActionID: 2\r\n\r\n")
    await link.cancel()


async def test_the_messages_of_one_read_go_up_in_one_call() -> None:
    link, reader, _, batches, errors = make_link()
    frames = b"".join(b"Event: Newstate\r\nUniqueid: 1.%d\r\n\r\n" % i for i in range(5))
    reader.feed_data(BANNER + frames + b"Event: Hangup\r\nUniq")
    assert await link.banner == "Asterisk Call Manager/11.0.0"
    for _ in range(10):
        await asyncio.sleep(0)
    assert [[m.get("Uniqueid") for m in b] for b in batches] == [[f"1.{i}" for i in range(5)]]
    reader.feed_data(b"ueid: 1.9\r\n\r\n")
    for _ in range(10):
        await asyncio.sleep(0)
    assert [[m.name for m in b] for b in batches[1:]] == [["Hangup"]]
    assert errors == []
    await link.cancel()


async def test_a_bad_frame_is_reported_and_the_frames_around_it_still_go_up() -> None:
    link, reader, _, batches, errors = make_link()
    reader.feed_data(
        BANNER
        + b"Event: A\r\nX: 1\r\n\r\n"
        + b"this is no header\r\n\r\n"
        + b"Event: B\r\nX: 2\r\n\r\n"
    )
    for _ in range(10):
        await asyncio.sleep(0)
    assert [m.name for b in batches for m in b] == ["A", "B"]
    assert len(errors) == 1 and not errors[0].fatal
    await link.cancel()
