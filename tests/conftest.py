"""Shared fixtures: migrated databases (SQLite file, real PostgreSQL), apps and clients."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from alertd.adapters.db import migrate
from alertd.main import create_app
from alertd.settings import Settings
from alertd.testing.auth import headers_for
from alertd.testing.live import serving
from alertd.testing.redis_server import redis_server
from alertd.testing.servers import fresh_database, postgres_server
from alertd.testing.settings import make_settings
from alertd.testing.stream_contract import StreamContract, watch_stream_clients

__all__ = ["make_settings"]

DEMO = {
    "school": "lincoln-hs",
    "room": "lincoln-hs-a-101",
    "other_school_room": "jefferson-es-a-101",
}


@pytest.fixture(scope="session")
def stream_contract() -> StreamContract:
    return StreamContract()


@pytest.fixture(autouse=True)
def stream_messages_follow_the_contract(stream_contract: StreamContract) -> Iterator[None]:
    """Every message any test receives from /v1/stream validates against its type's schema
    (schemas/messages/<Type>Message.schema.json); a test that received one that does not
    fails, naming it."""
    with watch_stream_clients(stream_contract) as watch:
        yield
    problems = watch.problems()
    assert not problems, "stream messages that break the wire contract:\n" + "\n".join(
        problems[:20]
    )


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    with postgres_server() as url:
        yield url


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """One Redis per test worker (or REDIS_URL's); tests keep apart by `redis_prefix`."""
    with redis_server() as url:
        yield url


@pytest.fixture
def redis_prefix() -> str:
    return f"alertd-test-{uuid.uuid4().hex[:12]}:"


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'alertd.db'}"
    migrate.upgrade(url)
    return url


@pytest.fixture
def pg_database(postgres_url: str) -> Iterator[str]:
    with fresh_database(postgres_url) as url:
        migrate.upgrade(url)
        yield url


@pytest.fixture
def settings(tmp_path: Path, sqlite_url: str) -> Settings:
    return make_settings(tmp_path, sqlite_url)


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def anonymous(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """A client that has not signed in."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://alertd.test") as c:
        yield c


@pytest.fixture
async def client(anonymous: httpx.AsyncClient) -> httpx.AsyncClient:
    """A client signed in as the demo district admin (every school; may run drills).

    Tests that need another role pass `headers=await headers_for(client, role)`.
    """
    anonymous.headers.update(await headers_for(anonymous, "district_admin"))
    return anonymous


@pytest.fixture
async def live_url(settings: Settings) -> AsyncIterator[str]:
    """A real server on a free port (lifespan included), for WebSocket tests."""
    async with serving(create_app(settings)) as url:
        yield url
