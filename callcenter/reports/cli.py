"""``callcenter report --config FILE --from WHEN --to WHEN [--by ...] [--format ...]``.

``--from`` and ``--to`` take a date (``2026-12-01``: its midnight) or an ISO time
(``2026-12-01T08:00``, or with an offset ``2026-12-01T08:00+07:00``); one without
an offset is local to the config's ``time_zone``. The range is ``[from, to)``.
Exit 0 with the report on stdout; 1 when the config or the database fails; 2 on
bad usage (an unknown ``--by``, a malformed time, ``--from`` not before ``--to``),
each with one line on stderr that says why.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import sys
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from callcenter.config import ConfigError, HotlineConfig, load_config
from callcenter.storage import make_engine, make_session_factory
from callcenter.storage.errors import StorageError

from .build import BY_CHOICES, Report, build_report
from .load import load_report_data
from .render import FORMATS, render

__all__ = ["add_parsers", "parse_when", "report_of"]

_PROG = "callcenter report"


def parse_when(text: str, zone: ZoneInfo) -> dt.datetime:
    """A date (its midnight) or an ISO time; without an offset, local to ``zone``.

    ValueError says what is wrong with ``text``.
    """
    try:
        if len(text) == 10:
            value = dt.datetime.combine(dt.date.fromisoformat(text), dt.time(), zone)
        else:
            value = dt.datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(
            f"{text!r} is not a date (YYYY-MM-DD) or an ISO time (YYYY-MM-DDTHH:MM[+HH:MM])"
        ) from None
    value = value if value.tzinfo is not None else value.replace(tzinfo=zone)
    if not 1900 <= value.year <= 9998:  # the loader reads a little past `to`
        raise ValueError(f"{text!r} is out of range (years 1900 to 9998)")
    return value


async def report_of(
    config: HotlineConfig, since: dt.datetime, until: dt.datetime, by: str,
    now: dt.datetime | None = None,
) -> Report:  # fmt: skip
    """The report of ``config``'s database over ``[since, until)``."""
    engine = make_engine(config.database_url)
    try:
        data = await load_report_data(
            make_session_factory(engine), since, until, fcr_codes=config.fcr_codes
        )
    finally:
        await engine.dispose()
    return build_report(data, by=by, since=since, until=until, zone=config.zone,
                        targets=config.queue_targets(), now=now)  # fmt: skip


def _report(args: argparse.Namespace) -> int:
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        print(f"{_PROG}: {exc}", file=sys.stderr)
        return 1
    try:
        since = parse_when(args.since, config.zone)
        until = parse_when(args.until, config.zone)
    except ValueError as exc:
        print(f"{_PROG}: {exc}", file=sys.stderr)
        return 2
    if not since < until:
        print(f"{_PROG}: --from ({since.isoformat()}) must be before --to ({until.isoformat()})",
              file=sys.stderr)  # fmt: skip
        return 2
    try:
        report = asyncio.run(report_of(config, since, until, args.by, dt.datetime.now(dt.UTC)))
    except StorageError as exc:
        print(f"{_PROG}: {exc}", file=sys.stderr)
        return 1
    except (SQLAlchemyError, OSError) as exc:  # unreachable, or not migrated
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        where = make_url(config.database_url).render_as_string(hide_password=True)
        print(f"{_PROG}: cannot read {where}: {reason}"
              " (is it reachable, and up to date: `callcenter db current`?)", file=sys.stderr)  # fmt: skip
        return 1
    sys.stdout.write(render(report, args.format))
    return 0


def add_parsers(sub: Any) -> None:
    """Add ``report`` to ``callcenter``'s subparsers."""
    p = sub.add_parser(
        "report",
        help="KPIs over a time range from SQL, by queue, agent or interval, with Erlang C",
        description=__doc__.split("\n\n")[1],
    )
    p.add_argument("--config", required=True, help="the controller config (database, queues)")
    p.add_argument("--from", dest="since", required=True, metavar="WHEN",
                   help="start, included: YYYY-MM-DD or an ISO time")  # fmt: skip
    p.add_argument("--to", dest="until", required=True, metavar="WHEN",
                   help="end, excluded: YYYY-MM-DD or an ISO time")  # fmt: skip
    p.add_argument("--by", choices=BY_CHOICES, default="queue",
                   help="one row per queue (default), per agent, or per interval and queue")  # fmt: skip
    p.add_argument("--format", choices=FORMATS, default="table", help="table (default), csv, json")
    p.set_defaults(func=_report)
