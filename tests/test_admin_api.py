"""The admin API over the whole hotline (pbxsim over real AMI, SQLite and PostgreSQL,
real HTTP): each bad write is refused with the status and a reason that starts with
the field at fault, and nothing is written; a penalty changed through the API routes
the next caller at once, with no restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from pathlib import Path
from typing import Any

import aiohttp

from callcenter.flow import Stage

from .e2e_support import hotline_rig, wait_until
from .test_e2e_browser import CUSTOMERS, caller_arrives, no_callers

AGENT = {"username": "agent9", "password": "agent9-pass", "role": "agent", "queues": ["support"]}

#: (method, path, body, status, error, the field the reason starts with)
BAD: list[tuple[str, str, Any, int, str, str]] = [
    ("POST", "/api/admin/logins", {**AGENT, "queues": ["nope"]}, 400, "invalid_field", "queues"),
    ("POST", "/api/admin/logins", {**AGENT, "username": "two words"}, 400, "invalid_field",
     "username"),
    ("POST", "/api/admin/logins", {**AGENT, "password": "short"}, 400, "invalid_field",
     "password"),
    ("POST", "/api/admin/logins", {**AGENT, "role": "boss"}, 400, "invalid_field", "role"),
    ("POST", "/api/admin/logins", {**AGENT, "device": "not a phone"}, 400, "invalid_field",
     "device"),
    ("POST", "/api/admin/logins", {**AGENT, "skills": {"billing": 9}}, 400, "invalid_field",
     "skills.billing"),
    ("POST", "/api/admin/logins", {**AGENT, "skills": {"Bad Skill": 2}}, 400, "invalid_field",
     "skills"),
    ("POST", "/api/admin/logins", {**AGENT, "penalties": {"support": -1}}, 400, "invalid_field",
     "penalties.support"),
    # a penalty for a queue the agent does not serve (the store's check, as the ACD's)
    ("POST", "/api/admin/logins", {**AGENT, "penalties": {"sales": 1}}, 400, "invalid_field",
     "penalties"),
    ("POST", "/api/admin/logins", {**AGENT, "colour": "red"}, 400, "invalid_field", "colour"),
    ("POST", "/api/admin/logins", {k: v for k, v in AGENT.items() if k != "role"}, 400,
     "invalid_field", "role"),
    ("POST", "/api/admin/logins", {**AGENT, "username": "agent1"}, 409, "duplicate", "username"),
    ("POST", "/api/admin/logins", "not json", 400, "bad_json", ""),
    ("PATCH", "/api/admin/logins/agent1", {}, 400, "invalid_field", "body"),
    ("PATCH", "/api/admin/logins/agent1", {"queues": ["nope"]}, 400, "invalid_field", "queues"),
    ("PATCH", "/api/admin/logins/agent1", {"skills": {"billing": 0}}, 400, "invalid_field",
     "skills.billing"),
    ("PATCH", "/api/admin/logins/agent1", {"device": "PJSIP/a b"}, 400, "invalid_field",
     "device"),
    ("PATCH", "/api/admin/logins/agent1", {"name": "   "}, 400, "invalid_field", "name"),
    ("PATCH", "/api/admin/logins/agent1", {"role": "boss"}, 400, "invalid_field", "role"),
    ("PATCH", "/api/admin/logins/agent1", {"role": ["admin"]}, 400, "invalid_field", "role"),
    ("PATCH", "/api/admin/logins/nobody", {"role": "admin"}, 404, "unknown_login", "username"),
    # the only admin: demoting it would leave nobody to administer; nothing else written
    ("PATCH", "/api/admin/logins/admin", {"role": "supervisor"}, 409, "last_admin",
     "role: 'admin' is the only admin left"),
    ("PATCH", "/api/admin/logins/admin", {"role": "agent", "name": "Ex-admin"}, 409,
     "last_admin", "role"),
    ("PATCH", "/api/admin/logins/nobody", {"name": "X"}, 404, "unknown_login", "username"),
    ("DELETE", "/api/admin/logins/admin", None, 400, "invalid_field", "username"),  # yourself
    ("DELETE", "/api/admin/logins/nobody", None, 404, "unknown_login", "username"),
    ("POST", "/api/admin/tokens", {"name": "two words", "user": "supervisor"}, 400,
     "invalid_field", "name"),
    ("POST", "/api/admin/tokens", {"name": "crm-sync", "user": "nobody"}, 400, "invalid_field",
     "user"),
    ("POST", "/api/admin/tokens", {"name": "crm-sync"}, 400, "invalid_field", "user"),
    ("POST", "/api/admin/tokens", {"name": "crm-sync", "user": "supervisor", "scopes": ["write"]},
     400, "invalid_field", "scopes: scope 'write' is none of read, calls, admin"),
    ("POST", "/api/admin/tokens", {"name": "crm-sync", "user": "supervisor", "scopes": []},
     400, "invalid_field", "scopes"),
    ("DELETE", "/api/admin/tokens/nothing", None, 404, "unknown_token", "name"),
    ("PUT", "/api/admin/dispositions/Bad-Code", {"label": "x"}, 400, "invalid_field", "code"),
    ("PUT", "/api/admin/dispositions/fine", {"label": ""}, 400, "invalid_field", "label"),
    ("PUT", "/api/admin/dispositions/fine", {"label": "a\nb"}, 400, "invalid_field", "label"),
    ("PUT", "/api/admin/dispositions/fine", {"label": "x" * 81}, 400, "invalid_field", "label"),
    ("PUT", "/api/admin/dispositions/fine", {}, 400, "invalid_field", "label"),
    ("DELETE", "/api/admin/dispositions/nothing", None, 404, "unknown_entry", "code"),
    ("DELETE", "/api/admin/pause-reasons/nothing", None, 404, "unknown_entry", "code"),
]  # fmt: skip


async def _logged_in(http: aiohttp.ClientSession, base: str, user: str) -> None:
    async with http.post(f"{base}/login", data={"username": user, "password": f"{user}-pass"},
                         allow_redirects=False) as r:  # fmt: skip
        assert r.status == 303, await r.text()


async def _state(http: aiohttp.ClientSession, base: str) -> dict[str, Any]:
    """What the admin API shows: logins, tokens, the desk's lists."""
    out = {}
    for path in ("/api/admin/logins", "/api/admin/tokens", "/api/desk-lists"):
        async with http.get(base + path) as r:
            assert r.status == 200, await r.text()
            out[path] = await r.json()
    return out


