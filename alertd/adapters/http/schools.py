"""/v1/schools and /v1/sites: the site tree, its IMDF export, and loading site documents."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Path

from alertd.adapters import codec
from alertd.adapters.http.deps import Ctx, HttpContext, Who
from alertd.adapters.http.response import OrjsonResponse
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
    responses=_NOT_FOUND,
    summary="The school as an IMDF FeatureCollection (venue, building, level, unit)",
)
async def school_imdf(school_id: SchoolId, ctx: Ctx, principal: Who) -> OrjsonResponse:
    return OrjsonResponse(imdf_features(await _school(ctx, school_id, principal)))


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


# IMDF unit categories for our room types (IMDF 1.0 "unit" category list).
_IMDF_UNIT = {
    "classroom": "classroom",
    "lab": "laboratory",
    "office": "office",
    "gym": "fitnessroom",
    "cafeteria": "foodservice",
    "library": "library",
    "auditorium": "auditorium",
    "restroom": "restroom",
    "corridor": "walkway",
    "stairwell": "stairs",
    "nurse": "firstaid",
    "storage": "storage",
    "other": "room",
}

_IMDF_NAMESPACE = uuid.UUID("6f1f0c4e-5f2b-4a8e-9a61-1c3d2b7e9a10")


def _imdf_id(ident: str) -> str:
    """IMDF ids are UUIDs; ours are slugs, so derive a stable UUID from each."""
    return str(uuid.uuid5(_IMDF_NAMESPACE, ident))


def imdf_features(school: School) -> dict[str, Any]:
    venue_id = _imdf_id(school.id)
    features: list[dict[str, Any]] = [
        _feature(venue_id, "venue", None, {"category": "education", "name": {"en": school.name}})
    ]
    for building in school.buildings:
        building_id = _imdf_id(building.id)
        features.append(
            _feature(
                building_id,
                "building",
                None,
                {"name": {"en": building.name}, "category": "unspecified"},
            )
        )
        for floor in building.floors:
            level_id = _imdf_id(floor.id)
            level = {
                "name": {"en": floor.name},
                "short_name": {"en": str(floor.ordinal + 1)},
                "ordinal": floor.ordinal,
                "category": "unspecified",
                "outdoor": False,
                "building_ids": [building_id],
                "alertd_id": floor.id,
            }
            features.append(_feature(level_id, "level", floor.outline, level))
            for room in floor.rooms:
                unit = {
                    "category": _IMDF_UNIT[room.type.value],
                    "name": {"en": room.name},
                    "alt_name": {"en": room.number},
                    "level_id": level_id,
                    "alertd_id": room.id,
                }
                features.append(_feature(_imdf_id(room.id), "unit", room.geometry, unit))
    return {"type": "FeatureCollection", "features": features}


def _feature(
    ident: str, feature_type: str, geometry: Any, properties: dict[str, Any]
) -> dict[str, Any]:
    return {
        "id": ident,
        "type": "Feature",
        "feature_type": feature_type,
        "geometry": dict(geometry) if geometry is not None else None,
        "properties": properties,
    }
