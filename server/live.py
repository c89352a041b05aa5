"""One runner for every live channel.

The browser stream (`server/stream.py`) and a phone call (`server/phone/media.py`) run a
session the same way once the channel has authenticated and admitted it: claim it in this
process and in Redis (the owner key, server/ownership.py: by ticket, so an older connection
reaching its claim late never throws a newer one out), start it (`started_at`, the `started`
audit entry), open its observers, build the voice loop, race the loop against the channel's
input, a takeover (here or in another process) and a revocation, then give it up (the owner key
compared and deleted in one step). The two copies of this had drifted (the phone still released
its owner key with a GET then a DEL); a channel now says only what differs (`LiveChannel`), and
a later one (a coding round's editor, a SIP bridge) is one more of them.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any, Protocol

from pipeline.voice.clock import SessionClock
from pipeline.voice.loop import VoiceLoop
from pipeline.voice.messages import Finished
from pipeline.voice.ports import Transport, TurnLog
from server import ownership
from server.engines import engine_for
from server.lifecycle import finish_session, start_session
from server.observers import StreamObservers
from server.runtime import Connection, VoiceRuntime
from server.services import Services
from server.sessions import SessionNotFound, SessionRecord, SessionStore
from server.storage.store import Redis
from server.usecases.clock import start_clock

__all__ = ["LiveChannel", "claim", "release_owner", "run_live", "session_clock"]


class LiveChannel(Protocol):
    """What one kind of live connection does its own way."""

    mode: str  # the `started` audit entry's mode

    def prepare(self, loop: VoiceLoop) -> None:
        """Before the loop runs: its input rate, audio on or off, anything that needs it."""

    async def receive(self, loop: VoiceLoop) -> None:
        """Read the client until it goes; a protocol violation raises the channel's close."""

    async def opening_after(self) -> None:
        """Awaited before the interviewer's first words (a `hello`, a spoken disclosure)."""

    async def watch_revoked(self) -> None:
        """Until the session is ended, erased or its token replaced elsewhere, then raise the
        channel's close for it."""

    def closed(self, reason: str) -> Exception:
        """The channel's close for `superseded` (a newer connection took over) or `deleted`
        (the session was erased while it was being scored)."""

    async def finished(self, receive: asyncio.Task[Any]) -> None:
        """The interview finished: let the client hear the end (the receive task still runs)."""

    async def close_finished(self) -> None:
        """Then close normally (1000)."""


async def release_owner(redis: Redis, session_id: str, owner: str) -> bool:
    """Drop a connection's claim on the session's stream (`owner`: its value of the owner key,
    `Connection.owner`), if it still holds it: compared and deleted in one step."""
    return await ownership.release(redis, session_id, owner)


async def session_clock(redis: Redis, session_id: str) -> SessionClock:
    """Session seconds on the clock every connection of the session shares
    (`viva:session:{id}:clock`)."""
    epoch = await start_clock(redis, session_id)
    return SessionClock(offset_s=time.time() - epoch)


async def run_live(
    services: Services,
    runtime: VoiceRuntime,
    record: SessionRecord,
    conn: Connection,
    channel: LiveChannel,
    transport: Transport,
    turn_log: TurnLog,
) -> None:
    """Serve `record`'s interview over `channel` (its messages and audio out through
    `transport`) until it finishes, the client goes, another connection takes over or the
    session is revoked; the session is given up in any case."""
    redis = services.store.redis
    if not conn.ticket:  # a channel that could not take one before its socket was accepted
        conn.ticket = await ownership.take_ticket(redis, record.id)
    try:
        if not await claim(redis, runtime, record.id, conn, record.tenant_id):
            raise channel.closed("superseded")
        await _run(services, runtime, record, conn, channel, transport, turn_log)
    finally:
        runtime.release(record.id, conn)
        await release_owner(redis, record.id, conn.owner)


