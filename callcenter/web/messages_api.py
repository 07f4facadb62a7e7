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

from aiohttp import web

from callcenter.web.api import read_query, row_id
from callcenter.web.auth import SUPERVISORS, require_api
from callcenter.web.errors import ApiError
from callcenter.web.keys import MESSAGES
from callcenter.web.messages_port import Messages

_QUEUE = (re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}"), "a queue name")
_VOICEMAIL_FILTERS = {"queue": _QUEUE}
_CALLBACK_FILTERS = {
    "queue": _QUEUE,
    "status": (re.compile(r"[a-z_]{1,16}"), "a status (pending ...)"),
}


def _messages(request: web.Request) -> Messages:
    messages = request.app.get(MESSAGES)
    if messages is None:
        raise ApiError(503, "unavailable", "voicemails and callbacks are not served by this app")
    return messages


async def list_voicemails(request: web.Request) -> web.StreamResponse:
    """``GET /api/voicemails``: one page, newest first."""
    require_api(request, SUPERVISORS)
    limit, offset = read_query(request.query, _VOICEMAIL_FILTERS)
    page = await _messages(request).voicemails(request.query.get("queue"), limit, offset)
    return web.json_response(page)


async def voicemail_audio(request: web.Request) -> web.StreamResponse:
    """``GET /api/voicemails/{voicemail_id}/audio``: play it (Range answered with 206)."""
    require_api(request, SUPERVISORS)
    voicemail_id = row_id(request, "voicemail_id", "voicemail")
    found = await _messages(request).voicemail_file(voicemail_id)
    if found is None:
        raise ApiError(404, "unknown_voicemail", f"no voicemail {voicemail_id}")
    path, fmt = found
    if not path.is_file():
        raise ApiError(404, "no_file", f"voicemail {voicemail_id}: the file is gone")
    return web.FileResponse(path, headers={"Content-Type": "audio/wav" if fmt == "wav"
                                           else "application/octet-stream"})  # fmt: skip


async def list_callbacks(request: web.Request) -> web.StreamResponse:
    """``GET /api/callbacks``: one page of callback requests, oldest first."""
    require_api(request, SUPERVISORS)
    limit, offset = read_query(request.query, _CALLBACK_FILTERS)
    q = request.query
    page = await _messages(request).callbacks(q.get("queue"), q.get("status"), limit, offset)
    return web.json_response(page)
