"""Who streams a session now: one live connection at a time, whichever process serves it.

Every live connection (a browser socket, a phone call) has a *ticket*, the next value of the
session's counter `viva:session:{id}:stream:seq`, taken before its socket is accepted (the phone,
whose session is known only from its first message, takes it when it claims). A newer
connection may take an older one's place, never the reverse: an older connection that reaches
its claim late (its socket was closed by the server's WebSocket layer before its handler got
there, and the client already reconnected) is refused instead of throwing the newer one out.

- `claim` sets the owner key `viva:session:{id}:stream` to `{ticket}.{connection id}` in one
  atomic step with the ticket comparison, and publishes `{id} {owner}` on `viva:owners`.
- The turn log writes through `SessionStore.store_turn(..., owner=...)`, which checks the owner
  and appends in one step: a connection that was taken over stores nothing after that.
- `OwnerWatch` (one per process, in `VoiceRuntime`) listens on `viva:owners` and sets
  `superseded` on a local connection that a newer one took over elsewhere, so that its socket
  closes (4000) at once even if it sends nothing; every `poll_s` it also reads the owner keys of
  the local connections, so a message lost with a dropped Redis connection is late, not missed.
- `release` drops the connection's claim with a compare-and-delete, the same for every channel.
- `signal` publishes `{id} {signal}` on `viva:signals`: the same watch hands it to the process's
  live connection of the session, if it has one (a code submission taken by another process ends
  the open spoken answer). Best effort: a signal lost with a dropped Redis connection is lost.

The owner key held a bare connection id before tickets. Such a value reads as ticket 0, so any
ticketed connection takes it over and none of its appends is refused wrongly: a rolling upgrade
needs no migration. While old and new processes run side by side, a takeover by an old process
(which publishes nothing and sets a bare id) is noticed by a new one at its next append, as
before; one by a new process reaches an old one the same way.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import time
from collections.abc import Callable, Mapping

from redis.exceptions import RedisError

from server.storage import guard, keys
from server.storage.store import Redis

log = logging.getLogger(__name__)

POLL_S = 2.0

# A ticket for a session that exists (a hash record, not being erased), else 0: connections to
# an unknown id make no key. KEYS: record, marker, counter.
_TICKET = f"""
if not ({guard.LIVE}) or redis.call('TYPE', KEYS[1]).ok ~= 'hash' then return 0 end
return redis.call('INCR', KEYS[3])
"""

# KEYS: record, marker, owner key, counter; ARGV: connection id, ticket (0: take one now),
# channel, session id. Returns {1, ticket} claimed, {0, ticket} a newer connection holds it,
# {-1, 0} the session is gone.
_CLAIM = f"""
if not ({guard.LIVE}) then return {{-1, 0}} end
local ticket = tonumber(ARGV[2])
if ticket == 0 then ticket = redis.call('INCR', KEYS[4]) end
local value = string.format('%d.%s', ticket, ARGV[1])
local current = redis.call('GET', KEYS[3])
if current and current ~= value then
  local held = tonumber(string.match(current, '^(%d+)%.')) or 0
  if held > ticket then return {{0, ticket}} end
