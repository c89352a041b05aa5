"""The run queue (server/code_queue.py) on a real Valkey: two CodeRunners, each with its own
client, stand for two server processes sharing one store. A tenant's bound holds across them,
another tenant is not held up, a dead process's lease stops counting at its expiry, a lease held
long is renewed, a lease is released however its run ends, and a run's lease lasts longer than
the longest run the sandbox allows it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis

from pipeline.coding.sandbox import Limits, TestCase, available_languages
from server.code_queue import CodeRunner, QueueFull, lease_ttl_s
from server.storage import keys
from server.storage.store import Redis

TENANT, OTHER = "ten_queue_a", "ten_queue_b"


@pytest.fixture
async def clients(valkey_url: str) -> AsyncIterator[tuple[Redis, Redis]]:
    first = aioredis.from_url(valkey_url, decode_responses=True)
    second = aioredis.from_url(valkey_url, decode_responses=True)
    await first.flushdb()
    yield first, second
    await first.aclose()
    await second.aclose()


async def test_the_tenants_bound_holds_across_processes(clients: tuple[Redis, Redis]) -> None:
    one, two = CodeRunner(clients[0], 1, 2), CodeRunner(clients[1], 1, 2)
    first = await one.take(TENANT, 60)
    await two.take(TENANT, 60)
    for runner in (one, two):
        with pytest.raises(QueueFull):
            await runner.take(TENANT, 60)
        assert await runner.in_flight(TENANT) == 2
    # Another tenant is not queued behind this one, in either process.
    await one.take(OTHER, 60)
    await two.take(OTHER, 60)
    # A run ending in one process frees a place for the other's.
    await one.release(TENANT, first)
    assert await two.in_flight(TENANT) == 1
    await two.take(TENANT, 60)
    # The key goes with its last lease: an idle tenant leaves nothing behind.
    ttl_ms = await clients[0].pttl(keys.tenant_code_leases(TENANT))
    assert 50_000 < ttl_ms <= 60_000


async def test_a_dead_process_lease_stops_counting_at_its_expiry(
    clients: tuple[Redis, Redis], valkey_url: str
) -> None:
    alive = CodeRunner(clients[1], 1, 2)
    await alive.take(TENANT, 60)  # a live run: the key stays, only the dead lease must go
    dying_client = aioredis.from_url(valkey_url, decode_responses=True)
    dying = CodeRunner(dying_client, 1, 2)
    await dying.take(TENANT, 0.3)  # taken, then the process dies: never released nor renewed
    await dying_client.aclose()
    with pytest.raises(QueueFull):
        await alive.take(TENANT, 60)
    await asyncio.sleep(0.4)
    assert await alive.in_flight(TENANT) == 1
    await alive.take(TENANT, 60)


async def test_a_lease_held_longer_than_its_ttl_is_renewed(clients: tuple[Redis, Redis]) -> None:
    one, two = CodeRunner(clients[0], 1, 1), CodeRunner(clients[1], 1, 1)
    async with one.admitted(TENANT, 0.2):
        await asyncio.sleep(0.6)  # waiting for a core, say: three TTLs
        with pytest.raises(QueueFull):
            await two.take(TENANT, 60)
    assert await two.in_flight(TENANT) == 0
    await two.take(TENANT, 60)


async def test_a_lease_is_released_when_its_run_fails(clients: tuple[Redis, Redis]) -> None:
    one, two = CodeRunner(clients[0], 1, 1), CodeRunner(clients[1], 1, 1)
    with pytest.raises(RuntimeError):
        async with one.admitted(TENANT, 60):
            assert await two.in_flight(TENANT) == 1
            raise RuntimeError("the sandbox broke")
    assert await two.in_flight(TENANT) == 0
    async with two.admitted(TENANT, 60):
        pass


@pytest.mark.skipif(
    "python" not in {lang.id for lang in available_languages()}, reason="no sandbox here"
)
async def test_a_runs_lease_outlasts_its_longest_run(clients: tuple[Redis, Redis]) -> None:
    runner = CodeRunner(clients[0], 1, 1)
    limits = Limits(time_ms=500)
    tests = [TestCase(f"t{n}", "", "1") for n in range(3)]
    # Each test may take its whole wall time: 2 x 0.5 s plus the start-up, three of them.
    assert lease_ttl_s("python", limits, 3) > 3 * (2 * 0.5 + 0.3)
    code = "import time\ntime.sleep(0.3)\nprint(1)\n"
    run = asyncio.create_task(runner.run(TENANT, "python", code, tests, limits=limits))
    key, left_ms = keys.tenant_code_leases(TENANT), None
    for _ in range(200):
        expiries = await clients[1].zrange(key, 0, -1, withscores=True)
        if expiries:
            seconds, micros = await clients[1].time()
            left_ms = float(expiries[0][1]) - (seconds * 1000 + micros // 1000)
            break
        await asyncio.sleep(0.01)
    result = await run
    assert result.status == "ok", result
    assert left_ms is not None
    assert abs(left_ms - lease_ttl_s("python", limits, 3) * 1000) < 1000
    assert await runner.in_flight(TENANT) == 0
