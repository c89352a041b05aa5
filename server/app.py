"""The ASGI application: `create_app()` (uvicorn's factory) wires settings, store and models."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import AsyncIterator

from starlette.applications import Starlette

from models.registry import ModelRegistry
from server import api, embed, phone, stream
from server.compat.routes import ROOM_ROUTES as COMPAT_ROOM_ROUTES
from server.expiry import ExpiryWorker
from server.ops import health, startup
from server.runtime import VoiceRuntime
from server.services import Services, model_config
from server.settings import Settings, get_settings
from server.storage import migrate
from server.storage.store import Store
from server.webhooks import WebhookWorker

log = logging.getLogger(__name__)


def create_app(settings: Settings | None = None, models: ModelRegistry | None = None) -> Starlette:
    """Build the app. `models` lets tests share one loaded registry across app instances."""
    settings = settings or get_settings()
    registry = models or ModelRegistry(model_config(settings))
    embed.install_log_redaction()

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        store = Store(settings.redis_url, settings.data_dir)
        await store.open()
        try:  # key names of another version (`viva migrate-keys`): refuse to start
            await migrate.ensure_schema(store.redis)
        except Exception:
            await store.close()
            raise
        services = Services(settings=settings, store=store, models=registry)
        app.state.services = services
        runtime = app.state.voice_runtime = VoiceRuntime(services)
        webhook_worker = WebhookWorker(store.redis, settings)
        webhook_worker.start()
        expiry_worker = ExpiryWorker(services)
        expiry_worker.start()
        preload: asyncio.Future[None] | None = None
        if settings.preload_models:
            # Off the event loop, so /healthz answers while the models load.
            # One progress line per model: which, and how long it took (server/ops/startup.py).
            load = functools.partial(startup.load_models, registry)
            preload = asyncio.get_running_loop().run_in_executor(None, load)
        try:
            yield
        finally:
            await runtime.close()
            await expiry_worker.stop()
            await webhook_worker.stop()
            if preload is not None and not preload.done():
                with contextlib.suppress(Exception):
                    await preload
            await store.close()

    return Starlette(
        routes=[
            *health.routes,
            *stream.routes,
            *COMPAT_ROOM_ROUTES,  # before the native room: a OneCompiler user's token opens it
            *embed.routes,
            *api.routes(),
            *phone.routes,
        ],
        lifespan=lifespan,
    )
