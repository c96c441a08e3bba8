"""Apply the Alembic migrations that ship inside the package (`alertd db upgrade`)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from alembic import command
from alembic.config import Config

from alertd.adapters.db.engine import async_url

MIGRATIONS = Path(__file__).with_name("migrations")


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", async_url(url).replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "head") -> None:
    """Blocking. Safe to call with an event loop running (it migrates on its own thread)."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(command.upgrade, alembic_config(url), revision).result()


def current_revision(url: str) -> str | None:
    """The revision the database is at, or None for an empty database."""
    import asyncio

    import sqlalchemy as sa
    from sqlalchemy.ext.asyncio import create_async_engine

    async def read() -> str | None:
        engine = create_async_engine(async_url(url))
        try:
            async with engine.connect() as conn:
                exists = await conn.run_sync(lambda c: sa.inspect(c).has_table("alembic_version"))
                if not exists:
                    return None
                result = await conn.execute(sa.text("SELECT version_num FROM alembic_version"))
                return result.scalar_one_or_none()
        finally:
            await engine.dispose()

    return asyncio.run(read())
