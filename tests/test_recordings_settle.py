"""A recording's row is completed once Asterisk stopped writing its file.

``Recorder.finish`` reads the file's size until two readings agree, then its size,
SHA-256 and duration; the readings of every recording finishing at the moment go
to a worker thread together (one poller). Real files, written while it polls.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import logging
import wave
from pathlib import Path
from typing import Any

import pytest

from callcenter.facts import RecordRecording
from recordings import Recorder, mixmonitor

T0 = dt.datetime(2026, 12, 4, 12, 0, tzinfo=dt.UTC)


class Rows:
    """The rows the recorder submits (its ``Writes`` port: a list, as the writer's queue)."""

    def __init__(self) -> None:
        self.rows: list[RecordRecording] = []

    def submit(self, request: RecordRecording) -> bool:
        self.rows.append(request)
        return True


class Counts:
    def recording_started(self) -> None:
        pass


def wav(path: Path, seconds: float) -> None:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(b"\0\0" * int(8000 * seconds))


async def test_rows_wait_for_the_file_to_stop_growing_and_a_missing_file_is_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = Rows()
    recorder = Recorder(
        recordings_dir="/var/spool/asterisk/monitor",
        local_dir=str(tmp_path),
        writer=rows,
        metrics=Counts(),
    )
    done = tmp_path / "done.wav"
    wav(done, 1.0)
    growing = tmp_path / "growing.wav"
    wav(growing, 0.5)
    # Asterisk still writing after the hangup: the file grows between the first three
    # readings of its size (in step with them, so no timing decides the test)
    real_stat = mixmonitor.os.stat
    readings: list[str] = []

    def stat(path: Any, *args: Any, **kwargs: Any) -> Any:
        if Path(path).parent == tmp_path:
            readings.append(Path(path).name)
            if Path(path) == growing and readings.count("growing.wav") <= 3:
                with growing.open("ab") as f:
                    f.write(b"\0" * 1600)
        return real_stat(path, *args, **kwargs)

    monkeypatch.setattr(mixmonitor.os, "stat", stat)
    monkeypatch.setattr(mixmonitor, "SETTLE_POLL_S", 0.02)
    async with asyncio.timeout(30):
        await asyncio.gather(*(
            recorder.finish(f"call-{name}", f"/var/spool/asterisk/monitor/{name}.wav", T0, None,
                            [(0.2, None)])
            for name in ("done", "growing", "missing")
        ))  # fmt: skip
    # two readings that agree; four for the one that grew before each of the first
    # three (the third and fourth agree); every one for the missing file
    assert readings.count("done.wav") == 2
    assert readings.count("growing.wav") == 4
    assert readings.count("missing.wav") == mixmonitor.SETTLE_POLLS
    by_call = {r.call_id: r for r in rows.rows}
    assert set(by_call) == {"call-done", "call-growing"}  # the missing file has no row
    for name, path in (("done", done), ("growing", growing)):
        row = by_call[f"call-{name}"]
        data = path.read_bytes()
        assert row.size_bytes == len(data), name  # measured once it stopped growing
        assert row.sha256 == hashlib.sha256(data).hexdigest(), name
        assert row.path == f"/var/spool/asterisk/monitor/{name}.wav"
    assert by_call["call-done"].duration_s == pytest.approx(1.0)
    assert by_call["call-done"].mute_intervals == [[0.2, 1.0]]  # the open span ends with the file
    assert "call call-missing: recording" in caplog.text and "is missing" in caplog.text
    assert [r.levelno for r in caplog.records if "is missing" in r.message] == [logging.ERROR]
    assert recorder.finished == 2
