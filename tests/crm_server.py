"""A local CRM over real HTTP (aiohttp's server on a free port) that a test can make
answer well, slowly, not at all, or with garbage; it records every request it got."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

#: the card fields of the local CRM's answers, as the config maps them
FIELDS = {
    "external_id": "data.id",
    "full_name": "data.name",
    "tier": "data.tier",
    "account_no": "data.account",
    "numbers": "data.phones",
    "language": "data.lang",
}

AN = {"id": "C-17", "name": "Nguyễn Văn An", "tier": "vip", "account": 42,
      "phones": ["0901234567"], "lang": "vi"}  # fmt: skip


@dataclass
class LocalCrm:
    """What the server answers: ``mode`` is ``ok`` (``customers`` by E.164 or by
    account), ``hold`` (never answers until ``release`` is set), ``500``, ``text``
    (not JSON), ``types`` (a name that is a number), ``huge`` (a body over 1 MiB,
    no Content-Length), ``list`` (a JSON list). ``fail_first`` answers 500 to that
    many requests first, whatever the mode."""

    mode: str = "ok"
    customers: dict[str, dict[str, Any]] = field(default_factory=lambda: {"+84901234567": AN})
    requests: list[web.Request] = field(default_factory=list)
    holding: int = 0
    release: asyncio.Event = field(default_factory=asyncio.Event)
    fail_first: int = 0
    hooks: list[dict[str, Any]] = field(default_factory=list)
    hook_delay_s: float = 0.0
    #: how many lookups the server held when each webhook arrived
    holding_at_hook: list[int] = field(default_factory=list)
    url: str = ""

    async def customer(self, request: web.Request) -> web.StreamResponse:
        self.requests.append(request)
        if self.fail_first > 0:
            self.fail_first -= 1
            return web.Response(status=500, text="boom")
        if self.mode == "hold":
            self.holding += 1
            try:
                await self.release.wait()
            finally:
                self.holding -= 1
            return web.json_response({"data": None})
        if self.mode == "500":
            return web.Response(status=500, text="internal error")
        if self.mode == "text":
            return web.Response(text="<html>Bad gateway</html>", content_type="text/html")
        if self.mode == "list":
            return web.json_response([1, 2, 3])
        if self.mode == "types":
            return web.json_response({"data": {**AN, "name": 17, "phones": "0901234567"}})
        if self.mode == "huge":
            resp = web.StreamResponse()
            resp.enable_chunked_encoding()
            await resp.prepare(request)
            chunk = b'{"data": {"notes": "' + b"x" * 65536
            for _ in range(40):  # 2.5 MiB
                await resp.write(chunk)
            await resp.write_eof()
            return resp
        key = request.query.get("phone") or request.query.get("account", "")
        found = self.customers.get(key) or next(
            (c for c in self.customers.values() if str(c.get("account")) == key), None
        )
        if found is None:
            return web.json_response({"error": "no such customer"}, status=404)
        return web.json_response({"data": found})

    async def hook(self, request: web.Request) -> web.Response:
        if self.hook_delay_s:
            await asyncio.sleep(self.hook_delay_s)
        body = json.loads(await request.read())
        self.hooks.append(body)
        self.holding_at_hook.append(self.holding)
        return web.Response(status=204)


@asynccontextmanager
async def local_crm(port: int = 0, crm: LocalCrm | None = None) -> AsyncIterator[LocalCrm]:
    """The server on 127.0.0.1 and ``port`` (0: a free one); ``crm.url`` is its base URL."""
    crm = crm or LocalCrm()
    app = web.Application()
    app.router.add_get("/customers", crm.customer)
    app.router.add_post("/hooks/pop", crm.hook)
    runner = web.AppRunner(app, shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    crm.url = f"http://127.0.0.1:{runner.addresses[0][1]}"
    try:
        yield crm
    finally:
        crm.release.set()
        await runner.cleanup()


def refused_url() -> str:
    """A base URL where nothing listens (a port bound, then closed)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"
