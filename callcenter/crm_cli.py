"""``callcenter crm import FILE.csv --config X``: customers into the built-in CRM.

Every row is checked before anything is written (:mod:`crm_bridge.csv_import`),
then all rows are added in one transaction: a bad row, or a number or account
some customer already has, refuses the whole file, each problem printed as
``FILE:LINE: reason``. Exit 0 imported, 1 refused (nothing written), 2 bad usage.
Numbers are read in the config's ``crm.region``. A running controller sees the new
customers at their next call (a cached "no such customer" lasts
``crm.not_found_ttl_s``).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any

from callcenter.config import ConfigError, load_config
from callcenter.storage import Store, make_engine, make_session_factory, migrate
from callcenter.storage.errors import StorageError
from crm_bridge.csv_import import CsvRejected, import_rows, read_csv

__all__ = ["add_parsers"]

#: at most this many problems are printed (then how many more)
SHOWN_PROBLEMS = 50


def _import(args: argparse.Namespace) -> int:
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 1
    path = Path(args.file)
    try:
        data = path.read_bytes()
    except OSError as exc:
        print(f"callcenter crm import: cannot read {path}: {exc.strerror}", file=sys.stderr)
        return 1

    async def run() -> int:
        rows = read_csv(data, str(path), config.crm.region)
        await migrate(config.database_url)
        engine = make_engine(config.database_url)
        try:
            store = Store(make_session_factory(engine))
            async with store.write_session() as session:
                return await import_rows(session, rows, str(path))
        finally:
            await engine.dispose()

    try:
        count = asyncio.run(run())
    except CsvRejected as exc:
        for problem in exc.problems[:SHOWN_PROBLEMS]:
            print(problem, file=sys.stderr)
        if len(exc.problems) > SHOWN_PROBLEMS:
            print(f"... and {len(exc.problems) - SHOWN_PROBLEMS} more", file=sys.stderr)
        print(f"callcenter crm import: {path}: nothing imported", file=sys.stderr)
        return 1
    except StorageError as exc:
        print(f"callcenter crm import: {exc}; nothing imported", file=sys.stderr)
        return 1
    print(f"{path}: {count} customer{'' if count == 1 else 's'} imported")
    return 0


def add_parsers(sub: Any) -> None:
    """Add ``crm import`` to ``callcenter``'s subparsers."""
    crm = sub.add_parser("crm", help="the built-in CRM: import customers from CSV")
    acts = crm.add_subparsers(dest="action", required=True)
    p = acts.add_parser("import", help="customers from a CSV file (all rows or none)")
    p.add_argument("file", help="UTF-8 CSV; header: full_name,numbers[,account_no,tier,"
                                "language,notes]; numbers separated by ;")  # fmt: skip
    p.add_argument("--config", required=True, help="the controller config (its database_url)")
    p.set_defaults(func=_import)
