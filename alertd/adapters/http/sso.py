"""Single sign-on over HTTP: the browser flow, and a district's configuration.

    GET    /v1/auth/oidc                         the districts with single sign-on (public)
    GET    /v1/auth/oidc/{district_id}/login     redirect to the district's provider
    GET    /v1/auth/oidc/callback                the provider's redirect back: session cookie
    GET    /v1/districts/{district_id}/oidc      a district's configuration (district admins)
    PUT    /v1/districts/{district_id}/oidc      create or replace it
    DELETE /v1/districts/{district_id}/oidc      turn single sign-on off

The flow's state, nonce and PKCE verifier wait for the callback in a signed, HttpOnly cookie
(SameSite=Lax: the callback is a top-level navigation from the provider's site), valid for
ten minutes. The callback ends with the same session cookie and CSRF token as
POST /v1/auth/session, then redirects to `next` (a path on this server).
"""

from __future__ import annotations

import hmac
from datetime import timedelta
from typing import Annotated, Any

import jwt
from fastapi import APIRouter, Path, Query, Request
from starlette.responses import RedirectResponse, Response

from alertd.adapters.http.deps import Ctx, HttpContext, Who
from alertd.adapters.http.login import open_session, secret_of
from alertd.adapters.http.response import OrjsonResponse
from alertd.adapters.wire import accounts as wire
from alertd.adapters.wire.v1 import ErrorBody
from alertd.core.account import Affiliation
from alertd.core.errors import Unauthenticated
from alertd.core.sso import ClaimRule, OidcProvider

router = APIRouter(tags=["single sign-on"])

FLOW_COOKIE = "alertd_oidc"
FLOW_LIFETIME = timedelta(minutes=10)
CALLBACK_PATH = "/v1/auth/oidc/callback"
DistrictId = Annotated[str, Path(min_length=1, max_length=64)]
_ERRORS: dict[int | str, dict[str, Any]] = {
    403: {"model": ErrorBody, "description": "not a district admin"},
    404: {"model": ErrorBody, "description": "no such district, or no single sign-on"},
}


def redirect_uri(ctx: HttpContext, request: Request) -> str:
    base = ctx.settings.public_url.rstrip("/") or str(request.base_url).rstrip("/")
    return base + CALLBACK_PATH


@router.get(
    "/auth/oidc", response_model=wire.SignInOptions, summary="The districts with single sign-on"
)
async def sign_in_options(ctx: Ctx) -> OrjsonResponse:
    providers = await ctx.sso.providers()
    options = [
        wire.SignInOption(
            district_id=p.district_id,
            display_name=p.display_name,
            login_url=f"/v1/auth/oidc/{p.district_id}/login",
        )
        for p in providers
    ]
    return OrjsonResponse(wire.SignInOptions(providers=options).model_dump())


@router.get(
    "/auth/oidc/{district_id}/login",
    status_code=303,
    responses={404: _ERRORS[404]},
    summary="Start signing in with the district's identity provider (a redirect)",
)
async def oidc_login(
    district_id: DistrictId,
    request: Request,
    ctx: Ctx,
    next: Annotated[str, Query(max_length=500)] = "/",
) -> Response:
    started = await ctx.sso.start(district_id, redirect_uri=redirect_uri(ctx, request))
    now = ctx.clock.now()
    flow = {
        "district_id": district_id,
        "state": started.state,
        "nonce": started.nonce,
        "verifier": started.code_verifier,
        "next": next if next.startswith("/") and not next.startswith("//") else "/",
        "exp": int((now + FLOW_LIFETIME).timestamp()),
    }
    response = RedirectResponse(started.url, status_code=303)
    response.set_cookie(
        FLOW_COOKIE,
        jwt.encode(flow, _flow_key(ctx), algorithm="HS256"),
        max_age=int(FLOW_LIFETIME.total_seconds()),
        httponly=True,
        secure=not ctx.settings.dev_mode,
        samesite="lax",
        path=CALLBACK_PATH,
    )
    return response


