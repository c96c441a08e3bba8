"""The agencies of the site document as exports see them: whom they cover, their names.

Implements `alertd.app.interop.AgencyDirectory`. Coverage is `agency_schools`; names come
from the school's recipients (an agency is texted as a recipient of kind `agency`).
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy import Connection

from alertd.adapters.db import schema as t
from alertd.adapters.db.engine import Database
from alertd.core.eido import EidoAgency
from alertd.core.routing import RecipientKind

_COVERS = t.agency_schools.c
_RECIPIENT = t.recipients.c


class SqlAgencyDirectory:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def agency_school_ids(self, agency_id: str) -> frozenset[str] | None:
        def step(conn: Connection) -> frozenset[str] | None:
            rows = conn.execute(
                sa.select(_COVERS.school_id).where(_COVERS.agency_id == agency_id)
            ).scalars()
            found = frozenset(rows)
            return found or None

        return await self._db.read(step)

    async def agencies_of(self, school_id: str) -> list[EidoAgency]:
        def step(conn: Connection) -> list[EidoAgency]:
            rows = conn.execute(
                sa.select(_RECIPIENT.id, _RECIPIENT.name)
                .where(
                    _RECIPIENT.school_id == school_id,
                    _RECIPIENT.kind == RecipientKind.AGENCY.value,
                )
                .order_by(_RECIPIENT.id)
            )
            return [EidoAgency(r.id, r.name) for r in rows]

        return await self._db.read(step)
