"""GET /v1/audit: the tamper-evident audit trail, for admins.

District admins read every entry; school admins read the entries of their schools. Reading
is itself audited: each request appends an "audit.export" entry, in the same transaction
that reads the page. The page ends before that entry, and when the page reaches it,
`next_after` skips it, so a client that pages until `entries` is empty does terminate.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Connection

from alertd.adapters.db.audit import append_audit, read_audit
from alertd.adapters.http.deps import Ctx, Who
from alertd.adapters.http.response import OrjsonResponse
from alertd.adapters.wire import v1
from alertd.app.service import require
from alertd.core.audit import AuditEntry, AuditRecord, entry_document
from alertd.core.permission import Action, authorize

router = APIRouter(prefix="/v1", tags=["audit"])

MAX_PAGE = 1000


class AuditEntryOut(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: int
    at: str = Field(description="UTC, ISO 8601")
    actor_id: str
    actor_role: str
    action: str = Field(description='dotted, such as "auth.login" or "alert.acknowledge"')
    school_id: str | None
    subject: str | None
    detail: dict[str, Any]
    prev_hash: str
    hash: str


class AuditPage(BaseModel):
    model_config = ConfigDict(extra="forbid")

    entries: list[AuditEntryOut]
    next_after: int = Field(description="pass as `after` to read on")


@router.get(
    "/audit",
    response_model=AuditPage,
    responses={
        403: {"model": v1.ErrorBody, "description": "not an admin"},
        404: {"model": v1.ErrorBody, "description": "school outside the admin's schools"},
    },
    summary="The audit trail, oldest first, a page at a time (admins)",
)
async def list_audit(
    ctx: Ctx,
    principal: Who,
    after: Annotated[int, Query(ge=0, description="the last id already read")] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
    school: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
) -> OrjsonResponse:
    verdict = authorize(principal, Action.VIEW_AUDIT, school_id=school)
    require(verdict, what="school", ident=school or "", action=Action.VIEW_AUDIT)
    schools = {school} if school is not None else principal.school_ids
    export = AuditEntry.by(
        principal,
        "audit.export",
        at=ctx.clock.now(),
        school_id=school,
        detail={"after": after, "limit": limit, "school": school},
    )

    def step(conn: Connection) -> tuple[list[AuditRecord], int]:
        # Append first: holding the audit head, every earlier entry is committed and visible.
        (recorded,) = append_audit(conn, [export])
        read = read_audit(conn, after_id=after, limit=limit + 1, school_ids=schools)
        earlier = [r for r in read if r.id < recorded.id]
        page = earlier[:limit]
        at_end = len(earlier) <= limit
        return page, recorded.id if at_end else page[-1].id

    async with ctx.db.write() as session:
        page, next_after = await session.run(step)
    return OrjsonResponse({"entries": [_entry_out(r) for r in page], "next_after": next_after})


def _entry_out(record: AuditRecord) -> dict[str, Any]:
    return {**entry_document(record.prev_hash, record.id, record.entry), "hash": record.hash}
