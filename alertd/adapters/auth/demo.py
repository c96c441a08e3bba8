"""Demo users: one per role, for the demo district. Only ever seeded in demo + dev mode.

Every demo user signs in with the password `demo`:

    staff@demo.alertd               staff at lincoln-hs
    sro@demo.alertd                 school resource officer at lincoln-hs
    drill_coordinator@demo.alertd   drill coordinator at lincoln-hs
    school_admin@demo.alertd        school admin of lincoln-hs
    dispatcher@demo.alertd          dispatcher of riverside-pd (lincoln-hs and jefferson-es)
    dispatcher-jefferson@demo.alertd  dispatcher of jefferson-dispatch (jefferson-es only)
    district_admin@demo.alertd      district admin (every school)

The riverside-pd coverage comes from the demo site document; the synthetic agency
"jefferson-dispatch" exists only here, to show a dispatcher scoped to one school.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy import Connection

from alertd.adapters.auth.passwords import hash_password
from alertd.adapters.db import users
from alertd.adapters.db.engine import Database
from alertd.adapters.db.lock import LockKind, xact_lock
from alertd.adapters.db.schema import agency_schools
from alertd.app.account_ports import NewAccount
from alertd.core.account import Affiliation
from alertd.core.permission import Role

DEMO_PASSWORD = "demo"  # documented; seeded only in demo + dev mode
DEMO_DOMAIN = "demo.alertd"
LINCOLN, JEFFERSON = "lincoln-hs", "jefferson-es"
JEFFERSON_AGENCY = "jefferson-dispatch"


@dataclass(frozen=True, slots=True)
class DemoUser:
    local_part: str
    name: str
    role: Role
    school_ids: tuple[str, ...] = ()
    agency_id: str | None = None

    @property
    def email(self) -> str:
        return f"{self.local_part}@{DEMO_DOMAIN}"

    @property
    def user_id(self) -> str:
        return f"demo-{self.local_part}"


DEMO_USERS = (
    DemoUser("staff", "Sam Staff", Role.STAFF, (LINCOLN,)),
    DemoUser("sro", "Officer Riley", Role.SRO, (LINCOLN,)),
    DemoUser("drill_coordinator", "Dana Drill", Role.DRILL_COORDINATOR, (LINCOLN,)),
    DemoUser("school_admin", "Pat Principal", Role.SCHOOL_ADMIN, (LINCOLN,)),
    DemoUser("dispatcher", "Dee Dispatch", Role.DISPATCHER, agency_id="riverside-pd"),
    DemoUser("dispatcher-jefferson", "Jo Jefferson", Role.DISPATCHER, agency_id=JEFFERSON_AGENCY),
    DemoUser("district_admin", "Drew District", Role.DISTRICT_ADMIN),
)


def demo_email(role: Role | str) -> str:
    """The demo account of `role`, e.g. "dispatcher@demo.alertd"."""
    return f"{Role(role).value}@{DEMO_DOMAIN}"


async def seed_demo_users(db: Database, *, now: datetime) -> None:
    """Create the demo users (and the jefferson-dispatch agency) if missing. Idempotent.

    Call only when both `settings.demo` and `settings.dev_mode` are on: the password is public.
    """
    password_hash = await asyncio.to_thread(hash_password, DEMO_PASSWORD)

    def seed(conn: Connection) -> None:
        xact_lock(conn, LockKind.DEMO_USERS)  # several demo instances may seed at once
        covered = conn.execute(
            sa.select(agency_schools.c.school_id).where(
                agency_schools.c.agency_id == JEFFERSON_AGENCY
            )
        ).first()
        if covered is None:
            conn.execute(
                agency_schools.insert().values(agency_id=JEFFERSON_AGENCY, school_id=JEFFERSON)
            )
        for user in DEMO_USERS:
            if users.account_by_email(conn, user.email) is None:
                affiliation = Affiliation(user.role, user.school_ids, user.agency_id)
                new = NewAccount(
                    id=user.user_id,
                    email=user.email,
                    name=user.name,
                    affiliation=affiliation,
                    password_hash=password_hash,
                    created_at=now,
                )
                users.add_account(conn, new)

    async with db.write() as session:
        await session.run(seed)
