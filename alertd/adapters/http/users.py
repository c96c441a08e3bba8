"""Managing users and API keys. Admins only (Action.MANAGE_USERS).

    POST   /v1/users                   create a user (201)
    GET    /v1/users                   the users of the caller's schools
    POST   /v1/users/{user_id}/api-keys   issue a key acting as that user; shown once (201)
    DELETE /v1/api-keys/{key_id}       revoke a key (204)

A district admin manages everyone. A school admin manages only users whose schools are all
among its own, and never dispatchers (their agency may cover other schools) or district
admins; users it may not manage are answered 404, as if they did not exist.
"""

from __future__ import annotations

import asyncio
from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from typing import Annotated

import sqlalchemy as sa
from fastapi import APIRouter, Path
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Connection
from starlette.responses import Response

from alertd.adapters.auth import passwords
from alertd.adapters.auth.users import (
    AGENCY_ROLES,
    UserRecord,
    UserSummary,
    create_api_key,
    create_user,
    find_api_key,
    find_user,
    find_user_by_email,
    list_users,
    member_schools,
    revoke_api_key,
)
from alertd.adapters.db.audit import append_audit
from alertd.adapters.db.schema import agency_schools, schools
from alertd.adapters.http.deps import Ctx, Who
from alertd.adapters.http.response import OrjsonResponse
from alertd.app.service import require
from alertd.core.audit import AuditEntry
from alertd.core.errors import Forbidden, NotFound, ValidationFailed
from alertd.core.permission import Action, Principal, Role, authorize

router = APIRouter(tags=["users"])

Ident = Annotated[str, Path(min_length=1, max_length=64)]
# Roles only a district admin may hand out.
DISTRICT_GRANTED = frozenset({Role.DISTRICT_ADMIN, *AGENCY_ROLES})


