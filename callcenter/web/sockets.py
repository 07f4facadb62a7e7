"""WebSockets: ``/ws/wallboard`` for supervisors, ``/ws/agent`` for agent desktops.

Each handler checks Origin and session before the upgrade, sends the current
state first (a wallboard: a snapshot, then deltas), then forwards what the ``LiveHub`` puts in its mailbox.
Before each message, when any session was ended or changed since (logout, a removed
login, a new role: ``SessionSigner.changes``), the socket's session is checked again:
one no longer live or no longer of a role the socket admits is closed with
POLICY_VIOLATION (1008) and gets nothing more. The
socket is in ``app[SOCKETS]`` (a WeakSet) while open, and the ``finally``
always unsubscribes, however the socket ends. On shutdown ``close_sockets``
closes every socket with GOING_AWAY (1001) so browsers reconnect elsewhere.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable
from typing import Any

from aiohttp import WSCloseCode, web

from callcenter.live import Mailbox
from callcenter.web.auth import AGENTS, SUPERVISORS, current_session, origin_allowed
from callcenter.web.keys import CLOCK, DESK, HUB, METRICS, SESSIONS, SOCKETS
from callcenter.web.session import COOKIE_NAME, Session

log = logging.getLogger(__name__)

HEARTBEAT_S = 25.0


def _admit(request: web.Request, roles: frozenset[str]) -> Session:
    """Refuse the upgrade with a plain HTTP status when the browser may not connect."""
    if not origin_allowed(request):
        log.warning(
            "websocket %s refused: foreign origin %r", request.path, request.headers.get("Origin")
        )
        raise web.HTTPForbidden(text="foreign origin")
    session = current_session(request)
    if session is None:
        raise web.HTTPUnauthorized(text="log in first")
    if session.role not in roles:
        raise web.HTTPForbidden(text="wrong role")
    return session


def _still_admitted(request: web.Request, roles: frozenset[str]) -> Callable[[], bool]:
    """Whether the socket's session is still live and of ``roles``: checked again only
    when some session was ended or changed since the last look."""
    signer, clock = request.app[SESSIONS], request.app[CLOCK]
    cookie = request.cookies.get(COOKIE_NAME)
    seen = signer.changes

    def admitted() -> bool:
        nonlocal seen
        if signer.changes == seen:
            return True
        seen = signer.changes
        session = signer.check(cookie, now=clock())
        return session is not None and session.role in roles

    return admitted


def _dumps(message: dict[str, Any]) -> str:
    return json.dumps(message, ensure_ascii=False, separators=(",", ":"))


async def _pump(request: web.Request, ws: web.WebSocketResponse, mailbox: Mailbox,
                admitted: Callable[[], bool]) -> None:  # fmt: skip
    """Forward the mailbox to the socket until either ends, or the session may no
    longer see it."""
    hub, metrics = request.app[HUB], request.app[METRICS]
    try:
        while (item := await mailbox.get()) is not None:
            if not admitted():
                log.info("websocket %s closed: its session ended or lost the role", mailbox.topic)
                await ws.close(code=WSCloseCode.POLICY_VIOLATION, message=b"session ended")
                return
            await ws.send_str(item.text)
            first_time = not item.delivered
            hub.record_delivery(item)
            if first_time and item.kind == "screen_pop":  # one per offer: parsed for its call
                metrics.screen_pop_delivered(json.loads(item.text).get("call_id"))
    except ConnectionError:
        log.debug("websocket %s: peer went away while sending", mailbox.topic)
    finally:
        # Mailbox closed by the hub, or the send failed: end the reader too.
        if not ws.closed:
            await ws.close(code=WSCloseCode.GOING_AWAY, message=b"hub closed")


async def _serve(
    request: web.Request,
    ws: web.WebSocketResponse,
    mailbox: Mailbox,
    admitted: Callable[[], bool],
    first: dict[str, Any] | None = None,
) -> web.WebSocketResponse:
    """``first``: sent before the mailbox's messages (None: the mailbox has it)."""
    sockets = request.app[SOCKETS]
    sockets.add(ws)
    pump: asyncio.Task[None] | None = None
    try:
        if first is not None:
            await ws.send_str(_dumps(first))
        pump = asyncio.create_task(_pump(request, ws, mailbox, admitted))
        async for _message in ws:
            pass  # the pages send nothing we act on; reading keeps pings and close flowing
    except ConnectionError:
        pass
    finally:
        request.app[HUB].unsubscribe(mailbox)
        sockets.discard(ws)
        if pump is not None:
            pump.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await pump
    return ws


async def wallboard_socket(request: web.Request) -> web.StreamResponse:
    """First message: the latest snapshot; then each publish's delta (``LiveHub``)."""
    _admit(request, SUPERVISORS)
    admitted = _still_admitted(request, SUPERVISORS)
    ws = web.WebSocketResponse(heartbeat=HEARTBEAT_S)
    await ws.prepare(request)
    # The hub queues the snapshot the next deltas are taken from: none is missed.
    mailbox = request.app[HUB].subscribe_wallboard(request.app[DESK].wallboard)
    return await _serve(request, ws, mailbox, admitted)


async def agent_socket(request: web.Request) -> web.StreamResponse:
    """First message: ``{"type": "state", ...agent_view}``; then screen-pops and states."""
    session = _admit(request, AGENTS)
    admitted = _still_admitted(request, AGENTS)
    ws = web.WebSocketResponse(heartbeat=HEARTBEAT_S)
    await ws.prepare(request)
    mailbox = request.app[HUB].subscribe_agent(session.account_id)
    view = request.app[DESK].agent_view(session.account_id) or {}
    first = {**view, "type": "state"}
    return await _serve(request, ws, mailbox, admitted, first)


async def close_sockets(app: web.Application) -> None:
    """``on_shutdown``: close every open WebSocket with GOING_AWAY."""
    open_sockets = app[SOCKETS]
    sockets = list(open_sockets)
    for ws in sockets:
        await ws.close(code=WSCloseCode.GOING_AWAY, message=b"server shutdown")
    if sockets:
        log.info("closed %d websocket(s) for shutdown", len(sockets))
