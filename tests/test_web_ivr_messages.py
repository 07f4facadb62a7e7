"""Voicemails and callback requests in the JSON API, over a real database and real files:
who may list and play them (a table of roles and routes), the pages, the filters, Range,
and each bad query refused with the field named."""

from __future__ import annotations

import datetime as dt
import wave
from pathlib import Path
from typing import Any

import pytest

from callcenter.facts import RecordCallbackRequest, RecordCallStarted, RecordVoicemail
from callcenter.ivr_messages import IvrMessages
from callcenter.storage import Store, make_engine, make_session_factory, migrate
from callcenter.web.keys import MESSAGES
from recordings import file_facts
from tests.test_web import login
from tests.test_web_support import World

T0 = dt.datetime(2026, 12, 4, 9, 0, tzinfo=dt.UTC)
SPOOL = "/var/spool/asterisk/voicemail/hotline"


@pytest.fixture
async def messages(db_url: str, tmp_path: Path):
    """Two voicemails (support, then none, one minute apart) and three callback requests
    (support twice, billing once)."""
    await migrate(db_url)
    engine = make_engine(db_url)
    store = Store(make_session_factory(engine))
    local = tmp_path / "voicemail"
    local.mkdir()
    for n, queue in ((1, "support"), (2, None)):
        name = f"pbx1-1796.{n}-message-{n}.wav"
        with wave.open(str(local / name), "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(8000)
            w.writeframes(bytes(16000 * n))  # n seconds
        size, _, duration = file_facts(local / name)
        call_id = f"pbx1:1796.{n}"
        at = T0 + n * dt.timedelta(minutes=1)
        await store.apply(
            RecordCallStarted(call_id, f"1796.{n}", "pbx1", T0, caller_number=f"091200000{n}"),
            RecordVoicemail(call_id, at, f"{SPOOL}/{name}", "wav", "care", "message",
                            queue=queue, caller_number=f"091200000{n}", duration_s=duration,
                            size_bytes=size),
            RecordCallbackRequest(call_id, at, f"098765432{n}", "support", "care", "call_me"),
        )  # fmt: skip
    await store.apply(
        RecordCallStarted("pbx1:1796.3", "1796.3", "pbx1", T0, caller_number="0912000003"),
        RecordCallbackRequest("pbx1:1796.3", T0, "0912000003", "billing", "care", "call_me"),
    )
    yield IvrMessages(store.sessions, local), local
    await engine.dispose()


@pytest.fixture
async def client(aiohttp_client, messages):
    app = World().app()
    app[MESSAGES] = messages[0]
    return await aiohttp_client(app)


ROUTES = ["/api/voicemails", "/api/voicemails/{id}/audio", "/api/callbacks"]


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize(("who", "status"), [(None, 401), ("an", 403), ("lan", 200)])
async def test_only_supervisors_list_and_play(client, route: str, who: str | None, status: int):
    if who is not None:
        await login(client, who)
    if "{id}" in route:
        route = route.replace("{id}", "1")
    resp = await client.get(route)
    assert resp.status == status, await resp.text()


async def test_voicemails_newest_first_with_their_facts_and_audio(client, messages):
    await login(client, "lan")
    page = await (await client.get("/api/voicemails")).json()
    assert page["more"] is False and page["offset"] == 0
    got = [(v["caller_number"], v["queue"], v["duration_s"], v["node"], v["flow"], v["file"])
           for v in page["voicemails"]]  # fmt: skip
    assert got == [
        ("0912000002", None, 2.0, "message", "care", "pbx1-1796.2-message-2.wav"),
        ("0912000001", "support", 1.0, "message", "care", "pbx1-1796.1-message-1.wav"),
    ]
    assert page["voicemails"][0]["at"] == (T0 + dt.timedelta(minutes=2)).isoformat()
    only = await (await client.get("/api/voicemails?queue=support")).json()
    assert [v["caller_number"] for v in only["voicemails"]] == ["0912000001"]
    first = await (await client.get("/api/voicemails?limit=1")).json()
    assert len(first["voicemails"]) == 1 and first["more"] is True
    vm = page["voicemails"][1]
    whole = (messages[1] / vm["file"]).read_bytes()
    resp = await client.get(f"/api/voicemails/{vm['id']}/audio")
    assert resp.status == 200 and resp.headers["Content-Type"] == "audio/wav"
    assert await resp.read() == whole
    resp = await client.get(f"/api/voicemails/{vm['id']}/audio", headers={"Range": "bytes=44-99"})
    assert resp.status == 206 and await resp.read() == whole[44:100]


async def test_a_missing_voicemail_or_file_is_404(client, messages):
    await login(client, "lan")
    assert (await client.get("/api/voicemails/99/audio")).status == 404
    page = await (await client.get("/api/voicemails")).json()
    vm = page["voicemails"][0]
    (messages[1] / vm["file"]).unlink()
    resp = await client.get(f"/api/voicemails/{vm['id']}/audio")
    assert resp.status == 404 and (await resp.json())["error"] == "no_file"


async def test_callbacks_oldest_first_by_queue_and_status(client):
    await login(client, "lan")
    page = await (await client.get("/api/callbacks")).json()
    rows: list[dict[str, Any]] = page["callbacks"]
    assert [(c["number"], c["queue"], c["status"], c["own_number"]) for c in rows] == [
        ("0912000003", "billing", "pending", True),
        ("0987654321", "support", "pending", True),
        ("0987654322", "support", "pending", True),
    ]
    support = await (await client.get("/api/callbacks?queue=support&status=pending")).json()
    assert [c["call_id"] for c in support["callbacks"]] == ["pbx1:1796.1", "pbx1:1796.2"]
    done = await (await client.get("/api/callbacks?status=completed")).json()
    assert done == {"callbacks": [], "more": False, "offset": 0}


@pytest.mark.parametrize(
    ("path", "says"),
    [
        ("/api/voicemails?limit=0", "limit: expected 1-200"),
        ("/api/voicemails?limit=x", "limit: expected 1-200"),
        ("/api/voicemails?offset=-1", "offset: expected a row count"),
        ("/api/voicemails?status=pending", "status: unknown filter"),
        ("/api/voicemails?queue=a%20b", "queue: expected a queue name"),
        ("/api/callbacks?status=PENDING", "status: expected a status (pending ...)"),
        ("/api/callbacks?caller=1", "caller: unknown filter"),
        ("/api/voicemails/0/audio", "voicemail_id: not a voicemail id"),
    ],
)
async def test_bad_queries_are_refused_naming_the_field(client, path: str, says: str):
    await login(client, "lan")
    resp = await client.get(path)
    assert resp.status == 400 and (await resp.json())["reason"] == says
