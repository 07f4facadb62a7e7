"""The IVR's messages in the JSON API; supervisors and admins only.

- ``GET /api/voicemails``: messages left at ``voicemail`` nodes, newest first
  (``queue``, ``limit`` 1-200, ``offset``).
- ``GET /api/voicemails/{voicemail_id}/audio``: the message's WAV, with HTTP Range
  (206), like a recording's audio.
- ``GET /api/callbacks``: callback requests made at ``callback`` nodes, oldest first
  (``queue``, ``status``, ``limit``, ``offset``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from aiohttp import web

from callcenter.web.auth import SUPERVISORS, require_api
from callcenter.web.errors import ApiError
from callcenter.web.keys import MESSAGES
from callcenter.web.messages_port import Messages

_FILTERS: dict[str, tuple[re.Pattern[str], str]] = {
    "queue": (re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}"), "a queue name"),
    "status": (re.compile(r"[a-z_]{1,16}"), "a status (pending ...)"),
    "limit": (re.compile(r"[0-9]{1,3}"), "1-200"),
    "offset": (re.compile(r"[0-9]{1,9}"), "a row count"),
}
_ID = re.compile(r"[1-9][0-9]{0,14}")


def _messages(request: web.Request) -> Messages:
    messages = request.app.get(MESSAGES)
    if messages is None:
        raise ApiError(503, "unavailable", "voicemails and callbacks are not served by this app")
    return messages


def _query(query: Mapping[str, str], allowed: tuple[str, ...]) -> tuple[int, int]:
    """Check the query string (a 400 naming the first bad filter); the page asked."""
    for name, value in query.items():
        rule = _FILTERS.get(name)
        if rule is None or name not in allowed:
            raise ApiError(400, "invalid_field", f"{name}: unknown filter")
        if not rule[0].fullmatch(value):
            raise ApiError(400, "invalid_field", f"{name}: expected {rule[1]}")
    limit = int(query.get("limit", "50"))
    if not 1 <= limit <= 200:
        raise ApiError(400, "invalid_field", "limit: expected 1-200")
    return limit, int(query.get("offset", "0"))


async def list_voicemails(request: web.Request) -> web.StreamResponse:
    """``GET /api/voicemails``: one page, newest first."""
    require_api(request, SUPERVISORS)
    limit, offset = _query(request.query, ("queue", "limit", "offset"))
    page = await _messages(request).voicemails(request.query.get("queue"), limit, offset)
    return web.json_response(page)


async def voicemail_audio(request: web.Request) -> web.StreamResponse:
    """``GET /api/voicemails/{voicemail_id}/audio``: play it (Range answered with 206)."""
    require_api(request, SUPERVISORS)
    text = request.match_info["voicemail_id"]
    if not _ID.fullmatch(text):
        raise ApiError(400, "invalid_field", "voicemail_id: not a voicemail id")
    found = await _messages(request).voicemail_file(int(text))
    if found is None:
        raise ApiError(404, "unknown_voicemail", f"no voicemail {text}")
    path, fmt = found
    if not path.is_file():
        raise ApiError(404, "no_file", f"voicemail {text}: the file is gone")
    return web.FileResponse(path, headers={"Content-Type": "audio/wav" if fmt == "wav"
                                           else "application/octet-stream"})  # fmt: skip


async def list_callbacks(request: web.Request) -> web.StreamResponse:
    """``GET /api/callbacks``: one page of callback requests, oldest first."""
    require_api(request, SUPERVISORS)
    limit, offset = _query(request.query, ("queue", "status", "limit", "offset"))
    q = request.query
    page = await _messages(request).callbacks(q.get("queue"), q.get("status"), limit, offset)
    return web.json_response(page)
