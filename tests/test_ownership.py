"""Who streams a session (server/ownership.py), against a real Valkey: the order of a session's
connections, the owner check and the append in one step, and the signal that tells a process its
connection was taken over elsewhere. No model is loaded, no server runs: these are the steps
`server.live.run_live` takes, driven in the interleavings that went wrong.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from models.registry import ModelRegistry
from pipeline.engine import Turn
from server import ownership
from server.live import claim, release_owner
from server.runtime import Connection, VoiceRuntime
from server.services import Services, model_config
from server.sessions import AppendResult, SessionStore
from server.settings import Settings
from server.storage import keys
from server.storage.store import Redis, Store
from server.stream import OwnedTurnLog, StreamClosed


@pytest.fixture
def redis(valkey: Redis) -> Redis:
    """This module's tests need Valkey only (tests/conftest.py `valkey`), no server."""
    return valkey


@pytest.fixture
async def runtime(valkey_url: str, tmp_path: Path) -> AsyncIterator[VoiceRuntime]:
    """A process's voice runtime (its models are never loaded here: no stream runs)."""
    settings = Settings(VIVA_DATA_DIR=tmp_path, REDIS_URL=valkey_url, VIVA_PRELOAD_MODELS=False)
    store = Store(valkey_url, tmp_path)
    await store.open()
    services = Services(settings, store, ModelRegistry(model_config(settings)))
    made = VoiceRuntime(services)
    yield made
    await made.close()
    await store.close()


async def new_session(redis: Redis) -> str:
    session_id = f"own-{random.getrandbits(48):012x}"
    await redis.hset(keys.session(session_id), mapping={"id": session_id, "status": "active"})
    return session_id


def turn(index: int) -> Turn:
    return Turn(index=index, role="candidate" if index % 2 else "interviewer", text=f"t{index}")


async def connect(redis: Redis, session_id: str) -> Connection:
    """A connection as the stream endpoint makes it: its ticket before its socket is accepted."""
    conn = Connection()
    conn.ticket = await ownership.take_ticket(redis, session_id)
    return conn


async def test_tickets_order_a_session_s_connections_and_unknown_ids_make_no_key(
    redis: Redis,
) -> None:
    session_id = await new_session(redis)
    first = await ownership.take_ticket(redis, session_id)
    assert await ownership.take_ticket(redis, session_id) == first + 1
    assert await ownership.take_ticket(redis, "own-nobody") == 0
    assert await redis.exists(keys.session_stream_seq("own-nobody")) == 0
    # A key of another type under the prefix is no session either.
    await redis.rpush(keys.session_turns(session_id), "x")
    assert await ownership.take_ticket(redis, keys.session_turns(session_id)[13:]) == 0


async def test_an_older_connection_reaching_its_claim_late_leaves_the_newer_one_alone(
    redis: Redis, runtime: VoiceRuntime
) -> None:
    """The fuzz suite's stray 4000: socket 1 is accepted, uvicorn closes it (a frame that is not
    UTF-8) before its handler has claimed the session, the client reconnects at once, and
    socket 2's handler claims first. Socket 1's claim then came in after it: by arrival it took
    the session (socket 2 was told `superseded`) and set the owner key over socket 2's."""
    session_id = await new_session(redis)
    older = await connect(redis, session_id)
    newer = await connect(redis, session_id)
    assert await claim(redis, runtime, session_id, newer, "t1")
    assert not await claim(redis, runtime, session_id, older, "t1")
    assert not newer.superseded.is_set()
    assert runtime.streams[session_id] is newer
    assert await redis.get(keys.session_stream_owner(session_id)) == newer.owner
    log = OwnedTurnLog(SessionStore(redis), session_id, newer)
    assert await log.append(turn(0))
    # The older one gives up what it never got: the newer claim stays.
    runtime.release(session_id, older)
    assert not await release_owner(redis, session_id, older.owner)
    assert await redis.get(keys.session_stream_owner(session_id)) == newer.owner


