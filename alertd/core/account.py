"""People's accounts: what an account is, and who may grant which role where. Pure.

A user acts for schools: staff, SROs, drill coordinators and school admins are members of
schools; a dispatcher works for an agency and acts for the schools it covers; a district
admin acts for every school.

Who may manage whom:
- A district admin manages everyone, and grants every role.
- A school admin manages the people whose schools are all among its own, and grants only
  the school roles (`SCHOOL_GRANTED`) at its own schools. Dispatchers (their agency may cover
  other schools) and district admins are the district's: to a school admin they do not exist
  (404), like any person outside its schools.
- Nobody else manages accounts (403).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from types import MappingProxyType

from alertd.core.actor import Actor, ActorKind
from alertd.core.errors import Forbidden, NotFound, ValidationFailed
from alertd.core.permission import Action, Principal, Role, Verdict, authorize

# Roles that work for an agency rather than for schools.
AGENCY_ROLES = frozenset({Role.DISPATCHER})
# The roles a school admin hands out, at its own schools.
SCHOOL_GRANTED = frozenset({Role.STAFF, Role.SRO, Role.DRILL_COORDINATOR, Role.SCHOOL_ADMIN})
PEOPLE_ROLES = frozenset(Role) - {Role.DEVICE}
# Which roles each role may grant (and so manage). The scope rule narrows it to schools.
GRANTS: Mapping[Role, frozenset[Role]] = MappingProxyType(
    {Role.SCHOOL_ADMIN: SCHOOL_GRANTED, Role.DISTRICT_ADMIN: PEOPLE_ROLES}
)
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$|^[^@\s]+@[^@\s]+$")
PHONE = re.compile(r"^\+[1-9][0-9]{6,14}$")  # E.164
PASSWORD_MIN_LENGTH = 8


class AccountSource(StrEnum):
    """Where an account came from, and so who keeps it up to date."""

    LOCAL = "local"  # created by an admin or the operator; signs in with a password
    ROSTER = "roster"  # imported from the student information system (OneRoster)
    SSO = "sso"  # created at its first single sign-on; the identity provider keeps it


@dataclass(frozen=True, slots=True)
class Account:
    """What an admin sees of a user: no hashes, no secrets."""

    id: str
    email: str
    name: str
    role: Role
    agency_id: str | None
    school_ids: tuple[str, ...]
    disabled: bool
    second_factor: bool
    source: AccountSource = AccountSource.LOCAL
    external_id: str | None = None  # the roster's sourcedId, for roster accounts
    created_at: datetime | None = None
    # E.164; SROs and school admins are texted and called here about their schools' alerts.
    phone: str | None = None


@dataclass(frozen=True, slots=True)
class Affiliation:
    """A role with the schools or the agency it acts for."""

    role: Role
    school_ids: tuple[str, ...] = ()
    agency_id: str | None = None

    def normalize(self) -> Affiliation:
        """Sorted, unique schools; refuse a shape that does not fit the role."""
        school_ids = tuple(sorted(set(self.school_ids)))
        check_affiliation(self.role, school_ids=school_ids, agency_id=self.agency_id)
        return Affiliation(self.role, school_ids, self.agency_id)


@dataclass(frozen=True, slots=True)
class AffiliationPatch:
    """Part of an affiliation, as an admin sends it; None (and `agency_given` False) leaves
    a part as it is. A new role starts from what is sent: the old role's schools or agency
    do not carry over to it."""

    role: Role | None = None
    school_ids: tuple[str, ...] | None = None
    agency_id: str | None = None
    agency_given: bool = False

    def applied_to(self, account: Account) -> Affiliation:
        role = self.role or account.role
        if role is not account.role:
            return Affiliation(role, self.school_ids or (), self.agency_id)
        schools = self.school_ids if self.school_ids is not None else account.school_ids
        agency = self.agency_id if self.agency_given else account.agency_id
        return Affiliation(role, schools, agency)


@dataclass(frozen=True, slots=True)
class AccountChange:
    """What an admin changes of an account; None leaves a part as it is."""

    name: str | None = None
    affiliation: Affiliation | None = None
    disabled: bool | None = None
    changed: dict[str, object] = field(default_factory=dict)  # filled by `changes_of`
    phone: str | None = None  # "" removes the number


def normalize_email(text: str, *, field_name: str = "email") -> str:
    """E-mail addresses are usernames: compared without case or surrounding space."""
    email = text.strip().lower()
    if len(email) > 254 or not EMAIL.fullmatch(email):
        raise ValidationFailed(field_name, "not an e-mail address")
    return email


def normalize_phone(text: str, *, field_name: str = "phone") -> str | None:
    """A phone number in E.164 (+15551234567), spaces, dots, dashes and brackets dropped;
    None for an empty one (no number)."""
    number = re.sub(r"[\s().-]", "", text)
    if not number:
        return None
    if not PHONE.fullmatch(number):
        raise ValidationFailed(field_name, "a phone number in E.164 form, like +15551234567")
    return number


def check_password(password: str, *, field_name: str = "password") -> None:
    if len(password) < PASSWORD_MIN_LENGTH:
        raise ValidationFailed(field_name, f"at least {PASSWORD_MIN_LENGTH} characters, please")
    if len(password) > 1024:
        raise ValidationFailed(field_name, "at most 1024 characters")


def check_affiliation(role: Role, *, school_ids: Collection[str], agency_id: str | None) -> None:
    """Each role's affiliation: schools, an agency, or (district admins) neither."""
    if role is Role.DEVICE:
        raise ValidationFailed("role", "devices are registered under /v1/devices")
    if role in AGENCY_ROLES:
        if agency_id is None:
            raise ValidationFailed("agency_id", f"a {role.value} belongs to an agency")
        if school_ids:
            raise ValidationFailed("school_ids", "a dispatcher's schools are its agency's")
        return
    if agency_id is not None:
        raise ValidationFailed("agency_id", f"a {role.value} does not belong to an agency")
    if role is Role.DISTRICT_ADMIN:
        if school_ids:
            raise ValidationFailed("school_ids", "a district admin has every school")
    elif not school_ids:
        raise ValidationFailed("school_ids", f"a {role.value} belongs to at least one school")


