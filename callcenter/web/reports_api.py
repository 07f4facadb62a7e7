"""The report routes (supervisors only).

- ``GET /supervisor/reports``: the page: a range, a grouping, the table, charts of
  the service level and the offered calls, a CSV download.
- ``GET /api/reports?from=&to=[&by=][&format=]``: ``callcenter report`` over the
  controller's database: ``from``/``to`` a date or an ISO time (without an offset:
  the hotline's ``time_zone``), ``by`` queue (default), agent, hour, day, week or
  month, ``format`` json (default) or csv (an attachment). 400 names the bad
  parameter; 503 when the database is away.
"""

from __future__ import annotations

import json
import re

import aiohttp_jinja2
from aiohttp import web
from sqlalchemy.exc import SQLAlchemyError

from callcenter.reports.build import BY_CHOICES
from callcenter.reports.cli import parse_when
from callcenter.reports.render import render
from callcenter.web.auth import SUPERVISORS, require_api, require_page
from callcenter.web.errors import ApiError
from callcenter.web.keys import REPORTS

__all__ = ["get_report", "reports_page"]

#: the query string's names and the formats an answer comes in
_NAMES = frozenset({"from", "to", "by", "format"})
_FORMATS = ("json", "csv")
_WHEN = re.compile(r"[0-9T:+\-.Z]{10,35}")


async def reports_page(request: web.Request) -> web.StreamResponse:
    """``GET /supervisor/reports``."""
    session = require_page(request, SUPERVISORS)
    return aiohttp_jinja2.render_template(
        "reports.html", request, {"session": session, "by_choices": BY_CHOICES}
    )


async def get_report(request: web.Request) -> web.StreamResponse:
    """``GET /api/reports``."""
    require_api(request, SUPERVISORS)
    reports = request.app.get(REPORTS)
    if reports is None:
        raise ApiError(503, "storage_unavailable", "reports are not available yet")
    q = request.query
    for name in q:
        if name not in _NAMES:
            raise ApiError(400, "invalid_field", f"{name}: unknown parameter")
    by = q.get("by", "queue")
    if by not in BY_CHOICES:
        raise ApiError(400, "invalid_field", f"by: one of {', '.join(BY_CHOICES)}")
    fmt = q.get("format", "json")
    if fmt not in _FORMATS:
        raise ApiError(400, "invalid_field", f"format: one of {', '.join(_FORMATS)}")
    zone = reports.zone()
    edges = []
    for name in ("from", "to"):
        text = q.get(name)
        if text is None:
            raise ApiError(400, "invalid_field", f"{name}: required")
        try:
            if not _WHEN.fullmatch(text):
                raise ValueError(f"{text!r} is not a date or an ISO time")
            edges.append(parse_when(text, zone))
        except (ValueError, OverflowError) as exc:
            raise ApiError(400, "invalid_field", f"{name}: {exc}") from None
    since, until = edges
    if not since < until:
        raise ApiError(400, "invalid_field", "from: must be before to")
    try:
        report = await reports.report(since, until, by)
    except (SQLAlchemyError, OSError) as exc:
        raise ApiError(
            503, "storage_unavailable", "the database cannot be read: try again"
        ) from exc
    if fmt == "csv":
        name = f"hotline-{by}-{since.date().isoformat()}-{until.date().isoformat()}.csv"
        return web.Response(
            text=render(report, "csv"), content_type="text/csv", charset="utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )  # fmt: skip
    return web.json_response(json.loads(render(report, "json")))
