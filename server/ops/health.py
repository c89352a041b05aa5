"""Liveness, readiness and metrics endpoints.

`/readyz` is 200 when Redis answers, every model is loaded and the recordings' store can be used
(an S3 store answers a one-key listing of the bucket within `STORAGE_CHECK_TIMEOUT_S`; a local
directory is writable); otherwise 503, with `failing` naming what is not ready. A load balancer
then sends no new interviews to a process that could not record them.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from server.ops import metrics
from server.services import Services
from server.settings import Settings
from server.storage.objectstore import open_store

log = logging.getLogger(__name__)

# Above the S3 probe's own connect and read timeouts (objectstore.PROBE_*): the answer comes
# within this even when the store's host drops packets rather than refusing.
STORAGE_CHECK_TIMEOUT_S = 3.0
# Last answer per store, so an outage is logged when it starts and ends, not at every check.
_storage_was_ready: dict[str, bool] = {}


async def healthz(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


def _error_name(exc: BaseException) -> str:
    """What went wrong, without the store's address or anything from the credentials: the
    exception's class, and an S3 error's code (NoSuchBucket, AccessDenied...)."""
    name = type(exc).__name__
    response = getattr(exc, "response", None)
    code = response.get("Error", {}).get("Code") if isinstance(response, dict) else None
    return f"{name}: {code}" if code and code != name else name


async def storage_status(settings: Settings) -> dict[str, Any]:
    """Whether the recordings' store (VIVA_STORAGE_URL, else VIVA_DATA_DIR) can be used now."""
    kind = "s3" if settings.storage_url else "local"
    where = settings.storage_url or str(settings.data_dir)
    if settings.s3_endpoint and settings.storage_url:
        where += f" at {settings.s3_endpoint}"
    try:
        store = open_store(settings)
        await asyncio.wait_for(asyncio.to_thread(store.check), STORAGE_CHECK_TIMEOUT_S)
    except Exception as exc:  # any S3, network or file-system error, or the timeout
        if _storage_was_ready.get(where, True):
            log.warning("recordings' store %s is not ready: %r", where, exc)
        _storage_was_ready[where] = False
        metrics.STORAGE_READY.set(0)
        return {"ready": False, "kind": kind, "error": _error_name(exc)}
    if not _storage_was_ready.get(where, True):
        log.warning("recordings' store %s is ready again", where)
    _storage_was_ready[where] = True
    metrics.STORAGE_READY.set(1)
    return {"ready": True, "kind": kind}


async def readyz(request: Request) -> Response:
    services: Services = request.app.state.services
    redis_ok, storage = await asyncio.gather(
        services.store.ping(), storage_status(services.settings)
    )
    models = services.models.status()
    models_ok = services.models.ready()
    metrics.MODELS_READY.set(1 if models_ok else 0)
    failing = [
        name
        for name, ok in (("redis", redis_ok), ("models", models_ok), ("storage", storage["ready"]))
        if not ok
    ]
    body = {
        "ready": not failing,
        "failing": failing,
        "redis": {"ready": redis_ok, "embedded": services.store.embedded},
        "models": models,
        "storage": storage,
    }
    return JSONResponse(body, status_code=503 if failing else 200)


async def metrics_endpoint(request: Request) -> Response:
    payload, content_type = metrics.render()
    return Response(payload, media_type=content_type)


routes = [
    Route("/healthz", healthz, methods=["GET"]),
    Route("/readyz", readyz, methods=["GET"]),
    Route("/metrics", metrics_endpoint, methods=["GET"]),
]
