"""A revoked token or a gone session reaches the sockets streaming it (issue 12, point 9), through
Redis, so across processes; and a finished or erased session takes no more turns. Real Valkey,
the real app, a second process."""

from __future__ import annotations

import asyncio
import functools
import json
import subprocess
import sys
import textwrap
import time
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import Future
from pathlib import Path

import pytest

from pipeline.engine import InterviewPlan, Question, Turn
from server.sessions import SessionRecord, SessionStore
from server.settings import Settings
from server.storage import keys
from server.storage.store import Redis, Store
from tests.api_support import Api, bearer, running_app

PLAN = InterviewPlan(questions=(Question("q1", "Tell me about a project you led."),))
SLOW_POLL_S = 60.0  # so a watch that returns quickly was woken by the channel, not its poll


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    store = Store(None, tmp_path / "valkey")
    await store.open()
    yield store
    await store.close()


def _url(redis: Redis) -> str:
    params = redis.connection_pool.connection_kwargs
    password = params.get("password")  # the embedded Valkey's (server/storage/store.py)
    auth = f":{password}@" if password else ""
    return f"redis://{auth}{params.get('host', '127.0.0.1')}:{params['port']}"


async def _subscribed(redis: Redis, session_id: str) -> None:
    channel = keys.revoked_channel(session_id)
    deadline = time.monotonic() + 5
    while dict(await redis.pubsub_numsub(channel)).get(channel, 0) < 1:
        assert time.monotonic() < deadline, "the watch never subscribed"
        await asyncio.sleep(0.02)


async def test_appends_are_refused_once_the_session_is_finished_or_erased(store: Store) -> None:
    sessions = SessionStore(store.redis)
    await sessions.create(SessionRecord(id="ses_done", tenant_id="t1", plan=PLAN))
    opening = Turn(0, "interviewer", "Tell me about a project you led.", 0, "opening")
    assert await sessions.append_turn("ses_done", opening)
    await sessions.set_status("ses_done", "partial")  # ended by REST or idle expiry
    late = Turn(1, "candidate", "An answer given after the end.")
    assert not await sessions.append_turn("ses_done", late)
    assert await sessions.turns("ses_done") == [opening]

    # Being finished (the finish is claimed, the report is being built): refused too.
    await sessions.create(SessionRecord(id="ses_claimed", tenant_id="t1", plan=PLAN))
    await store.redis.hset(keys.session("ses_claimed"), "finishing_at", repr(time.time()))
    assert not await sessions.append_turn("ses_claimed", opening)

    # Erased: refused, and the turn list is not recreated.
    record, _ = await sessions.create(SessionRecord(id="ses_gone", tenant_id="t1", plan=PLAN))
    await sessions.erase(record)
    assert not await sessions.append_turn("ses_gone", opening)
    assert await store.redis.exists(keys.session_turns("ses_gone")) == 0
    assert await store.redis.zscore(keys.OPEN_SESSIONS, "ses_gone") is None


async def test_a_reinvite_in_another_process_closes_the_old_tokens_watch(store: Store) -> None:
    from server.security.revocation import close_for, wait_revoked

    redis = store.redis
    sessions = SessionStore(redis)
    _, old_token = await sessions.create(SessionRecord(id="ses_re", tenant_id="t1", plan=PLAN))
    watch = asyncio.create_task(wait_revoked(redis, "ses_re", old_token, poll_s=SLOW_POLL_S))
    await _subscribed(redis, "ses_re")
    assert not watch.done()

    script = textwrap.dedent(
        f"""
        import asyncio, redis.asyncio as aioredis
        from server.security import revocation
        from server.sessions import SessionStore

        async def main():
            client = aioredis.from_url({_url(redis)!r}, decode_responses=True)
            token, _ = await SessionStore(client).reissue_token("ses_re", 3600)
            await revocation.revoke(client, "ses_re", "reinvited")
            print(token)
            await client.aclose()

        asyncio.run(main())
        """
    )
    started = time.monotonic()
    other = await asyncio.to_thread(
        subprocess.run, [sys.executable, "-c", script], capture_output=True, text=True, timeout=60
    )
    assert other.returncode == 0, other.stderr
    new_token = other.stdout.strip()
    assert await asyncio.wait_for(watch, 10) == "reinvited"
    assert time.monotonic() - started < SLOW_POLL_S / 2
    assert close_for("reinvited")[0] == 4401

    # A socket opened with the new token is not closed by that earlier reinvite.
    fresh = asyncio.create_task(wait_revoked(redis, "ses_re", new_token, poll_s=0.1))
    await asyncio.sleep(0.5)
    assert not fresh.done()
    fresh.cancel()
    with pytest.raises(asyncio.CancelledError):
        await fresh
    # Cancelled watches leave no subscription behind.
    await asyncio.sleep(0.1)
    channel = keys.revoked_channel("ses_re")
    assert dict(await redis.pubsub_numsub(channel)).get(channel, 0) == 0


