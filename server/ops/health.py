"""Liveness, readiness and metrics endpoints."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from server.ops import metrics
from server.services import Services


async def healthz(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> Response:
    services: Services = request.app.state.services
    redis_ok = await services.store.ping()
    models = services.models.status()
    ready = redis_ok and services.models.ready()
    metrics.MODELS_READY.set(1 if services.models.ready() else 0)
    body = {
        "ready": ready,
        "redis": {"ready": redis_ok, "embedded": services.store.embedded},
        "models": models,
    }
    return JSONResponse(body, status_code=200 if ready else 503)


async def metrics_endpoint(request: Request) -> Response:
    payload, content_type = metrics.render()
    return Response(payload, media_type=content_type)


routes = [
    Route("/healthz", healthz, methods=["GET"]),
    Route("/readyz", readyz, methods=["GET"]),
    Route("/metrics", metrics_endpoint, methods=["GET"]),
]
