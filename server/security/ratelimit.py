"""Per-tenant request rate limits and daily session quotas, counted in Redis.

Fixed windows: one counter per tenant per minute (requests) and per UTC day (sessions created),
each expiring with its window. Limits come from the tenant's record when set there, else from
settings.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from server.storage import keys
from server.storage.store import Redis

DAY_S = 86_400
MINUTE_S = 60


class LimitExceeded(Exception):
    def __init__(self, message: str, retry_after_s: int) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


@dataclass(frozen=True)
class TenantLimits:
    requests_per_minute: int
    daily_sessions: int


async def limits_for(redis: Redis, tenant_id: str, defaults: TenantLimits) -> TenantLimits:
    per_minute, daily = await redis.hmget(
        keys.tenant(tenant_id), ["rate_limit_per_minute", "daily_session_quota"]
    )
    return TenantLimits(
        requests_per_minute=int(per_minute) if per_minute else defaults.requests_per_minute,
        daily_sessions=int(daily) if daily else defaults.daily_sessions,
    )


async def set_tenant_limits(
    redis: Redis, tenant_id: str, *, requests_per_minute: int, daily_sessions: int
) -> None:
    await redis.hset(
        keys.tenant(tenant_id),
        mapping={
            "rate_limit_per_minute": str(requests_per_minute),
            "daily_session_quota": str(daily_sessions),
        },
    )


async def _count(redis: Redis, key: str, window_s: int) -> int:
    async with redis.pipeline(transaction=True) as pipe:
        pipe.incr(key)
        pipe.expire(key, window_s + 1)
        count, _ = await pipe.execute()
    return int(count)


async def hit(redis: Redis, counter_prefix: str, limit: int, *, now: float | None = None) -> None:
    """Count one request in this minute's window; `counter_prefix` from `keys.*_rate(...)`."""
    now = time.time() if now is None else now
    window = int(now // MINUTE_S)
    if await _count(redis, f"{counter_prefix}:{window}", MINUTE_S) > limit:
        retry = int((window + 1) * MINUTE_S - now) + 1
        raise LimitExceeded(f"Rate limit of {limit} requests a minute reached.", retry)


async def take_session(
    redis: Redis, tenant_id: str, quota: int, *, now: float | None = None
) -> None:
    """Use one of the tenant's sessions for today (UTC); LimitExceeded when none is left."""
    now = time.time() if now is None else now
    day = int(now // DAY_S)
    key = keys.session_quota(tenant_id, day)
    if await _count(redis, key, DAY_S) > quota:
        await redis.decr(key)  # a refused create does not use up quota
        retry = int((day + 1) * DAY_S - now) + 1
        raise LimitExceeded(f"Daily quota of {quota} sessions reached.", retry)
