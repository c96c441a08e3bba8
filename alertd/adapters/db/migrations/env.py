"""Alembic environment: runs the migrations on the async engine alertd uses."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from alertd.adapters.db.lock import LockKind, xact_lock
from alertd.adapters.db.schema import metadata

config = context.config


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        # Several replicas may run `alertd db upgrade` at once: one migrates, the others
        # wait, then find the database at head (PostgreSQL runs DDL in the transaction).
        xact_lock(connection, LockKind.MIGRATIONS)
        context.run_migrations()


async def _run_online() -> None:
    engine = create_async_engine(config.get_main_option("sqlalchemy.url") or "")
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_run)
            await connection.commit()
    finally:
        await engine.dispose()


asyncio.run(_run_online())
