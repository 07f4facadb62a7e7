"""The reports as the web edge asks for them (``callcenter.web.reports_port.Reports``):
the running config's queues, zone and FCR codes, the controller's SQL sessions."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from callcenter.config import HotlineConfig

from .build import Report, build_report
from .load import load_report_data

__all__ = ["SqlReports"]


class SqlReports:
    """``callcenter report`` over the controller's database; the config read at each
    report, so a reload's queues and targets count at once."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        config: Callable[[], HotlineConfig],
        clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        self._sessions = sessions
        self._config = config
        self._clock = clock

    def zone(self) -> ZoneInfo:
        return self._config().zone

    async def report(self, since: dt.datetime, until: dt.datetime, by: str) -> Report:
        config = self._config()
        data = await load_report_data(self._sessions, since, until, fcr_codes=config.fcr_codes)
        return build_report(data, by=by, since=since, until=until, zone=config.zone,
                            targets=config.queue_targets(), now=self._clock())  # fmt: skip
