"""The operator's commands: ``callcenter db``, ``users``, ``agents`` and ``tokens``.

Each one reads the database URL from the config file (``--config``), acts on SQL and
exits: 0 done, 1 refused (the reason on stderr, nothing written), 2 bad usage. A
running controller picks the change up by itself within ``accounts_poll_s`` (see
``callcenter.app``): a new or changed agent can go ready, a removed login's sessions
end, a login's new role binds its open sessions, a revoked API token stops working. Passwords never come from the command line (shell history, ``ps``): from the
variable ``--password-env`` names, else asked twice on a terminal, else one line of
standard input (scripts: ``printf '%s\\n' "$PW" | callcenter users add ...``).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import getpass
import json
import os
import sys
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from typing import Any

from callcenter.config import ConfigError, HotlineConfig, load_config
from callcenter.storage import Store, make_engine, make_session_factory, migrate
from callcenter.storage.errors import StorageError
from callcenter.storage.models import Agent, AgentRole
from callcenter.storage.store import REMOVED
from callcenter.storage.tokens import DEFAULT_SCOPES, SCOPES, Tokens, parse_scopes

__all__ = ["add_parsers"]

ROLES = tuple(r.value for r in AgentRole)


class Refused(Exception):
    """A command that cannot be done as asked (exit 1, nothing written)."""


# -- plumbing --------------------------------------------------------------------------


def _config(path: str) -> HotlineConfig:
    try:
        return load_config(path)
    except ConfigError as exc:
        raise Refused(str(exc)) from None


async def _with_store(config: HotlineConfig, job: Callable[[Store], Awaitable[int]]) -> int:
    engine = make_engine(config.database_url)
    try:
        return await job(Store(make_session_factory(engine), disposition_codes=config.dispositions))
    finally:
        await engine.dispose()


def _run(args: argparse.Namespace, job: Callable[[HotlineConfig], Coroutine[Any, Any, int]]) -> int:
    try:
        return asyncio.run(job(_config(args.config)))
    except (Refused, StorageError) as exc:
        print(f"callcenter {args.command}: {exc}", file=sys.stderr)
        return 1


def _password(args: argparse.Namespace) -> str:
    if args.password_env:
        value = os.environ.get(args.password_env)
        if not value:
            raise Refused(f"--password-env {args.password_env}: the variable is not set")
        return value
    if sys.stdin.isatty():
        first = getpass.getpass("password: ")
        if first != getpass.getpass("again: "):
            raise Refused("the two passwords differ")
        return first
    line = sys.stdin.readline().rstrip("\n")
    if not line:
        raise Refused("no password: give --password-env VAR, or one line on standard input")
    return line


def _skills(items: Sequence[str] | None) -> dict[str, int] | None:
    """``billing=3`` ... -> {"billing": 3}; the store checks levels 1..5."""
    if items is None:
        return None
    out: dict[str, int] = {}
    for item in items:
        name, sep, level = item.partition("=")
        if not sep or not name or not level.strip().isdigit():
            raise Refused(f"--skill {item!r}: expected NAME=LEVEL, e.g. billing=3")
        out[name.strip()] = int(level)
    return out


def _queues(text: str | None, config: HotlineConfig) -> list[str] | None:
    if text is None:
        return None
    names = [q.strip() for q in text.split(",") if q.strip()]
    known = {q.name for q in config.queues}
    unknown = [q for q in names if q not in known]
    if unknown:
        raise Refused(f"--queues: no queue {', '.join(map(repr, unknown))} in the config "
                      f"(queues: {', '.join(sorted(known))})")  # fmt: skip
    return names


def _row(a: Agent) -> dict[str, Any]:
    return {
        "id": a.id, "username": a.username, "name": a.display_name, "role": a.role,
        "device": a.device, "queues": list(a.queues), "skills": dict(a.skills or {}),
        "removed": a.password_hash == REMOVED,
    }  # fmt: skip


def _print_rows(rows: list[Agent], as_json: bool) -> None:
    if as_json:
        print(json.dumps([_row(a) for a in rows], ensure_ascii=False))
        return
    for a in rows:
        r = _row(a)
        skills = ",".join(f"{k}={v}" for k, v in r["skills"].items()) or "-"
        print(f"{r['id']:>5}  {r['username']:<20} {r['role']:<10} {r['device'] or '-':<16} "
              f"{','.join(r['queues']) or '-':<24} {skills}{'  (removed)' if r['removed'] else ''}")  # fmt: skip


# -- db --------------------------------------------------------------------------------


def _db_upgrade(args: argparse.Namespace) -> int:
    async def job(config: HotlineConfig) -> int:
        await migrate(config.database_url)
        print(f"database at the latest revision: {await _revision(config)}")
        return 0

    return _run(args, job)


async def _revision(config: HotlineConfig) -> str | None:
    from alembic.runtime.migration import MigrationContext
    from sqlalchemy import Connection

    def current(conn: Connection) -> str | None:
        return MigrationContext.configure(conn).get_current_revision()

    engine = make_engine(config.database_url)
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(current)
    finally:
        await engine.dispose()


def _db_current(args: argparse.Namespace) -> int:
    from alembic.script import ScriptDirectory

    from callcenter.storage.engine import alembic_config

    async def job(config: HotlineConfig) -> int:
        head = ScriptDirectory.from_config(alembic_config(config.database_url)).get_current_head()
        now = await _revision(config)
        print(f"database revision {now or 'none (empty)'}, latest {head}"
              + ("" if now == head else ": run `callcenter db upgrade`"))  # fmt: skip
        return 0 if now == head else 1

    return _run(args, job)


# -- users and agents ------------------------------------------------------------------


def _users_add(args: argparse.Namespace, *, role: str | None = None) -> int:
    async def job(config: HotlineConfig) -> int:
        queues = _queues(getattr(args, "queues", None), config) or []
        skills = _skills(getattr(args, "skill", None))
        password = _password(args)

        async def add(store: Store) -> int:
            agent = await store.create_agent(
                args.username, password, role or args.role, display_name=args.name,
                device=getattr(args, "device", None), queues=queues, skills=skills,
            )  # fmt: skip
            print(f"added {agent.role} {agent.username!r} (id {agent.id})")
            return 0

        return await _with_store(config, add)

    return _run(args, job)


def _users_phone(args: argparse.Namespace) -> int:
    async def job(config: HotlineConfig) -> int:
        async def change(store: Store) -> int:
            await store.set_agent_profile(args.username, device=args.device)
            print(f"phone of {args.username!r}: {args.device or 'none'}")
            return 0

        return await _with_store(config, change)

    return _run(args, job)


def _users_role(args: argparse.Namespace) -> int:
    async def job(config: HotlineConfig) -> int:
        async def change(store: Store) -> int:
            agent, before = await store.set_role(args.username, args.role)
            print(f"role of {agent.username!r}: {before} -> {agent.role}; a running controller "
                  "gives its open sessions and tokens the new role within a poll"
                  + (" and logs the agent out of the ACD" if before == "agent" != agent.role
                     else ""))  # fmt: skip
            return 0

        return await _with_store(config, change)

    return _run(args, job)


def _users_passwd(args: argparse.Namespace) -> int:
    async def job(config: HotlineConfig) -> int:
        password = _password(args)

        async def change(store: Store) -> int:
            await store.set_password(args.username, password)
            print(f"password of {args.username!r} changed")
            return 0

        return await _with_store(config, change)

    return _run(args, job)


def _remove(args: argparse.Namespace) -> int:
    async def job(config: HotlineConfig) -> int:
        async def remove(store: Store) -> int:
            await store.remove_login(args.username)
            print(f"removed {args.username!r}: it cannot sign in and its sessions end; "
                  "its calls stay in the reports")  # fmt: skip
            return 0

        return await _with_store(config, remove)

    return _run(args, job)


def _list(args: argparse.Namespace, *, agents_only: bool) -> int:
    async def job(config: HotlineConfig) -> int:
        async def show(store: Store) -> int:
            rows = await store.list_agents(removed=args.removed)
            _print_rows([a for a in rows if not agents_only or a.role == "agent"], args.json)
            return 0

        return await _with_store(config, show)

    return _run(args, job)


def _agents_set(args: argparse.Namespace) -> int:
    async def job(config: HotlineConfig) -> int:
        queues = _queues(args.queues, config)
        skills = _skills(args.skill)

        async def change(store: Store) -> int:
            agent = await store.get_login(args.username)
            if agent is None or agent.role != "agent":
                raise Refused(f"no agent {args.username!r}")
            if args.name is not None or args.device is not None:
                await store.set_agent_profile(args.username, display_name=args.name,
                                              device=args.device)  # fmt: skip
            if queues is not None or skills is not None:
                await _set_routing(store, agent, queues, skills)
            print(f"agent {args.username!r} changed")
            return 0

        return await _with_store(config, change)

    return _run(args, job)


async def _set_routing(
    store: Store, agent: Agent, queues: list[str] | None, skills: dict[str, int] | None
) -> None:
    await store.set_agent_routing(agent.id, queues=queues, skills=skills)


# -- tokens ----------------------------------------------------------------------------


def _tokens(args: argparse.Namespace, act: Callable[[Tokens], Awaitable[int]]) -> int:
    async def job(config: HotlineConfig) -> int:
        return await _with_store(config, lambda store: act(Tokens(store)))

    return _run(args, job)


def _tokens_add(args: argparse.Namespace) -> int:
    async def add(tokens: Tokens) -> int:
        scopes = parse_scopes(args.scopes)
        token = await tokens.add(args.name, args.user, dt.datetime.now(dt.UTC), scopes)
        print(token)  # stdout: the token alone, for a script to capture
        print(f"token {args.name!r} acts as {args.user!r} with scopes {','.join(scopes)}: send "
              "it as `Authorization: Bearer <token>`; it is shown only now",
              file=sys.stderr)  # fmt: skip
        return 0

    return _tokens(args, add)


def _tokens_revoke(args: argparse.Namespace) -> int:
    async def revoke(tokens: Tokens) -> int:
        await tokens.revoke(args.name, dt.datetime.now(dt.UTC))
        print(f"token {args.name!r} revoked: it stops working within a poll of a running "
              "controller")  # fmt: skip
        return 0

    return _tokens(args, revoke)


def _tokens_list(args: argparse.Namespace) -> int:
    async def show(tokens: Tokens) -> int:
        rows = await tokens.rows()
        if args.json:
            print(json.dumps([{"name": r.name, "user": r.username, "role": r.role,
                               "created_at": r.created_at.isoformat(),
                               "revoked_at": r.revoked_at and r.revoked_at.isoformat(),
                               "scopes": list(r.scopes)}
                              for r in rows]))  # fmt: skip
            return 0
        for r in rows:
            revoked = f"  (revoked {r.revoked_at:%Y-%m-%d %H:%M})" if r.revoked_at else ""
            print(f"{r.name:<24} {r.username:<20} {r.role:<10} {','.join(r.scopes):<16} "
                  f"{r.created_at:%Y-%m-%d %H:%M}{revoked}")  # fmt: skip
        return 0

    return _tokens(args, show)


# -- the parsers -------------------------------------------------------------------------


_Arg = tuple[str, dict[str, Any]]
_USERNAME: _Arg = ("username", {})
_PASSWORD: _Arg = ("--password-env", {"metavar": "VAR",
                                      "help": "read the password from this environment variable"})  # fmt: skip
_JSON: _Arg = ("--json", {"action": "store_true"})
_SKILL = {"action": "append", "metavar": "NAME=LEVEL"}
_NAME: _Arg = ("--name", {"help": "the name shown (default: the username)"})


def _command(subs: Any, name: str, summary: str, func: Callable[[argparse.Namespace], int],
             *arguments: _Arg) -> None:  # fmt: skip
    """One subcommand: its arguments in order, then ``--config``."""
    p = subs.add_parser(name, help=summary)
    for flag, options in arguments:
        p.add_argument(flag, **options)
    p.add_argument("--config", required=True, help="the controller config (its database_url)")
    p.set_defaults(func=func)


def _group(sub: Any, name: str, summary: str) -> Any:
    return sub.add_parser(name, help=summary).add_subparsers(dest="action", required=True)


def add_parsers(sub: Any) -> None:
    """Add ``db``, ``users``, ``agents`` and ``tokens`` to the ``callcenter`` command's
    subparsers."""
    db = _group(sub, "db", "the database schema: upgrade it, or show its revision")
    _command(db, "upgrade", "apply every migration not applied yet", _db_upgrade)
    _command(db, "current", "the revision applied (exit 1 when behind)", _db_current)

    us = _group(sub, "users", "logins of any role: add, phone, role, passwd, remove, list")
    _command(us, "add", "a login (agent, supervisor or admin)", _users_add, _USERNAME,
             ("--role", {"choices": ROLES, "required": True}), _NAME, _PASSWORD,
             ("--device", {"help": "the dial string of the login's phone, e.g. PJSIP/9000: "
                                   "a supervisor listens, whispers and barges from it"}))  # fmt: skip
    _command(us, "phone", "set a login's phone (a supervisor's, to listen from); '' clears it",
             _users_phone, _USERNAME, ("device", {"help": "a dial string, e.g. PJSIP/9000"}))  # fmt: skip
    _command(us, "role", "change a login's role (the only admin left keeps it)", _users_role,
             _USERNAME, ("role", {"choices": ROLES}))  # fmt: skip
    _command(us, "passwd", "set a login's password", _users_passwd, _USERNAME, _PASSWORD)
    _command(us, "remove", "lock a login out; its history stays", _remove, _USERNAME)
    _command(us, "list", "every login", lambda a: _list(a, agents_only=False),
             ("--removed", {"action": "store_true", "help": "removed logins too"}), _JSON)  # fmt: skip

    ag = _group(sub, "agents", "agents (logins that take calls): add, set, remove, list")
    _command(ag, "add", "an agent with its phone and queues",
             lambda a: _users_add(a, role="agent"), _USERNAME,
             ("--device", {"required": True, "help": "the dial string of the phone, e.g. PJSIP/1001"}),
             ("--queues", {"required": True, "help": "queue names, comma-separated"}),
             ("--skill", {**_SKILL, "help": "repeatable; level 1-5"}), _NAME, _PASSWORD)  # fmt: skip
    _command(ag, "set", "change an agent's name, phone, queues or skills", _agents_set,
             _USERNAME, ("--device", {}),
             ("--queues", {"help": "the new queue list, comma-separated"}),
             ("--skill", {**_SKILL, "help": "repeatable: the new skill set (replaces the old)"}),
             ("--name", {}))  # fmt: skip
    _command(ag, "remove", "lock an agent out; its history stays", _remove, _USERNAME)
    _command(ag, "list", "every agent", lambda a: _list(a, agents_only=True),
             ("--removed", {"action": "store_true", "help": "removed agents too"}), _JSON)  # fmt: skip

    tk = _group(sub, "tokens", "bearer tokens for the REST API: add, revoke, list")
    _command(tk, "add", "a token acting as a login (printed once)", _tokens_add,
             ("name", {"help": "what the token is for, e.g. crm-sync"}),
             ("--user", {"required": True, "help": "the login it acts as (its role applies)"}),
             ("--scopes", {"default": ",".join(DEFAULT_SCOPES), "metavar": "LIST",
                           "help": "what it may do, comma-separated, within the login's role: "
                                   + "; ".join(f"{k}: {v}" for k, v in SCOPES.items())
                                   + f" (default {','.join(DEFAULT_SCOPES)})"}))  # fmt: skip
    _command(tk, "revoke", "a token stops working", _tokens_revoke, ("name", {}))
    _command(tk, "list", "every token (never the token itself)", _tokens_list, _JSON)
