"""Use cases on sites: replacing a school's floor plans (an IMDF import).

Like every command, one transaction: the school is read, changed by the pure core
(`alertd.core.site.with_floor_plans`), saved and audited together, or not at all.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from alertd.app.ports import Clock, Store
from alertd.core.audit import AuditEntry
from alertd.core.errors import Forbidden, ValidationFailed
from alertd.core.permission import Action, Principal, Verdict, authorize
from alertd.core.site import ReplaceFloorPlans, School, with_floor_plans


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
        verdict = authorize(principal, Action.MANAGE_SITES, school_id=command.school_id)
        if verdict is not Verdict.ALLOW:
            raise Forbidden(f"not allowed to manage the site of {command.school_id!r}")
        now = self._clock.now()
        async with self._store.transaction() as tx:
            existing = await tx.get_school(command.school_id)
            district = command.district_id or (
                existing.district_id if existing else await tx.sole_district()
            )
            if district is None:
                raise ValidationFailed(
                    "district_id", "a new school needs its district: give --district-id"
                )
            school = with_floor_plans(existing, command, district_id=district)
            await tx.save_school(school)
            rooms = len(school.places())
            entry = AuditEntry.by(
                principal,
                "site.replace_floor_plans",
                at=now,
                school_id=school.id,
                subject=school.id,
                detail={"created": existing is None, "rooms": rooms, **(detail or {})},
            )
            await tx.audit([entry])
        return school
