"""API bearer tokens (``callcenter tokens add|revoke|list``, issue 17): made and revoked
as an operator does, with processes; a running controller takes a new token and drops
a revoked one, or one whose login was removed, without a restart."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import aiohttp
import pytest

from callcenter.storage.tokens import PREFIX, token_hash

from .e2e_support import hotline_rig
from .test_admin_cli import cli, empty_db_url, write_config  # noqa: F401 (fixture)


def test_tokens_from_the_command_line(tmp_path: Path, empty_db_url: str) -> None:  # noqa: F811
    cfg = str(write_config(tmp_path, empty_db_url))
    assert cli("db", "upgrade", "--config", cfg).returncode == 0
    assert cli("users", "add", "boss", "--role", "supervisor", "--config", cfg,
               stdin="pw\n").returncode == 0  # fmt: skip
    made = cli("tokens", "add", "crm-sync", "--user", "boss", "--config", cfg)
    assert made.returncode == 0, made.stderr
    token = made.stdout.strip()
    assert token.startswith(PREFIX) and len(token) > 40 and "\n" not in token
    assert "shown only now" in made.stderr
    assert "with scopes read:" in made.stderr  # read only unless told
    wide = cli("tokens", "add", "wide", "--user", "boss", "--scopes", "calls, read,calls",
               "--config", cfg)  # fmt: skip
    assert wide.returncode == 0, wide.stderr
    rows = json.loads(cli("tokens", "list", "--json", "--config", cfg).stdout)
    assert {r["name"]: r["scopes"] for r in rows} == {"crm-sync": ["read"],
                                                      "wide": ["calls", "read"]}  # fmt: skip
    assert cli("tokens", "revoke", "wide", "--config", cfg).returncode == 0
    row = rows[0]
    assert (row["name"], row["user"], row["role"], row["revoked_at"]) == (
        "crm-sync", "boss", "supervisor", None)  # fmt: skip
    listing = cli("tokens", "list", "--config", cfg).stdout + json.dumps(row)
    assert token not in listing and token_hash(token) not in listing
    assert "calls,read" in cli("tokens", "list", "--config", cfg).stdout
    gone = cli("tokens", "revoke", "crm-sync", "--config", cfg)
    assert gone.returncode == 0, gone.stderr
    row, _ = json.loads(cli("tokens", "list", "--json", "--config", cfg).stdout)
    assert row["revoked_at"] is not None


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("tokens", "add", "x", "--user", "nobody"), "unknown_login: no login 'nobody'"),
        (("tokens", "add", "bad name", "--user", "boss"), "bad_name"),
        (
            ("tokens", "add", "z", "--user", "boss", "--scopes", "read,write"),
            "bad_scope: scope 'write' is none of read, calls, admin",
        ),
        (("tokens", "add", "z", "--user", "boss", "--scopes", ""), "bad_scope"),
        (("tokens", "add", "used", "--user", "boss"), "duplicate_name"),
        (("tokens", "add", "y", "--user", "gone"), "removed_login"),
        (("tokens", "revoke", "nope"), "unknown_token: no token named 'nope'"),
        (("tokens", "revoke", "old"), "already_revoked"),
    ],
)
def test_a_refused_token_command_says_why_and_writes_nothing(
    tmp_path: Path,
    empty_db_url: str,  # noqa: F811
    args: tuple[str, ...],
    says: str,
) -> None:
    cfg = str(write_config(tmp_path, empty_db_url))
    assert cli("db", "upgrade", "--config", cfg).returncode == 0
    for user in ("boss", "gone"):
        assert cli("users", "add", user, "--role", "admin", "--config", cfg,
                   stdin="pw\n").returncode == 0  # fmt: skip
    assert cli("users", "remove", "gone", "--config", cfg).returncode == 0
    for name in ("used", "old"):
        assert cli("tokens", "add", name, "--user", "boss", "--config", cfg).returncode == 0
    assert cli("tokens", "revoke", "old", "--config", cfg).returncode == 0
    before = cli("tokens", "list", "--json", "--config", cfg).stdout
    done = cli(*args, "--config", cfg)
    assert done.returncode == 1 and says in done.stderr, done.stderr
    assert cli("tokens", "list", "--json", "--config", cfg).stdout == before


async def test_a_running_controller_takes_and_drops_tokens(tmp_path: Path, db_url: str) -> None:
    async with hotline_rig(tmp_path, db_url, agents=2) as rig:
        assert rig.hotline.urls is not None
        base = rig.hotline.urls.supervisor.rsplit("/supervisor", 1)[0]
        cfg = str(rig.config_path)
        made = {}
        for name, user in (("wall", "supervisor"), ("an", "agent1")):
            done = cli("tokens", "add", name, "--user", user, "--config", cfg)
            assert done.returncode == 0, done.stderr
            made[name] = done.stdout.strip()

        async with aiohttp.ClientSession() as http:  # no cookie jar: the token alone

            async def status(path: str, token: str | None) -> int:
                headers = {"Authorization": f"Bearer {token}"} if token else {}
                async with http.get(f"{base}{path}", headers=headers) as resp:
                    return resp.status

            async def until(path: str, token: str, want: int) -> None:
                seen, deadline = [await status(path, token)], time.monotonic() + 30
                while seen[-1] != want and time.monotonic() < deadline:  # read every 2 s
                    await asyncio.sleep(0.1)
                    seen.append(await status(path, token))
                assert seen[-1] == want, (path, seen[-5:])

            await until("/api/recordings", made["wall"], 200)  # a supervisor's route
            await until("/api/recordings", made["an"], 403)  # the agent's role applies
            assert await status("/api/recordings", None) == 401
            assert await status("/api/recordings", made["wall"] + "x") == 401
            async with http.get(f"{base}/supervisor", allow_redirects=False,
                                headers={"Authorization": f"Bearer {made['wall']}"}) as resp:  # fmt: skip
                assert resp.status == 303  # to the login page: tokens are for the API only

            assert cli("tokens", "revoke", "wall", "--config", cfg).returncode == 0
            await until("/api/recordings", made["wall"], 401)
            agent_path = "/api/agents/" + str(next(
                a.id for a in await rig.hotline.store.list_agents()  # type: ignore[union-attr]
                if a.username == "agent1"))  # fmt: skip
            await until(agent_path, made["an"], 200)
            assert cli("users", "remove", "agent1", "--config", cfg).returncode == 0
            await until(agent_path, made["an"], 401)  # its login removed: the token is dead