def require_manage_accounts(principal: Principal) -> None:
    """Forbidden unless the principal's role manages accounts at all."""
    if authorize(principal, Action.MANAGE_USERS) is not Verdict.ALLOW:
        raise Forbidden("not allowed to manage users")


def check_may_grant(principal: Principal, affiliation: Affiliation) -> None:
    """May `principal` give someone this role at these schools? NotFound for a school
    outside its own (as if it did not exist), Forbidden for a role it may not grant."""
    require_manage_accounts(principal)
    if principal.school_ids is None:
        return
    if affiliation.role not in GRANTS.get(principal.role, frozenset()):
        raise Forbidden(f"only a district admin may make someone a {affiliation.role.value}")
    for school_id in affiliation.school_ids:
        if not principal.covers(school_id):
            raise NotFound("school", school_id)


def check_may_manage(principal: Principal, account: Account) -> None:
    """May `principal` manage this account? NotFound when the account is outside its scope
    (its existence does not leak), Forbidden when it sees the account but may not manage."""
    if principal.school_ids is not None:
        in_scope = bool(account.school_ids) and set(account.school_ids) <= principal.school_ids
        if account.role not in SCHOOL_GRANTED or not in_scope:
            raise NotFound("user", account.id)
    require_manage_accounts(principal)


def changes_of(account: Account, change: AccountChange) -> dict[str, object]:
    """The parts `change` really changes, as {field: new value} (for the audit trail)."""
    changed: dict[str, object] = {}
    if change.name is not None and change.name != account.name:
        changed["name"] = change.name
    if change.affiliation is not None:
        new = change.affiliation
        if new.role is not account.role:
            changed["role"] = new.role.value
        if new.school_ids != account.school_ids:
            changed["school_ids"] = list(new.school_ids)
        if new.agency_id != account.agency_id:
            changed["agency_id"] = new.agency_id
    if change.disabled is not None and change.disabled != account.disabled:
        changed["disabled"] = change.disabled
    if change.phone is not None and (change.phone or None) != account.phone:
        changed["phone"] = change.phone or None
    return changed


def principal_of(account: Account, *, agency_school_ids: frozenset[str]) -> Principal:
    """Who an enabled account is when it signs in: its role and the schools it acts for."""
    if account.role is Role.DISTRICT_ADMIN:
        schools: frozenset[str] | None = None
    elif account.role in AGENCY_ROLES:
        schools = agency_school_ids
    else:
        schools = frozenset(account.school_ids)
    actor = Actor(id=account.id, name=account.name, kind=ActorKind.USER, role=account.role.value)
    return Principal(actor=actor, role=account.role, school_ids=schools)
