"""Operations: liveness, readiness and Prometheus metrics."""

from __future__ import annotations

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


@router.get("/readyz", summary="Readiness: the database answers")
async def readyz(ctx: Ctx) -> OrjsonResponse:
    try:
        await ctx.store.ping()
    except Exception as error:  # any database failure means: not ready, try another instance
        logger.warning("readiness check failed: %s", type(error).__name__)
        return OrjsonResponse({"status": "unavailable", "database": "down"}, status_code=503)
    return OrjsonResponse({"status": "ok", "database": "up"})


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
async def metrics(ctx: Ctx) -> Response:
    return Response(generate_latest(ctx.metrics.registry), media_type=CONTENT_TYPE_LATEST)
