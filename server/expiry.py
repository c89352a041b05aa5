"""Sessions abandoned mid-interview end as `partial`.

A dropped connection may resume, so nothing ends at the drop itself. A session whose last stored
turn is older than `VIVA_SESSION_IDLE_TIMEOUT_S` is finished as ended early (scored on what
completed), unless a socket still streams it; a stream owner left behind by a crashed server is
ignored after twice the timeout. The finish is signalled (server/security/revocation.py, `expired`), so a
socket still open on it, in any process, closes. The report is the one the stream would build,
integrity sections included (server/lifecycle.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from server.lifecycle import FinishPending, finish_session
from server.security import revocation
from server.services import Services
from server.sessions import SessionNotFound, SessionStore
from server.storage import keys

log = logging.getLogger(__name__)


async def expire_idle_sessions(services: Services, *, now: float | None = None) -> list[str]:
    """Finish every idle unfinished session; returns the ids finished now."""
    redis = services.store.redis
    sessions = SessionStore(redis)
    now = time.time() if now is None else now
    timeout = services.settings.session_idle_timeout_s
    idle: list[tuple[str, float]] = await redis.zrangebyscore(
        keys.OPEN_SESSIONS, "-inf", now - timeout, withscores=True
    )  # type: ignore[assignment]
    finished: list[str] = []
    for member, score in idle:
        session_id, last_activity = str(member), float(score)
        try:
            record = await sessions.get(session_id)
        except SessionNotFound:
            await redis.zrem(keys.OPEN_SESSIONS, session_id)
            continue
        if not record.is_finished:
            streaming = await redis.exists(keys.session_stream_owner(session_id))
            if streaming and last_activity > now - 2 * timeout:
                continue
            try:
                await finish_session(services, session_id, ended_early=True)
            except SessionNotFound:  # erased meanwhile
                await redis.zrem(keys.OPEN_SESSIONS, session_id)
                continue
            except FinishPending:  # another finisher's claim, not yet past its lease
                continue
            await revocation.revoke(redis, session_id, "expired")
            finished.append(session_id)
            log.info(
                "session %s idle since %.0f s: finished as partial", session_id, now - last_activity
            )
        await redis.zrem(keys.OPEN_SESSIONS, session_id)
    return finished


class ExpiryWorker:
    """Checks for idle sessions in the background, a few times per timeout."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self.interval_s = min(60.0, services.settings.session_idle_timeout_s / 4)
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="expiry-worker")

    async def stop(self) -> None:
        # The flag, not only the cancel: redis-py can turn a cancel that lands mid-connect into a
        # ConnectionError, which the loop below would swallow and sleep on.
        self._stopping.set()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                await expire_idle_sessions(self.services)
            except Exception:  # one bad session must not stop the worker
                if self._stopping.is_set():
                    return
                log.exception("expiring idle sessions failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self.interval_s)