end
redis.call('SET', KEYS[3], value)
redis.call('PUBLISH', ARGV[3], ARGV[4] .. ' ' .. value)
return {{1, ticket}}
"""

# Compare and delete in one step: a reconnect may set its own value between a GET and a DEL of
# the closing connection's, and the new connection would then find itself superseded.
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


class Claim(enum.Enum):
    CLAIMED = "claimed"
    SUPERSEDED = "superseded"  # a newer connection of the session holds it
    GONE = "gone"  # the session is erased (or being erased): its watch ends the channel


def owner_value(ticket: int, conn_id: str) -> str:
    """What the owner key holds for a connection."""
    return f"{ticket}.{conn_id}"


def ticket_of(value: str) -> int:
    """The ticket in an owner value; 0 for a value without one (a server before tickets)."""
    head, dot, _ = value.partition(".")
    return int(head) if dot and head.isdigit() else 0


async def take_ticket(redis: Redis, session_id: str) -> int:
    """The connection's place in the session's order; 0 when there is no such session."""
    names = [*guard.live_keys(session_id), keys.session_stream_seq(session_id)]
    return int(await redis.eval(_TICKET, len(names), *names))


async def claim(redis: Redis, session_id: str, conn_id: str, ticket: int) -> tuple[Claim, int]:
    """Make the connection the session's owner unless a newer one holds it; (outcome, ticket),
    the ticket taken here when `ticket` is 0. Every process hears of the claim (`OwnerWatch`)."""
    names = [
        *guard.live_keys(session_id),
        keys.session_stream_owner(session_id),
        keys.session_stream_seq(session_id),
    ]
    code, taken = await redis.eval(
        _CLAIM, len(names), *names, conn_id, str(ticket), keys.OWNERS_CHANNEL, session_id
    )
    outcome = {1: Claim.CLAIMED, 0: Claim.SUPERSEDED}.get(int(code), Claim.GONE)
    return outcome, int(taken)


async def signal(redis: Redis, session_id: str, name: str) -> None:
    """Tell whichever process streams the session (`OwnerWatch.signalled`)."""
    await redis.publish(keys.SIGNALS_CHANNEL, f"{session_id} {name}")


async def release(redis: Redis, session_id: str, value: str) -> bool:
    """Drop the claim whose owner value is `value`, if it still holds the session."""
    return bool(await redis.eval(_RELEASE, 1, keys.session_stream_owner(session_id), value))


class OwnerWatch:
    """Tells this process's live connections that a newer one took their session over.

    `owners()` gives the local connections' owner values by session id; `lost(session_id,
    value)` is called when `value` (a local connection's) was taken over; `signalled(session_id,
    signal)` for every `signal` published. One pub/sub connection for the whole process,
    whatever the number of streams."""

    def __init__(
        self,
        redis: Redis,
        owners: Callable[[], Mapping[str, str]],
        lost: Callable[[str, str], None],
        *,
        signalled: Callable[[str, str], None] | None = None,
        poll_s: float = POLL_S,
    ) -> None:
        self.redis = redis
        self.owners = owners
        self.lost = lost
        self.signalled = signalled
        self.poll_s = poll_s
        self.subscribed = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self, timeout_s: float = 2.0) -> None:
        """Run the watch (once), and wait (at most `timeout_s`: a Redis outage is the poll's to
        make up for) until it listens."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="owner-watch")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.subscribed.wait(), timeout_s)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            # Not for ever: redis-py can swallow a cancel that lands mid-command.
            with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                await asyncio.wait_for(asyncio.shield(self._task), 5)
            self._task = None

    def _heard(self, session_id: str, value: str) -> None:
        mine = self.owners().get(session_id)
        if mine is not None and value != mine and ticket_of(value) > ticket_of(mine):
            self.lost(session_id, mine)

    async def check(self) -> None:
        """Read the owner key of every local connection: anything a lost message left."""
        local = dict(self.owners())
        if not local:
            return
        async with self.redis.pipeline(transaction=False) as pipe:
            for session_id in local:
                pipe.get(keys.session_stream_owner(session_id))
            values = await pipe.execute()
        for session_id, value in zip(local, values, strict=True):
            if value is not None:
                self._heard(session_id, str(value))

    async def _run(self) -> None:
        failing = False
        while True:
            pubsub = self.redis.pubsub()
            try:
                await pubsub.subscribe(keys.OWNERS_CHANNEL, keys.SIGNALS_CHANNEL)
                self.subscribed.set()
                failing = False
                await self.check()  # what happened while not listening
                next_check = time.monotonic() + self.poll_s
                while True:
                    _raise_if_cancelled()
                    wait = max(0.0, next_check - time.monotonic())
                    message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=wait)
                    if message is not None and message.get("type") == "message":
                        session_id, _, value = str(message["data"]).rpartition(" ")
                        if str(message.get("channel")) != keys.SIGNALS_CHANNEL:
                            self._heard(session_id, value)
                        elif self.signalled is not None:
                            self.signalled(session_id, value)
                    if time.monotonic() >= next_check:
                        await self.check()
                        next_check = time.monotonic() + self.poll_s
            except (RedisError, OSError) as exc:
                _raise_if_cancelled()  # redis-py can turn a cancel into a connection error
                self.subscribed.clear()
                if not failing:  # once per outage
                    log.warning("owner watch lost Redis (%s); retrying", exc)
                failing = True
                await asyncio.sleep(self.poll_s)
            finally:
                self.subscribed.clear()
                with contextlib.suppress(Exception):
                    await pubsub.aclose()


def _raise_if_cancelled() -> None:
    """redis-py can swallow a cancel that lands mid-command (or turn it into a ConnectionError):
    a watch being cancelled must end, not go on."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError
