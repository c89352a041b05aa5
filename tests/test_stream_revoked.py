"""An open socket closes when its token is revoked (reinvite), its session is deleted or ended
elsewhere (REST end, idle expiry): issue 12, point 9, over a real socket."""

from __future__ import annotations

import time

import pytest

from pipeline.engine import InterviewPlan, Question
from server.sessions import SessionStore
from server.storage import keys
from server.storage.store import Redis
from tests.stream_client import LiveServer, StreamClient, create_session

pytestmark = pytest.mark.slow

PLAN = InterviewPlan(questions=(Question("q1", "What project are you proudest of?"),))


async def _open(server: LiveServer, redis: Redis, session_id: str) -> tuple[StreamClient, str]:
    token = await create_session(redis, session_id, PLAN)
    client = await StreamClient.connect(server.url(session_id), token)
    await client.wait_for(lambda m: m["type"] == "ready")
    return client, token


async def _closed(client: StreamClient, within_s: float = 5.0) -> tuple[int | None, str]:
    started = time.monotonic()
    code = await client.wait_closed()
    assert time.monotonic() - started < within_s
    errors = client.messages("error")
    assert errors and errors[-1]["fatal"] is True, client.messages()
    return code, errors[-1]["code"]


async def test_a_reinvite_closes_the_socket_with_the_old_token(
    server: LiveServer, redis: Redis
) -> None:
    from server.security import revocation

    client, _ = await _open(server, redis, "r-reinvite")
    await SessionStore(redis).reissue_token("r-reinvite", 3600)
    await revocation.revoke(redis, "r-reinvite", "reinvited")
    assert await _closed(client) == (4401, "unauthorized")


async def test_a_delete_closes_the_socket(server: LiveServer, redis: Redis) -> None:
    from server.security import revocation

    client, _ = await _open(server, redis, "r-delete")
    record = await SessionStore(redis).get("r-delete")
    await SessionStore(redis).erase(record)
    await revocation.revoke(redis, "r-delete", "deleted")
    assert await _closed(client) == (4404, "session_not_found")
    assert [k async for k in redis.scan_iter(match=keys.session("r-delete") + "*")] == []


async def test_an_end_elsewhere_closes_the_socket(server: LiveServer, redis: Redis) -> None:
    from server.security import revocation

    client, _ = await _open(server, redis, "r-end")
    await SessionStore(redis).set_status("r-end", "partial")
    await revocation.revoke(redis, "r-end", "expired")
    assert await _closed(client) == (4409, "session_finished")
    assert await redis.get(keys.session_stream_owner("r-end")) is None
