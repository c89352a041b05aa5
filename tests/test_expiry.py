"""A dropped connection that never resumes before the idle timeout ends the session as partial."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator

import pytest
import redis.exceptions

from models.registry import ModelRegistry
from pipeline.engine import InterviewPlan, Question, Turn
from server import expiry
from server.expiry import ExpiryWorker, expire_idle_sessions
from server.services import Services
from server.sessions import SessionRecord, SessionStore
from server.settings import Settings
from server.storage import keys
from server.storage.store import Store

PLAN = InterviewPlan(
    questions=(
        Question("q1", "Tell me about a project you led."),
        Question("q2", "How do you handle disagreement?"),
    )
)
ANSWER = (
    "I led the migration of our billing service from a monolith to three services. I planned "
    "the cut-over, wrote the data backfill and we reduced invoice errors by thirty percent."
)


@pytest.fixture
async def services(settings: Settings, models: ModelRegistry) -> AsyncIterator[Services]:
    store = Store(None, settings.data_dir)
    await store.open()
    yield Services(settings=settings, store=store, models=models)
    await store.close()


async def _half_done_session(sessions: SessionStore, session_id: str) -> None:
    # Typed answers: a voice session's report would also judge the candidate's speech, of which
    # there is none here (tests/test_finish_paths.py expires one with its saved evidence).
    record = SessionRecord(id=session_id, tenant_id="t1", plan=PLAN, mode="chat", status="active")
    await sessions.create(record)
    turns = [
        Turn(0, "interviewer", PLAN.questions[0].text, 0, "opening"),
        Turn(1, "candidate", ANSWER),
        Turn(2, "interviewer", PLAN.questions[1].text, 1, "question"),
    ]
    for turn in turns:
        assert await sessions.append_turn(session_id, turn)


async def test_idle_session_ends_partial_and_active_one_does_not(services: Services) -> None:
    redis = services.store.redis
    sessions = SessionStore(redis)
    await _half_done_session(sessions, "idle")
    await _half_done_session(sessions, "fresh")
    timeout = services.settings.session_idle_timeout_s
    await redis.zadd(keys.OPEN_SESSIONS, {"idle": time.time() - timeout - 5})

    assert await expire_idle_sessions(services) == ["idle"]
    assert (await sessions.get("idle")).status == "partial"
    stored = await redis.get(keys.session_report("idle"))
    assert stored is not None
    report = json.loads(stored)
    assert report["status"] == "partial"
    assert (await sessions.get("fresh")).status == "active"
    assert await redis.zscore(keys.OPEN_SESSIONS, "idle") is None
    # Nothing left to do: a second pass finishes nothing.
    assert await expire_idle_sessions(services) == []


async def test_a_connected_stream_holds_the_session_open(services: Services) -> None:
    redis = services.store.redis
    sessions = SessionStore(redis)
    await _half_done_session(sessions, "live")
    timeout = services.settings.session_idle_timeout_s
    await redis.set(keys.session_stream_owner("live"), "socket-1")
    await redis.zadd(keys.OPEN_SESSIONS, {"live": time.time() - timeout - 5})
    assert await expire_idle_sessions(services) == []
    assert (await sessions.get("live")).status == "active"
    # An owner left behind by a crashed server does not hold it forever.
    await redis.zadd(keys.OPEN_SESSIONS, {"live": time.time() - 2 * timeout - 5})
    assert await expire_idle_sessions(services) == ["live"]
    assert (await sessions.get("live")).status == "partial"


async def test_worker_stops_even_when_redis_turns_the_cancel_into_an_error(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    """redis-py can surface a cancel that lands mid-connect as a ConnectionError; seen in CI as
    an app shutdown that never returned."""
    entered = asyncio.Event()

    async def connect_then_lose_the_cancel(_: Services) -> list[str]:
        entered.set()
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            raise redis.exceptions.ConnectionError("connection lost") from None
        return []

    monkeypatch.setattr(expiry, "expire_idle_sessions", connect_then_lose_the_cancel)
    worker = ExpiryWorker(services)
    worker.start()
    await asyncio.wait_for(entered.wait(), 5)
    stopping = asyncio.ensure_future(worker.stop())
    done, _ = await asyncio.wait({stopping}, timeout=5)  # unlike wait_for, never cancels stop()
    if not done:
        stopping.cancel()  # a second cancel does land: clean up, then fail
    assert done, "the worker swallowed its cancel and kept running"
