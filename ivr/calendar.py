"""Business hours and holidays: a pure calendar, asked with a wall-clock time.

A :class:`Calendar` holds opening hours per weekday in an IANA time zone
(default ``Asia/Ho_Chi_Minh``), holidays (whole dates, e.g. Tết, listed per
year) and special days (dates with their own hours, replacing the weekday's).
The IVR's ``condition`` node asks it :meth:`Calendar.is_open` and
:meth:`Calendar.is_holiday` with the time the shell passes in: nothing here
reads the clock.

In the IVR file::

    calendars:
      office:
        zone: Asia/Ho_Chi_Minh          # the default
        hours:                          # a day not listed is closed
          mon: "08:00-17:30"
          sat: ["08:00-12:00"]          # one range or a list of them
        holidays: ["2027-02-05", "2027-02-06..2027-02-10"]   # a date or a range
        special: {"2027-02-04": "08:00-12:00", "2027-02-11": closed}

A range's end is exclusive (``08:00-17:30`` is open at 17:29:59, closed at
17:30); ``24:00`` ends a range at midnight. Bad zones, times, dates and
overlaps are refused at load with their line (:mod:`ivr.model`).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

#: the zone of a calendar that names none
DEFAULT_ZONE = "Asia/Ho_Chi_Minh"
#: weekday keys, Monday first (``datetime.weekday()`` order)
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

_RANGE = re.compile(r"(\d{2}):(\d{2})-(\d{2}):(\d{2})")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


@dataclass(frozen=True, slots=True, order=True)
class OpenRange:
    """Open from ``start`` to ``end`` minutes after midnight (end exclusive)."""

    start: int
    end: int

    def __contains__(self, minute: int) -> bool:
        return self.start <= minute < self.end


def parse_range(text: str) -> OpenRange:
    """``"08:00-17:30"`` -> OpenRange(480, 1050); ValueError with the reason otherwise."""
    m = _RANGE.fullmatch(text.strip())
    if m is None:
        raise ValueError(f"{text!r} is not a time range like 08:00-17:30")
    h1, m1, h2, m2 = (int(g) for g in m.groups())
    for h, mi in ((h1, m1), (h2, m2)):
        if h > 24 or mi > 59 or (h == 24 and mi != 0):
            raise ValueError(f"{text!r}: {h:02d}:{mi:02d} is not a time of day")
    start, end = h1 * 60 + m1, h2 * 60 + m2
    if start == 24 * 60:
        raise ValueError(f"{text!r}: a range cannot start at 24:00")
    if end <= start:
        raise ValueError(f"{text!r}: ends before it starts")
    return OpenRange(start, end)


def parse_ranges(value: str | list[str]) -> tuple[OpenRange, ...]:
    """One range, a list of them, or ``closed``; overlapping ranges are refused."""
    if isinstance(value, str) and value.strip().lower() == "closed":
        return ()
    texts = [value] if isinstance(value, str) else value
    ranges = sorted(parse_range(t) for t in texts)
    for a, b in zip(ranges, ranges[1:], strict=False):
        if b.start < a.end:
            raise ValueError("time ranges overlap")
    return tuple(ranges)


def parse_date(text: str) -> dt.date:
    """``"2027-02-05"`` -> a date; ValueError naming what is wrong."""
    if not _DATE.fullmatch(text.strip()):
        raise ValueError(f"{text!r} is not a date like 2027-02-05")
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"{text!r} is not a date of the calendar") from None


def parse_dates(text: str) -> tuple[dt.date, ...]:
    """A date, or a range ``2027-02-06..2027-02-10`` (both ends included, at most a year)."""
    if ".." not in text:
        return (parse_date(text),)
    first_text, last_text = text.split("..", 1)
    first, last = parse_date(first_text), parse_date(last_text)
    if last < first:
        raise ValueError(f"{text!r}: ends before it starts")
    days = (last - first).days + 1
    if days > 366:
        raise ValueError(f"{text!r}: longer than a year")
    return tuple(first + dt.timedelta(days=i) for i in range(days))


def zone(name: str) -> ZoneInfo:
    """The IANA zone ``name``; ValueError when the zone database does not know it."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{name!r} is not an IANA time zone (e.g. Asia/Ho_Chi_Minh)") from None


@dataclass(frozen=True, slots=True)
class Calendar:
    """Opening hours, holidays and special days in one time zone."""

    zone: ZoneInfo
    #: opening ranges per weekday, Monday first
    week: tuple[tuple[OpenRange, ...], ...]
    holidays: frozenset[dt.date] = frozenset()
    #: dates with their own hours (an empty tuple: closed that day)
    special: tuple[tuple[dt.date, tuple[OpenRange, ...]], ...] = ()

    def local(self, wall: dt.datetime) -> dt.datetime:
        """``wall`` (aware) in the calendar's zone."""
        if wall.tzinfo is None:
            raise ValueError("the calendar needs an aware datetime (UTC from the shell)")
        return wall.astimezone(self.zone)

    def is_holiday(self, wall: dt.datetime) -> bool:
        """True on a listed holiday (the local date)."""
        return self.local(wall).date() in self.holidays

    def is_open(self, wall: dt.datetime) -> bool:
        """True within the day's opening hours and not on a holiday."""
        local = self.local(wall)
        day = local.date()
        if day in self.holidays:
            return False
        ranges = dict(self.special).get(day, self.week[local.weekday()])
        minute = local.hour * 60 + local.minute
        return any(minute in r for r in ranges)
