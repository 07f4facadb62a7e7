"""Property tests: whatever bytes arrive, in whatever chunks, the codec only ever
returns messages (whose headers decode or raise the typed error) or raises the
typed protocol error, and never buffers more than its bound."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from callcenter.ami import CLOSED, NEED_DATA, AMICodec, RemoteProtocolError

from .transcripts import TRANSCRIPTS

SEEDS = [
    (TRANSCRIPTS / name).read_bytes()
    for name in (
        "01-login-banner-and-ping.ami",
        "02-asyncagi-ivr.ami",
        "08-errors.ami",
        "08-errors.badlogin.ami",
        "13-agi-missing-prompt.ami",
    )
]
MAX_FRAME = 4096
MAX_BUFFER = 16384


def feed(data: bytes, cuts: list[int]) -> None:
    codec = AMICodec(max_frame=MAX_FRAME, max_buffer=MAX_BUFFER)
    bounds = sorted({c % (len(data) + 1) for c in cuts} | {0, len(data)})
    for a, b in zip(bounds, bounds[1:], strict=False):
        try:
            codec.receive_data(data[a:b])
        except RemoteProtocolError as exc:
            assert exc.fatal
            return
        assert codec.buffered <= MAX_BUFFER
        if not _drain(codec):
            return
    codec.receive_data(None)
    _drain(codec)


def _drain(codec: AMICodec) -> bool:
    """Read until NEED_DATA; False once a fatal error ended the stream."""
    for _ in range(100_000):
        try:
            msg = codec.next_message()
        except RemoteProtocolError as exc:
            if exc.fatal:
                return False
            continue
        if msg is NEED_DATA or msg is CLOSED:
            return True
        assert msg.kind in ("event", "response")
        assert isinstance(msg.name, str) and msg.name
        try:
            headers = msg.headers
        except RemoteProtocolError:
            continue
        assert all(isinstance(n, str) and isinstance(v, str) for n, v in headers)
        assert codec.buffered <= MAX_BUFFER
    raise AssertionError("codec did not settle")


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(SEEDS))[:6000])
    for _ in range(draw(st.integers(0, 12))):
        op = draw(st.sampled_from(["flip", "insert", "delete", "dup", "crlf"]))
        pos = draw(st.integers(0, max(0, len(data) - 1)))
        if op == "flip" and data:
            data[pos] = draw(st.integers(0, 255))
        elif op == "insert":
            data[pos:pos] = draw(st.binary(max_size=40))
        elif op == "delete":
            del data[pos : pos + draw(st.integers(1, 50))]
        elif op == "dup":
            data[pos:pos] = data[pos : pos + draw(st.integers(1, 5000))]
        else:
            data[pos:pos] = draw(
                st.sampled_from([b"\r\n", b"\n", b"\r\n\r\n", b"\n\n", b":", b"\r"])
            )
    return bytes(data)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated(), st.lists(st.integers(0, 10**6), max_size=30))
def test_mutated_transcripts_in_any_chunking(data: bytes, cuts: list[int]) -> None:
    feed(data, cuts)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=3000), st.lists(st.integers(0, 10**6), max_size=20))
def test_arbitrary_bytes_after_a_banner(data: bytes, cuts: list[int]) -> None:
    feed(b"Asterisk Call Manager/11.0.0\r\n" + data, cuts)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=600))
def test_arbitrary_bytes_from_the_first_byte(data: bytes) -> None:
    feed(data, [])


@settings(max_examples=50, deadline=None)
@given(st.integers(MAX_FRAME + 1, 3 * MAX_BUFFER), st.booleans())
def test_endless_frame_stays_bounded(size: int, terminated: bool) -> None:
    body = b"Event: Flood\r\nData: " + b"z" * size + (b"\r\n\r\n" if terminated else b"")
    stream = b"Asterisk Call Manager/11.0.0\r\n" + body
    feed(stream, list(range(0, len(stream), 1500)))
