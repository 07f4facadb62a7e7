"""What the report routes need from behind the web edge (``callcenter.reports.service.
SqlReports`` fits)."""

from __future__ import annotations

import datetime as dt
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from typing_extensions import TypedDict

from callcenter.reports.build import Report

#: ``GET /api/reports``: the report as ``callcenter report --format json`` prints it:
#: ``by``, ``from`` and ``to`` (ISO times with the hotline's offset: ``[from, to)``),
#: ``time_zone`` and the rows, each with its interval, queue or agent, its span and
#: every figure of ``acd.kpis.Figures`` (docs/kpis.md)
ReportDocument = TypedDict(
    "ReportDocument",
    {"by": str, "from": str, "to": str, "time_zone": str, "rows": list[dict[str, Any]]},
)


class Reports(Protocol):
    def zone(self) -> ZoneInfo:
        """The hotline's time zone: times without an offset are local to it."""
        ...

    async def report(self, since: dt.datetime, until: dt.datetime, by: str) -> Report:
        """The report of ``[since, until)`` grouped ``by`` (queue, agent, hour ...)."""
        ...
