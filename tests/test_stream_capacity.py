"""Admission control: a server at its capacity refuses one more stream with a clear error and
a retry hint, instead of slowing every interview; a session's own reconnect is admitted."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

from models.registry import ModelRegistry
from pipeline.engine import InterviewPlan, Question
from server.storage.store import Redis
from tests.stream_client import StreamClient, create_session, live_server, matches

pytestmark = pytest.mark.slow

PLAN = InterviewPlan(questions=(Question("q1", "What project are you proudest of?"),))


async def test_one_stream_beyond_capacity_is_refused_with_a_retry_hint(
    tmp_path: Path, models: ModelRegistry
) -> None:
    with live_server(tmp_path, models, VIVA_MAX_STREAMS=1) as server:
        redis = Redis.from_url(server.redis_url, decode_responses=True)
        try:
            first_token = await create_session(redis, "cap-1", PLAN)
            second_token = await create_session(redis, "cap-2", PLAN)
            first = await StreamClient.connect(server.url("cap-1"), first_token)
            await first.wait_for(matches(type="ready"))

            second = await StreamClient.connect(server.url("cap-2"), second_token)
            assert await second.wait_closed() == 1013
            (error,) = second.messages("error")
            assert error["code"] == "server_busy" and error["fatal"] is True
            assert error["retry_after_s"] > 0
            assert not second.messages("ready")

            # The same session reconnecting (a dropped network) takes its own place over.
            again = await StreamClient.connect(server.url("cap-1"), first_token)
            await again.wait_for(matches(type="ready"))
            assert await first.wait_closed() == 4000

            metrics = httpx.get(f"http://127.0.0.1:{server.port}/metrics").text
            assert "viva_streams_refused_total 1.0" in metrics
            assert "viva_asr_queue_depth" in metrics
            await again.close()

            # Once it is gone (its socket closed and released), there is room again.
            for _ in range(20):
                retry = await StreamClient.connect(server.url("cap-2"), second_token)
                if await retry.wait_closed(timeout=0.5) != 1013:
                    break
                await asyncio.sleep(0.25)
            assert (await retry.wait_for(matches(type="ready")))["resumed"] is False
            await retry.close()
        finally:
            await redis.aclose()


async def test_a_tenant_gets_only_its_share_and_a_reconnect_loop_is_refused(
    tmp_path: Path, models: ModelRegistry
) -> None:
    with live_server(
        tmp_path, models, VIVA_MAX_STREAMS_PER_TENANT=1, VIVA_CONNECTS_PER_MINUTE=3
    ) as server:
        redis = Redis.from_url(server.redis_url, decode_responses=True)
        try:
            token_a = await create_session(redis, "ten-a", PLAN, tenant_id="t1")
            token_b = await create_session(redis, "ten-b", PLAN, tenant_id="t1")
            token_c = await create_session(redis, "ten-c", PLAN, tenant_id="t2")
            first = await StreamClient.connect(server.url("ten-a"), token_a)
            await first.wait_for(matches(type="ready"))

            same_tenant = await StreamClient.connect(server.url("ten-b"), token_b)
            assert await same_tenant.wait_closed() == 1013
            assert same_tenant.messages("error")[0]["code"] == "tenant_busy"
            other_tenant = await StreamClient.connect(server.url("ten-c"), token_c)
            await other_tenant.wait_for(matches(type="ready"))
            await other_tenant.close()

            # Session a connected once; two more are fine, the fourth in a minute is not.
            for _ in range(2):
                again = await StreamClient.connect(server.url("ten-a"), token_a)
                await again.wait_for(matches(type="ready"))
            looping = await StreamClient.connect(server.url("ten-a"), token_a)
            assert await looping.wait_closed() == 4429
            error = looping.messages("error")[0]
            assert error["code"] == "too_many_connects" and 0 < error["retry_after_s"] <= 60
            await again.close()
        finally:
            await redis.aclose()
