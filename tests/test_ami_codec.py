"""The sans-I/O codec against real Asterisk 22 bytes and hand-made bad input."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from callcenter.ami import (
    CLOSED,
    NEED_DATA,
    AMICodec,
    LocalProtocolError,
    NotAMIError,
    RemoteProtocolError,
    encode_action,
    parse_agi_env,
    parse_agi_result,
)
from callcenter.ami.agi import encode_agi_env
from callcenter.ami.replay import replay

from .transcripts import SHARED, TRANSCRIPTS, ami_files, summary

BANNER = b"Asterisk Call Manager/11.0.0\r\n"


def drain(codec: AMICodec) -> list:
    out = []
    while True:
        msg = codec.next_message()
        if msg is NEED_DATA or msg is CLOSED:
            return out
        out.append(msg)


def parse_chunks(chunks: list[bytes], **kw) -> list:
    codec = AMICodec(**kw)
    out = []
    for chunk in chunks:
        codec.receive_data(chunk)
        out.extend(drain(codec))
    codec.receive_data(None)
    out.extend(drain(codec))
    assert codec.next_message() is CLOSED
    return out


def fingerprint(messages: list) -> list[tuple]:
    return [(m.kind, m.name, m.offset, tuple(m.headers)) for m in messages]


@pytest.mark.parametrize("path", ami_files(), ids=lambda p: p.name)
def test_every_transcript_parses_to_the_counts_of_summary_json(path):
    expected = summary()[path.name]
    report = replay(path.read_bytes())
    assert report.error is None
    assert report.banner == expected["banner"]
    assert report.messages == expected["messages"]
    assert report.events == expected["events"]
    assert report.responses == expected["responses"]
    assert dict(report.event_types) == expected["event_types"]


SMALL = [p for p in ami_files() if p.stat().st_size < 200_000]


@pytest.mark.parametrize("path", SMALL, ids=lambda p: p.name)
def test_byte_by_byte_and_random_splits_give_the_same_messages(path):
    data = path.read_bytes()
    whole = fingerprint(parse_chunks([data]))
    if path.stat().st_size < 50_000:
        assert fingerprint(parse_chunks([data[i : i + 1] for i in range(len(data))])) == whole
    rng = random.Random(path.name)
    for _ in range(5):
        cuts = sorted(rng.sample(range(1, len(data)), 40))
        chunks = [data[a:b] for a, b in zip([0, *cuts], [*cuts, len(data)], strict=True)]
        assert fingerprint(parse_chunks(chunks)) == whole


def test_bare_lf_and_crlf_frames_parse_alike():
    crlf = BANNER + b"Response: Success\r\nActionID: a1\r\nPing: Pong\r\n\r\n"
    crlf += b"Event: Hangup\r\nChannel: PJSIP/x-1\r\nCause: 16\r\n\r\n"
    lf = crlf.replace(b"\r\n", b"\n")
    mixed = BANNER + b"Response: Success\nActionID: a1\r\nPing: Pong\n\r\n"
    mixed += b"Event: Hangup\r\nChannel: PJSIP/x-1\nCause: 16\r\n\n"
    want = [(m.kind, m.name, tuple(m.headers)) for m in parse_chunks([crlf])]
    for data in (lf, mixed):
        got = [(m.kind, m.name, tuple(m.headers)) for m in parse_chunks([data])]
        assert got == want
    assert want[0][2] == (("Response", "Success"), ("ActionID", "a1"), ("Ping", "Pong"))


def test_header_order_and_duplicates_are_kept():
    data = (TRANSCRIPTS / "06-channels-listing.ami").read_bytes()
    commands = [m for m in parse_chunks([data]) if m.kind == "response" and "Output" in m]
    version = commands[0]
    assert version.names()[:3] == ["Response", "ActionID", "Message"]
    assert version["Message"] == "Command output follows"
    assert version.getall("Output")[0].startswith("Asterisk 22.10.1")
    assert any(len(m.getall("Output")) > 3 for m in commands)
    error = [m for m in commands if m.name == "Error"]
    assert error and error[0].getall("Output")


def test_commandid_lookup_is_case_insensitive_but_names_are_kept():
    data = (TRANSCRIPTS / "02-asyncagi-ivr.ami").read_bytes()
    execs = [m for m in parse_chunks([data]) if m.name == "AsyncAGIExec"]
    assert execs
    ev = execs[0]
    assert "CommandId" in ev.names() and "CommandID" not in ev.names()
    assert ev.get("CommandID") == ev.get("commandid") == ev["CommandId"]


def test_eventlist_start_and_complete_are_recognised():
    data = (TRANSCRIPTS / "06-channels-listing.ami").read_bytes()
    msgs = parse_chunks([data])
    starts = [m for m in msgs if m.kind == "response" and m.is_list_start]
    assert starts and starts[0]["EventList"] == "start"
    aid = starts[0].action_id
    items = [m for m in msgs if m.kind == "event" and m.action_id == aid]
    assert items[-1].is_list_complete
    assert int(items[-1]["ListItems"]) == len(items) - 1


def test_unsubscribed_events_are_skipped_and_counted():
    data = (TRANSCRIPTS / "10-burst.ami").read_bytes()
    codec = AMICodec(events=["AsyncAGIStart", "Hangup"])
    codec.receive_data(data)
    codec.receive_data(None)
    msgs = drain(codec)
    counts = Counter(m.name for m in msgs if m.kind == "event")
    assert counts == {"AsyncAGIStart": 200, "Hangup": 400}
    assert codec.skipped == 10002 - 600
    assert sum(1 for m in msgs if m.kind == "response") == 802


def test_agi_env_and_results_decode_to_typed_values():
    data = (TRANSCRIPTS / "11-pjsip-loopback-asyncagi.ami").read_bytes()
    msgs = parse_chunks([data])
    start = next(m for m in msgs if m.name == "AsyncAGIStart")
    env = parse_agi_env(start["Env"])
    assert env.channel == "PJSIP/loop-in-00000003"
    assert env.type == "PJSIP" and env.context == "hotline" and env.priority == 3
    assert env.dnid == "5551100" and env.accountcode == ""
    results = [parse_agi_result(m["Result"]) for m in msgs if m.name == "AsyncAGIExec"]
    interrupted = [r for r in results if r.result == 51]
    assert interrupted and interrupted[0].digit == "3" and interrupted[0].endpos == 20160
    assert any(r.result == 42 and r.ok for r in results)
    assert parse_agi_env(encode_agi_env(env.raw)).raw == env.raw


@pytest.mark.parametrize(
    "wire, code, result, data, endpos",
    [
        ("200%20result%3D50%20endpos%3D33760%0A", 200, 50, None, 33760),
        ("200%20result%3D1%20(5550102-1)%0A", 200, 1, "5550102-1", None),
        ("200%20result%3D-1%20endpos%3D0%0A", 200, -1, None, 0),
        ("510%20Invalid%20or%20unknown%20command%0A", 510, None, None, None),
        ("200%20result%3D%20(timeout)%0A", 200, None, "timeout", None),
    ],
)
def test_agi_result_table(wire, code, result, data, endpos):
    r = parse_agi_result(wire)
    assert (r.code, r.result, r.data, r.endpos) == (code, result, data, endpos)


def test_agi_result_garbage_is_a_protocol_error():
    with pytest.raises(RemoteProtocolError, match="does not start with a 3-digit code"):
        parse_agi_result("hello%20world")


# -- actions ---------------------------------------------------------------------


def test_actions_serialize_in_order_with_repeated_headers():
    wire = encode_action(
        "Originate",
        {"Channel": "Local/1001@agent-phones", "Async": True, "Variable": ["A=1", "B=2"]},
        action_id="o-1",
    )
    assert wire == (
        b"Action: Originate\r\nActionID: o-1\r\nChannel: Local/1001@agent-phones\r\n"
        b"Async: true\r\nVariable: A=1\r\nVariable: B=2\r\n\r\n"
    )
    assert encode_action("Ping") == b"Action: Ping\r\n\r\n"


@pytest.mark.parametrize(
    "fields",
    [{"Channel": "PJSIP/a\r\nAction: Hangup"}, {"Bad Name:": "x"}, {"Ok": "line\nbreak"}],
)
def test_header_injection_is_refused(fields):
    with pytest.raises(LocalProtocolError):
        encode_action("Setvar", fields, action_id="x")


def test_our_actions_parse_back_with_the_codec():
    wire = encode_action(
        "AGI", {"Channel": "PJSIP/a-1", "Command": "ANSWER", "CommandID": "c7"}, "a9"
    )
    codec = AMICodec(expect_banner=False)
    # an action frame is not an Event/Response: it is refused with its offset
    codec.receive_data(wire)
    with pytest.raises(RemoteProtocolError, match="expected 'Event:' or 'Response:'") as exc:
        codec.next_message()
    assert exc.value.offset == 0 and not exc.value.fatal


# -- bad input: exact errors ---------------------------------------------------------


def test_malformed_frame_names_its_offset_and_the_stream_goes_on():
    good = b"Event: Hangup\r\nChannel: X\r\n\r\n"
    bad = b"Garbage here\r\nMore: x\r\n\r\n"
    data = BANNER + good + bad + good
    codec = AMICodec()
    codec.receive_data(data)
    assert codec.next_message().name == "Hangup"
    with pytest.raises(RemoteProtocolError) as exc:
        codec.next_message()
    assert exc.value.offset == len(BANNER) + len(good)
    assert exc.value.reason == "frame starts with 'Garbage here', expected 'Event:' or 'Response:'"
    assert not exc.value.fatal
    assert codec.next_message().offset == len(BANNER) + len(good) + len(bad)


def test_malformed_header_line_is_an_error_on_read_with_its_offset():
    frame = b"Event: Newexten\r\nChannel: X\r\nthis line has no colon\r\n\r\n"
    codec = AMICodec()
    codec.receive_data(BANNER + frame)
    ev = codec.next_message()
    assert ev.name == "Newexten"
    with pytest.raises(RemoteProtocolError) as exc:
        ev.get("Channel")
    assert exc.value.offset == len(BANNER) + len(b"Event: Newexten\r\nChannel: X\r\n")
    assert "malformed header line 'this line has no colon'" in exc.value.reason


def test_oversized_frame_is_fatal_and_names_its_offset():
    codec = AMICodec(max_frame=1024, max_buffer=4096)
    codec.receive_data(BANNER + b"Event: Big\r\n")
    assert codec.next_message() is NEED_DATA
    codec.receive_data(b"Data: " + b"x" * 2000 + b"\r\n")
    with pytest.raises(RemoteProtocolError) as exc:
        codec.next_message()
    assert exc.value.fatal
    assert exc.value.offset == len(BANNER)
    assert exc.value.reason == "unterminated frame longer than max_frame=1024 bytes"
    assert codec.buffered == 0
    with pytest.raises(RemoteProtocolError):
        codec.next_message()


def test_complete_but_oversized_frame_is_fatal_too():
    codec = AMICodec(max_frame=100, max_buffer=4096)
    codec.receive_data(BANNER + b"Event: Big\r\nData: " + b"y" * 200 + b"\r\n\r\n")
    with pytest.raises(RemoteProtocolError, match=r"frame of 218 bytes exceeds max_frame=100"):
        codec.next_message()


def test_buffer_bound_refuses_more_unread_bytes():
    codec = AMICodec(max_frame=1024, max_buffer=2048)
    codec.receive_data(BANNER + b"Event: A\r\n\r\n" * 100)
    with pytest.raises(RemoteProtocolError, match="more than 2048 unread bytes buffered") as exc:
        codec.receive_data(b"Event: B\r\n\r\n" * 100)
    assert exc.value.fatal and exc.value.offset == len(BANNER) + 1200


def test_a_peer_that_is_not_ami_is_refused_at_the_banner():
    codec = AMICodec()
    codec.receive_data(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
    with pytest.raises(NotAMIError) as exc:
        codec.next_message()
    assert exc.value.offset == 0
    assert exc.value.reason == (
        "peer is not Asterisk AMI: banner 'HTTP/1.1 400 Bad Request' does not start with "
        "'Asterisk Call Manager/'"
    )


def test_a_peer_that_never_sends_a_newline_is_refused():
    codec = AMICodec()
    codec.receive_data(b"\x00" * 300)
    with pytest.raises(NotAMIError, match="no banner line in the first 300 bytes"):
        codec.next_message()


def test_stream_ending_inside_a_frame_is_reported():
    codec = AMICodec()
    codec.receive_data(BANNER + b"Event: Hangup\r\nChannel: X\r\n")
    assert codec.next_message() is NEED_DATA
    codec.receive_data(None)
    with pytest.raises(RemoteProtocolError, match="stream ended inside a frame") as exc:
        codec.next_message()
    assert exc.value.offset == len(BANNER)
    assert codec.next_message() is CLOSED


def test_replay_reports_the_first_error_with_its_offset():
    data = (TRANSCRIPTS / "01-login-banner-and-ping.ami").read_bytes()
    cut = data.index(b"Event: FullyBooted")
    broken = data[:cut] + b"NotAHeader\r\n\r\n" + data[cut:]
    report = replay(broken)
    assert report.error is not None and report.error.offset == cut
    assert report.as_json()["error"] == {
        "offset": cut,
        "reason": "frame starts with 'NotAHeader', expected 'Event:' or 'Response:'",
    }


@pytest.mark.skipif(
    not SHARED.is_dir(), reason="../shared/ami-transcripts is not beside this clone"
)
def test_vendored_transcripts_equal_the_shared_ones():
    for shared in sorted(SHARED.iterdir()):
        ours = TRANSCRIPTS / shared.name
        assert ours.is_file(), f"{shared.name} is missing from tests/ami-transcripts"
        assert ours.read_bytes() == shared.read_bytes(), f"{shared.name} differs from shared/"


def test_empty_response_value_is_a_protocol_error():
    # Regression: hypothesis found `Response: ` (empty) handed out as a nameless Response.
    codec = AMICodec()
    codec.receive_data(BANNER + b"Response: \r\nActionID: x\r\n\r\n")
    with pytest.raises(RemoteProtocolError, match="empty Response value") as exc:
        codec.next_message()
    assert exc.value.offset == len(BANNER) and not exc.value.fatal


def test_get_data_keeps_leading_zeros_in_value():
    r = parse_agi_result("200%20result%3D042%0A")
    assert r.result == 42 and r.value == "042"