@router.get(
    "/auth/oidc/callback",
    status_code=303,
    responses={401: {"model": ErrorBody, "description": "the sign-on did not check out"}},
    summary="Where the identity provider sends the browser back; ends in a console session",
)
async def oidc_callback(
    request: Request,
    ctx: Ctx,
    code: Annotated[str, Query(max_length=2000)] = "",
    state: Annotated[str, Query(max_length=500)] = "",
    error: Annotated[str, Query(max_length=200)] = "",
) -> Response:
    flow = _flow_of(ctx, request.cookies.get(FLOW_COOKIE, ""))
    if error:
        raise Unauthenticated(f"the identity provider refused: {error}")
    if not code or not hmac.compare_digest(state.encode(), str(flow["state"]).encode()):
        raise Unauthenticated("this sign-in was not started here, or it expired: start again")
    signed = await ctx.sso.finish(
        str(flow["district_id"]),
        redirect_uri=redirect_uri(ctx, request),
        code=code,
        code_verifier=str(flow["verifier"]),
        nonce=str(flow["nonce"]),
    )
    response = open_session(
        ctx, signed, lambda _csrf: RedirectResponse(str(flow["next"]), status_code=303)
    )
    response.delete_cookie(FLOW_COOKIE, path=CALLBACK_PATH)
    return response


def _flow_key(ctx: HttpContext) -> str:
    return f"oidc-flow:{secret_of(ctx)}"


def _flow_of(ctx: HttpContext, cookie: str) -> dict[str, Any]:
    if not cookie:
        raise Unauthenticated("this sign-in was not started here, or it expired: start again")
    try:
        flow: dict[str, Any] = jwt.decode(
            cookie, _flow_key(ctx), algorithms=["HS256"], options={"verify_exp": False}
        )
    except jwt.InvalidTokenError:
        raise Unauthenticated("this sign-in was not started here: start again") from None
    if int(flow.get("exp", 0)) <= ctx.clock.now().timestamp():
        raise Unauthenticated("this sign-in took too long: start again")
    return flow


# --- a district's configuration ----------------------------------------------------------


def _provider_out(ctx: HttpContext, request: Request, provider: OidcProvider) -> dict[str, Any]:
    return wire.OidcProviderOut(
        district_id=provider.district_id,
        issuer=provider.issuer,
        client_id=provider.client_id,
        allowed_domains=list(provider.allowed_domains),
        rules=[
            wire.ClaimRuleOut(
                claim=r.claim,
                value=r.value,
                role=r.affiliation.role,
                school_ids=list(r.affiliation.school_ids),
                agency_id=r.affiliation.agency_id,
            )
            for r in provider.rules
        ],
        create_accounts=provider.create_accounts,
        display_name=provider.display_name,
        redirect_uri=redirect_uri(ctx, request),
    ).model_dump(mode="json")


@router.get(
    "/districts/{district_id}/oidc",
    response_model=wire.OidcProviderOut,
    responses=_ERRORS,
    summary="A district's single sign-on (the client secret is never shown)",
)
async def get_provider(
    district_id: DistrictId, request: Request, ctx: Ctx, principal: Who
) -> OrjsonResponse:
    provider = await ctx.sso.provider(district_id, principal=principal)
    return OrjsonResponse(_provider_out(ctx, request, provider))


@router.put(
    "/districts/{district_id}/oidc",
    response_model=wire.OidcProviderOut,
    responses=_ERRORS,
    summary="Create or replace a district's single sign-on",
)
async def put_provider(
    district_id: DistrictId,
    body: wire.OidcProviderIn,
    request: Request,
    ctx: Ctx,
    principal: Who,
) -> OrjsonResponse:
    provider = OidcProvider(
        district_id=district_id,
        issuer=body.issuer,
        client_id=body.client_id,
        client_secret=body.client_secret,
        allowed_domains=tuple(body.allowed_domains),
        rules=tuple(
            ClaimRule(r.claim, r.value, Affiliation(r.role, tuple(r.school_ids), r.agency_id))
            for r in body.rules
        ),
        create_accounts=body.create_accounts,
        display_name=body.display_name,
    )
    saved = await ctx.sso.configure(provider, principal=principal)
    return OrjsonResponse(_provider_out(ctx, request, saved))


@router.delete(
    "/districts/{district_id}/oidc",
    status_code=204,
    responses=_ERRORS,
    summary="Turn a district's single sign-on off (password sign-in stays)",
)
async def delete_provider(district_id: DistrictId, ctx: Ctx, principal: Who) -> Response:
    await ctx.sso.remove(district_id, principal=principal)
    return Response(status_code=204)
