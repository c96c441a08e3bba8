"""Use cases on sites: replacing a school's floor plans (an IMDF import).

Like every command, one transaction: the school is read, changed by the pure core
(`alertd.core.site.with_floor_plans`), saved and audited together, or not at all.
An import reads its archive against the school as it stands, before the transaction (a big
archive never holds the write lock that alerts need), and the transaction checks the school
did not change meanwhile, so the room ids it keeps are those of the school it replaces.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from alertd.app.ports import Clock, Store, Transaction
from alertd.core.audit import AuditEntry
from alertd.core.errors import Forbidden, ValidationFailed
from alertd.core.permission import Action, Principal, Verdict, authorize
from alertd.core.site import Building, ReplaceFloorPlans, School, with_floor_plans


class FloorPlans(Protocol):
    """Floor plans read from an archive: the buildings, counts for the audit, what was
    left out and why (an IMDF reader's plan is one)."""

    @property
    def buildings(self) -> tuple[Building, ...]: ...

    @property
    def counts(self) -> dict[str, int]: ...

    @property
    def skipped(self) -> tuple[str, ...]: ...


# Reads the archive for the school as it stands (None when new): pure, may raise
# ValidationFailed naming the file or feature at fault.
FloorPlanReader = Callable[[School | None], FloorPlans]


@dataclass(frozen=True, slots=True)
class FloorPlanImport:
    school: School
    plans: FloorPlans
    created: bool


class SiteService:
    """Change the schools' sites. Errors from `alertd.core.errors` are permanent."""

    def __init__(self, *, store: Store, clock: Clock) -> None:
        self._store = store
        self._clock = clock

    async def replace_floor_plans(
        self,
        command: ReplaceFloorPlans,
        *,
        principal: Principal,
        detail: Mapping[str, Any] | None = None,
    ) -> School:
        """Create or replace one school's buildings, floors and rooms; return the school.

        The `alertd site import-imdf` command acts as `core.operator.OPERATOR`. A new school
        needs a district: `command.district_id`, or the only one there is. `detail` is filed
        with the audit entry (what was imported from where).
        """
        _require_manage(principal, command.school_id)
        async with self._store.transaction() as tx:
            existing = await tx.get_school(command.school_id)
            return await self._replace(tx, existing, command, principal=principal, detail=detail)

    async def import_floor_plans(
        self,
        read: FloorPlanReader,
        *,
        principal: Principal,
        school_id: str,
        school_name: str | None = None,
        district_id: str | None = None,
        timezone: str = "UTC",
        detail: Mapping[str, Any] | None = None,
    ) -> FloorPlanImport:
        """Read an archive with `read` against the school as it stands, then replace its
        floor plans in one transaction. A new school needs `school_name`; an existing one
        keeps its name when none is given. ValidationFailed (from `read` too) changes nothing;
        one on `archive` saying the school changed meanwhile may be retried as it is.
        """
        _require_manage(principal, school_id)
        existing = await self._store.school(school_id)
        plans = read(existing)
        async with self._store.transaction() as tx:
            if await tx.get_school(school_id) != existing:
                raise ValidationFailed(
                    "archive", "the school changed while the archive was read: send it again"
                )
            name = (school_name or "").strip() or (existing.name if existing else "")
            if not name:
                raise ValidationFailed("name", "a new school needs its name")
            command = ReplaceFloorPlans(
                school_id=school_id,
                school_name=name,
                buildings=plans.buildings,
                district_id=district_id,
                timezone=timezone,
            )
            audit_detail = {**plans.counts, **(detail or {})}
            school = await self._replace(
                tx, existing, command, principal=principal, detail=audit_detail
            )
        return FloorPlanImport(school=school, plans=plans, created=existing is None)

    async def _replace(
        self,
        tx: Transaction,
        existing: School | None,
        command: ReplaceFloorPlans,
        *,
        principal: Principal,
        detail: Mapping[str, Any] | None,
    ) -> School:
        now = self._clock.now()
        district = command.district_id or (
            existing.district_id if existing else await tx.sole_district()
        )
        if district is None:
            raise ValidationFailed(
                "district_id", "a new school needs its district: give --district-id"
            )
        school = with_floor_plans(existing, command, district_id=district)
        await tx.save_school(school)
        entry = AuditEntry.by(
            principal,
            "site.replace_floor_plans",
            at=now,
            school_id=school.id,
            subject=school.id,
            detail={"created": existing is None, "rooms": len(school.places()), **(detail or {})},
        )
        await tx.audit([entry])
        return school


def _require_manage(principal: Principal, school_id: str) -> None:
    if authorize(principal, Action.MANAGE_SITES, school_id=school_id) is not Verdict.ALLOW:
        raise Forbidden(f"not allowed to manage the site of {school_id!r}")
