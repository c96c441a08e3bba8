"""/v1/schools and /v1/sites: the site tree, its IMDF archive (out and in), and loading site
documents. Changes go through `AlertService.load_site` and `SiteService`."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Query
from starlette.responses import Response

from alertd.adapters import codec
from alertd.adapters.http.deps import Ctx, HttpContext, Who
from alertd.adapters.http.response import OrjsonResponse
from alertd.adapters.imdf.archive import read_uploaded_archive, write_archive
from alertd.adapters.imdf.reader import read_imdf
from alertd.adapters.imdf.writer import imdf_documents, imdf_id
from alertd.adapters.wire import v1
from alertd.adapters.wire.site import SiteDocument
from alertd.app.service import require
from alertd.core.errors import NotFound
from alertd.core.permission import Action, Principal, Verdict, authorize
from alertd.core.site import School

router = APIRouter(prefix="/v1", tags=["sites"])

SchoolId = Annotated[str, Path(min_length=1, max_length=64)]
_NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"model": v1.ErrorBody, "description": "no such school"}
}


@router.get("/schools", response_model=v1.SchoolList, summary="The schools")
async def list_schools(ctx: Ctx, principal: Who) -> OrjsonResponse:
    schools = [
        s
        for s in await ctx.store.schools()
        if authorize(principal, Action.VIEW_SITE, school_id=s.id) is Verdict.ALLOW
    ]
    return OrjsonResponse({"schools": [{"id": s.id, "name": s.name} for s in schools]})


async def _school(ctx: HttpContext, school_id: str, principal: Principal) -> School:
    verdict = authorize(principal, Action.VIEW_SITE, school_id=school_id)
    school = await ctx.store.school(school_id) if verdict is not Verdict.HIDDEN else None
    if school is None:
        raise NotFound("school", school_id)
    require(verdict, what="school", ident=school_id, action=Action.VIEW_SITE)
    return school


@router.get(
    "/schools/{school_id}",
    response_model=v1.SchoolTree,
    responses=_NOT_FOUND,
    summary="A school's site tree: buildings, floors, rooms, with geometry",
)
async def school_tree(school_id: SchoolId, ctx: Ctx, principal: Who) -> OrjsonResponse:
    return OrjsonResponse(site_tree(await _school(ctx, school_id, principal)))


@router.get(
    "/schools/{school_id}/imdf",
    response_class=Response,
    responses={
        200: {
            "content": {"application/zip": {}},
            "description": "an IMDF archive: manifest.json, address, venue, building, "
            "footprint, level and unit .geojson files",
        },
        **_NOT_FOUND,
    },
    summary="The school's floor plans as an IMDF archive (zip)",
)
async def school_imdf(school_id: SchoolId, ctx: Ctx, principal: Who) -> Response:
    school = await _school(ctx, school_id, principal)
    archive = write_archive(imdf_documents(school, now=ctx.clock.now()))
    return Response(
        archive,
        media_type="application/zip",
        headers={"Content-Disposition": f'attachment; filename="{school.id}-imdf.zip"'},
    )


@router.put(
    "/schools/{school_id}/imdf",
    response_model=v1.FloorPlansImported,
    responses={
        403: {"model": v1.ErrorBody, "description": "not an admin of this school"},
        422: {
            "model": v1.ErrorBody,
            "description": "not an IMDF archive; `field` and the "
            "message name the file or feature at fault",
        },
    },
    summary="Replace (or create) a school's buildings, floors and rooms from an IMDF archive",
)
async def import_school_imdf(
    school_id: SchoolId,
    ctx: Ctx,
    principal: Who,
    archive: Annotated[
        bytes, Body(media_type="application/zip", description="the IMDF archive (zip)")
    ],
    name: Annotated[
        str | None, Query(min_length=1, max_length=200, description="needed for a new school")
    ] = None,
    district_id: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
    timezone: Annotated[str, Query(min_length=1, max_length=64)] = "UTC",
) -> OrjsonResponse:
    files = read_uploaded_archive(archive)
    done = await ctx.sites.import_floor_plans(
        lambda existing: read_imdf(files, school_id=school_id, existing=existing, imdf_id=imdf_id),
        principal=principal,
        school_id=school_id,
        school_name=name,
        district_id=district_id,
        timezone=timezone,
        detail={"imdf": "uploaded"},
    )
    counts = done.plans.counts
    answer = v1.FloorPlansImported(
        school_id=done.school.id,
        name=done.school.name,
        created=done.created,
        buildings=counts["buildings"],
        levels=counts["levels"],
        units=counts["units"],
        skipped=list(done.plans.skipped),
    )
    return OrjsonResponse(answer.model_dump(mode="json"))


@router.post(
    "/sites",
    response_model=v1.SiteLoaded,
    responses={422: {"model": v1.ErrorBody, "description": "invalid site document"}},
    summary="Create or replace the schools of a site document",
)
async def load_site(document: SiteDocument, ctx: Ctx, principal: Who) -> OrjsonResponse:
    site = document.to_site()
    await ctx.alerts.load_site(site, principal=principal)
    rooms = sum(len(s.places()) for s in site.schools)
    return OrjsonResponse(
        {"district_id": site.district.id, "schools": [s.id for s in site.schools], "rooms": rooms}
    )


def site_tree(school: School) -> dict[str, Any]:
    """The school's site document, minus its contacts' phone numbers, with each room naming
    its floor and building so that a client can place it without walking the tree."""
    tree = codec.school_to_dict(school)
    del tree["contacts"]
    tree["district_id"] = school.district_id
    for building in tree["buildings"]:
        for floor in building["floors"]:
            for room in floor["rooms"]:
                room["floor"] = floor["id"]
                room["building"] = building["id"]
    return tree
