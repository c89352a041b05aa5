"""A live channel starts its session as REST chat does, and gives it up without a race.

Voice and phone sessions used to get neither `started_at` nor the `started` audit entry (only
REST chat's first turn recorded them), so the session view showed no start time for them. And a
call ending read the owner key and then deleted it: a reconnect that set its own id in between
lost its claim (the browser stream had fixed the same race with a compare-and-delete). Both
channels now run through one runner (server/live.py), which releases with that one step.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import redis.asyncio as aioredis

from pipeline.engine import InterviewPlan, Question
from server.live import release_owner
from server.phone import credentials
from server.storage import audit_trail, keys
from server.storage.store import Redis
from tests.phone_client import MediaStreamClient, new_call_sid, pin_key
from tests.stream_client import LiveServer, StreamClient, create_session, matches
from tests.test_phone_e2e import dial_in, phone_server

__all__ = ["phone_server"]  # the phone test's module fixture, used here too

PLAN = InterviewPlan(questions=(Question("q1", "What project are you proudest of?"),))


async def started(redis: Redis, session_id: str) -> tuple[object, list[audit_trail.AuditEntry]]:
    at = await redis.hget(keys.session(session_id), "started_at")
    entries = [e for e in await audit_trail.entries(redis, session_id) if e.action == "started"]
    return at, entries


async def test_a_voice_stream_starts_its_session_once(server: LiveServer, redis: Redis) -> None:
    token = await create_session(redis, "live-start", PLAN)
    assert await started(redis, "live-start") == (None, [])
    for _ in range(2):  # the second socket is a reconnect: nothing starts again
        client = await StreamClient.connect(server.url("live-start"), token)
        try:
            await client.wait_for(matches(type="ready"))
        finally:
            await client.close()
    at, entries = await started(redis, "live-start")
    assert isinstance(at, str) and float(at) > 0
    assert len(entries) == 1
    assert entries[0].actor == "candidate"
    assert entries[0].detail["mode"] == "voice" and entries[0].detail["engine"]
    assert await redis.hget(keys.session("live-start"), "status") == "active"


@pytest.fixture
async def phone_redis(phone_server: LiveServer) -> AsyncIterator[Redis]:
    client = aioredis.from_url(phone_server.redis_url, decode_responses=True)
    yield client
    await client.aclose()


@pytest.mark.slow
async def test_a_phone_call_starts_its_session(
    phone_server: LiveServer, phone_redis: Redis
) -> None:
    session_id = "phone-start"
    await create_session(phone_redis, session_id, PLAN, mode="phone", consent=True)
    pin = await credentials.issue_pin(phone_redis, pin_key(), session_id, 3600)
    call_sid = new_call_sid()
    url, stream_token = dial_in(phone_server, pin, call_sid)
    call = await MediaStreamClient.connect(url, stream_token, call_sid)
    try:
        await call.wait_until(lambda: len(call.events("media")) > 5, timeout=30)
    finally:
        await call.stop()
    at, entries = await started(phone_redis, session_id)
    assert isinstance(at, str) and float(at) > 0
    assert len(entries) == 1 and entries[0].detail["mode"] == "phone"


class ReconnectAfterGet:
    """The real Redis, but a reconnect takes the session over right after any read of the
    owner key: the moment a GET-then-DEL release would lose it."""

    def __init__(self, redis: Redis, owner_key: str, newer: str) -> None:
        self.redis, self.owner_key, self.newer = redis, owner_key, newer
        self.took_over = False

    async def get(self, key: str) -> Any:
        value = await self.redis.get(key)
        if key == self.owner_key:
            await self.redis.set(key, self.newer)
            self.took_over = True
        return value

    def __getattr__(self, name: str) -> Any:
        return getattr(self.redis, name)


async def test_giving_a_session_up_keeps_the_claim_of_a_reconnect_that_took_over(
    redis: Redis,
) -> None:
    """Every live channel gives its session up through `server.live.release_owner`."""
    owner_key = keys.session_stream_owner("live-release")
    await redis.set(owner_key, "older")
    racing = ReconnectAfterGet(redis, owner_key, "newer")
    assert await release_owner(racing, "live-release", "older")  # type: ignore[arg-type]
    if racing.took_over:  # the release read the key, and the reconnect came in after
        assert await redis.get(owner_key) == "newer", "the reconnect's claim was deleted"
    else:  # one atomic step: the connection's own claim is dropped
        assert await redis.get(owner_key) is None
    # Taken over before the connection ended: the newer claim stays.
    await redis.set(owner_key, "newer")
    assert not await release_owner(racing, "live-release", "older")  # type: ignore[arg-type]
    assert await redis.get(owner_key) == "newer"
