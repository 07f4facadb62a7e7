"""A report as a text table, CSV or JSON.

Table and CSV carry the same columns, shares in percent and seconds rounded to
0.1; JSON carries every figure of :class:`acd.kpis.Figures` unrounded (shares
as fractions 0..1), each row with its interval, queue or agent and span.
An empty cell (``""``, JSON ``null``) means the figure has nothing to say (a
ratio over nothing, or a queue figure on an agent's row).
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
from collections.abc import Callable
from typing import Any

from .build import Report, ReportRow

__all__ = ["FORMATS", "columns", "render"]

FORMATS = ("table", "csv", "json")

Cell = Callable[[ReportRow], Any]


def _pct(value: float | None) -> float | None:
    return None if value is None else round(100.0 * value, 1)


def _s(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def _per_hour(row: ReportRow) -> float | None:
    rate = row.figures.arrival_per_s
    return None if rate is None else round(rate * 3600.0, 2)


def _pauses(row: ReportRow) -> str:
    return " ".join(f"{k}={v:.0f}" for k, v in row.figures.pause_s_by_reason.items())


_QUEUE_COLUMNS: list[tuple[str, Cell]] = [
    ("offered", lambda r: r.figures.offered),
    ("answered", lambda r: r.figures.answered),
    ("abandoned", lambda r: r.figures.abandoned),
    ("short_abandoned", lambda r: r.figures.short_abandoned),
    ("timed_out", lambda r: r.figures.timed_out),
    ("lost", lambda r: r.figures.lost),
    ("sl_pct", lambda r: _pct(r.figures.service_level)),
    ("sl_app_queue_pct", lambda r: _pct(r.figures.service_level_app_queue)),
    ("sl_app_queue2_pct", lambda r: _pct(r.figures.service_level_app_queue2)),
    ("abandon_pct", lambda r: _pct(r.figures.abandon_rate)),
    ("asa_s", lambda r: _s(r.figures.asa_s)),
    ("aht_s", lambda r: _s(r.figures.aht_s)),
    ("longest_wait_s", lambda r: _s(r.figures.longest_wait_s)),
    ("fcr_pct", lambda r: _pct(r.figures.fcr)),
    ("transfer_pct", lambda r: _pct(r.figures.transfer_rate)),
    ("surveyed", lambda r: r.figures.survey.surveyed),
    ("csat_avg", lambda r: _s(r.figures.survey.csat_avg)),
    ("csat_pct", lambda r: _pct(r.figures.survey.csat_satisfied)),
    ("nps", lambda r: _s(r.figures.survey.nps)),
    ("ces_avg", lambda r: _s(r.figures.survey.ces_avg)),
    ("callbacks", lambda r: r.figures.callbacks_requested),
    ("callback_success_pct", lambda r: _pct(r.figures.callback_success)),
    ("calls_per_hour", _per_hour),
    ("agents_needed", lambda r: r.figures.agents_needed),
]

_AGENT_COLUMNS: list[tuple[str, Cell]] = [
    ("answered", lambda r: r.figures.answered),
    ("asa_s", lambda r: _s(r.figures.asa_s)),
    ("aht_s", lambda r: _s(r.figures.aht_s)),
    ("talk_s", lambda r: _s(r.figures.talk_s)),
    ("wrap_up_s", lambda r: _s(r.figures.wrap_up_s)),
    ("fcr_pct", lambda r: _pct(r.figures.fcr)),
    ("transfer_pct", lambda r: _pct(r.figures.transfer_rate)),
    ("surveyed", lambda r: r.figures.survey.surveyed),
    ("csat_avg", lambda r: _s(r.figures.survey.csat_avg)),
    ("nps", lambda r: _s(r.figures.survey.nps)),
    ("ces_avg", lambda r: _s(r.figures.survey.ces_avg)),
    ("staffed_s", lambda r: _s(r.figures.staffed_s)),
    ("paused_s", lambda r: _s(r.figures.paused_s)),
    ("occupancy_pct", lambda r: _pct(r.figures.occupancy)),
    ("utilisation_pct", lambda r: _pct(r.figures.utilisation)),
    ("pause_s_by_reason", _pauses),
]


def columns(by: str) -> list[tuple[str, Cell]]:
    """The table's and CSV's columns for ``--by``: a key column or two, then figures."""
    if by == "agent":
        return [("agent", lambda r: r.agent), *_AGENT_COLUMNS]
    keys: list[tuple[str, Cell]] = [("queue", lambda r: r.queue)]
    if by != "queue":
        keys.insert(0, (by, lambda r: r.interval))
    return keys + _QUEUE_COLUMNS


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:g}" if abs(value) < 1e15 else repr(value)
    return str(value)


def _json_row(row: ReportRow) -> dict[str, Any]:
    out: dict[str, Any] = {
        "interval": row.interval,
        "interval_start": None if row.interval_start is None else row.interval_start.isoformat(),
        "queue": row.queue,
        "agent": row.agent,
        "span_s": row.span_s,
    }
    out.update(dataclasses.asdict(row.figures))
    return out


def render(report: Report, fmt: str) -> str:
    """``report`` as ``fmt`` (:data:`FORMATS`), ending with a newline."""
    if fmt == "json":
        doc = {
            "by": report.by,
            "from": report.since.isoformat(),
            "to": report.until.isoformat(),
            "time_zone": report.zone,
            "rows": [_json_row(r) for r in report.rows],
        }
        return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
    cols = columns(report.by)
    cells = [[_text(cell(row)) for _, cell in cols] for row in report.rows]
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow([name for name, _ in cols])
        writer.writerows(cells)
        return out.getvalue()
    if fmt != "table":
        raise ValueError(f"--format must be one of {', '.join(FORMATS)}, not {fmt!r}")
    head = [name for name, _ in cols]
    widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(head)]
    lines = [
        f"{report.by} report {report.since.isoformat()} to {report.until.isoformat()}"
        f" ({report.zone})",
        "  ".join(h.ljust(w) if i < _keys(report.by) else h.rjust(w)
                  for i, (h, w) in enumerate(zip(head, widths, strict=True))),
    ]  # fmt: skip
    for r in cells:
        lines.append(
            "  ".join(c.ljust(w) if i < _keys(report.by) else c.rjust(w)
                      for i, (c, w) in enumerate(zip(r, widths, strict=True)))
        )  # fmt: skip
    if not cells:
        lines.append("(no calls in this range)")
    return "\n".join(lines) + "\n"


def _keys(by: str) -> int:
    return 1 if by in ("queue", "agent") else 2
