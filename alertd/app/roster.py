"""Roster import: make alertd's school staff match the student information system's
OneRoster export, all of it in one transaction, audited, or nothing.

`plan` shows what an import would create, change and disable (a dry run); `apply` plans
again inside its transaction, against the accounts as they stand, and applies that plan.
The rules are `alertd.core.roster`'s.
"""

from __future__ import annotations

import uuid

from alertd.app.account_ports import AccountStore, AccountTransaction, NewAccount
from alertd.app.ports import Clock
from alertd.core.account import AccountChange, AccountSource
from alertd.core.audit import AuditEntry
from alertd.core.permission import Principal
from alertd.core.roster import (
    RosterPlan,
    RosterRow,
    plan_roster,
    read_roster,
    school_candidates,
)

NO_PASSWORD = "!roster"  # not an argon2 hash: roster people sign on, or an admin sets one


class RosterService:
    def __init__(self, *, store: AccountStore, clock: Clock) -> None:
        self._store = store
        self._clock = clock

    async def plan(self, orgs: list[RosterRow], users: list[RosterRow]) -> RosterPlan:
        """What importing these rows would do. Raises RosterInvalid (every problem, with
        file and line); writes nothing."""
        async with self._store.transaction() as tx:
            return await self._plan(tx, orgs, users)

    async def apply(
        self, orgs: list[RosterRow], users: list[RosterRow], *, principal: Principal
    ) -> RosterPlan:
        """Import: every create, change and disable in one transaction, each audited, with a
        summary entry. Raises RosterInvalid and changes nothing when a row is bad."""
        now = self._clock.now()
        async with self._store.transaction() as tx:
            plan = await self._plan(tx, orgs, users)
            entries: list[AuditEntry] = []
            for item in plan.creates:
                person = item.person
                assert person is not None
                new = NewAccount(
                    id=str(uuid.uuid4()),
                    email=person.email,
                    name=person.name,
                    affiliation=person.affiliation,
                    password_hash=NO_PASSWORD,
                    created_at=now,
                    source=AccountSource.ROSTER,
                    external_id=person.external_id,
                )
                await tx.add_account(new)
                detail: dict[str, object] = {
                    "email": person.email,
                    "role": person.affiliation.role.value,
                    "school_ids": list(person.affiliation.school_ids),
                }
                entries.append(
                    AuditEntry.about(
                        principal,
                        "user.create",
                        at=now,
                        school_ids=person.affiliation.school_ids,
                        subject=new.id,
                        detail=detail,
                    )
                )
            for item in plan.changes:
                person, account = item.person, item.account
                assert person is not None and account is not None
                change = AccountChange(
                    name=person.name, affiliation=person.affiliation, disabled=not person.enabled
                )
                await tx.change_account(
                    account.id,
                    change,
                    source=AccountSource.ROSTER,
                    external_id=person.external_id,
                )
                if "role" in item.changed or item.changed.get("disabled") is True:
                    await tx.end_sessions(account.id, now=now)
                entries.append(
                    AuditEntry.about(
                        principal,
                        "user.change",
                        at=now,
                        school_ids=person.affiliation.school_ids,
                        subject=account.id,
                        detail={"changed": dict(item.changed)},
                    )
                )
            for item in plan.disables:
                account = item.account
                assert account is not None
                await tx.change_account(account.id, AccountChange(disabled=True))
                await tx.end_sessions(account.id, now=now)
                entries.append(
                    AuditEntry.about(
                        principal,
                        "user.disable",
                        at=now,
                        school_ids=account.school_ids,
                        subject=account.id,
                        detail={"email": account.email, "reason": "not in the roster"},
                    )
                )
            summary = {
                "created": len(plan.creates),
                "changed": len(plan.changes),
                "disabled": len(plan.disables),
                "skipped": plan.skipped,
            }
            entries.append(AuditEntry.by(principal, "roster.import", at=now, detail=summary))
            await tx.audit(entries)
        return plan

    async def _plan(
        self, tx: AccountTransaction, orgs: list[RosterRow], users: list[RosterRow]
    ) -> RosterPlan:
        known = await tx.known_schools(school_candidates(orgs))
        people, skipped = read_roster(orgs, users, known_schools=known)
        return plan_roster(people, await tx.every_account(), skipped=skipped)
