"""Managing people's accounts and API keys: HTTP in, `AccountService` out.

    POST   /v1/users                        create a user (201)
    GET    /v1/users                        the users the caller manages (?school=)
    GET    /v1/users/{user_id}              one of them
    PATCH  /v1/users/{user_id}              rename, another role, other schools
    POST   /v1/users/{user_id}/disable      disable: every token and session ends
    POST   /v1/users/{user_id}/enable       enable again
    POST   /v1/users/{user_id}/sign-out     end every session and token of the user
    DELETE /v1/users/{user_id}/second-factor   reset the second factor (a lost phone)
    POST   /v1/users/{user_id}/api-keys     issue a key acting as that user; shown once (201)
    GET    /v1/api-keys                     the keys of the users the caller manages (?user=)
    DELETE /v1/api-keys/{key_id}            revoke a key (204)

Who may manage whom is `alertd.core.account`'s: users outside the caller's scope answer 404.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from starlette.responses import Response

from alertd.adapters.http.deps import Ctx, Who
from alertd.adapters.http.response import OrjsonResponse
from alertd.adapters.wire import accounts as wire
from alertd.adapters.wire.v1 import ErrorBody
from alertd.app.account_ports import ApiKeyRecord
from alertd.core.account import Account, AccountChange, Affiliation, AffiliationPatch
from alertd.core.errors import ValidationFailed

router = APIRouter(prefix="/v1", tags=["users"])

Ident = Annotated[str, Path(min_length=1, max_length=64)]
_ERRORS: dict[int | str, dict[str, Any]] = {
    403: {"model": ErrorBody, "description": "the role may not do this"},
    404: {"model": ErrorBody, "description": "no such user (or not one the caller manages)"},
    422: {"model": ErrorBody, "description": "invalid input; `field` names it"},
}


def user_out(account: Account) -> dict[str, Any]:
    return wire.UserOut(
        id=account.id,
        email=account.email,
        name=account.name,
        role=account.role,
        agency_id=account.agency_id,
        school_ids=list(account.school_ids),
        disabled=account.disabled,
        second_factor=account.second_factor,
        source=account.source,
        created_at=account.created_at,
        phone=account.phone,
    ).model_dump(mode="json")


@router.post(
    "/users",
    status_code=201,
    response_model=wire.UserOut,
    responses=_ERRORS,
    summary="Create a user",
)
async def add_user(body: wire.NewUserIn, ctx: Ctx, principal: Who) -> Response:
    created = await ctx.accounts.create(
        principal=principal,
        email=body.email,
        name=body.name,
        affiliation=Affiliation(body.role, tuple(body.school_ids), body.agency_id),
        password=body.password,
        phone=body.phone,
    )
    return OrjsonResponse(user_out(created), status_code=201)


@router.get(
    "/users",
    response_model=wire.UserList,
    responses=_ERRORS,
    summary="The users the caller manages, by e-mail",
)
async def users_list(
    ctx: Ctx,
    principal: Who,
    school: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
) -> Response:
    found = await ctx.accounts.list_accounts(principal=principal, school_id=school)
    return OrjsonResponse({"users": [user_out(a) for a in found]})


@router.get("/users/{user_id}", response_model=wire.UserOut, responses=_ERRORS, summary="One user")
async def get_user(user_id: Ident, ctx: Ctx, principal: Who) -> Response:
    return OrjsonResponse(user_out(await ctx.accounts.get(user_id, principal=principal)))


@router.patch(
    "/users/{user_id}",
    response_model=wire.UserOut,
    responses=_ERRORS,
    summary="Rename a user, give them another role or other schools, or another phone number",
)
async def change_user(
    user_id: Ident, body: wire.UserChangeIn, ctx: Ctx, principal: Who
) -> Response:
    fields = body.model_fields_set
    if not fields:
        raise ValidationFailed(
            "body", "send at least one of name, role, school_ids, agency_id, phone"
        )
    patch = None
    if fields & {"role", "school_ids", "agency_id"}:
        patch = AffiliationPatch(
            role=body.role,
            school_ids=tuple(body.school_ids) if body.school_ids is not None else None,
            agency_id=body.agency_id,
            agency_given="agency_id" in fields,
        )
    phone = (body.phone or "") if "phone" in fields else None  # "" or null: no number
    changed = await ctx.accounts.change(
        user_id,
        AccountChange(name=body.name, phone=phone),
        principal=principal,
        patch=patch,
    )
    return OrjsonResponse(user_out(changed))


@router.post(
    "/users/{user_id}/disable",
    response_model=wire.UserOut,
    responses=_ERRORS,
    summary="Disable a user: their tokens, sessions and API keys stop working",
)
async def disable_user(user_id: Ident, ctx: Ctx, principal: Who) -> Response:
    changed = await ctx.accounts.change(user_id, AccountChange(disabled=True), principal=principal)
    return OrjsonResponse(user_out(changed))


@router.post(
    "/users/{user_id}/enable",
    response_model=wire.UserOut,
    responses=_ERRORS,
    summary="Enable a disabled user again (they sign in anew)",
)
async def enable_user(user_id: Ident, ctx: Ctx, principal: Who) -> Response:
    changed = await ctx.accounts.change(user_id, AccountChange(disabled=False), principal=principal)
    return OrjsonResponse(user_out(changed))


@router.post(
    "/users/{user_id}/sign-out",
    status_code=204,
    responses=_ERRORS,
    summary="Sign a user out everywhere: every session and token ends (API keys stay)",
)
async def sign_user_out(user_id: Ident, ctx: Ctx, principal: Who) -> Response:
    await ctx.accounts.sign_out_everywhere(user_id, principal=principal)
    return Response(status_code=204)


@router.delete(
    "/users/{user_id}/second-factor",
    response_model=wire.UserOut,
    responses=_ERRORS,
    summary="Reset a user's second factor: they sign in with the password and enrol again",
)
async def reset_second_factor(user_id: Ident, ctx: Ctx, principal: Who) -> Response:
    return OrjsonResponse(
        user_out(await ctx.accounts.reset_second_factor(user_id, principal=principal))
    )


@router.post(
    "/users/{user_id}/api-keys",
    status_code=201,
    response_model=wire.ApiKeyIssued,
    responses=_ERRORS,
    summary="Issue an API key that acts as this user (the key is shown once)",
)
async def add_api_key(user_id: Ident, body: wire.NewApiKeyIn, ctx: Ctx, principal: Who) -> Response:
    issued = await ctx.accounts.issue_api_key(user_id, name=body.name, principal=principal)
    answer = wire.ApiKeyIssued(
        id=issued.record.id, name=issued.record.name, user_id=user_id, key=issued.key
    )
    return OrjsonResponse(answer.model_dump(mode="json"), status_code=201)


@router.get(
    "/api-keys",
    response_model=wire.ApiKeyList,
    responses=_ERRORS,
    summary="The API keys of the users the caller manages, live ones first",
)
async def api_keys_list(
    ctx: Ctx,
    principal: Who,
    user: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
) -> Response:
    found = await ctx.accounts.api_keys(principal=principal, user_id=user)
    return OrjsonResponse({"api_keys": [_key_out(k, owner) for k, owner in found]})


@router.delete(
    "/api-keys/{key_id}", status_code=204, responses=_ERRORS, summary="Revoke an API key"
)
async def remove_api_key(key_id: Ident, ctx: Ctx, principal: Who) -> Response:
    await ctx.accounts.revoke_api_key(key_id, principal=principal)
    return Response(status_code=204)


def _key_out(key: ApiKeyRecord, owner: Account) -> dict[str, Any]:
    return wire.ApiKeyOut(
        id=key.id,
        name=key.name,
        user_id=key.user_id,
        user_email=owner.email,
        created_at=key.created_at,
        revoked_at=key.revoked_at,
    ).model_dump(mode="json")