async def test_an_older_connection_that_waited_for_the_one_before_it_does_not_take_over(
    redis: Redis, runtime: VoiceRuntime
) -> None:
    """Three sockets, each closed by uvicorn right after connecting: socket 2 waits for socket
    1's loop to stop, socket 3 takes over from socket 2 meanwhile; socket 2 must not set the
    owner key once its wait ends."""
    session_id = await new_session(redis)
    first, second, third = [await connect(redis, session_id) for _ in range(3)]
    assert await claim(redis, runtime, session_id, first, "t1")
    waiting = asyncio.create_task(claim(redis, runtime, session_id, second, "t1"))
    await asyncio.sleep(0.05)  # second waits for first to stop
    taking = asyncio.create_task(claim(redis, runtime, session_id, third, "t1"))
    await asyncio.sleep(0.05)  # third waits for second
    first.stopped.set()
    assert not await waiting
    second.stopped.set()
    assert await taking
    assert not third.superseded.is_set()
    assert await redis.get(keys.session_stream_owner(session_id)) == third.owner


async def test_a_newer_connection_takes_over_and_the_older_stores_nothing_after(
    redis: Redis, runtime: VoiceRuntime
) -> None:
    session_id = await new_session(redis)
    sessions = SessionStore(redis)
    older = await connect(redis, session_id)
    assert await claim(redis, runtime, session_id, older, "t1")
    old_log = OwnedTurnLog(sessions, session_id, older)
    assert await old_log.append(turn(0))
    newer = await connect(redis, session_id)
    # Another process's claim: this runtime does not know the newer connection.
    claimed, _ = await ownership.claim(redis, session_id, newer.id, newer.ticket)
    assert claimed is ownership.Claim.CLAIMED
    with pytest.raises(StreamClosed) as closed:
        await old_log.append(turn(1))
    assert (closed.value.code, closed.value.error) == (4000, "superseded")
    assert older.superseded.is_set()
    with pytest.raises(StreamClosed):
        await old_log.replace(turn(0))
    assert [t.index for t in await sessions.turns(session_id)] == [0]
    assert await OwnedTurnLog(sessions, session_id, newer).append(turn(1))


async def test_owner_check_and_append_are_one_step_under_concurrent_takeovers(
    valkey_url: str,
) -> None:
    """An old connection appending as fast as it can on its own Redis connection while a newer
    one, on another, claims the session and reads the transcript (as a resume does): every turn
    the old one was told was stored is in what the newer one read, and nothing is stored after
    the read. A check and an append in two steps stores a turn between them (a GET that saw the
    old owner, then the claim and the read, then the RPUSH)."""
    old_side = aioredis.from_url(valkey_url, decode_responses=True)
    new_side = aioredis.from_url(valkey_url, decode_responses=True)
    try:
        for round_ in range(60):
            session_id = await new_session(new_side)
            older = await connect(old_side, session_id)
            claimed, _ = await ownership.claim(old_side, session_id, older.id, older.ticket)
            assert claimed is ownership.Claim.CLAIMED
            newer = await connect(new_side, session_id)
            old_sessions, new_sessions = SessionStore(old_side), SessionStore(new_side)
            stored: list[int] = []

            async def append_until_refused(
                sessions: SessionStore = old_sessions,
                session_id: str = session_id,
                older: Connection = older,
                stored: list[int] = stored,
            ) -> None:
                index = 0
                while True:
                    result = await sessions.store_turn(session_id, turn(index), owner=older.owner)
                    if result is AppendResult.SUPERSEDED:
                        return
                    assert result is AppendResult.STORED
                    stored.append(index)
                    index += 1

            appending = asyncio.create_task(append_until_refused())
            await asyncio.sleep(random.uniform(0, 0.01) if round_ % 2 else 0)
            claimed, _ = await ownership.claim(new_side, session_id, newer.id, newer.ticket)
            assert claimed is ownership.Claim.CLAIMED
            transcript = [t.index for t in await new_sessions.turns(session_id)]
            await asyncio.wait_for(appending, 5)
            assert transcript == stored, (round_, transcript, stored)
            assert [t.index for t in await new_sessions.turns(session_id)] == transcript
    finally:
        await old_side.aclose()
        await new_side.aclose()


