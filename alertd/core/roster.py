"""Roster import from OneRoster 1.1 CSV (`orgs.csv`, `users.csv`), as rules. Pure.

Schools keep their staff in the student information system, which exports OneRoster. An
import makes alertd's school staff match it:

- Each school org (`orgs.csv`, type `school`) must be an alertd school: its `identifier`,
  or else its `sourcedId`, is the alertd school id.
- Teachers, aides and proctors become staff; administrators school admins, at the schools
  among their `orgSourcedIds` (an administrator of the district only is left to the
  district: create district admins with `alertd user create`). Students, parents, guardians
  and relatives are not alertd users and are skipped.
- A person is matched by the roster's `sourcedId`; an account an admin made by hand with the
  same e-mail is adopted. Dispatchers and district admins are never touched.
- An account the roster made that is no longer in it, or whose row says `enabledUser`
  false or `status` tobedeleted, is disabled.

Every problem is collected with its file and line; one problem refuses the whole import.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field

from alertd.core.account import (
    SCHOOL_GRANTED,
    Account,
    AccountSource,
    Affiliation,
    normalize_email,
)
from alertd.core.errors import AlertdError, ValidationFailed
from alertd.core.permission import Role

ORGS, USERS = "orgs.csv", "users.csv"
STAFF_ROLES = {"teacher": Role.STAFF, "aide": Role.STAFF, "proctor": Role.STAFF}
ADMIN_ROLES = {"administrator": Role.SCHOOL_ADMIN}
NOT_STAFF = frozenset({"student", "parent", "guardian", "relative"})
REQUIRED = {
    ORGS: ("sourcedId", "name", "type"),
    USERS: ("sourcedId", "role", "givenName", "familyName", "orgSourcedIds", "email"),
}


@dataclass(frozen=True, slots=True)
class RosterRow:
    file: str
    line: int
    values: Mapping[str, str]

    def get(self, name: str) -> str:
        return (self.values.get(name) or "").strip()


@dataclass(frozen=True, slots=True)
class Problem:
    file: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file} line {self.line}: {self.message}"


class RosterInvalid(AlertdError):
    """The roster has problems; nothing was imported. `problems` names each file and line."""

    code = "roster_invalid"

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__(f"{len(problems)} problems in the roster; nothing was imported")
        self.problems = problems


@dataclass(frozen=True, slots=True)
class RosterPerson:
    external_id: str
    email: str
    name: str
    affiliation: Affiliation
    enabled: bool
    line: int = 0  # in users.csv


@dataclass(frozen=True, slots=True)
class Planned:
    """One change the import makes. `account_id` None: a new account."""

    action: str  # create | change | disable
    person: RosterPerson | None
    account: Account | None
    changed: Mapping[str, object] = field(default_factory=dict)

    @property
    def email(self) -> str:
        return self.person.email if self.person else self.account.email if self.account else ""


@dataclass(frozen=True, slots=True)
class RosterPlan:
    creates: list[Planned]
    changes: list[Planned]
    disables: list[Planned]
    skipped: int  # rows of people who are not alertd users (students, guardians ...)

    @property
    def empty(self) -> bool:
        return not (self.creates or self.changes or self.disables)


def school_candidates(orgs: Iterable[RosterRow]) -> set[str]:
    """The ids that school orgs may map to (ask which of them are alertd schools)."""
    found: set[str] = set()
    for row in orgs:
        if row.get("type") == "school":
            found |= {v for v in (row.get("identifier"), row.get("sourcedId")) if v}
    return found


def read_roster(
    orgs: list[RosterRow], users: list[RosterRow], *, known_schools: Collection[str]
) -> tuple[list[RosterPerson], int]:
    """The staff the roster names, and how many rows it skipped. Raises RosterInvalid."""
    problems: list[Problem] = []
    school_of: dict[str, str | None] = {}
    for row in orgs:
        problems += _missing(row, ORGS)
        org_id = row.get("sourcedId")
        if org_id in school_of:
            problems.append(Problem(row.file, row.line, f"sourcedId {org_id!r} appears twice"))
        if row.get("type") != "school":
            school_of[org_id] = None
            continue
        school = next(
            (v for v in (row.get("identifier"), org_id) if v and v in known_schools), None
        )
        if school is None:
            problems.append(
                Problem(
                    row.file,
                    row.line,
                    f"school {row.get('name')!r} ({org_id}) is not an alertd school: load its "
                    "site first, or give the org the alertd school id as its identifier",
                )
            )
        school_of[org_id] = school
    people: list[RosterPerson] = []
    skipped = 0
    seen_ids: set[str] = set()
    seen_emails: set[str] = set()
    for row in users:
        missing = _missing(row, USERS)
        if missing:
            problems += missing
            continue
        role_name = row.get("role").lower()
        if role_name in NOT_STAFF:
            skipped += 1
            continue
        role = STAFF_ROLES.get(role_name) or ADMIN_ROLES.get(role_name)
        if role is None:
            problems.append(Problem(row.file, row.line, f"role: unknown role {role_name!r}"))
            continue
        external_id = row.get("sourcedId")
        if external_id in seen_ids:
            problems.append(Problem(row.file, row.line, f"sourcedId {external_id!r} appears twice"))
        seen_ids.add(external_id)
        try:
            email = normalize_email(row.get("email"))
        except ValidationFailed as error:
            problems.append(Problem(row.file, row.line, f"email: {error.message}"))
            continue
        if email in seen_emails:
            problems.append(Problem(row.file, row.line, f"email {email!r} appears twice"))
        seen_emails.add(email)
        schools: list[str] = []
        for org in row.get("orgSourcedIds").split(","):
            org = org.strip()
            if org not in school_of:
                problems.append(
                    Problem(row.file, row.line, f"orgSourcedIds: no org {org!r} in {ORGS}")
                )
            elif school_of[org] is not None:
                schools.append(str(school_of[org]))
        if not schools:
            skipped += 1  # district-level staff: the district creates those itself
            continue
        name = f"{row.get('givenName')} {row.get('familyName')}".strip()[:200]
        enabled = row.get("enabledUser").lower() != "false" and (
            row.get("status").lower() != "tobedeleted"
        )
        people.append(
            RosterPerson(
                external_id,
                email,
                name,
                Affiliation(role, tuple(sorted(set(schools)))),
                enabled,
                row.line,
            )
        )
    if problems:
        raise RosterInvalid(problems)
    return people, skipped


def plan_roster(
    people: list[RosterPerson], accounts: list[Account], *, skipped: int = 0
) -> RosterPlan:
    """What the import changes. Raises RosterInvalid when a roster e-mail belongs to a
    dispatcher or district admin (the roster manages school staff only)."""
    by_external = {
        a.external_id: a for a in accounts if a.source is AccountSource.ROSTER and a.external_id
    }
    by_email = {a.email: a for a in accounts}
    creates: list[Planned] = []
    changes: list[Planned] = []
    problems: list[Problem] = []
    matched: set[str] = set()
    for person in people:
        account = by_external.get(person.external_id) or by_email.get(person.email)
        if account is None:
            if person.enabled:
                creates.append(Planned("create", person, None))
            continue
        if account.role not in SCHOOL_GRANTED:
            problems.append(
                Problem(
                    USERS,
                    person.line,
                    f"{person.email} is a {account.role.value} in alertd; the roster manages "
                    "school staff only",
                )
            )
            continue
        matched.add(account.id)
        changed = _differences(account, person)
        if changed:
            changes.append(Planned("change", person, account, changed))
    if problems:
        raise RosterInvalid(problems)
    disables = [
        Planned("disable", None, a, {"disabled": True})
        for a in accounts
        if a.source is AccountSource.ROSTER and not a.disabled and a.id not in matched
    ]
    return RosterPlan(creates, changes, disables, skipped)


def _differences(account: Account, person: RosterPerson) -> dict[str, object]:
    changed: dict[str, object] = {}
    if account.name != person.name:
        changed["name"] = person.name
    if account.role is not person.affiliation.role:
        changed["role"] = person.affiliation.role.value
    if account.school_ids != person.affiliation.school_ids:
        changed["school_ids"] = list(person.affiliation.school_ids)
    if account.disabled == person.enabled:
        changed["disabled"] = not person.enabled
    if account.source is not AccountSource.ROSTER or account.external_id != person.external_id:
        changed["source"] = AccountSource.ROSTER.value
    return changed


def _missing(row: RosterRow, file: str) -> list[Problem]:
    return [
        Problem(row.file, row.line, f"{name}: required")
        for name in REQUIRED[file]
        if not row.get(name)
    ]
