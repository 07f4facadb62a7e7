"""``callcenter report``: the hotline's figures over a time range, from SQL.

- :mod:`.load` reads the rows of a range (calls and their queue outcomes,
  dispositions, surveys, transfers, agent states, pauses, callbacks) into the plain
  records of :mod:`acd.kpis`;
- :mod:`.build` (pure) groups them by queue, agent or interval (hour, day, ISO
  week, month in the hotline's ``time_zone``) and computes each group's figures
  with :mod:`acd.kpis`, and the Erlang C staffing line (:mod:`acd.erlang`);
- :mod:`.render` prints them as a table, CSV or JSON;
- :mod:`.cli` is the command line.

The formulas are in ``acd.kpis`` and ``docs/kpis.md``; nothing here defines a figure.
"""

from .build import BY_CHOICES, Report, ReportData, ReportRow, build_report
from .load import load_report_data

__all__ = ["BY_CHOICES", "Report", "ReportData", "ReportRow", "build_report", "load_report_data"]
