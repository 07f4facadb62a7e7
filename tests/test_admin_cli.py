"""The operator's commands (``callcenter db|users|agents``) over a real database, each
run as a process the way an operator runs it; a running controller takes a removal
without a restart; start-up warnings."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import select

from callcenter.app import create_app
from callcenter.config import load_config
from callcenter.demo import AgentDesktop, config_text
from callcenter.storage.models import QueueOutcome

from .e2e_support import hotline_rig, wait_until

ROOT = Path(__file__).resolve().parent.parent


def cli(
    *args: str, stdin: str = "", env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "callcenter.cli", *args], input=stdin, capture_output=True,
        text=True, cwd=ROOT, timeout=120, env={**os.environ, **(env or {})},
    )  # fmt: skip


def write_config(tmp_path: Path, db_url: str) -> Path:
    (tmp_path / "monitor").mkdir(exist_ok=True)
    cfg = tmp_path / "hotline.yaml"
    cfg.write_text(config_text(ami_port=5038, database_url=db_url, monitor=tmp_path / "monitor"))
    return cfg


@pytest.fixture
def empty_db_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}"


def test_db_current_then_upgrade(tmp_path: Path, empty_db_url: str) -> None:
    cfg = str(write_config(tmp_path, empty_db_url))
    behind = cli("db", "current", "--config", cfg)
    assert behind.returncode == 1 and "none (empty)" in behind.stdout
    assert "run `callcenter db upgrade`" in behind.stdout
    done = cli("db", "upgrade", "--config", cfg)
    assert done.returncode == 0, done.stderr
    now = cli("db", "current", "--config", cfg)
    assert now.returncode == 0 and "latest" in now.stdout


def test_users_and_agents_from_the_command_line(tmp_path: Path, empty_db_url: str) -> None:
    cfg = str(write_config(tmp_path, empty_db_url))
    assert cli("db", "upgrade", "--config", cfg).returncode == 0
    boss = cli("users", "add", "boss", "--role", "admin", "--password-env", "PW",
               "--config", cfg, env={"PW": "boss-secret"})  # fmt: skip
    assert boss.returncode == 0 and "added admin 'boss'" in boss.stdout, boss.stderr
    agent = cli("agents", "add", "an", "--device", "PJSIP/1007", "--queues", "support",
                "--name", "Nguyễn An", "--config", cfg, stdin="an-secret\n")  # fmt: skip
    assert agent.returncode == 0, agent.stderr
    rows = json.loads(cli("users", "list", "--json", "--config", cfg).stdout)
    assert [(r["username"], r["role"]) for r in rows] == [("boss", "admin"), ("an", "agent")]
    agents = json.loads(cli("agents", "list", "--json", "--config", cfg).stdout)
    assert [(a["username"], a["name"], a["device"], a["queues"]) for a in agents] == [
        ("an", "Nguyễn An", "PJSIP/1007", ["support"])]  # fmt: skip
    assert "an-secret" not in json.dumps(rows)  # never printed, hash included

    changed = cli("agents", "set", "an", "--device", "PJSIP/1008", "--config", cfg)
    assert changed.returncode == 0, changed.stderr
    (row,) = json.loads(cli("agents", "list", "--json", "--config", cfg).stdout)
    assert row["device"] == "PJSIP/1008"

    # a supervisor's phone, to listen, whisper and barge from (POST /api/agents/{id}/spy)
    sup = cli("users", "add", "sue", "--role", "supervisor", "--device", "PJSIP/9000",
              "--config", cfg, stdin="sue-secret\n")  # fmt: skip
    assert sup.returncode == 0, sup.stderr

    def phone_of(user: str) -> str | None:
        rows = json.loads(cli("users", "list", "--json", "--config", cfg).stdout)
        return next(r["device"] for r in rows if r["username"] == user)

    assert phone_of("sue") == "PJSIP/9000"
    moved = cli("users", "phone", "sue", "Local/9001@supervisor-phone", "--config", cfg)
    assert moved.returncode == 0 and "Local/9001@supervisor-phone" in moved.stdout, moved.stderr
    assert phone_of("sue") == "Local/9001@supervisor-phone"
    assert cli("users", "phone", "sue", "", "--config", cfg).returncode == 0
    assert phone_of("sue") is None

    # a second admin, then the first steps down
    promoted = cli("users", "role", "sue", "admin", "--config", cfg)
    assert promoted.returncode == 0, promoted.stderr
    assert "role of 'sue': supervisor -> admin" in promoted.stdout
    demoted = cli("users", "role", "boss", "supervisor", "--config", cfg)
    assert demoted.returncode == 0, demoted.stderr
    rows = json.loads(cli("users", "list", "--json", "--config", cfg).stdout)
    assert {r["username"]: r["role"] for r in rows} == {"boss": "supervisor", "an": "agent",
                                                         "sue": "admin"}  # fmt: skip

    assert cli("users", "passwd", "an", "--config", cfg, stdin="new-secret\n").returncode == 0
    gone = cli("agents", "remove", "an", "--config", cfg)
    assert gone.returncode == 0 and "its calls stay in the reports" in gone.stdout
    assert json.loads(cli("agents", "list", "--json", "--config", cfg).stdout) == []
    (kept,) = json.loads(cli("agents", "list", "--json", "--removed", "--config", cfg).stdout)
    assert kept["removed"] is True and kept["queues"] == []


@pytest.mark.parametrize(
    ("args", "stdin", "says"),
    [
        (("users", "add", "x", "--role", "admin"), "", "no password"),
        (("users", "add", "x", "--role", "admin", "--password-env", "NOPE_UNSET"), "",
         "--password-env NOPE_UNSET: the variable is not set"),
        (("agents", "add", "y", "--device", "PJSIP/1", "--queues", "support,nope"), "pw\n",
         "--queues: no queue 'nope' in the config"),
        (("agents", "add", "y", "--device", "PJSIP/1", "--queues", "support",
          "--skill", "billing"), "pw\n", "--skill 'billing': expected NAME=LEVEL"),
        (("users", "add", "boss", "--role", "admin"), "pw\n", "duplicate_username"),
        (("users", "passwd", "nobody"), "pw\n", "unknown_agent"),
        (("agents", "set", "nobody", "--device", "PJSIP/9"), "", "no agent 'nobody'"),
        (("users", "remove", "nobody"), "", "unknown_agent"),
        (("users", "phone", "boss", "PJSIP/9000,qB"), "", "bad_device"),
        (("users", "phone", "boss", "9000"), "", "give a dial string such as PJSIP/1001"),
        (("users", "add", "z", "--role", "supervisor", "--device", "PJSIP/9 0"), "pw\n",
         "bad_device"),
        (("users", "phone", "nobody", "PJSIP/9000"), "", "unknown_agent"),
        # boss is the only admin: nobody would be left to administer the hotline
        (("users", "role", "boss", "supervisor"), "",
         "last_admin: 'boss' is the only admin left: make another login admin first"),
        (("users", "role", "nobody", "agent"), "", "unknown_agent"),
    ],
)  # fmt: skip
def test_a_refused_command_says_why_and_writes_nothing(
    tmp_path: Path, empty_db_url: str, args: tuple[str, ...], stdin: str, says: str
) -> None:
    cfg = str(write_config(tmp_path, empty_db_url))
    assert cli("db", "upgrade", "--config", cfg).returncode == 0
    assert (
        cli("users", "add", "boss", "--role", "admin", "--config", cfg, stdin="pw\n").returncode
        == 0
    )
    before = cli("users", "list", "--json", "--removed", "--config", cfg).stdout
    done = cli(*args, "--config", cfg, stdin=stdin)
    assert done.returncode == 1 and says in done.stderr, done.stderr
    assert cli("users", "list", "--json", "--removed", "--config", cfg).stdout == before


def test_bad_usage_and_a_bad_config_file(tmp_path: Path) -> None:
    usage = cli("users", "add", "x", "--role", "king", "--config", "x.yaml")
    assert usage.returncode == 2 and "invalid choice: 'king'" in usage.stderr
    usage = cli("users", "role", "x", "king", "--config", "x.yaml")
    assert usage.returncode == 2 and "invalid choice: 'king'" in usage.stderr
    (tmp_path / "bad.yaml").write_text("nodes: 3\n")
    bad = cli("users", "list", "--config", str(tmp_path / "bad.yaml"))
    assert bad.returncode == 1 and "bad.yaml:1" in bad.stderr


async def test_a_removed_login_loses_its_session_in_a_running_controller(
    tmp_path: Path, db_url: str
) -> None:
    async with hotline_rig(tmp_path, db_url, agents=2) as rig:
        assert rig.hotline.urls is not None
        base = rig.hotline.urls.supervisor.rsplit("/supervisor", 1)[0]
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
            async with http.post(f"{base}/login", allow_redirects=False,
                                 data={"username": "agent2", "password": "agent2-pass"}) as r:  # fmt: skip
                assert r.status == 303
            agent_id = next(a.id for a in await rig.hotline.store.list_agents()  # type: ignore[union-attr]
                            if a.username == "agent2")  # fmt: skip

            async def status() -> int:
                async with http.get(f"{base}/api/agents/{agent_id}") as resp:
                    return resp.status

            assert await status() == 200
            done = cli("users", "remove", "agent2", "--config", str(rig.config_path))
            assert done.returncode == 0, done.stderr
            seen = [await status()]
            deadline = time.monotonic() + 30  # the logins are read every 2 s
            while seen[-1] != 401 and time.monotonic() < deadline:
                await asyncio.sleep(0.1)
                seen.append(await status())
            assert seen[-1] == 401, seen[-5:]
            async with http.post(f"{base}/login", allow_redirects=False,
                                 data={"username": "agent2", "password": "agent2-pass"}) as r:  # fmt: skip
                assert r.status != 303  # cannot sign in again

        def in_acd() -> set[str]:
            return {v.agent_id for v in rig.ctl.core.snapshot(rig.ctl.now()).agents}

        # logged in and ready when removed: logged out, then taken out of the ACD
        await wait_until(lambda: str(agent_id) not in in_acd(), 60, "agent2 out of the ACD")


async def test_a_role_changed_with_the_cli_reaches_a_running_controller(
    tmp_path: Path, db_url: str
) -> None:
    # `callcenter users role`: within a poll of the logins, the open session is judged
    # by the new role and an agent made supervisor is logged out of the ACD
    async with hotline_rig(tmp_path, db_url, agents=2) as rig:
        assert rig.hotline.urls is not None and rig.hotline.store is not None
        base = rig.hotline.urls.base
        agent_id = next(str(a.id) for a in await rig.hotline.store.list_agents()
                        if a.username == "agent2")  # fmt: skip

        def in_acd() -> set[str]:
            return {v.agent_id for v in rig.ctl.core.snapshot(rig.ctl.now()).agents}

        await wait_until(lambda: agent_id in in_acd(), 60, "agent2 in the ACD")
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
            async with http.post(f"{base}/login", allow_redirects=False,
                                 data={"username": "agent2", "password": "agent2-pass"}) as r:  # fmt: skip
                assert r.status == 303

            async def wallboard() -> int:
                async with http.get(f"{base}/api/wallboard") as resp:
                    return resp.status

            assert await wallboard() == 403
            done = cli("users", "role", "agent2", "supervisor", "--config", str(rig.config_path))
            assert done.returncode == 0, done.stderr
            assert "agent -> supervisor" in done.stdout and "out of the ACD" in done.stdout
            seen = [await wallboard()]
            deadline = time.monotonic() + 30  # the logins are read every 2 s
            while seen[-1] != 200 and time.monotonic() < deadline:
                await asyncio.sleep(0.1)
                seen.append(await wallboard())
            assert seen[-1] == 200, seen[-5:]
        await wait_until(lambda: agent_id not in in_acd(), 60, "agent2 out of the ACD")


async def test_an_agent_added_with_the_cli_takes_a_call_without_a_restart(
    tmp_path: Path, db_url: str
) -> None:
    async with hotline_rig(tmp_path, db_url, agents=0, auto_login=False) as rig:
        assert rig.hotline.urls is not None and rig.hotline.store is not None
        base = rig.hotline.urls.supervisor.rsplit("/supervisor", 1)[0]
        added = cli("agents", "add", "newbie", "--device", "PJSIP/1099", "--queues", "support",
                    "--name", "Trần Mới", "--config", str(rig.config_path), stdin="newbie-pass\n")  # fmt: skip
        assert added.returncode == 0, added.stderr
        login = await rig.hotline.store.get_login("newbie")
        assert login is not None
        agent_id = str(login.id)
        await wait_until(
            lambda: any(v.agent_id == agent_id for v in rig.ctl.core.snapshot(rig.ctl.now()).agents),
            30, "the running ACD to know the new agent",
        )  # fmt: skip
        desk = AgentDesktop(base, "newbie", "newbie-pass", ready=True)
        desk.start()
        try:
            deadline = time.monotonic() + 120
            answered: list[str] = []
            while not answered and time.monotonic() < deadline:
                await asyncio.sleep(0.5)
                await rig.hotline.writer.flush()  # type: ignore[union-attr]
                async with rig.hotline.store.sessions() as session:
                    answered = list(await session.scalars(
                        select(QueueOutcome.call_id).where(
                            QueueOutcome.agent_id == login.id, QueueOutcome.outcome == "answered")))  # fmt: skip
            assert answered, "no call answered by the agent added while running"
        finally:
            await desk.stop()


async def test_start_up_warnings(
    tmp_path: Path, empty_db_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    text = (
        write_config(tmp_path, empty_db_url)
        .read_text()
        .replace("host: 127.0.0.1\n  port:", "host: 0.0.0.0\n  port:")
    )
    cfg = tmp_path / "public.yaml"
    cfg.write_text(text)
    config = load_config(cfg, environ={})
    with caplog.at_level(logging.WARNING, logger="callcenter.app"):
        create_app(config)
    said = " ".join(r.getMessage() for r in caplog.records)
    assert "the session key is random for this run" in said and "web.secret_key_env" in said
    assert "web.host 0.0.0.0: /metrics and /healthz answer anyone" in said


async def test_no_agent_login_is_warned_at_start(
    tmp_path: Path, db_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="callcenter.app"):
        async with hotline_rig(tmp_path, db_url, agents=0):
            pass
    said = " ".join(r.getMessage() for r in caplog.records)
    assert "no agent login exists: no call can be answered" in said
    assert "callcenter agents add" in said


def test_every_key_can_come_from_the_environment() -> None:
    env = {"HOTLINE_WEB__PORT": "9090", "HOTLINE_NODES__0__HOST": "10.0.0.5",
           "HOTLINE_DATABASE_URL": "postgresql+asyncpg://hotline@db/hotline",
           "HOTLINE_QUEUES__0__WRAP_UP_S": "30", "HOTLINE_WEB__ALLOWED_ORIGINS": "[https://hl.example]",
           # secrets the file names by variable, and the log format: not config keys
           "HOTLINE_SECRET_KEY": "k" * 40, "HOTLINE_AMI_SECRET": "s", "HOTLINE_LOG_FORMAT": "json"}  # fmt: skip
    config = load_config(ROOT / "config" / "hotline.yaml", environ=env)
    assert (config.web.port, config.nodes[0].host) == (9090, "10.0.0.5")
    assert config.database_url == "postgresql+asyncpg://hotline@db/hotline"
    assert config.queues[0].wrap_up_s == 30 and config.web.allowed_origins == ["https://hl.example"]


@pytest.mark.parametrize(
    ("name", "value", "says"),
    [
        ("HOTLINE_WEB__PORT", "99999",
         "environment variable HOTLINE_WEB__PORT: web.port: must be at most 65535"),
        ("HOTLINE_NODES__3__HOST", "x",
         "environment variable HOTLINE_NODES__3__HOST: nodes.3: the file's list has 1 item(s)"),
        ("HOTLINE_WEB__NOPE", "1", "environment variable HOTLINE_WEB__NOPE: web.nope: unknown key"),
        ("HOTLINE_QUEUES", "[a", "environment variable HOTLINE_QUEUES: queues: not a YAML value"),
    ],
)  # fmt: skip
def test_a_bad_environment_value_is_named_by_its_variable(name: str, value: str, says: str) -> None:
    from callcenter.config import ConfigError

    with pytest.raises(ConfigError) as caught:
        load_config(ROOT / "config" / "hotline.yaml", environ={name: value})
    assert says in str(caught.value)
