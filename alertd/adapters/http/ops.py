"""Operations: liveness, readiness and Prometheus metrics."""

from __future__ import annotations

import asyncio
import logging

from fastapi import APIRouter
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.responses import Response

from alertd.adapters.http.deps import Ctx
from alertd.adapters.http.response import OrjsonResponse

logger = logging.getLogger(__name__)
router = APIRouter(tags=["operations"])


@router.get("/healthz", summary="Liveness: the process answers")
async def healthz() -> OrjsonResponse:
    return OrjsonResponse({"status": "ok"})


CHECK_SECONDS = 2.0


@router.get(
    "/readyz",
    summary="Readiness: each dependency's state",
    description="`database` and, when configured, `redis`: `up` or `down`. 503 while the "
    "database is down (send traffic elsewhere); 200 `degraded` while only Redis is down "
    "(alerts are still raised and streamed; other instances' events arrive by polling).",
)
async def readyz(ctx: Ctx) -> OrjsonResponse:
    names = list(ctx.dependencies)
    results = await asyncio.gather(*(_check(name, ctx) for name in names))
    states = dict(zip(names, results, strict=True))
    if states.get("database") == "down":
        return OrjsonResponse({"status": "unavailable", **states}, status_code=503)
    status = "ok" if all(state == "up" for state in states.values()) else "degraded"
    return OrjsonResponse({"status": status, **states})


async def _check(name: str, ctx: Ctx) -> str:
    try:
        async with asyncio.timeout(CHECK_SECONDS):
            await ctx.dependencies[name]()
    except Exception as error:  # any failure means: down (the log says which)
        logger.warning("readiness: %s is down (%s)", name, type(error).__name__)
        return "down"
    return "up"


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
async def metrics(ctx: Ctx) -> Response:
    return Response(generate_latest(ctx.metrics.registry), media_type=CONTENT_TYPE_LATEST)