async def test_the_poll_finds_what_the_channel_missed(store: Store) -> None:
    from server.security.revocation import revocation_count, revoke, revoked_reason

    redis = store.redis
    sessions = SessionStore(redis)
    _, token = await sessions.create(SessionRecord(id="ses_poll", tenant_id="t1", plan=PLAN))
    since = await revocation_count(redis, "ses_poll")
    assert await revoked_reason(redis, "ses_poll", token, since) is None
    assert await revoke(redis, "ses_poll", "expired") == 0  # nobody listening: the message is lost
    assert await revoked_reason(redis, "ses_poll", token, since) == "expired"
    # A watch that began after it is not concerned.
    assert await revoked_reason(redis, "ses_poll", token, since + 1) is None
    await redis.hset(keys.session("ses_poll"), "expires_at", "1.0")
    assert await revoked_reason(redis, "ses_poll", token, since + 1) == "token_expired"


# -- every door: REST reinvite, delete, end and idle expiry signal the open sockets -----------


@pytest.fixture
def api(settings: Settings) -> Iterator[Api]:
    with running_app(settings) as running:
        yield running


def _watch(api: Api, session_id: str, token: str) -> Future[str]:
    from server.security.revocation import wait_revoked

    assert api.client.portal is not None
    watch = functools.partial(wait_revoked, api.redis, session_id, token, poll_s=SLOW_POLL_S)
    future: Future[str] = api.client.portal.start_task_soon(watch)
    api.run(_subscribed, api.redis, session_id)
    assert not future.done()
    return future


def _voice_session(api: Api, headers: dict[str, str]) -> tuple[str, str]:
    created = api.client.post(
        "/v1/sessions", headers=headers, json={"interview_id": "behavioral-1"}
    )
    assert created.status_code == 201, created.text
    session_id, token = created.json()["session"]["id"], created.json()["token"]
    consent = {"accepted": True, "version": "2026-01"}
    api.client.post(f"/v1/sessions/{session_id}/consent", headers=bearer(token), json=consent)
    assert api.client.post(f"/v1/sessions/{session_id}/start", headers=bearer(token)).is_success
    return session_id, token


@pytest.mark.models
def test_reinvite_delete_end_and_idle_expiry_each_close_the_socket(api: Api) -> None:
    from server.expiry import expire_idle_sessions
    from server.security.revocation import close_for

    headers = api.tenant()

    session_id, token = _voice_session(api, headers)
    watch = _watch(api, session_id, token)
    assert api.client.post(f"/v1/sessions/{session_id}/reinvite", headers=headers).is_success
    assert watch.result(timeout=10) == "reinvited"

    session_id, token = _voice_session(api, headers)
    watch = _watch(api, session_id, token)
    assert api.client.delete(f"/v1/sessions/{session_id}", headers=headers).status_code == 204
    assert watch.result(timeout=10) == "deleted"
    assert close_for("deleted")[:2] == (4404, "session_not_found")

    session_id, token = _voice_session(api, headers)
    watch = _watch(api, session_id, token)
    assert api.client.post(f"/v1/sessions/{session_id}/end", headers=headers).is_success
    assert watch.result(timeout=30) == "ended"
    assert close_for("ended")[:2] == (4409, "session_finished")

    session_id, token = _voice_session(api, headers)
    watch = _watch(api, session_id, token)
    stale = time.time() - 10 * api.client.app.state.services.settings.session_idle_timeout_s  # type: ignore[attr-defined]
    api.run(functools.partial(api.redis.zadd, keys.OPEN_SESSIONS, {session_id: stale}))
    services = api.client.app.state.services  # type: ignore[attr-defined]
    assert session_id in api.run(expire_idle_sessions, services)
    assert watch.result(timeout=30) == "expired"
    report = json.loads(str(api.run(api.redis.get, keys.session_report(session_id))))
    assert report["status"] in ("partial", "low_confidence")
