"""Alembic environment for Hotline, driven from ``callcenter.storage.engine``.

``migrate()`` passes an open synchronous connection (from an async engine's
``run_sync``) in ``config.attributes["connection"]``; this file only uses it.
Offline mode (``alembic upgrade --sql``) renders SQL for the configured URL.
"""

from __future__ import annotations

from alembic import context

from callcenter.storage.models import Base

config = context.config
target_metadata = Base.metadata


def run_offline() -> None:
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    connection = config.attributes.get("connection")
    if connection is None:
        raise RuntimeError(
            "run migrations through callcenter.storage.migrate(url), which supplies the connection"
        )
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        # SQLite cannot ALTER most things; batch mode rebuilds the table.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
