"""The run queue in front of the sandbox (docs/coding-round.md): admission of a run to it."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from pipeline.coding.sandbox import Sandbox


class QueueFull(Exception):
    pass


class CodeRunner:
    """The sandbox with `concurrency` slots for the whole process (the cores), and at most
    `per_tenant` runs of one tenant queued or running at once: the next is refused (429)."""

    def __init__(self, concurrency: int, per_tenant: int) -> None:
        self.sandbox = Sandbox(concurrency)
        self.per_tenant = per_tenant
        self._in_flight: dict[str, int] = {}

    def in_flight(self, tenant_id: str) -> int:
        return self._in_flight.get(tenant_id, 0)

    @contextlib.asynccontextmanager
    async def admitted(self, tenant_id: str) -> AsyncIterator[None]:
        if self.in_flight(tenant_id) >= self.per_tenant:
            raise QueueFull(tenant_id)
        self._in_flight[tenant_id] = self.in_flight(tenant_id) + 1
        try:
            yield
        finally:
            left = self._in_flight[tenant_id] - 1
            if left:
                self._in_flight[tenant_id] = left
            else:
                del self._in_flight[tenant_id]
