"""Telling open sockets that their session's token or the session itself is gone.

A token is checked when a socket connects; after that, a reinvite (new token), a delete or an
idle expiry must still close the socket, whichever process serves it. The server says so through
Redis:

- `revoke(redis, session_id, reason)` publishes the reason on the channel `viva:revoked:{id}`;
  for the reasons the state does not show by itself (`expired`, `ended`) it also bumps
  `viva:session:{id}:revoked` (`count`, `reason`).
- `wait_revoked(redis, session_id, token)` returns the reason once the socket holding `token`
  must close. It is woken by the channel and also checks the state itself every `poll_s` (so a
  message lost with a dropped Redis connection is late, never missed): the token no longer
  opens the session (`reinvited`, `token_expired`), the session is erased (`deleted`), or a
  `revoke` came after the watch began (`expired`, `ended`). A Redis outage is waited out: the
  stream goes on while Redis is away, and the check resumes when it is back.

The stream's own finish is no revocation: it closes its socket itself, after the `finished`
message.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Literal

from redis.exceptions import RedisError

from server.sessions import hash_token
from server.storage import guard, keys
from server.storage.store import Redis

log = logging.getLogger(__name__)

Reason = Literal["reinvited", "token_expired", "deleted", "expired", "ended"]
POLL_S = 2.0

# Record the signal when asked (only for a session that is still there: never recreate an erased
# one), then publish it. KEYS: record, marker, revoked hash; ARGV: reason, now, channel, record?
_REVOKE = f"""
if ARGV[4] == '1' and {guard.LIVE} then
  redis.call('HINCRBY', KEYS[3], 'count', 1)
  redis.call('HSET', KEYS[3], 'reason', ARGV[1], 'at', ARGV[2])
end
return redis.call('PUBLISH', ARGV[3], ARGV[1])
"""

# The close code, error code and message the stream sends for each reason (docs/stream-protocol.md).
CLOSE: dict[str, tuple[int, str, str]] = {
    "reinvited": (4401, "unauthorized", "the session token was replaced (reinvite)"),
    "token_expired": (4401, "unauthorized", "the session token expired"),
    "deleted": (4404, "session_not_found", "the session was deleted"),
    "expired": (4409, "session_finished", "the session ended after being idle"),
    "ended": (4409, "session_finished", "the session was ended"),
}


def close_for(reason: str) -> tuple[int, str, str]:
    """(close code, error code, message) for a `wait_revoked` reason."""
    return CLOSE.get(reason, (4409, "session_finished", f"the session was closed ({reason})"))


# A reinvite and a delete show in the state (the token's key, the record, the marker): sockets
# that connect after them with a new token must not take them for their own. Only an end needs
# recording for the poll.
_RECORDED: frozenset[str] = frozenset({"expired", "ended"})


async def revoke(redis: Redis, session_id: str, reason: Reason) -> int:
    """Signal the session's open sockets to close, in every process. Returns how many
    subscribers (sockets watching) got the message now; the others find it when they poll."""
    names = [*guard.live_keys(session_id), keys.session_revoked(session_id)]
    receivers = await redis.eval(
        _REVOKE,
        len(names),
        *names,
        reason,
        repr(time.time()),
        keys.revoked_channel(session_id),
        "1" if reason in _RECORDED else "0",
    )
    return int(receivers)


async def revocation_count(redis: Redis, session_id: str) -> int:
    """How many signals the session has had so far (the watch's starting point)."""
    return int(await redis.hget(keys.session_revoked(session_id), "count") or 0)


async def revoked_reason(redis: Redis, session_id: str, token: str, since: int) -> str | None:
    """Why the socket holding `token` must close now, or None. `since`: the signal count when
    the socket's watch began (earlier signals are not for it)."""
    async with redis.pipeline(transaction=False) as pipe:
        pipe.exists(keys.session(session_id))
        pipe.exists(keys.session_deleted(session_id))
        pipe.hget(keys.session(session_id), "expires_at")
        pipe.get(keys.session_token(session_id, hash_token(token)))
        pipe.hmget(keys.session_revoked(session_id), ["count", "reason"])
        exists, deleted, expires_at, owner, (count, reason) = await pipe.execute()
    if deleted or not exists:
        return "deleted"
    if owner != session_id:
        expired = expires_at is not None and float(expires_at) < time.time()
        return "token_expired" if expired else "reinvited"
    if expires_at is not None and float(expires_at) < time.time():
        return "token_expired"
    if int(count or 0) > since:
        return str(reason or "ended")
    return None


async def wait_revoked(redis: Redis, session_id: str, token: str, *, poll_s: float = POLL_S) -> str:
    """Return, with the reason, once the socket holding `token` for `session_id` must close.

    Start it right after the token was checked at connect; cancel it when the socket ends."""
    since: int | None = None  # the signal count when the watch began; read once Redis answers
    pubsub = redis.pubsub()
    subscribed = failing = False
    try:
        while True:
            _raise_if_cancelled()
            if not subscribed:
                try:
                    await pubsub.subscribe(keys.revoked_channel(session_id))
                    subscribed = True
                except (RedisError, OSError):
                    _raise_if_cancelled()
            try:
                if since is None:
                    since = await revocation_count(redis, session_id)
                    # Ended by someone else between the connect's check and now.
                    reason = await _finished_at_start(redis, session_id)
                    if reason is not None:
                        return reason
                reason = await revoked_reason(redis, session_id, token, since)
                failing = False
            except (RedisError, OSError) as exc:
                _raise_if_cancelled()
                if not failing:  # once per outage: the stream itself goes on meanwhile
                    log.warning("revocation check for %s failed (%s); retrying", session_id, exc)
                failing, reason = True, None
            if reason is not None:
                return reason
            _raise_if_cancelled()
            if not subscribed:
                await asyncio.sleep(poll_s)
                continue
            try:  # a message, or the poll interval: either way, check again
                await pubsub.get_message(ignore_subscribe_messages=True, timeout=poll_s)
            except (RedisError, OSError):
                _raise_if_cancelled()
                subscribed = False
                with contextlib.suppress(Exception):
                    await pubsub.reset()
                await asyncio.sleep(poll_s)
    finally:
        with contextlib.suppress(Exception):
            await pubsub.aclose()


def _raise_if_cancelled() -> None:
    """redis-py can swallow a cancel that lands mid-command (or turn it into a ConnectionError):
    a watch being cancelled must end, not go on or take it for an outage."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


async def _finished_at_start(redis: Redis, session_id: str) -> str | None:
    """A watch begins as its socket starts, before that socket can have finished anything: a
    session already finished (or being finished) then was ended elsewhere."""
    status, finishing = await redis.hmget(keys.session(session_id), ["status", "finishing_at"])
    if finishing is not None or status in ("completed", "partial", "low_confidence"):
        return "ended"
    return None