async def test_bad_admin_writes_are_refused_naming_the_field_and_write_nothing(
    tmp_path: Path, db_url: str
) -> None:
    async with hotline_rig(tmp_path, db_url, no_callers(), agents=2, auto_login=False) as rig:
        assert rig.hotline.urls is not None
        base = rig.hotline.urls.base
        jar = aiohttp.CookieJar(unsafe=True)
        async with aiohttp.ClientSession(cookie_jar=jar, headers={"Origin": base}) as http:
            await _logged_in(http, base, "admin")
            before = await _state(http, base)
            got = []
            for method, path, body, *_ in BAD:
                kwargs: dict[str, Any] = {}
                if isinstance(body, str):
                    kwargs = {"data": body, "headers": {"Content-Type": "application/json"}}
                elif body is not None:
                    kwargs = {"json": body}
                async with http.request(method, base + path, **kwargs) as r:
                    answer = await r.json()
                    got.append((r.status, answer["error"], answer["reason"]))
            wrong = [(m, p, b, (s, e, f), g) for (m, p, b, s, e, f), g in zip(BAD, got, strict=True)
                     if g[:2] != (s, e) or not g[2].startswith(f)]  # fmt: skip
            assert wrong == [], "\n".join(map(str, wrong))
            assert await _state(http, base) == before  # nothing written

            # the last pause reason offered cannot go: the desk would offer none
            reasons = list(before["/api/desk-lists"]["pause_reasons"])
            for code in reasons[:-1]:
                async with http.delete(f"{base}/api/admin/pause-reasons/{code}") as r:
                    assert r.status == 200, await r.text()
            async with http.delete(f"{base}/api/admin/pause-reasons/{reasons[-1]}") as r:
                assert (r.status, (await r.json())["error"]) == (409, "last_entry")
        # an agent may pause only with a reason offered, and now only that one is
        jar = aiohttp.CookieJar(unsafe=True)
        async with aiohttp.ClientSession(cookie_jar=jar) as http:
            await _logged_in(http, base, "agent1")
            async with http.post(f"{base}/api/agent/pause", json={"reason": reasons[0]}) as r:
                answer = await r.json()
                assert (r.status, answer["error"]) == (400, "invalid_field")
                assert answer["reason"].startswith("reason: ")
            async with http.post(f"{base}/api/agent/pause", json={"reason": reasons[-1]}) as r:
                assert r.status in (200, 409), await r.text()  # the ACD's answer, not ours