async def claim(
    redis: Redis, runtime: VoiceRuntime, session_id: str, conn: Connection, tenant_id: str
) -> bool:
    """Make `conn` the session's connection, in this process and in Redis; False when a newer
    one (by ticket) holds it or took it while this one waited, here or in another process.

    A connection can reach this late: uvicorn closes a socket on a frame it cannot take (1007,
    1009) before the handler has got here, the client reconnects at once, and that newer socket
    may get here first. Taking the place by arrival let the older, dead socket throw the live
    one out (4000), or set the owner key over it after waiting out the one before it."""
    if not await runtime.claim(session_id, conn, tenant_id):
        return False  # a newer connection got here first
    if conn.superseded.is_set():  # taken over while waiting for the previous one to stop
        return False
    # A session deleted since it was authorized is not claimed (its watch ends the channel).
    claimed, conn.ticket = await ownership.claim(redis, session_id, conn.id, conn.ticket)
    return claimed is not ownership.Claim.SUPERSEDED


async def _run(
    services: Services,
    runtime: VoiceRuntime,
    record: SessionRecord,
    conn: Connection,
    channel: LiveChannel,
    transport: Transport,
    turn_log: TurnLog,
) -> None:
    redis, session_id = services.store.redis, record.id
    sessions = SessionStore(redis)
    engine = engine_for(services, record)
    await start_session(
        sessions,
        record,
        actor="candidate",
        mode=channel.mode,
        engine=engine.name,
        engine_version=engine.version,
    )
    opened = await StreamObservers.open(services, session_id)
    try:

        async def finisher(ended_early: bool) -> Finished:
            sections = await opened.report_sections()
            await opened.save_recordings()
            try:
                result = await finish_session(
                    services, session_id, ended_early=ended_early, integrity=sections
                )
            except SessionNotFound as exc:  # deleted while it was being scored
                raise channel.closed("deleted") from exc
            return Finished(result.status, result.score, result.report_url)

        loop = VoiceLoop(
            session_id=session_id,
            plan=record.plan,
            transcript=await sessions.turns(session_id),
            engine=engine,
            transcriber=runtime.transcriber,
            synthesizer=runtime.synthesizer,
            vad=services.models.vad().stream(),
            transport=transport,
            turn_log=turn_log,
            finisher=finisher,
            clock=await session_clock(redis, session_id),
            config=runtime.config,
            sink=opened.sink,
            answer_filter=opened.answer_filter,
        )
        channel.prepare(loop)
        conn.loop = loop  # a code submission over REST ends its open answer (server/api/code.py)
        try:
            await _race(loop, conn, channel)
        finally:
            conn.loop = None
    finally:
        await opened.close()


async def _race(loop: VoiceLoop, conn: Connection, channel: LiveChannel) -> None:
    """The loop against the client's input, a takeover and a revocation: the first to end
    decides how the channel closes."""
    tasks: dict[str, asyncio.Task[Any]] = {
        "receive": asyncio.create_task(channel.receive(loop)),
        "run": asyncio.create_task(loop.run(opening_after=channel.opening_after)),
        # A newer connection, in this process or another (`VoiceRuntime`'s owner watch).
        "superseded": asyncio.create_task(conn.superseded.wait()),
        # A reinvite, a delete or an end elsewhere (REST, idle expiry), in any process.
        "revoked": asyncio.create_task(channel.watch_revoked()),
    }
    run = tasks["run"]
    finished = False
    try:
        await asyncio.wait(tasks.values(), return_when=asyncio.FIRST_COMPLETED)
        finished = run.done() and not run.cancelled() and run.exception() is None
        if finished:
            await channel.finished(tasks["receive"])
    finally:
        for task in tasks.values():
            task.cancel()
        await asyncio.gather(*tasks.values(), return_exceptions=True)
    if finished:
        await channel.close_finished()
        return
    if conn.superseded.is_set():  # here, in another process, or found by the turn log
        raise channel.closed("superseded")
    for name in ("run", "receive", "revoked"):
        task = tasks[name]
        if task.done() and not task.cancelled() and task.exception() is not None:
            raise task.exception()  # type: ignore[misc]
