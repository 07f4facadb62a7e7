"""Logs: one event per line, text or JSON, with the call, node and agent where they apply;
``-v``/``-q`` levels; a running controller's JSON lines over a real call."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from callcenter.demo import AgentDesktop
from callcenter.logs import call_fields, setup_logging

from .e2e_support import scenario, seeded, sim_and_config, stop_controller, wait_until

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    levels = {n: logging.getLogger(n).level for n in ("callcenter", "acd", "aiohttp")}
    yield
    for h in list(root.handlers):
        root.removeHandler(h)
    for h in handlers:
        root.addHandler(h)
    root.setLevel(level)
    for n, lv in levels.items():
        logging.getLogger(n).setLevel(lv)


def lines_of(verbosity: int, fmt: str) -> list[str]:
    out = io.StringIO()
    setup_logging(verbosity, fmt, stream=out)  # type: ignore[arg-type]
    ours, theirs = logging.getLogger("callcenter.controller"), logging.getLogger("aiohttp.access")
    ours.info("call %s ended", "pbx1:17.1", extra=call_fields("pbx1:17.1", "pbx1", 3))
    ours.debug("a debug line of ours")
    theirs.info("an info line of a library")
    theirs.debug("a debug line of a library")
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        ours.exception("it failed")
    return out.getvalue().splitlines()


def test_json_lines_carry_the_call_node_and_agent(restore_logging: None) -> None:
    records = [json.loads(line) for line in lines_of(0, "json")]
    first = records[0]
    assert first["event"] == "call pbx1:17.1 ended" and first["level"] == "info"
    assert (first["call_id"], first["node"], first["agent_id"]) == ("pbx1:17.1", "pbx1", "3")
    assert first["logger"] == "callcenter.controller" and first["timestamp"].endswith("Z")
    failed = records[-1]
    assert failed["level"] == "error" and "RuntimeError: boom" in failed["exception"]
    assert "call_id" not in failed  # only what the log call gave
    assert len(records) == 2  # INFO for ours, WARNING for libraries


def test_text_lines_and_the_verbosity_levels(restore_logging: None) -> None:
    text = lines_of(0, "text")
    assert "call pbx1:17.1 ended" in text[0] and "call_id=pbx1:17.1" in text[0]
    assert "node=pbx1" in text[0] and "agent_id=3" in text[0]
    assert any(line.startswith("RuntimeError: boom") for line in text)  # a plain traceback

    def events(verbosity: int) -> set[str]:
        return {json.loads(line)["event"] for line in lines_of(verbosity, "json")}

    assert events(-1) == {"it failed"}
    assert events(1) == {"call pbx1:17.1 ended", "a debug line of ours", "it failed"}
    assert events(2) == {"call pbx1:17.1 ended", "a debug line of ours", "it failed",
                         "an info line of a library", "a debug line of a library"}  # fmt: skip


def test_a_bad_format_is_refused_by_name(restore_logging: None) -> None:
    with pytest.raises(ValueError, match="log format 'xml': one of text, json"):
        setup_logging(0, "xml")  # type: ignore[arg-type]
    done = subprocess.run(
        [sys.executable, "-m", "callcenter.cli", "run", "--config", "nowhere.yaml"],
        env={**os.environ, "HOTLINE_LOG_FORMAT": "xml"}, capture_output=True, text=True,
        cwd=ROOT, timeout=60,
    )  # fmt: skip
    assert done.returncode != 0
    assert "log format 'xml': one of text, json (HOTLINE_LOG_FORMAT)" in done.stderr


async def test_a_running_controller_logs_each_call_as_json_lines(
    tmp_path: Path, db_url: str
) -> None:
    numbers = await seeded(db_url, agents=1)
    world = scenario(numbers, arrivals={"kind": "poisson", "calls_per_minute": 30})
    sim, cfg = await sim_and_config(tmp_path, db_url, world, seed=21)
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "callcenter.cli", "run", "--config", str(cfg), "--log-format", "json",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, cwd=ROOT,
    )  # fmt: skip
    assert proc.stdout is not None and proc.stderr is not None
    lines: list[str] = []

    async def read_stderr() -> None:
        assert proc.stderr is not None
        async for raw in proc.stderr:
            lines.append(raw.decode())

    reader = asyncio.create_task(read_stderr())
    desk = None
    try:
        first = (await asyncio.wait_for(proc.stdout.readline(), 60)).decode()
        assert "hotline running" in first, first + "".join(lines)
        base = first.split("wallboard ")[1].split("/supervisor")[0]
        desk = AgentDesktop(base, "agent1", "agent1-pass", ready=True)
        desk.start()

        def answered() -> bool:
            return any('"call answered' in line for line in lines)

        await wait_until(answered, 120, "a call answered in the log")
    finally:
        if desk is not None:
            await desk.stop()
        await stop_controller(proc, 30)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(reader, 10)
        await sim.close()
    records = [json.loads(line) for line in lines]  # every line is one JSON event
    started = [r for r in records if r["event"].startswith("call from")]
    ended = [r for r in records if r["event"].startswith("call answered")]
    assert started and all(r["node"] and r["call_id"].startswith(f"{r['node']}:") for r in started)
    assert ended and all(r["agent_id"] and r["call_id"] for r in ended)
    assert {r["call_id"] for r in ended} <= {r["call_id"] for r in started}