async def test_a_penalty_changed_through_the_api_routes_the_next_caller_at_once(
    tmp_path: Path, db_url: str
) -> None:
    quick = {"default": {"answer_delay": 1, "talk_time": [2, 3], "agent_hangs_up_probability": 0}}
    async with hotline_rig(tmp_path, db_url, no_callers(quick), agents=2, auto_login=False,
                           offer_timeout_s=15) as rig:  # fmt: skip
        assert rig.hotline.urls is not None
        base = rig.hotline.urls.base
        ids = {a.username: str(a.id) for a in await rig.hotline.store.list_agents()}
        for user in ("agent1", "agent2"):  # agent1 first: the longest idle of the two
            jar = aiohttp.CookieJar(unsafe=True)
            async with aiohttp.ClientSession(cookie_jar=jar) as http:
                await _logged_in(http, base, user)
                async with http.post(f"{base}/api/agent/ready", json={}) as r:
                    assert r.status == 200, await r.text()
        jar = aiohttp.CookieJar(unsafe=True)
        async with aiohttp.ClientSession(cookie_jar=jar, headers={"Origin": base}) as http:
            await _logged_in(http, base, "admin")
            async with http.patch(f"{base}/api/admin/logins/agent1",
                                  json={"penalties": {"support": 5}}) as r:  # fmt: skip
                assert r.status == 200, await r.text()
                assert (await r.json())["penalties"] == {"support": 5}
        # the ACD has it when the answer came: no poll, no restart
        view = rig.ctl.core.agent(ids["agent1"], rig.ctl.now())
        assert view.state.value == "ready"
        number = CUSTOMERS[7].national_numbers[0]
        await caller_arrives(rig, number)
        calls: list[Any] = []

        def offered() -> bool:
            calls[:] = [c for c in rig.ctl.calls.values()
                        if c.caller_number == number and c.agent_id]  # fmt: skip
            return bool(calls)

        await wait_until(offered, 60, "the caller to be offered to an agent")
        assert calls[0].agent_id == ids["agent2"], "the penalty 5 agent was tried first"
        await wait_until(lambda: calls[0].stage is Stage.ENDED or not rig.ctl.calls, 60,
                         "the call to end")  # fmt: skip


async def test_a_tokens_scopes_are_set_by_the_admin_and_bound_it(
    tmp_path: Path, db_url: str
) -> None:
    # POST /api/admin/tokens with scopes: the token may do only that, within its login's role
    async with hotline_rig(tmp_path, db_url, no_callers(), agents=1, auto_login=False) as rig:
        assert rig.hotline.urls is not None
        base = rig.hotline.urls.base
        jar = aiohttp.CookieJar(unsafe=True)
        made: dict[str, str] = {}
        async with aiohttp.ClientSession(cookie_jar=jar, headers={"Origin": base}) as http:
            await _logged_in(http, base, "admin")
            for name, body in (("writer", {"scopes": ["admin"]}), ("reader", {})):
                async with http.post(
                    f"{base}/api/admin/tokens", json={"name": name, "user": "admin", **body}
                ) as r:
                    answer = await r.json()
                    assert r.status == 201, answer
                    made[name] = answer["token"]
                    assert answer["scopes"] == body.get("scopes", ["read"])
            listed = (await _state(http, base))["/api/admin/tokens"]["tokens"]
            assert {t["name"]: t["scopes"] for t in listed} == {"reader": ["read"],
                                                               "writer": ["admin"]}  # fmt: skip

        async with aiohttp.ClientSession() as http:  # no cookie: the token alone

            async def ask(method: str, path: str, token: str, body: Any = None) -> tuple[int, Any]:
                async with http.request(
                    method, base + path, json=body, headers={"Authorization": f"Bearer {token}"}
                ) as r:
                    return r.status, await r.json()

            deadline = time.monotonic() + 30
            while (await ask("GET", "/api/admin/tokens", made["reader"]))[0] != 200:
                assert time.monotonic() < deadline, "the reader token never worked"
                await asyncio.sleep(0.1)
            status, answer = await ask("PUT", "/api/admin/dispositions/warranty", made["reader"],
                                       {"label": "Warranty"})  # fmt: skip
            assert (status, answer) == (403, {
                "error": "insufficient_scope",
                "reason": "this token's scopes (read) do not include 'admin'"})  # fmt: skip
            status, answer = await ask("PUT", "/api/admin/dispositions/warranty", made["writer"],
                                       {"label": "Warranty"})  # fmt: skip
            assert status == 201, answer
            status, answer = await ask("GET", "/api/admin/tokens", made["writer"])
            assert (status, answer["error"]) == (403, "insufficient_scope")
            assert "'read'" in answer["reason"]
            # an admin write by an admin token is no call write
            status, answer = await ask("POST", "/api/agents/1/state", made["writer"],
                                       {"state": "ready"})  # fmt: skip
            assert (status, answer["error"]) == (403, "insufficient_scope"), answer


