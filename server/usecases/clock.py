"""The session clock: seconds since the session's first turn, the time base its turns share,
whichever channel stores them (typed answers, a browser stream, a phone call)."""

from __future__ import annotations

import time

from server.storage import guard, keys
from server.storage.store import Redis


async def start_clock(redis: Redis, session_id: str) -> float:
    """When the session's clock started (epoch seconds): now, if this is the first call (and
    the session was not erased)."""
    await guard.set_nx(redis, session_id, keys.session_clock(session_id), repr(time.time()))
    return float(await redis.get(keys.session_clock(session_id)) or time.time())


async def session_seconds(redis: Redis, session_id: str) -> float:
    """Seconds since the session's first turn; the first call starts the clock."""
    zero = await start_clock(redis, session_id)
    return round(time.time() - zero, 3)


async def clock_epoch(redis: Redis, session_id: str) -> float | None:
    """When the session's clock started (epoch seconds), or None before its first turn."""
    zero = await redis.get(keys.session_clock(session_id))
    return float(zero) if zero else None
