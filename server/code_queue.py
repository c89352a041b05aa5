"""The run queue in front of the sandbox (docs/coding-round.md): admission of a run to it.

Two bounds. The cores: at most `concurrency` jails at once in this process, an asyncio
semaphore in the Sandbox (local: each process has its own cores). The tenant: at most
`per_tenant` runs of one tenant queued or running at once in ALL the processes sharing the
store; the next is refused (429 `run_queue_full`). That bound lives in Redis, one lease per run
in one key per tenant, `viva:tenant:{tenant_id}:code:leases` (server/storage/keys.py): a sorted
set of lease ids scored by their expiry (milliseconds on the store's clock).

A lease expires on its own: a process that dies mid-run does not hold its tenant's slot for
longer than the lease's TTL, which is longer than the longest run the sandbox allows for that
run (`lease_ttl_s`). A run that waits for a core longer than that keeps its lease alive (renewed
at half its TTL while held). A lease is released when the run ends, however it ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import AsyncIterator, Sequence

from redis.exceptions import RedisError

from pipeline.coding.sandbox import COMPILE_TIME_MS, Limits, RunResult, Sandbox, TestCase, language
from server.storage import keys
from server.storage.store import Redis

log = logging.getLogger(__name__)

# Beyond the sandbox's own wall-time limits: jail set-up and tear-down, killing a jail on
# timeout, the work directory's removal, the store's round trips.
LEASE_MARGIN_S = 30.0

# Why a script and not MULTI: taking a lease is read-then-write (drop the expired leases, count
# the live ones, add one if under the bound). A MULTI cannot branch on what it reads, so it
# would need WATCH and a retry loop that, under contention (the very case the bound is for),
# retries; a script runs the check and the add as one atomic step, in one round trip, on the
# one key (one slot on a Redis Cluster). The clock is the store's (TIME): processes whose clocks
# disagree still agree on which leases have expired.
_NOW = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
"""
# The key itself expires with its latest lease: an idle tenant leaves nothing behind.
_KEY_EXPIRY = """
local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
redis.call('PEXPIREAT', KEYS[1], last[2])
"""
# KEYS[1] the tenant's leases; ARGV lease id, TTL in ms, the bound. 1 taken, 0 refused.
_TAKE = (
    _NOW
    + """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then
  return 0
end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
"""
    + _KEY_EXPIRY
    + "return 1\n"
)
# KEYS[1] the tenant's leases; ARGV lease id, TTL in ms. 1 renewed, 0 the lease is gone (it
# expired and another take dropped it): not added back, it may have been given to another run.
_RENEW = (
    _NOW
    + """
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) then
  return 0
end
redis.call('ZADD', KEYS[1], 'XX', now + tonumber(ARGV[2]), ARGV[1])
"""
    + _KEY_EXPIRY
    + "return 1\n"
)


class QueueFull(Exception):
    pass


def lease_ttl_s(language_id: str, limits: Limits, processes: int) -> float:
    """Longer than the longest run: the compilation (if the language has one) and `processes`
    jails (the tests, plus the custom input), each killed at its wall-time limit, twice the
    time limit plus the language's start-up (Sandbox.execute), plus a margin."""
    lang = language(language_id)
    startup_s = lang.startup_ms / 1000
    compile_s = (2 * COMPILE_TIME_MS / 1000 + startup_s) if lang.compile else 0.0
    per_process_s = 2 * limits.time_ms / 1000 + startup_s
    return compile_s + processes * per_process_s + LEASE_MARGIN_S


class CodeRunner:
    """The sandbox with `concurrency` slots for this process (the cores), and at most
    `per_tenant` runs of one tenant queued or running at once across every process sharing
    `redis`: the next is refused (QueueFull, a 429)."""

    def __init__(self, redis: Redis, concurrency: int, per_tenant: int) -> None:
        self.sandbox = Sandbox(concurrency)
        self.redis = redis
        self.per_tenant = per_tenant
        self._take = redis.register_script(_TAKE)
        self._renew = redis.register_script(_RENEW)

    async def in_flight(self, tenant_id: str) -> int:
        """The tenant's live leases, in every process."""
        seconds, micros = await self.redis.time()
        now_ms = seconds * 1000 + micros // 1000
        return int(
            await self.redis.zcount(keys.tenant_code_leases(tenant_id), f"({now_ms}", "+inf")
        )

    async def run(
        self,
        tenant_id: str,
        language_id: str,
        code: str,
        tests: Sequence[TestCase],
        *,
        stdin: str | None = None,
        limits: Limits,
    ) -> RunResult:
        """The run in the sandbox, once admitted; QueueFull when the tenant's bound is reached."""
        ttl_s = lease_ttl_s(language_id, limits, len(tests) + (stdin is not None))
        async with self.admitted(tenant_id, ttl_s):
            return await self.sandbox.run(language_id, code, tests, stdin=stdin, limits=limits)

    @contextlib.asynccontextmanager
    async def admitted(self, tenant_id: str, ttl_s: float) -> AsyncIterator[str]:
        """A lease of the tenant's for the block (its id), kept alive while the block runs,
        released when it ends however it ends; QueueFull when the tenant has none free."""
        lease = await self.take(tenant_id, ttl_s)
        renewal = asyncio.create_task(self._keep(tenant_id, lease, ttl_s))
        try:
            yield lease
        finally:
            renewal.cancel()
            await self.release(tenant_id, lease)

    async def take(self, tenant_id: str, ttl_s: float) -> str:
        """A new lease of the tenant's, alive for `ttl_s` unless released; QueueFull."""
        lease = secrets.token_hex(8)
        key = keys.tenant_code_leases(tenant_id)
        if not await self._take(keys=[key], args=[lease, _ms(ttl_s), self.per_tenant]):
            raise QueueFull(tenant_id)
        return lease

    async def release(self, tenant_id: str, lease: str) -> None:
        try:
            await self.redis.zrem(keys.tenant_code_leases(tenant_id), lease)
        except RedisError:
            # Not the run's failure: the lease expires on its own within its TTL.
            log.warning("could not release a code-run lease of %s", tenant_id, exc_info=True)

    async def _keep(self, tenant_id: str, lease: str, ttl_s: float) -> None:
        key = keys.tenant_code_leases(tenant_id)
        while True:
            await asyncio.sleep(ttl_s / 2)
            try:
                if not await self._renew(keys=[key], args=[lease, _ms(ttl_s)]):
                    return
            except RedisError:
                log.warning("could not renew a code-run lease of %s", tenant_id, exc_info=True)


def _ms(seconds: float) -> int:
    return max(1, round(seconds * 1000))
