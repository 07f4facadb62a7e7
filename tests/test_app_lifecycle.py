"""The app is assembled from cleanup contexts: a step failing at start leaves nothing running.

Each case makes start fail right after one more step (a context that raises, put
after it): the error reaches the caller, every step entered before was left again
in reverse order, and no task of the controller is still running. Then the whole
app starts and stops cleanly. The node is down (nothing listens): start must not
need it.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from callcenter.app import Hotline
from callcenter.config import load_config
from callcenter.demo import config_text

STEPS = ("_database", "_writer", "_crm", "_controller", "_accounts", "_lag")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def make_hotline(tmp_path: Path) -> Hotline:
    (tmp_path / "monitor").mkdir(exist_ok=True)
    cfg = tmp_path / "hotline.yaml"
    cfg.write_text(config_text(ami_port=free_port(),
                               database_url=f"sqlite+aiosqlite:///{tmp_path}/h.db",
                               monitor=tmp_path / "monitor"))  # fmt: skip
    return Hotline(load_config(cfg), web_port=0, connect_wait_s=0.2)


def recorded(ctx: Callable[[web.Application], Any], name: str,
             log: list[str]) -> Callable[[web.Application], AsyncIterator[None]]:  # fmt: skip
    async def step(app: web.Application) -> AsyncIterator[None]:
        async for _ in ctx(app):
            log.append(f"enter {name}")
            yield
        log.append(f"leave {name}")

    return step


def others() -> set[asyncio.Task[Any]]:
    return {t for t in asyncio.all_tasks() if t is not asyncio.current_task()}


@pytest.mark.parametrize("fail_after", range(len(STEPS)))
async def test_a_step_failing_at_start_leaves_the_steps_before_it(
    tmp_path: Path, fail_after: int
) -> None:
    hotline = make_hotline(tmp_path)
    ctxs = hotline.app.cleanup_ctx
    assert [c.__name__ for c in ctxs][-len(STEPS):] == list(STEPS)
    log: list[str] = []
    first = len(ctxs) - len(STEPS)
    for i, name in enumerate(STEPS):
        ctxs[first + i] = recorded(ctxs[first + i], name, log)

    async def boom(app: web.Application) -> AsyncIterator[None]:
        raise RuntimeError("step failed")
        yield  # pragma: no cover

    ctxs.insert(first + fail_after + 1, boom)
    before = others()
    with pytest.raises(RuntimeError, match="step failed"):
        await hotline.start()
    entered = [f"enter {n}" for n in STEPS[: fail_after + 1]]
    left = [f"leave {n}" for n in reversed(STEPS[: fail_after + 1])]
    assert log == entered + left
    await asyncio.sleep(0)
    assert others() - before == set(), "a task of a failed start is still running"


async def test_the_app_starts_without_its_node_and_stops_with_nothing_left(tmp_path: Path) -> None:
    hotline = make_hotline(tmp_path)
    before = others()
    await hotline.start()
    assert hotline.controller is not None and hotline.writer is not None
    assert hotline.urls is not None
    await hotline.stop()
    await asyncio.sleep(0)
    assert others() - before == set()


async def test_the_configured_dispositions_reach_the_pages_and_the_store(tmp_path: Path) -> None:
    from callcenter.web.keys import DISPOSITION_CODES

    make_hotline(tmp_path)  # writes hotline.yaml
    cfg_path = tmp_path / "hotline.yaml"
    cfg_path.write_text(cfg_path.read_text() + "dispositions:\n  solved: Solved\n  later: Later\n")
    hotline = Hotline(load_config(cfg_path), web_port=0, connect_wait_s=0.2)
    await hotline.start()
    try:
        assert hotline.app[DISPOSITION_CODES] == {"solved": "Solved", "later": "Later"}
        assert hotline.store is not None
        assert hotline.store.disposition_codes == {"solved", "later"}
    finally:
        await hotline.stop()