class NewUser(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: str = Field(max_length=254, pattern=r"^[^@\s]+@[^@\s]+$")
    name: str = Field(min_length=1, max_length=200)
    role: Role
    password: str = Field(min_length=8, max_length=1024)
    school_ids: list[str] = Field(default_factory=list, max_length=100)
    agency_id: str | None = Field(default=None, min_length=1, max_length=64)


class NewApiKey(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200, description="What the key is for.")


class UserView(BaseModel):
    id: str
    email: str
    name: str
    role: Role
    agency_id: str | None
    school_ids: list[str]
    disabled: bool
    second_factor: bool


class UserList(BaseModel):
    users: list[UserView]


class ApiKeyIssued(BaseModel):
    id: str
    name: str
    user_id: str
    key: str = Field(description="Shown only now: alertd keeps a hash of it.")


@router.post("/users", status_code=201, response_model=UserView, summary="Create a user")
async def add_user(body: NewUser, ctx: Ctx, principal: Who) -> Response:
    school_ids = sorted(set(body.school_ids))
    _check_shape(body.role, school_ids=school_ids, agency_id=body.agency_id)
    _check_may_grant(principal, role=body.role, school_ids=school_ids)
    email = body.email.strip().lower()
    password_hash = await asyncio.to_thread(passwords.hash_password, body.password)
    now = ctx.clock.now()

    def add(conn: Connection) -> UserSummary:
        _check_references(conn, email=email, school_ids=school_ids, agency_id=body.agency_id)
        user_id = create_user(
            conn,
            email=email,
            name=body.name,
            role=body.role,
            password_hash=password_hash,
            now=now,
            school_ids=school_ids,
            agency_id=body.agency_id,
        )
        detail: dict[str, object] = {
            "email": email,
            "role": body.role.value,
            "school_ids": school_ids,
        }
        if body.agency_id:
            detail["agency_id"] = body.agency_id
        entry = _entry(
            principal, "user.create", user_id, schools=school_ids, detail=detail, now=now
        )
        append_audit(conn, [entry])
        return UserSummary(
            id=user_id,
            email=email,
            name=body.name,
            role=body.role,
            agency_id=body.agency_id,
            school_ids=tuple(school_ids),
            disabled=False,
            second_factor=False,
        )

    async with ctx.db.write() as session:
        created = await session.run(add)
    return OrjsonResponse(_view(created), status_code=201)


@router.get("/users", response_model=UserList, summary="The users the caller manages")
async def users_list(ctx: Ctx, principal: Who) -> Response:
    require(
        authorize(principal, Action.MANAGE_USERS),
        what="users",
        ident="",
        action=Action.MANAGE_USERS,
    )
    found = await ctx.db.read(lambda conn: list_users(conn, school_ids=principal.school_ids))
    return OrjsonResponse({"users": [_view(u) for u in found]})


@router.post(
    "/users/{user_id}/api-keys",
    status_code=201,
    response_model=ApiKeyIssued,
    summary="Issue an API key that acts as this user (the key is shown once)",
)
async def add_api_key(user_id: Ident, body: NewApiKey, ctx: Ctx, principal: Who) -> Response:
    now = ctx.clock.now()

    def issue(conn: Connection) -> dict[str, str]:
        target_schools = _managed_user(conn, principal, user_id)
        record, raw_key = create_api_key(conn, user_id=user_id, name=body.name, now=now)
        detail = {"user_id": user_id, "name": body.name}
        entry = _entry(
            principal, "api_key.create", record.id, schools=target_schools, detail=detail, now=now
        )
        append_audit(conn, [entry])
        return {"id": record.id, "name": record.name, "user_id": user_id, "key": raw_key}

    async with ctx.db.write() as session:
        issued = await session.run(issue)
    return OrjsonResponse(issued, status_code=201)


@router.delete("/api-keys/{key_id}", status_code=204, summary="Revoke an API key")
async def remove_api_key(key_id: Ident, ctx: Ctx, principal: Who) -> Response:
    now = ctx.clock.now()

    def revoke(conn: Connection) -> None:
        key = find_api_key(conn, key_id)
        if key is None:
            raise NotFound("api key", key_id)
        try:
            target_schools = _managed_user(conn, principal, key.user_id)
        except NotFound:
            raise NotFound("api key", key_id) from None
        if not key.revoked:
            revoke_api_key(conn, key_id, now=now)
            detail = {"user_id": key.user_id}
            entry = _entry(
                principal, "api_key.revoke", key_id, schools=target_schools, detail=detail, now=now
            )
            append_audit(conn, [entry])

    async with ctx.db.write() as session:
        await session.run(revoke)
    return Response(status_code=204)


# --- rules ---------------------------------------------------------------------------------


def _check_shape(role: Role, *, school_ids: Collection[str], agency_id: str | None) -> None:
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


def _check_may_grant(principal: Principal, *, role: Role, school_ids: Collection[str]) -> None:
    require(
        authorize(principal, Action.MANAGE_USERS),
        what="users",
        ident="",
        action=Action.MANAGE_USERS,
    )
    if principal.school_ids is None:
        return
    if role in DISTRICT_GRANTED:
        raise Forbidden(f"only a district admin may create a {role.value}")
    for school_id in school_ids:
        verdict = authorize(principal, Action.MANAGE_USERS, school_id=school_id)
        require(verdict, what="school", ident=school_id, action=Action.MANAGE_USERS)


def _managed_user(conn: Connection, principal: Principal, user_id: str) -> list[str]:
    """The schools of a user `principal` may manage; NotFound when it may not see the user,
    Forbidden when it sees the user but may not manage users at all."""
    user: UserRecord | None = find_user(conn, user_id)
    if user is None:
        raise NotFound("user", user_id)
    target_schools = sorted(member_schools(conn, user_id))
    if principal.school_ids is not None:
        in_scope = bool(target_schools) and set(target_schools) <= principal.school_ids
        if user.role in DISTRICT_GRANTED or not in_scope:
            raise NotFound("user", user_id)
    require(
        authorize(principal, Action.MANAGE_USERS),
        what="user",
        ident=user_id,
        action=Action.MANAGE_USERS,
    )
    return target_schools


def _check_references(
    conn: Connection, *, email: str, school_ids: Collection[str], agency_id: str | None
) -> None:
    if find_user_by_email(conn, email) is not None:
        raise ValidationFailed("email", "already in use")
    if school_ids:
        known = set(
            conn.execute(sa.select(schools.c.id).where(schools.c.id.in_(school_ids))).scalars()
        )
        for school_id in school_ids:
            if school_id not in known:
                raise ValidationFailed("school_ids", f"no school {school_id!r}")
    if agency_id is not None:
        covered = conn.execute(
            sa.select(agency_schools.c.school_id).where(agency_schools.c.agency_id == agency_id)
        ).first()
        if covered is None:
            raise ValidationFailed("agency_id", f"no agency {agency_id!r} covers any school")


def _entry(
    principal: Principal,
    action: str,
    subject: str,
    *,
    schools: Sequence[str],
    detail: Mapping[str, object],
    now: datetime,
) -> AuditEntry:
    """An audit entry by `principal`, filed under the first school it concerns (if any)."""
    return AuditEntry.by(
        principal,
        action,
        at=now,
        school_id=schools[0] if schools else None,
        subject=subject,
        detail=detail,
    )


def _view(user: UserSummary) -> dict[str, object]:
    return UserView(
        id=user.id,
        email=user.email,
        name=user.name,
        role=user.role,
        agency_id=user.agency_id,
        school_ids=list(user.school_ids),
        disabled=user.disabled,
        second_factor=user.second_factor,
    ).model_dump(mode="json")
