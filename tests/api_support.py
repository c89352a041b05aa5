"""Helpers for the REST API tests: the real app (embedded Valkey, no models) in a TestClient."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

from starlette.testclient import TestClient

from server.app import create_app
from server.settings import Settings
from server.storage.store import Redis
from server.tenants import create_tenant

T = TypeVar("T")


@dataclass
class Api:
    client: TestClient

    @property
    def redis(self) -> Redis:
        return self.client.app.state.services.store.redis  # type: ignore[attr-defined]

    def run(self, fn: Callable[..., Awaitable[T]], *args: Any) -> T:
        """Run a coroutine function on the app's own event loop."""
        assert self.client.portal is not None
        return self.client.portal.call(fn, *args)

    def tenant(self, name: str = "Acme") -> dict[str, str]:
        """A new tenant; returns the headers that authenticate as it."""
        tenant, api_key = self.run(create_tenant, self.redis, name)
        return {"X-API-Key": api_key, "X-Tenant-Id": tenant.id}

    def scan(self, pattern: str) -> list[str]:
        async def keys() -> list[str]:
            return [k async for k in self.redis.scan_iter(match=pattern)]

        return self.run(keys)


@contextmanager
def running_app(settings: Settings) -> Iterator[Api]:
    with TestClient(create_app(settings)) as client:
        yield Api(client)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
