"""The codec's work is linear in the bytes received, counted in bytes, never in seconds.

A 1 MB frame in 100-byte reads used to cost 7.5 s of CPU: every read copied the
whole buffer and re-scanned it for a frame end (issue 10). The codec now counts
every byte it searches or copies in ``AMICodec.work_bytes``.
"""

from __future__ import annotations

import pytest

from callcenter.ami.codec import NEED_DATA, AMICodec
from callcenter.ami.message import Message

BANNER = b"Asterisk Call Manager/11.0.0\r\n"
CHUNK = 100


def big_frame(size: int, eol: bytes) -> bytes:
    """One frame of about ``size`` bytes: a name, then 80-byte header lines."""
    lines = [b"Event: Big"]
    n = 0
    while n < size:
        line = b"Line%07d: " % len(lines) + b"x" * 64
        lines.append(line)
        n += len(line) + len(eol)
    return eol.join(lines) + eol + eol


def feed(codec: AMICodec, data: bytes, chunk: int) -> list[Message]:
    out: list[Message] = []
    for i in range(0, len(data), chunk):
        codec.receive_data(data[i : i + chunk])
        while (msg := codec.next_message()) is not NEED_DATA:
            assert isinstance(msg, Message)
            out.append(msg)
    return out


def work_for(size: int, eol: bytes) -> tuple[int, int]:
    """(bytes fed, work_bytes) for one frame of ``size`` bytes fed in 100-byte reads."""
    frame = big_frame(size, eol)
    codec = AMICodec(max_frame=2 << 20, max_buffer=4 << 20)
    data = BANNER + frame + b"Event: After" + eol + eol
    msgs = feed(codec, data, CHUNK)
    assert [m.name for m in msgs] == ["Big", "After"]
    assert msgs[0].raw == frame[: -2 * len(eol)]
    assert msgs[0].get("Line0000001") == "x" * 64
    assert len(msgs[0].headers) == frame.count(eol) - 1
    assert codec.buffered == 0
    return len(data), codec.work_bytes


@pytest.mark.parametrize("eol", [b"\r\n", b"\n"], ids=["crlf", "bare-lf"])
def test_one_megabyte_frame_in_100_byte_reads_costs_linear_work(eol: bytes) -> None:
    fed, work = work_for(1_000_000, eol)
    # every byte is looked at, and only a few times: not once per read
    assert fed <= work <= 8 * fed, (fed, work)


@pytest.mark.parametrize("eol", [b"\r\n", b"\n"], ids=["crlf", "bare-lf"])
def test_ten_times_the_bytes_is_ten_times_the_work(eol: bytes) -> None:
    small_fed, small = work_for(100_000, eol)
    big_fed, big = work_for(1_000_000, eol)
    # a re-scan per read would make this ratio about 100
    assert big / small <= 1.2 * big_fed / small_fed, (small, big)


def test_many_small_frames_byte_by_byte_cost_linear_work() -> None:
    frame = b"Event: Newexten\r\nChannel: Local/s@x-00000001;1\r\nAppData: \r\n\r\n"
    work = []
    for n in (200, 2000):
        codec = AMICodec()
        data = BANNER + frame * n
        assert len(feed(codec, data, 1)) == n
        # a constant per read (the 3 bytes before each new one are looked at too)
        assert codec.work_bytes <= 16 * len(data)
        work.append(codec.work_bytes)
    assert work[1] / work[0] <= 1.2 * 10


def test_frame_end_split_across_reads_at_every_point() -> None:
    frame = b"Event: A\r\nX: 1\r\n\r\n"
    data = BANNER + b"Event: Long\r\nY: " + b"y" * 300 + b"\r\n\r\n" + frame
    for cut in range(len(data) - len(frame) - 8, len(data)):
        codec = AMICodec()
        # the long frame arrives in small reads first, so its end is searched for
        # only in the new bytes and the 3 before them
        msgs = feed(codec, data[:cut], 7) + feed(codec, data[cut:], 1)
        assert [m.name for m in msgs] == ["Long", "A"], cut