async def test_a_role_changed_through_the_api_binds_open_sessions_and_the_acd_at_once(
    tmp_path: Path, db_url: str
) -> None:
    # PATCH /api/admin/logins/{username} {role}: the login's open session and token are
    # judged by the new role on their next request (no stale privilege), an agent made
    # supervisor leaves the ACD, and the only admin left cannot be demoted
    async with hotline_rig(tmp_path, db_url, no_callers(), agents=2, auto_login=False) as rig:
        assert rig.hotline.urls is not None
        base = rig.hotline.urls.base
        ids = {a.username: str(a.id) for a in await rig.hotline.store.list_agents()}
        jars = {user: aiohttp.CookieJar(unsafe=True) for user in ("agent1", "supervisor", "admin")}
        async with contextlib.AsyncExitStack() as stack:
            http = {user: await stack.enter_async_context(
                        aiohttp.ClientSession(cookie_jar=jar, headers={"Origin": base}))
                    for user, jar in jars.items()}  # fmt: skip
            for user, session in http.items():
                await _logged_in(session, base, user)

            async def status(user: str, method: str, path: str, body: Any = None) -> int:
                async with http[user].request(method, base + path, json=body) as r:
                    return r.status

            async def role(user: str, new: str) -> dict[str, Any]:
                async with http["admin"].patch(f"{base}/api/admin/logins/{user}",
                                               json={"role": new}) as r:  # fmt: skip
                    answer = await r.json()
                    assert r.status == 200, answer
                    return dict(answer)

            async with http["admin"].post(f"{base}/api/admin/tokens",
                                          json={"name": "watch", "user": "supervisor"}) as r:  # fmt: skip
                assert r.status == 201, await r.text()
                token = (await r.json())["token"]

            async def token_status() -> int:
                bearer = {"Authorization": f"Bearer {token}"}
                async with aiohttp.ClientSession() as bare:
                    async with bare.get(f"{base}/api/wallboard", headers=bearer) as r:
                        return r.status

            assert await status("agent1", "POST", "/api/agent/ready", {}) == 200
            assert rig.ctl.core.agent(ids["agent1"], rig.ctl.now()).state.value == "ready"
            assert await status("agent1", "GET", "/api/wallboard") == 403
            assert (await status("supervisor", "GET", "/api/wallboard"), await token_status()) == (
                200, 200)  # fmt: skip

            # agent1 made supervisor: out of the ACD when the answer came, and its open
            # session watches the wallboard and no longer drives an agent's state
            assert (await role("agent1", "supervisor"))["role"] == "supervisor"
            in_acd = {v.agent_id for v in rig.ctl.core.snapshot(rig.ctl.now()).agents}
            assert ids["agent1"] not in in_acd
            assert await status("agent1", "GET", "/api/wallboard") == 200
            assert await status("agent1", "POST", "/api/agent/ready", {}) == 403

            # the supervisor made agent: its session and its token lose the wallboard at
            # once, and its open wallboard socket is closed before the next delta
            board = await stack.enter_async_context(
                http["supervisor"].ws_connect(f"{base}/ws/wallboard"))  # fmt: skip
            await board.receive_json(timeout=30)  # the snapshot
            assert (await role("supervisor", "agent"))["role"] == "agent"
            assert await status("supervisor", "GET", "/api/wallboard") == 403
            assert await token_status() == 403
            # the next delta is not sent: the socket is closed first
            async with asyncio.timeout(60):
                while (msg := await board.receive()).type is aiohttp.WSMsgType.TEXT:
                    pass
            assert (msg.type, msg.data) == (aiohttp.WSMsgType.CLOSE, 1008), msg
            async with http["admin"].get(f"{base}/api/admin/tokens") as r:
                (listed,) = (await r.json())["tokens"]
                assert listed["role"] == "agent"

            # a second admin: the first may step down, and its session loses the admin API
            assert (await role("agent1", "admin"))["role"] == "admin"
            assert (await role("admin", "supervisor"))["role"] == "supervisor"
            assert await status("admin", "PUT", "/api/admin/dispositions/later",
                                {"label": "Later"}) == 403  # fmt: skip
            assert await status("admin", "GET", "/api/wallboard") == 200
            # ... but agent1, now the only admin, cannot step down
            async with http["agent1"].patch(f"{base}/api/admin/logins/agent1",
                                            json={"role": "agent"}) as r:  # fmt: skip
                answer = await r.json()
            assert (r.status, answer) == (409, {
                "error": "last_admin",
                "reason": "role: 'agent1' is the only admin left: make another login admin first",
            })  # fmt: skip
            rows = {a.username: a.role for a in await rig.hotline.store.list_agents()}
            assert rows == {"agent1": "admin", "agent2": "agent", "supervisor": "agent",
                            "admin": "supervisor"}  # fmt: skip
