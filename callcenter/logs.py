"""How the controller logs: plain text for people, or JSON lines for log shippers.

The code logs with the standard library (``logging.getLogger(__name__)``); the
facts an operator filters on ride in ``extra`` (:func:`call_fields`): ``call_id``,
``node`` and ``agent_id`` where they apply. This module only renders the records:
structlog's ``ProcessorFormatter`` (structlog is made for exactly this; a
hand-written JSON formatter would have to re-learn its escaping, exception and
timestamp handling) turns each into one line, text or JSON, with those fields.

Verbosity: 0 is INFO for Hotline's own loggers and WARNING for libraries; 1 (``-v``)
is DEBUG for ours; 2 (``-vv``) DEBUG for everything; -1 (``-q``) WARNING for all.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Mapping
from typing import Any, Literal, TextIO

import structlog

__all__ = ["FORMATS", "OURS", "LogFormat", "call_fields", "setup_logging"]

LogFormat = Literal["text", "json"]
FORMATS: tuple[LogFormat, ...] = ("text", "json")

#: The loggers that are Hotline's (their level follows ``-v``; libraries stay quieter).
OURS = ("callcenter", "acd", "ivr", "recordings", "crm_bridge", "dashboards", "pbxsim")

#: The ``extra`` keys a record may carry; each one becomes a field of the line.
FIELDS = ("call_id", "node", "agent_id")


def call_fields(
    call_id: str | None = None, node: str | None = None, agent_id: str | int | None = None
) -> dict[str, Any]:
    """``extra=`` for a log call about a call, a node or an agent (``None`` left out)."""
    values = {"call_id": call_id, "node": node, "agent_id": agent_id}
    return {k: (str(v) if k == "agent_id" else v) for k, v in values.items() if v is not None}


def _only_known_extras(_: Any, __: str, event: dict[str, Any]) -> dict[str, Any]:
    """Keep the extras Hotline sets on purpose (``FIELDS``), not every record attribute
    a library left there."""
    record = event.get("_record")
    if record is not None:
        for key in FIELDS:
            value = getattr(record, key, None)
            if value is not None:
                event[key] = value
    return event


def formatter(fmt: LogFormat) -> logging.Formatter:
    """One record -> one line: ``text`` for a terminal, ``json`` for a shipper."""
    if fmt not in FORMATS:
        raise ValueError(f"log format {fmt!r}: one of {', '.join(FORMATS)}")
    pre_chain: list[Any] = [
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _only_known_extras,
    ]
    renderer: Any = (
        structlog.processors.JSONRenderer(ensure_ascii=False)
        if fmt == "json"
        # plain tracebacks: a rich one prints local variables, secrets among them
        else structlog.dev.ConsoleRenderer(
            colors=False, pad_event_to=0, exception_formatter=structlog.dev.plain_traceback
        )
    )
    processors: list[Any] = [structlog.stdlib.ProcessorFormatter.remove_processors_meta]
    if fmt == "json":
        processors.append(structlog.processors.format_exc_info)
    processors.append(renderer)
    return structlog.stdlib.ProcessorFormatter(foreign_pre_chain=pre_chain, processors=processors)


def setup_logging(
    verbosity: int = 0,
    fmt: LogFormat = "text",
    *,
    stream: TextIO | None = None,
    levels: Mapping[str, int] | None = None,
) -> None:
    """Configure the root logger (replacing its handlers): one line per record on
    ``stream`` (stderr), levels by ``verbosity``; ``levels`` overrides single loggers."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(formatter(fmt))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    if verbosity < 0:
        root.setLevel(logging.WARNING)
        ours = logging.WARNING
    elif verbosity == 0:
        root.setLevel(logging.WARNING)
        ours = logging.INFO
    elif verbosity == 1:
        root.setLevel(logging.WARNING)
        ours = logging.DEBUG
    else:
        root.setLevel(logging.DEBUG)
        ours = logging.DEBUG
    for name in OURS:
        logging.getLogger(name).setLevel(ours)
    for name, level in (levels or {}).items():
        logging.getLogger(name).setLevel(level)
