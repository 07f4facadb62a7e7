"""The web edge while the database is away: a real hotline, a private PostgreSQL stopped.

Logins and dispositions are the pages that read SQL. While the database is away
they answer 503 with a clear message at once (never a 500, never a request that
hangs until the database returns); the same request succeeds once it is back, and
nothing is saved twice.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import select

from callcenter.storage import RecordCallEvent, RecordCallStarted, RecordOutcome, call_key
from callcenter.storage.models import Agent
from crm_bridge.models import Interaction

from .e2e_support import hotline_rig, no_caller_world
from .test_writer_outage import PrivatePostgres, running_private_pg

#: generous: the edge's own wait for the writer is 3 s (``StoreWriter.flushed``)
ANSWER_WITHIN_S = 30.0


@pytest.fixture
async def private_pg() -> AsyncIterator[PrivatePostgres]:
    async with running_private_pg() as pg:
        yield pg


async def login(http: aiohttp.ClientSession, base: str, user: str) -> aiohttp.ClientResponse:
    form = {"username": user, "password": f"{user}-pass"}
    async with http.post(f"{base}/login", data=form, allow_redirects=False) as resp:
        await resp.read()
        return resp


async def dispose(
    http: aiohttp.ClientSession, base: str, call_id: str
) -> tuple[int, dict[str, Any], float]:
    began = time.monotonic()
    async with http.post(f"{base}/api/calls/{call_id}/disposition",
                         json={"code": "resolved", "notes": "outage"}) as resp:  # fmt: skip
        return resp.status, await resp.json(), time.monotonic() - began


async def test_login_and_disposition_answer_503_while_the_database_is_away(
    tmp_path: Path, private_pg: PrivatePostgres
):
    """Regression: a login answered 500 while the database was down, and a disposition
    waited in ``writer.flush()`` until the database came back."""
    async with hotline_rig(tmp_path, private_pg.url, no_caller_world, agents=2) as rig:
        writer, urls = rig.hotline.writer, rig.hotline.urls
        assert writer is not None and urls is not None
        base = urls.base
        call_id = call_key("pbxsim", "1764800000.7")
        writer.submit(RecordCallStarted(call_id, "1764800000.7", "pbxsim",
                                        dt.datetime.now(dt.UTC)))  # fmt: skip
        # answered by agent1: a disposition is only taken from the call's own agent
        async with rig.hotline.store.sessions() as s:
            agent1 = await s.scalar(select(Agent.id).where(Agent.username == "agent1"))
        writer.submit(RecordOutcome(call_id, "support", "answered", 3.0,
                                    dt.datetime.now(dt.UTC), agent_id=agent1))  # fmt: skip
        await writer.flush(timeout=60)
        timeout = aiohttp.ClientTimeout(total=ANSWER_WITHIN_S)
        async with (
            aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True), timeout=timeout)
            as agent, aiohttp.ClientSession(timeout=timeout) as anyone,
        ):  # fmt: skip
            assert (await login(agent, base, "agent1")).status == 303
            await private_pg.stop("fast")

            # a login: the login page again, 503, saying why
            async with anyone.post(f"{base}/login", allow_redirects=False,
                                   data={"username": "agent2", "password": "agent2-pass"}) as resp:  # fmt: skip
                page = await resp.text()
            assert resp.status == 503, page
            assert "the database is unavailable" in page and 'value="agent2"' in page

            # a disposition with nothing waiting in the writer: the store cannot be reached
            status, body, _ = await dispose(agent, base, call_id)
            assert (status, body["error"]) == (503, "storage_unavailable"), body
            assert "database is unavailable" in body["reason"]

            # a disposition while writes wait for the database: refused, not held
            writer.submit(RecordCallEvent(call_id, dt.datetime.now(dt.UTC), "note", {}))
            status, body, took = await dispose(agent, base, call_id)
            assert (status, body["error"]) == (503, "storage_unavailable"), body
            assert "wait for the database" in body["reason"]
            print(f"refused after {took:.1f} s with writes pending")

            await private_pg.start()
            await writer.flush(timeout=120)
            status, body, _ = await dispose(agent, base, call_id)
            assert status == 200 and body["saved"] is True, body
            assert (await login(anyone, base, "agent2")).status == 303
        async with rig.hotline.store.sessions() as s:
            saved = list(await s.scalars(select(Interaction).where(Interaction.call_id == call_id)))
        assert [(i.disposition, i.notes) for i in saved] == [("resolved", "outage")]
