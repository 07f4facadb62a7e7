"""The answers a message gives from its bytes, before decoding (issue 10), agree
with the answers of the decoded headers, in every spelling Asterisk or a peer uses.
"""

from __future__ import annotations

import pytest

from callcenter.ami.message import Event, Response

from .transcripts import TRANSCRIPTS


def test_a_list_start_is_found_whatever_the_header_spelling_and_only_then() -> None:
    start = Response("Success", b"Response: Success\r\neventlist: Start\r\nMessage: x", 0)
    assert start.is_list_start
    plain = Response("Success", b"Response: Success\r\nActionID: a-1\r\nMessage: Pong", 0)
    assert not plain.is_list_start
    in_value = Response("Success", b"Response: Success\r\nMessage: EventList: start", 0)
    assert not in_value.is_list_start


@pytest.mark.parametrize(
    "raw",
    [
        b"Response: Success\r\nActionID: n1-7\r\nMessage: Pong",
        b"Response: Success\r\nMessage: Pong\r\nActionID: n1-7",  # last line: no CRLF after
        b"Response: Success\nActionID: n1-7\nMessage: Pong",  # bare LF
        b"Response: Success\r\nactionid: n1-7\r\nMessage: Pong",  # other spelling
        b"Response: Success\r\nActionID:n1-7\r\nMessage: Pong",  # no space
        b"Response: Success\r\nActionID: \r\nMessage: Pong",  # empty
        b"Response: Success\r\nMessage: Pong",  # none
        b"Response: Success\r\nActionID: n1-7\r\nActionID: n1-8",  # twice: the first
    ],
)
def test_action_id_from_the_bytes_is_the_decoded_header(raw: bytes) -> None:
    fast = Response("Success", raw, 0).action_id
    decoded = Response("Success", raw, 0)
    decoded.headers  # noqa: B018  (decode first: the fast path is then not taken)
    assert fast == decoded.action_id == decoded.get("ActionID")


def test_case_folded_lookup_keeps_the_first_spelling() -> None:
    ev = Event("UserEvent", b"Event: UserEvent\r\nX-Key: first\r\nx-key: second", 0)
    assert ev.get("X-KEY") == "first"
    assert ev.get("x-key") == "second"  # the exact spelling wins over folding
    assert ev.get("TechCause") is None


def test_an_asyncagiexec_read_from_its_bytes_is_the_decoded_one() -> None:
    # the AGI waiters read CommandId and Result of every AsyncAGIExec without decoding it
    frames = [
        frame
        for path in sorted(TRANSCRIPTS.glob("*.ami"))
        for frame in path.read_bytes().split(b"\r\n\r\n")
        if frame.startswith(b"Event: AsyncAGIExec\r\n")
    ]
    assert len(frames) > 20
    for raw in frames:
        fast = Event("AsyncAGIExec", raw, 0)
        decoded = Event("AsyncAGIExec", raw, 0)
        for name in ("CommandId", "Result", "commandid", "Channel", "Missing"):
            assert fast.peek(name) == decoded.get(name), (name, raw[:200])
