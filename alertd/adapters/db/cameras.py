"""The camera source registry (`alertd.app.camera_ports.CameraSourceStore`) in SQL."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection

from alertd.adapters.codec import utc
from alertd.adapters.db import schema as t
from alertd.adapters.db.audit import append_audit
from alertd.adapters.db.engine import Database
from alertd.adapters.db.sites import insert_for
from alertd.app.camera_ports import StoredSource
from alertd.core.audit import AuditEntry
from alertd.core.camera import SourceKind


class SqlCameraSources:
    """Implements `CameraSourceStore`."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def source(self, camera_id: str) -> StoredSource | None:
        def step(conn: Connection) -> StoredSource | None:
            where = t.camera_sources.c.camera_id == camera_id
            row = conn.execute(sa.select(t.camera_sources).where(where)).first()
            return _stored(row) if row is not None else None

        return await self._db.read(step)

    async def sources(self, school_id: str) -> list[StoredSource]:
        def step(conn: Connection) -> list[StoredSource]:
            where = t.camera_sources.c.school_id == school_id
            rows = conn.execute(sa.select(t.camera_sources).where(where)).all()
            return [_stored(row) for row in rows]

        return await self._db.read(step)

    async def save_source(self, source: StoredSource, *, audit: Sequence[AuditEntry]) -> None:
        values = {
            "camera_id": source.camera_id,
            "school_id": source.school_id,
            "kind": source.kind.value,
            "url": source.url,
            "credentials": source.sealed_credentials,
            "updated_at": source.updated_at,
        }

        def step(conn: Connection) -> None:
            upsert = insert_for(conn.dialect.name, t.camera_sources).values(values)
            conn.execute(upsert.on_conflict_do_update(index_elements=["camera_id"], set_=values))
            append_audit(conn, audit)

        async with self._db.write() as session:
            await session.run(step)

    async def delete_source(self, camera_id: str, *, audit: Sequence[AuditEntry]) -> bool:
        def step(conn: Connection) -> bool:
            where = t.camera_sources.c.camera_id == camera_id
            deleted = conn.execute(sa.delete(t.camera_sources).where(where)).rowcount > 0
            if deleted:
                append_audit(conn, audit)
            return deleted

        async with self._db.write() as session:
            return await session.run(step)


def _stored(row: Any) -> StoredSource:
    return StoredSource(
        camera_id=row.camera_id,
        school_id=row.school_id,
        kind=SourceKind(row.kind),
        url=row.url,
        sealed_credentials=row.credentials,
        updated_at=utc(row.updated_at),
    )
