"""The recording routes of the real web app over a stand-in desk: who may do what
(a table over every recording route, role by role), and what each refusal says."""

from __future__ import annotations

from typing import Any

import pytest

from tests.test_web import login
from tests.test_web_support import World

CALL = "pbx1:1700000000.42"  # agent 7's call, recording
OTHER = "pbx1:1700000000.50"  # agent 8's call, recording
BARE = "pbx1:1700000000.60"  # agent 7's call, nothing recorded (policy)


@pytest.fixture
def world() -> World:
    w = World()
    w.desk.live_calls = {CALL: ("7", True), OTHER: ("8", True), BARE: ("7", False)}
    return w


@pytest.fixture
async def client(aiohttp_client, world):
    return await aiohttp_client(world.app())


# (who, method, path, body) -> status; None: nobody logged in. Every recording route.
ROUTES: list[tuple[str | None, str, str, Any, int]] = [
    (None, "POST", f"/api/calls/{CALL}/recording/mute", {"muted": True}, 401),
    ("an", "POST", f"/api/calls/{CALL}/recording/mute", {"muted": True}, 200),
    ("an", "POST", f"/api/calls/{OTHER}/recording/mute", {"muted": True}, 403),
    ("an", "POST", f"/api/calls/{BARE}/recording/mute", {"muted": True}, 409),
    ("an", "POST", "/api/calls/pbx1:9.9/recording/mute", {"muted": True}, 404),
    ("an", "POST", f"/api/calls/{CALL}/recording/mute", {"muted": "yes"}, 400),
    ("binh", "POST", f"/api/calls/{CALL}/recording/mute", {"muted": False}, 403),
    ("binh", "POST", f"/api/calls/{OTHER}/recording/mute", {"muted": False}, 200),
    ("lan", "POST", f"/api/calls/{CALL}/recording/mute", {"muted": True}, 200),
    ("lan", "POST", f"/api/calls/{OTHER}/recording/mute", {"muted": False}, 200),
    ("lan", "POST", f"/api/calls/{BARE}/recording/mute", {"muted": True}, 409),
]


@pytest.mark.parametrize(
    ("who", "call", "status"),
    [
        (None, BARE, 401),
        ("an", BARE, 200),  # its own call, not recorded yet
        ("an", CALL, 409),  # recorded already
        ("an", OTHER, 403),
        ("an", "pbx1:9.9", 404),
        ("binh", BARE, 403),
        ("lan", BARE, 200),
        ("lan", "bad/id", 404),  # not a route
    ],
)
async def test_record_on_demand_by_role(client, world, who, call, status):
    if who is not None:
        await login(client, who)
    resp = await client.post(f"/api/calls/{call}/recording/start")
    assert resp.status == status, await resp.text()
    done = [a for a in world.desk.actions if a[0] == "record"]
    if status == 200:
        account = {"an": "agent:7", "lan": "supervisor:2"}[who or ""]
        assert done == [("record", call, account)]
        assert await resp.json() == {"call_id": call, "recording": True}
    else:
        assert done == []


@pytest.mark.parametrize(("who", "method", "path", "body", "status"), ROUTES)
async def test_each_role_gets_exactly_what_it_may(client, world, who, method, path, body, status):
    if who is not None:
        await login(client, who)
    resp = await client.request(method, path, json=body)
    assert resp.status == status, await resp.text()
    done = [a for a in world.desk.actions if a[0] in ("mute", "unmute")]
    if status == 200:
        role = "supervisor" if who == "lan" else "agent"
        account = {"an": "7", "binh": "8", "lan": "2"}[who or ""]
        call = path.split("/")[3]
        verb = "mute" if body["muted"] else "unmute"
        assert done == [(verb, call, f"{role}:{account}")]
        assert await resp.json() == {"call_id": call, "muted": body["muted"]}
    else:
        assert done == [], "a refused request reached the controller"
        assert (await resp.json())["error"]


@pytest.mark.parametrize(
    ("who", "call", "body", "status"),
    [
        (None, CALL, {"node": "card"}, 401),
        ("an", CALL, {"node": "card"}, 200),
        ("an", OTHER, {"node": "card"}, 403),
        ("an", "pbx1:9.9", {"node": "card"}, 404),
        ("an", CALL, {"node": "main"}, 400),  # not one of the IVR's visits
        ("an", CALL, {"node": ""}, 400),
        ("an", CALL, {}, 400),
        ("an", BARE, {"node": "card"}, 409),  # not talking
        ("binh", CALL, {"node": "card"}, 403),
        ("lan", OTHER, {"node": "card"}, 200),
    ],
)
async def test_sending_a_caller_to_an_ivr_node_by_role(client, world, who, call, body, status):
    world.desk.not_talking = {BARE}
    if who is not None:
        await login(client, who)
    resp = await client.post(f"/api/calls/{call}/ivr", json=body)
    assert resp.status == status, await resp.text()
    done = [a for a in world.desk.actions if a[0] == "visit"]
    if status == 200:
        account = {"an": "agent:7", "lan": "supervisor:2"}[who or ""]
        assert done == [("visit", call, "card", account)]
        assert await resp.json() == {"call_id": call, "node": "card"}
    else:
        assert done == [], "a refused request reached the controller"
        assert (await resp.json())["error"]


