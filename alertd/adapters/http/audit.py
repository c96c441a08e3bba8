"""The tamper-evident audit trail, for admins: HTTP in, `AuditService` out.

GET /v1/audit                 the trail, oldest first, a page at a time (audited)
GET /v1/audit/verification    is it intact: the hash chain and the signed checkpoints
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from alertd.adapters.http.deps import Ctx, Who
from alertd.adapters.http.response import OrjsonResponse
from alertd.adapters.wire import accounts as wire
from alertd.adapters.wire import v1
from alertd.core.audit import AuditRecord, entry_document

router = APIRouter(prefix="/v1", tags=["audit"])

MAX_PAGE = 1000


@router.get(
    "/audit",
    response_model=wire.AuditPage,
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
    page = await ctx.audit.read(principal=principal, after=after, limit=limit, school_id=school)
    return OrjsonResponse(
        {"entries": [_entry_out(r) for r in page.entries], "next_after": page.next_after}
    )


@router.get(
    "/audit/verification",
    response_model=wire.AuditVerificationOut,
    responses={403: {"model": v1.ErrorBody, "description": "not an admin"}},
    summary="Whether the audit trail is intact (hash chain and signed checkpoints)",
)
async def verification(ctx: Ctx, principal: Who) -> OrjsonResponse:
    checked = await ctx.audit.verify(principal=principal)
    last = checked.last_checkpoint
    answer = wire.AuditVerificationOut(
        ok=checked.result.ok,
        entries=checked.result.count,
        head_id=checked.head_id,
        bad_id=checked.result.bad_id,
        reason=checked.result.reason,
        checkpoints=checked.checkpoints,
        last_checkpoint_at=last.at if last else None,
        last_checkpoint_id=last.head_id if last else None,
    )
    return OrjsonResponse(answer.model_dump(mode="json"))


def _entry_out(record: AuditRecord) -> dict[str, Any]:
    return {**entry_document(record.prev_hash, record.id, record.entry), "hash": record.hash}
