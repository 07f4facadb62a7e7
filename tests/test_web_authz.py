"""Who may do what: every route of the web app × every kind of caller, the exact status.

The routes are read from the running app's router, so a route added without a row in
:data:`TABLE` fails :func:`test_every_route_has_a_row`. The app is the whole hotline
(pbxsim, controller, SQL), with one live call talking to ``agent1`` (its owner) so the
call routes see an owner and a stranger. Callers: nobody (``anon``), the call's agent
(``agent``), another agent (``other``), a supervisor, an admin, and three API bearer
tokens acting as the supervisor, one per scope (``token``: ``read``, ``token_calls``:
``calls``, ``token_admin``: ``admin``): the API honours them within their scope and
the supervisor's role (an ``admin`` scope never makes the supervisor an admin); pages
and WebSockets do not.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
from sqlalchemy import select

from callcenter.app import create_app
from callcenter.config import load_config
from callcenter.storage import Store, make_engine, make_session_factory
from callcenter.storage.tokens import Tokens
from crm_bridge.models import Interaction

from .e2e_support import hotline_rig, scenario, wait_until
from .test_e2e_browser import CUSTOMERS, caller_arrives

WHO = ("anon", "agent", "other", "supervisor", "admin", "token", "token_calls", "token_admin")
#: the tokens, each acting as the supervisor with one scope
TOKENS = {"token": "read", "token_calls": "calls", "token_admin": "admin"}
LOGINS = {"agent": "agent1", "other": "agent2", "supervisor": "supervisor", "admin": "boss"}


def same(status: int) -> dict[str, int]:
    return dict.fromkeys(WHO, status)


def api(allowed: set[str], ok: int = 200, *, refused: int = 403) -> dict[str, int]:
    """An API route: 401 without a login, ``ok`` for the allowed, ``refused`` for others."""
    return {w: 401 if w == "anon" else ok if w in allowed else refused for w in WHO}


def page(allowed: set[str]) -> dict[str, int]:
    """A page: to the login form (303) without a session cookie, 403 for a wrong role."""
    return {w: 303 if w == "anon" or w in TOKENS else 200 if w in allowed else 403 for w in WHO}


def socket(allowed: set[str]) -> dict[str, int]:
    """A WebSocket: 101 when admitted; 401 without a session cookie (tokens included)."""
    return {w: 401 if w == "anon" or w in TOKENS else 101 if w in allowed else 403 for w in WHO}


AGENTS = {"agent", "other"}
TOMORROW = (dt.datetime.now(dt.UTC) + dt.timedelta(days=1)).isoformat(timespec="seconds")
#: supervisors reading: their logins and their ``read`` token
SUPERVISORS = {"supervisor", "admin", "token"}
#: supervisors writing on calls and agents: their logins and their ``calls`` token
SUPERVISING = {"supervisor", "admin", "token_calls"}
#: {call} the live call of agent1, {agent} agent1's id
Row = tuple[str, str, str, Any, dict[str, int]]  # method, route, path, body, statuses
TABLE: list[Row] = [
    ("GET", "/", "/", None, same(303)),
    ("GET", "/login", "/login", None,
     {**same(303), "anon": 200, **dict.fromkeys(TOKENS, 200)}),
    ("POST", "/login", "/login", {"form": {}}, same(400)),  # an empty form
    ("GET", "/agent", "/agent", None, page(AGENTS)),
    ("GET", "/supervisor", "/supervisor", None, page({"supervisor", "admin"})),
    ("GET", "/supervisor/recordings", "/supervisor/recordings", None,
     page({"supervisor", "admin"})),
    ("GET", "/supervisor/reports", "/supervisor/reports", None, page({"supervisor", "admin"})),
    ("GET", "/api/openapi.json", "/api/openapi.json", None, same(200)),
    ("GET", "/api/wallboard", "/api/wallboard", None, api(SUPERVISORS)),
    ("GET", "/api/agents/{agent_id}", "/api/agents/{agent}", None,
     api({"agent"} | SUPERVISORS)),
    ("GET", "/api/waiting", "/api/waiting", None, api(SUPERVISORS)),
    ("POST", "/api/agents/{agent_id}/state", "/api/agents/{agent}/state",
     {"json": {"state": "paused", "reason": "coaching"}},
     api(SUPERVISING, 409)),  # agent1 is talking: no pause mid-call
    ("GET", "/api/recordings", "/api/recordings", None, api(SUPERVISORS)),
    # no such recording: found out only by those who may open one
    ("GET", "/api/recordings/{recording_id}/audio", "/api/recordings/999999/audio", None,
     api(AGENTS | SUPERVISORS, 404)),
    ("GET", "/api/recordings/{recording_id}/download", "/api/recordings/999999/download", None,
     api(AGENTS | SUPERVISORS, 404)),
    ("GET", "/api/recordings/{recording_id}/audit", "/api/recordings/999999/audit", None,
     api(SUPERVISORS, 404)),
    ("GET", "/api/voicemails", "/api/voicemails", None, api(SUPERVISORS)),
    ("GET", "/api/voicemails/{voicemail_id}/audio", "/api/voicemails/999999/audio", None,
     api(SUPERVISORS, 404)),
    ("GET", "/api/callbacks", "/api/callbacks", None, api(SUPERVISORS)),
    ("GET", "/api/reports", "/api/reports?from=2026-12-01&to=2026-12-02", None,
     api(SUPERVISORS)),
    ("GET", "/ws/wallboard", "/ws/wallboard", None, socket({"supervisor", "admin"})),
    ("GET", "/ws/agent", "/ws/agent", None, socket(AGENTS)),
    ("GET", "/metrics", "/metrics", None, same(200)),
    ("GET", "/healthz", "/healthz", None, same(200)),
    ("GET", "/static/{filename}", "/static/agent.js", None, same(200)),
    # the live call: its agent, supervisors (recording), never another agent
    ("POST", "/api/calls/{call_id}/recording/mute", "/api/calls/{call}/recording/mute",
     {"json": {"muted": False}}, api({"agent"} | SUPERVISING)),
    ("POST", "/api/calls/{call_id}/recording/start", "/api/calls/{call}/recording/start",
     {"json": {}}, api({"agent"} | SUPERVISING, 409)),  # recorded already
    ("POST", "/api/calls/{call_id}/ivr", "/api/calls/{call}/ivr",
     {"json": {"node": "nowhere"}}, api({"agent"} | SUPERVISING, 400)),  # no such node
    # only the call's own agent transfers it (supervisors too are refused); no such queue
    ("POST", "/api/calls/{call_id}/transfer", "/api/calls/{call}/transfer",
     {"json": {"queue": "nowhere", "mode": "blind"}}, api({"agent"}, 404)),
    # no consultation under way on agent1's call: its agent alone gets that far
    ("POST", "/api/calls/{call_id}/transfer/complete", "/api/calls/{call}/transfer/complete",
     None, api({"agent"}, 409)),
    ("POST", "/api/calls/{call_id}/transfer/cancel", "/api/calls/{call}/transfer/cancel",
     None, api({"agent"}, 409)),
    # a callback tomorrow on agent1's call: only its own agent schedules it
    ("POST", "/api/calls/{call_id}/callback", "/api/calls/{call}/callback",
     {"json": {"at": TOMORROW, "note": "authz"}}, api({"agent"}, 201)),
    # agent1 talks with the call: no move (409 call_not_waiting)
    ("POST", "/api/calls/{call_id}/move", "/api/calls/{call}/move",
     {"json": {"position": 1}}, api(SUPERVISING, 409)),
    ("POST", "/api/calls/{call_id}/disposition", "/api/calls/{call}/disposition",
     {"json": {"code": "resolved", "notes": "authz"}},
     {**api({"agent"}), "other": 403}),
    # agent1's call, spied on by a supervisor: none of them has a phone (409 no_phone)
    ("POST", "/api/agents/{agent_id}/spy", "/api/agents/{agent}/spy",
     {"json": {"mode": "listen"}}, api(SUPERVISING, 409)),
    # administration: admins write (the admin's POST makes what its PATCH and DELETE
    # use), supervisors and their token read; every login reads the desk's lists
    ("GET", "/admin", "/admin", None, page({"admin"})),
    ("GET", "/api/admin/logins", "/api/admin/logins", None, api(SUPERVISORS)),
    ("POST", "/api/admin/logins", "/api/admin/logins",
     {"json": {"username": "newbie", "password": "newbie-pass", "role": "agent",
               "queues": ["support"]}}, api({"admin"}, 201)),
    ("PATCH", "/api/admin/logins/{username}", "/api/admin/logins/newbie",
     {"json": {"penalties": {"support": 2}}}, api({"admin"})),
    # a role change: admins alone (a supervisor's admin-scoped token is still a supervisor)
    ("PATCH", "/api/admin/logins/{username}", "/api/admin/logins/newbie",
     {"json": {"role": "supervisor"}}, api({"admin"})),
    ("DELETE", "/api/admin/logins/{username}", "/api/admin/logins/newbie", None,
     api({"admin"})),
    ("GET", "/api/admin/tokens", "/api/admin/tokens", None, api(SUPERVISORS)),
    ("POST", "/api/admin/tokens", "/api/admin/tokens",
     {"json": {"name": "authz-admin", "user": "supervisor"}}, api({"admin"}, 201)),
    ("DELETE", "/api/admin/tokens/{name}", "/api/admin/tokens/authz-admin", None,
     api({"admin"})),
    ("PUT", "/api/admin/dispositions/{code}", "/api/admin/dispositions/warranty",
     {"json": {"label": "Warranty claim"}}, api({"admin"}, 201)),
    ("DELETE", "/api/admin/dispositions/{code}", "/api/admin/dispositions/warranty", None,
     api({"admin"})),
    ("PUT", "/api/admin/pause-reasons/{code}", "/api/admin/pause-reasons/coaching",
     {"json": {"label": "Coaching"}}, api({"admin"}, 201)),
    ("DELETE", "/api/admin/pause-reasons/{code}", "/api/admin/pause-reasons/coaching", None,
     api({"admin"})),
    ("GET", "/api/desk-lists", "/api/desk-lists", None, api(AGENTS | SUPERVISORS)),
    # state changes last: the agent's own, then the session's end
    ("POST", "/api/agent/ready", "/api/agent/ready", {"json": {}},
     {**api(AGENTS), "agent": 409}),  # agent1 is talking: no ready mid-call
    ("POST", "/api/agent/pause", "/api/agent/pause", {"json": {"reason": "break"}},
     {**api(AGENTS), "agent": 409}),  # nor a pause
    # agent1 talks, agent2 is logged out: neither is wrapping up
    ("POST", "/api/agent/wrap-up", "/api/agent/wrap-up", {"json": {"action": "extend"}},
     api(AGENTS, 409)),
    ("POST", "/logout", "/logout", {"form": {}}, same(303)),
]  # fmt: skip


def routes_of(app: Any) -> set[tuple[str, str]]:
    """Every (method, route) the app serves; HEAD rides on GET."""
    out = set()
    for route in app.router.routes():
        if route.method == "HEAD":
            continue
        info = route.resource.get_info()
        path = info.get("path") or info.get("formatter") or ""
        if "prefix" in info:  # the static folder
            path = info["prefix"] + "/{filename}"
        out.add((route.method, path))
    return out


async def status_of(http: aiohttp.ClientSession, base: str, method: str, path: str, body: Any,
                    headers: dict[str, str]) -> int:  # fmt: skip
    if path.startswith("/ws/"):
        try:
            async with http.ws_connect(base + path, headers=headers) as ws:
                await ws.close()
                return 101
        except aiohttp.WSServerHandshakeError as exc:
            return exc.status
    kwargs: dict[str, Any] = {"headers": headers, "allow_redirects": False}
    if body is not None and "json" in body:
        kwargs["json"] = body["json"]
    elif body is not None:
        kwargs["data"] = body["form"]
    async with http.request(method, base + path, **kwargs) as resp:
        await resp.read()
        return resp.status


def long_calls(numbers: list[str]) -> dict[str, Any]:
    """Nobody calls until the test says so; an answered call talks for an hour."""
    return scenario(numbers, arrivals={"kind": "trace", "calls": []},
                    agents={"default": {"answer_delay": 1, "talk_time": 3600}})  # fmt: skip


def test_every_route_has_a_row() -> None:
    # the composition root's app, as `callcenter run` builds it (not started)
    app = create_app(load_config(Path(__file__).resolve().parents[1] / "config" / "hotline.yaml",
                                 environ={}))  # fmt: skip
    served = routes_of(app)
    listed = {(m, r) for m, r, *_ in TABLE}
    assert served - listed == set(), "routes without an authorization row"
    assert listed - served == set(), "rows for routes the app does not serve"


async def test_who_may_do_what(tmp_path: Path, db_url: str) -> None:
    async def prepare(url: str) -> None:
        engine = make_engine(url)
        try:
            await Store(make_session_factory(engine)).create_agent("boss", "boss-pass", "admin")
        finally:
            await engine.dispose()

    async with hotline_rig(tmp_path, db_url, long_calls, agents=2, auto_login=False,
                           prepare=prepare) as rig:  # fmt: skip
        assert rig.hotline.urls is not None and rig.hotline.store is not None
        base = rig.hotline.urls.base
        now = dt.datetime.now(dt.UTC)
        made = {who: await Tokens(rig.hotline.store).add(f"authz-by-{scope}", "supervisor", now,
                                                         [scope])
                for who, scope in TOKENS.items()}  # fmt: skip
        token = made["token"]
        agent = next(a.id for a in await rig.hotline.store.list_agents()
                     if a.username == "agent1")  # fmt: skip
        jar = aiohttp.CookieJar(unsafe=True)
        async with aiohttp.ClientSession(cookie_jar=jar) as http:
            async with http.post(
                f"{base}/login", data={"username": "agent1", "password": "agent1-pass"}
            ) as resp:
                assert resp.status == 200
            async with http.post(f"{base}/api/agent/ready", json={}) as resp:
                assert resp.status == 200, await resp.text()
        number = CUSTOMERS[3].national_numbers[0]
        await caller_arrives(rig, number)
        calls: list[Any] = []

        def talking() -> bool:
            calls[:] = [c for c in rig.ctl.calls.values()
                        if c.caller_number == number and c.bridged and c.recording]  # fmt: skip
            return bool(calls)

        await wait_until(talking, 60, "agent1 to talk to the caller, recorded")
        call = calls[0]
        assert call.agent_id == str(agent)
        # the token is taken by the running app within its poll of the logins
        deadline = time.monotonic() + 30
        async with aiohttp.ClientSession() as http:
            while time.monotonic() < deadline:
                async with http.get(
                    f"{base}/api/wallboard", headers={"Authorization": f"Bearer {token}"}
                ) as resp:
                    if resp.status == 200:
                        break
                await asyncio.sleep(0.1)

        fill: Callable[[str], str] = lambda p: p.format(call=call.call_id, agent=agent)  # noqa: E731
        seen: dict[int, dict[str, int]] = {}  # by row: a route may have several
        for who in WHO:
            jar = aiohttp.CookieJar(unsafe=True)
            headers = {"Origin": base}
            async with aiohttp.ClientSession(cookie_jar=jar) as http:
                if who in LOGINS:
                    user = LOGINS[who]
                    form = {"username": user, "password": f"{user}-pass"}
                    async with http.post(f"{base}/login", data=form,
                                         allow_redirects=False) as resp:  # fmt: skip
                        assert resp.status == 303, (who, resp.status)
                elif who in TOKENS:
                    headers["Authorization"] = f"Bearer {made[who]}"
                for row, (method, _route, path, body, _) in enumerate(TABLE):
                    got = await status_of(http, base, method, fill(path), body, headers)
                    seen.setdefault(row, {})[who] = got
        wrong = {f"{m} {p} {b}": {w: (seen[row][w], want[w]) for w in WHO
                                  if seen[row][w] != want[w]}
                 for row, (m, _, p, b, want) in enumerate(TABLE)}  # fmt: skip
        assert {k: v for k, v in wrong.items() if v} == {}, "(got, wanted)"
        saved = [i for i in await _interactions(rig) if i.call_id == call.call_id]
        assert [(i.agent_id, i.notes) for i in saved] == [(agent, "authz")]


async def _interactions(rig: Any) -> list[Any]:
    async with rig.hotline.store.sessions() as s:
        return list(await s.scalars(select(Interaction)))
