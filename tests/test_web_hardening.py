"""The sign-in hardening of the web edge (issue 15), each a regression test against the
real app: open redirect, deep and big JSON, malformed multipart logins, login
throttling, server-side sessions that logout and account removal end, Secure
cookies behind a TLS proxy, /metrics behind a token or on its own listener."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import aiohttp
import pytest

from callcenter.config import ConfigError, load_config
from callcenter.web.app import create_metrics_app
from callcenter.web.keys import SESSIONS
from callcenter.web.session import COOKIE_NAME
from callcenter.web.throttle import LoginThrottle
from tests.test_web_support import CALL_ID, PASSWORD, World

from .e2e_support import hotline_rig, no_caller_world


@pytest.fixture
def world() -> World:
    return World()


@pytest.fixture
async def client(aiohttp_client, world):
    return await aiohttp_client(world.app())


async def login(client, username: str, password: str = PASSWORD, **extra: str):
    client.session.cookie_jar.clear()
    form = {"username": username, "password": password, **extra}
    return await client.post("/login", data=form, allow_redirects=False)


# -- next=


@pytest.mark.parametrize(
    "next_",
    [
        "/\t/evil.example",  # next=/%09/evil.example answered Location: //evil.example
        "/\n/evil.example",
        "/\r\n/evil.example",
        "/ /evil.example",
        "/\\evil.example",
        "//evil.example/x",
        "/\x7f/evil.example",
        "https://evil.example/",
        "evil.example",
    ],
)
async def test_login_next_accepts_only_same_origin_paths(client, next_):
    resp = await login(client, "lan", next=next_)
    assert resp.status == 303
    assert resp.headers["Location"] == "/supervisor"
    page = await client.get(f"/login?next={next_}", allow_redirects=False)
    assert "evil" not in await page.text()


async def test_login_next_keeps_a_local_path_with_its_query(client):
    resp = await login(client, "lan", next="/supervisor/recordings?caller=%2B84")
    assert resp.headers["Location"] == "/supervisor/recordings?caller=%2B84"


# -- JSON bodies


async def test_deep_json_is_a_400_not_a_500(client, world):
    # ~5,000 levels of nesting made json.loads raise RecursionError: a 500
    await login(client, "an")
    for body in ("[" * 5000 + "]" * 5000, '{"code": ' + "[" * 5000 + "]" * 5000 + "}"):
        resp = await client.post(f"/api/calls/{CALL_ID}/disposition", data=body,
                                 headers={"Content-Type": "application/json"})  # fmt: skip
        assert resp.status == 400
        assert await resp.json() == {
            "error": "bad_json",
            "reason": "the body nests too deep (200 levels at most)",
        }
    assert world.dispositions.saved == []


async def test_json_body_over_the_size_bound_is_a_413_json_error(client, world):
    await login(client, "an")
    body = json.dumps({"code": "resolved", "notes": "x" * 70_000})
    resp = await client.post(f"/api/calls/{CALL_ID}/disposition", data=body,
                             headers={"Content-Type": "application/json"})  # fmt: skip
    assert resp.status == 413
    assert (await resp.json())["error"] == "request_entity_too_large"
    assert world.dispositions.saved == []


# -- malformed multipart


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("multipart/form-data; boundary=xyz", b"--xyz\r\nno headers end here"),
        ("multipart/form-data; boundary=xyz", b"garbage without any boundary"),
        ("multipart/form-data", b"--xyz\r\n\r\nusername\r\n--xyz--\r\n"),
    ],
)
async def test_malformed_multipart_login_is_a_400(client, world, content_type, body):
    # a broken multipart body raised out of request.post(): a 500
    resp = await client.post("/login", data=body, headers={"Content-Type": content_type},
                             allow_redirects=False)  # fmt: skip
    assert resp.status == 400
    assert "The login form could not be read." in await resp.text()
    assert COOKIE_NAME not in resp.cookies
    assert world.accounts.asked == []


async def test_well_formed_multipart_login_works(client):
    form = aiohttp.FormData({"username": "an", "password": PASSWORD})
    form._is_multipart = True  # aiohttp sends multipart when a field is a file; force it
    resp = await client.post("/login", data=form, allow_redirects=False)
    assert resp.status == 303 and resp.headers["Location"] == "/agent"


# -- throttling


async def test_failed_logins_of_one_account_are_throttled_before_argon2(client, world):
    # no throttle: each try cost a 64 MiB argon2 check
    for _ in range(5):
        assert (await login(client, "an", "wrong")).status == 401
    assert world.accounts.asked == ["an"] * 5
    for password in ("wrong", PASSWORD):  # the right password waits too
        resp = await login(client, "AN", password)  # case-folded: the same account
        assert resp.status == 429
        assert 1 <= int(resp.headers["Retry-After"]) <= 60
        assert "Too many failed logins" in await resp.text()
        assert COOKIE_NAME not in resp.cookies
    assert world.accounts.asked == ["an"] * 5  # no password checked while throttled
    assert (await login(client, "binh")).status == 303  # another account is not held


async def test_a_right_password_clears_the_accounts_count(client, world):
    for _ in range(4):
        assert (await login(client, "an", "wrong")).status == 401
    assert (await login(client, "an")).status == 303
    for _ in range(4):
        assert (await login(client, "an", "wrong")).status == 401
    assert (await login(client, "an")).status == 303


async def test_failed_logins_from_one_address_are_throttled(aiohttp_client, world):
    client = await aiohttp_client(world.app(login_throttle=LoginThrottle("5/minute", "3/minute")))
    for name in ("x1", "x2", "x3"):
        assert (await login(client, name, "wrong")).status == 401
    resp = await login(client, "an")
    assert resp.status == 429 and int(resp.headers["Retry-After"]) >= 1
    assert world.accounts.asked == ["x1", "x2", "x3"]


# -- server-side sessions


async def test_a_logged_out_cookie_is_dead_even_if_kept(client):
    # the cookie stayed valid for 10 h after logout
    resp = await login(client, "an")
    kept = resp.cookies[COOKIE_NAME].value
    assert (await client.get("/api/agents/7")).status == 200
    assert (await client.post("/logout", allow_redirects=False)).status == 303
    client.session.cookie_jar.clear()
    replay = {"Cookie": f"{COOKIE_NAME}={kept}"}
    assert (await client.get("/api/agents/7", headers=replay)).status == 401
    page = await client.get("/agent", headers=replay, allow_redirects=False)
    assert page.status == 303 and page.headers["Location"].startswith("/login")


async def test_logout_ends_only_that_session(aiohttp_client, world):
    app = world.app()
    first, second = await aiohttp_client(app), await aiohttp_client(app)
    await login(first, "an")
    await login(second, "an")
    await first.post("/logout", allow_redirects=False)
    assert (await first.get("/api/agents/7")).status == 401
    assert (await second.get("/api/agents/7")).status == 200


async def test_removing_an_account_ends_its_sessions_for_good(client):
    await login(client, "an")
    signer = client.app[SESSIONS]
    signer.revoked = frozenset({"7"})
    assert (await client.get("/api/agents/7")).status == 401
    signer.revoked = frozenset()  # the login comes back (a new one, same id): still ended
    assert (await client.get("/api/agents/7")).status == 401
    assert signer.live_count == 0


async def test_a_removed_login_loses_its_session_in_a_running_controller(
    tmp_path: Path, db_url: str
) -> None:
    # the cookie stayed valid for 10 h after `callcenter users remove`
    async with hotline_rig(tmp_path, db_url, no_caller_world, agents=2) as rig:
        assert rig.hotline.urls is not None and rig.hotline.store is not None
        base = rig.hotline.urls.base
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
            login_form = {"username": "agent1", "password": "agent1-pass"}
            async with http.post(f"{base}/login", data=login_form) as resp:
                assert resp.status == 200 and resp.url.path == "/agent"
            agent = await rig.hotline.store.get_login("agent1")
            assert agent is not None
            path = f"{base}/api/agents/{agent.id}"
            async with http.get(path) as resp:
                assert resp.status == 200
            await rig.hotline.store.remove_login("agent1")
            status, deadline = 200, time.monotonic() + 30  # the logins are read every 2 s
            while status != 401 and time.monotonic() < deadline:
                await asyncio.sleep(0.1)
                async with http.get(path) as resp:
                    status = resp.status
            assert status == 401


# -- Secure cookies behind a TLS proxy


async def test_secure_cookies_behind_a_tls_proxy(aiohttp_client, world):
    plain = await aiohttp_client(world.app())
    assert not (await login(plain, "an")).cookies[COOKIE_NAME]["secure"]
    proxied = await aiohttp_client(world.app(secure_cookies=True))
    assert (await login(proxied, "an")).cookies[COOKIE_NAME]["secure"]


# -- /metrics


async def test_metrics_open_by_default(client):
    assert (await client.get("/metrics")).status == 200


async def test_metrics_behind_a_token(aiohttp_client, world):
    client = await aiohttp_client(world.app(metrics_token="t" * 20))
    assert (await client.get("/metrics")).status == 401
    bad = {"Authorization": "Bearer " + "u" * 20}
    assert (await client.get("/metrics", headers=bad)).status == 401
    good = await client.get("/metrics", headers={"Authorization": "Bearer " + "t" * 20})
    assert good.status == 200 and "hotline_" in await good.text()


async def test_metrics_on_a_listener_of_its_own(aiohttp_client, world):
    main = await aiohttp_client(world.app(metrics_token=None))
    assert (await main.get("/metrics")).status == 404
    own = await aiohttp_client(create_metrics_app(world.metrics))
    resp = await own.get("/metrics")
    assert resp.status == 200 and "hotline_" in await resp.text()
    assert (await own.get("/agent")).status == 404


def test_web_hardening_config(tmp_path: Path) -> None:
    sample = Path(__file__).resolve().parent.parent / "config" / "hotline.yaml"
    text = sample.read_text()
    config = load_config(sample, environ={})
    assert config.web.secure_cookies is False and config.web.metrics_port is None
    assert config.web.metrics_token == ""
    (tmp_path / "ivr.yaml").write_text((sample.parent / "ivr.yaml").read_text())
    path = tmp_path / "hotline.yaml"
    path.write_text(text.replace("login_failures_per_account: 5/minute",
                                 "login_failures_per_account: often"))  # fmt: skip
    with pytest.raises(ConfigError) as err:
        load_config(path, environ={})
    line = text[: text.index("login_failures_per_account:")].count("\n") + 1
    assert f"hotline.yaml:{line}: web.login_failures_per_account: 'often' is not a rate" in str(
        err.value
    )
    path.write_text(text.replace("metrics_token_env: null", "metrics_token_env: HOTLINE_METRICS"))
    with pytest.raises(ConfigError) as err:
        load_config(path, environ={"HOTLINE_METRICS": "short"})
    assert "HOTLINE_METRICS holds 5 characters; the /metrics token needs at least 16" in str(
        err.value
    )
    token = "m" * 24
    config = load_config(path, environ={"HOTLINE_METRICS": token})
    assert config.web.metrics_token == token and token not in repr(config)


# -- every call write checked against the call's agent; logout leaves the ACD


async def test_disposition_on_another_agents_live_call_is_403(client, world, monkeypatch):
    # Any agent could write a disposition on an unanswered or in-progress call of another.
    monkeypatch.setattr(world.desk, "live_calls", {CALL_ID: ("8", False)})
    await login(client, "an")
    body = {"code": "resolved", "notes": ""}
    resp = await client.post(f"/api/calls/{CALL_ID}/disposition", json=body)
    assert resp.status == 403 and (await resp.json())["error"] == "not_your_call"
    monkeypatch.setattr(world.desk, "live_calls", {CALL_ID: ("", False)})  # ringing nobody
    assert (await client.post(f"/api/calls/{CALL_ID}/disposition", json=body)).status == 403
    assert world.dispositions.saved == []
    monkeypatch.setattr(world.desk, "live_calls", {CALL_ID: ("7", False)})
    assert (await client.post(f"/api/calls/{CALL_ID}/disposition", json=body)).status == 200
    assert world.dispositions.saved == [(CALL_ID, "7", "resolved", "")]


async def test_an_agents_logout_logs_them_out_of_the_acd(client, world):
    await login(client, "an")
    await client.post("/logout", allow_redirects=False)
    await login(client, "lan")  # a supervisor's logout touches no agent
    await client.post("/logout", allow_redirects=False)
    assert [a for a in world.desk.actions if a[0] == "logout"] == [("logout", "7")]
