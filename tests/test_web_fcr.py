"""The disposition's FCR flag through the whole hotline (real HTTP, the real store, SQLite
and PostgreSQL): ``POST /api/calls/{id}/disposition`` takes ``fcr: true|false``; left out,
the flag is the code's membership of the config's ``fcr_dispositions``; a bad value is a
400 naming ``fcr`` and writes nothing; a second save edits the flag.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import aiohttp
import sqlalchemy as sa

from callcenter.storage import call_key
from crm_bridge.models import Interaction

from .e2e_support import hotline_rig
from .test_e2e_browser import no_callers

T0 = dt.datetime(2026, 12, 5, 3, 0, tzinfo=dt.UTC)


def _follow_up_is_fcr(text: str) -> str:
    # not the shipped default (resolved, information, sales, no_action): the default
    # must come from the running config
    return text + "fcr_dispositions: [follow_up, information]\n"


async def _rows(rig: Any) -> list[tuple[str | None, str, str | None, bool | None]]:
    """The dispositions of this test's calls (the seeded CRM history has others, callless)."""
    async with rig.hotline.store.sessions() as s:
        rows = await s.execute(sa.select(Interaction.call_id, Interaction.disposition,
                                         Interaction.notes, Interaction.fcr)
                               .where(Interaction.call_id.like("pbx1:1764900000.%"))
                               .order_by(Interaction.call_id))  # fmt: skip
        return [tuple(r) for r in rows]  # type: ignore[misc]


async def test_the_fcr_flag_is_taken_defaulted_from_the_code_refused_when_bad_and_edited(
    tmp_path: Path, db_url: str
) -> None:
    async with hotline_rig(tmp_path, db_url, no_callers(), agents=1, auto_login=False,
                           edit_config=_follow_up_is_fcr) as rig:  # fmt: skip
        assert rig.hotline.urls is not None
        base = rig.hotline.urls.base
        store = rig.hotline.store
        agent = next(a for a in await store.list_agents() if a.username == "agent1")
        calls = [call_key("pbx1", f"1764900000.{i}") for i in range(1, 5)]
        for i, call_id in enumerate(calls):
            await store.record_call_started(call_id, call_id.split(":")[1], "pbx1",
                                            T0 + dt.timedelta(minutes=i))  # fmt: skip
            await store.record_call_update(call_id, agent_id=agent.id)
        jar = aiohttp.CookieJar(unsafe=True)
        async with aiohttp.ClientSession(cookie_jar=jar) as http:
            async with http.post(f"{base}/login", data={"username": "agent1",
                                 "password": "agent1-pass"}, allow_redirects=False) as r:  # fmt: skip
                assert r.status == 303, await r.text()

            async def save(call_id: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
                async with http.post(f"{base}/api/calls/{call_id}/disposition", json=body) as r:
                    return r.status, await r.json()

            # bad values: 400 naming the field, nothing written
            for bad in ("yes", "true", 1, 0, None, [], {"x": True}):
                status, answer = await save(calls[0], {"code": "resolved", "fcr": bad})
                assert (status, answer["error"]) == (400, "invalid_field"), (bad, answer)
                assert answer["reason"].startswith("fcr: "), (bad, answer)
                assert "true or false" in answer["reason"], (bad, answer)
            assert await _rows(rig) == []

            # left out: the running config's fcr_dispositions decide
            assert await save(calls[0], {"code": "follow_up"}) == (
                200,
                {"saved": True, "call_id": calls[0], "code": "follow_up", "fcr": True},
            )
            assert (await save(calls[1], {"code": "resolved"}))[1]["fcr"] is False
            # given: the agent's word, whatever the code's default
            assert (await save(calls[2], {"code": "information", "fcr": False}))[1]["fcr"] is False
            assert (await save(calls[3], {"code": "complaint", "fcr": True}))[1]["fcr"] is True
            assert await _rows(rig) == sorted([
                (calls[0], "follow_up", None, True),
                (calls[1], "resolved", None, False),
                (calls[2], "information", None, False),
                (calls[3], "complaint", None, True),
            ])  # fmt: skip

            # a second save edits the one disposition of the call, flag included
            assert (await save(calls[0], {"code": "follow_up", "notes": "n", "fcr": False})
                    )[1]["fcr"] is False  # fmt: skip
            assert (await save(calls[2], {"code": "information"}))[1]["fcr"] is True
            # a refused second save leaves the first as it was
            assert (await save(calls[3], {"code": "complaint", "fcr": "no"}))[0] == 400
            assert await _rows(rig) == sorted([
                (calls[0], "follow_up", "n", False),
                (calls[1], "resolved", None, False),
                (calls[2], "information", None, True),
                (calls[3], "complaint", None, True),
            ])  # fmt: skip