async def test_a_mute_from_a_foreign_origin_is_refused(client, world):
    await login(client, "lan")
    resp = await client.post(f"/api/calls/{CALL}/recording/mute", json={"muted": True},
                             headers={"Origin": "http://evil.example"})  # fmt: skip
    assert resp.status == 403 and world.desk.actions == []


# -- search, playback, download and audit over a real database and real files -------

import datetime as dt  # noqa: E402
import wave  # noqa: E402
from pathlib import Path  # noqa: E402

from callcenter.facts import RecordCallStarted, RecordRecording  # noqa: E402
from callcenter.recordings_library import RecordingLibrary  # noqa: E402
from callcenter.storage import Store, make_engine, make_session_factory, migrate  # noqa: E402
from callcenter.web.keys import RECORDINGS  # noqa: E402
from recordings import RecordingPolicy, file_facts  # noqa: E402

T0 = dt.datetime(2026, 12, 4, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
async def library(db_url: str, tmp_path: Path):
    """Three recordings: 1 of agent 7 in support (agents may listen), 2 of agent 8 in
    support, 3 of agent 7 in billing (they may not)."""
    await migrate(db_url)
    engine = make_engine(db_url)
    store = Store(make_session_factory(engine))
    monitor = tmp_path / "monitor"
    monitor.mkdir()
    for n, agent, queue, caller in ((1, 7, "support", "0912345678"), (2, 8, "support", "0987000111"),
                                    (3, 7, "billing", "0912345999")):  # fmt: skip
        name = f"hotline-pbx1-1796.{n}.wav"
        with wave.open(str(monitor / name), "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(8000)
            w.writeframes(bytes(range(256)) * 125 * n)
        size, sha, duration = file_facts(monitor / name)
        call_id = f"pbx1:1796.{n}"
        await store.apply(
            RecordCallStarted(call_id, f"1796.{n}", "pbx1", T0, caller_number=caller),
            RecordRecording(call_id, f"/var/spool/asterisk/monitor/{name}", T0 + n * dt.timedelta(minutes=1),
                            ended_at=T0, duration_s=duration, size_bytes=size, sha256=sha,
                            queue=queue, agent_id=agent, caller_number=caller, format="wav",
                            mute_intervals=[[0.5, 1.0]] if n == 1 else None),
        )  # fmt: skip
    policies = {"support": RecordingPolicy(agent_may_listen=True), "billing": RecordingPolicy()}
    yield RecordingLibrary(store.sessions, monitor, policies), monitor
    await engine.dispose()


@pytest.fixture
async def rec_client(aiohttp_client, library):
    app = World().app()
    app[RECORDINGS] = library[0]
    return await aiohttp_client(app)


async def ids_by_caller(client) -> dict[str, int]:
    await login(client, "lan")
    page = await (await client.get("/api/recordings")).json()
    return {r["caller_number"]: r["id"] for r in page["recordings"]}


ACCESS: list[tuple[str | None, str, int]] = [
    # (who, which recording by caller, status) for audio and download alike
    (None, "0912345678", 401),
    ("an", "0912345678", 200),  # agent 7, its own call, support allows
    ("an", "0987000111", 403),  # agent 8's call
    ("an", "0912345999", 403),  # its own call, billing does not allow
    ("binh", "0912345678", 403),
    ("binh", "0987000111", 200),
    ("lan", "0912345678", 200),
    ("lan", "0912345999", 200),
]


@pytest.mark.parametrize("route", ["audio", "download"])
@pytest.mark.parametrize(("who", "caller", "status"), ACCESS)
async def test_each_role_gets_exactly_the_recordings_it_may(rec_client, route, who, caller, status):
    ids = await ids_by_caller(rec_client)
    rec_client.session.cookie_jar.clear()
    if who is not None:
        await login(rec_client, who)
    resp = await rec_client.get(f"/api/recordings/{ids[caller]}/{route}")
    assert resp.status == status, await resp.text()
    await login(rec_client, "lan")
    audit = await (await rec_client.get(f"/api/recordings/{ids[caller]}/audit")).json()
    actions = [(a["account_id"], a["action"]) for a in audit["accesses"]]
    account = {"an": "7", "binh": "8", "lan": "2"}.get(who or "")
    action = "listen" if route == "audio" else "download"
    assert actions == ([(account, action)] if status == 200 else []), "audit differs"
    if route == "download" and status == 200:
        assert resp.headers["Content-Disposition"].startswith("attachment;")


@pytest.mark.parametrize(
    ("who", "path", "status"),
    [
        (None, "/api/recordings", 401),
        ("an", "/api/recordings", 403),
        ("lan", "/api/recordings", 200),
        (None, "/api/recordings/1/audit", 401),
        ("an", "/api/recordings/1/audit", 403),
        ("lan", "/api/recordings/1/audit", 200),
        ("lan", "/api/recordings/999/audit", 404),
        ("lan", "/api/recordings/999/audio", 404),
        ("lan", "/api/recordings/0/audio", 400),
        ("lan", "/api/recordings/x/download", 400),
        ("lan", "/api/recordings?caller=abc", 400),
        ("lan", "/api/recordings?since=2026-12-04T09:00", 400),
        ("lan", "/api/recordings?limit=0", 400),
        ("lan", "/api/recordings?color=red", 400),
    ],
)
async def test_search_and_audit_are_for_supervisors_and_bad_input_is_named(
    rec_client, who, path, status
):
    if who is not None:
        await login(rec_client, who)
    resp = await rec_client.get(path)
    assert resp.status == status, await resp.text()


async def test_search_by_caller_date_and_pages(rec_client):
    await login(rec_client, "lan")
    page = await (await rec_client.get("/api/recordings?caller=0912345")).json()
    assert [r["caller_number"] for r in page["recordings"]] == ["0912345999", "0912345678"]
    assert page["recordings"][1]["mute_intervals"] == [[0.5, 1.0]]
    since = (T0 + dt.timedelta(minutes=2)).isoformat().replace("+", "%2B")
    page = await (await rec_client.get(f"/api/recordings?since={since}")).json()
    assert [r["caller_number"] for r in page["recordings"]] == ["0912345999", "0987000111"]
    first = await (await rec_client.get("/api/recordings?limit=2")).json()
    rest = await (await rec_client.get("/api/recordings?limit=2&offset=2")).json()
    assert first["more"] and not rest["more"]
    assert len(first["recordings"]) == 2 and len(rest["recordings"]) == 1
    page = await (await rec_client.get("/api/recordings?agent=7&queue=billing")).json()
    assert [r["caller_number"] for r in page["recordings"]] == ["0912345999"]


async def test_a_range_request_gets_206_with_exactly_those_bytes_and_one_listen(
    rec_client, library
):
    ids = await ids_by_caller(rec_client)
    rid = ids["0912345678"]
    whole = (library[1] / "hotline-pbx1-1796.1.wav").read_bytes()
    first = await rec_client.get(f"/api/recordings/{rid}/audio", headers={"Range": "bytes=0-99"})
    assert first.status == 206 and await first.read() == whole[:100]
    assert first.headers["Content-Range"] == f"bytes 0-99/{len(whole)}"
    more = await rec_client.get(f"/api/recordings/{rid}/audio", headers={"Range": "bytes=1000-"})
    assert more.status == 206 and await more.read() == whole[1000:]
    full = await rec_client.get(f"/api/recordings/{rid}/audio")
    assert full.status == 200 and await full.read() == whole
    assert full.headers["Content-Type"] == "audio/wav"
    audit = await (await rec_client.get(f"/api/recordings/{rid}/audit")).json()
    assert [a["action"] for a in audit["accesses"]] == ["listen", "listen"], "a seek is no listen"
    assert all(a["account_id"] == "2" and a["role"] == "supervisor" and a["remote"]
               for a in audit["accesses"])  # fmt: skip


async def test_a_deleted_file_is_404_and_not_audited(rec_client, library):
    ids = await ids_by_caller(rec_client)
    (library[1] / "hotline-pbx1-1796.2.wav").unlink()
    resp = await rec_client.get(f"/api/recordings/{ids['0987000111']}/audio")
    assert resp.status == 404 and (await resp.json())["error"] == "no_file"
    audit = await (await rec_client.get(f"/api/recordings/{ids['0987000111']}/audit")).json()
    assert audit["accesses"] == []


async def test_who_may_listen_follows_the_policies_as_they_change(rec_client, library):
    ids = await ids_by_caller(rec_client)
    policies = {"support": RecordingPolicy(agent_may_listen=True)}
    library[0]._policies = lambda: policies
    await login(rec_client, "an")
    assert (await rec_client.get(f"/api/recordings/{ids['0912345678']}/audio")).status == 200
    policies["support"] = RecordingPolicy()  # a reload took the right away
    assert (await rec_client.get(f"/api/recordings/{ids['0912345678']}/audio")).status == 403


async def test_without_a_library_the_routes_say_so(client):
    await login(client, "lan")
    resp = await client.get("/api/recordings")
    assert resp.status == 503


@pytest.mark.parametrize(("who", "status"), [(None, 303), ("an", 403), ("lan", 200)])
async def test_the_recordings_page_is_for_supervisors(client, who, status):
    if who is not None:
        await login(client, who)
    resp = await client.get("/supervisor/recordings", allow_redirects=False)
    assert resp.status == status
    if status == 200:
        assert "/static/recordings.js" in await resp.text()