async def test_a_takeover_in_another_process_is_heard_at_once(valkey_url: str) -> None:
    """`OwnerWatch`, as each process runs it: a claim published by another process marks this
    process's connection as taken over well within a second; an older claim does not."""
    watching = aioredis.from_url(valkey_url, decode_responses=True)
    other = aioredis.from_url(valkey_url, decode_responses=True)
    lost: dict[str, float] = {}
    local: dict[str, str] = {}

    def heard(session_id: str, _: str) -> None:
        lost.setdefault(session_id, time.monotonic())

    watch = ownership.OwnerWatch(watching, lambda: local, heard, poll_s=30)
    try:
        await watch.start()
        assert watch.subscribed.is_set()
        session_id = await new_session(other)
        stale = await connect(other, session_id)
        mine = await connect(other, session_id)
        claimed, _ = await ownership.claim(other, session_id, mine.id, mine.ticket)
        assert claimed is ownership.Claim.CLAIMED
        local[session_id] = mine.owner
        # A stale message (an older connection's claim, already refused) changes nothing.
        await other.publish(keys.OWNERS_CHANNEL, f"{session_id} {stale.owner}")
        await asyncio.sleep(0.3)
        assert session_id not in lost
        newer = await connect(other, session_id)
        claimed_at = time.monotonic()
        claimed, _ = await ownership.claim(other, session_id, newer.id, newer.ticket)
        assert claimed is ownership.Claim.CLAIMED
        for _ in range(100):
            if session_id in lost:
                break
            await asyncio.sleep(0.01)
        assert session_id in lost and lost[session_id] - claimed_at < 0.5, lost
    finally:
        await watch.close()
        await watching.aclose()
        await other.aclose()


async def test_a_takeover_whose_message_was_missed_is_found_by_the_poll(
    redis: Redis, valkey_url: str
) -> None:
    watching = aioredis.from_url(valkey_url, decode_responses=True)
    lost: list[str] = []
    local: dict[str, str] = {}
    watch = ownership.OwnerWatch(
        watching, lambda: local, lambda sid, _: lost.append(sid), poll_s=0.2
    )
    try:
        session_id = await new_session(redis)
        mine = await connect(redis, session_id)
        await ownership.claim(redis, session_id, mine.id, mine.ticket)
        local[session_id] = mine.owner
        await watch.start()
        await asyncio.sleep(0.3)
        assert lost == []
        # Set as a claim would, but with no message (as if it was lost with a connection).
        newer = await connect(redis, session_id)
        await redis.set(keys.session_stream_owner(session_id), newer.owner)
        for _ in range(100):
            if lost:
                break
            await asyncio.sleep(0.02)
        assert lost == [session_id]
    finally:
        await watch.close()
        await watching.aclose()


async def test_an_owner_key_from_before_tickets_is_taken_over(redis: Redis) -> None:
    """A session streamed by a server that predates tickets (its key holds a bare id) is taken
    over by any ticketed connection, as a newer one always was."""
    session_id = await new_session(redis)
    await redis.set(keys.session_stream_owner(session_id), "3f9a0c1d2b4e5f60")
    conn = await connect(redis, session_id)
    claimed, _ = await ownership.claim(redis, session_id, conn.id, conn.ticket)
    assert claimed is ownership.Claim.CLAIMED
    assert ownership.ticket_of("3f9a0c1d2b4e5f60") == 0 and ownership.ticket_of(conn.owner) > 0
