"""Writes that never bring back an erased session.

Deleting a session (`server/storage/erasure.py`) first sets the marker `viva:deleted:{id}`, then removes
the session's keys. Whatever still runs for the session (a closing socket saving its integrity
evidence and recordings, a finish scoring it, an audit entry, a webhook) writes through these
scripts, which check in the same atomic step that the session's record is there and the marker
is not. A write that comes after the erase began is dropped: it never recreates what was erased.
"""

from __future__ import annotations

from collections.abc import Mapping

from server.storage import keys
from server.storage.store import Redis

# The marker only has to outlast the erase itself (after it, the record is gone and every guard
# refuses anyway); a day leaves room for any writer still running.
DELETED_MARKER_TTL_S = 24 * 3600

# KEYS[1] the session's record, KEYS[2] its deletion marker.
LIVE = "redis.call('EXISTS', KEYS[1]) == 1 and redis.call('EXISTS', KEYS[2]) == 0"

_HSET = f"""
if not ({LIVE}) then return 0 end
redis.call('HSET', KEYS[3], unpack(ARGV))
return 1
"""
_RPUSH = f"""
if not ({LIVE}) then return 0 end
redis.call('RPUSH', KEYS[3], unpack(ARGV))
return 1
"""
_XADD = f"""
if not ({LIVE}) then return false end
return redis.call('XADD', KEYS[3], '*', unpack(ARGV))
"""
_SET = f"""
if not ({LIVE}) then return 0 end
redis.call('SET', KEYS[3], ARGV[1])
return 1
"""
_SET_NX = f"""
if not ({LIVE}) then return 0 end
if redis.call('SET', KEYS[3], ARGV[1], 'NX') then return 1 end
return 0
"""


def live_keys(session_id: str) -> list[str]:
    """The two keys every guarded script takes first: the record and the deletion marker."""
    return [keys.session(session_id), keys.session_deleted(session_id)]


async def _eval(redis: Redis, script: str, session_id: str, key: str, *args: str) -> object:
    names = [*live_keys(session_id), key]
    result: object = await redis.eval(script, len(names), *names, *args)
    return result


async def mark_deleted(redis: Redis, session_id: str) -> None:
    """From now on, no guarded write for the session goes through."""
    await redis.set(keys.session_deleted(session_id), "1", ex=DELETED_MARKER_TTL_S)


async def is_live(redis: Redis, session_id: str) -> bool:
    """The session's record exists and it is not being erased."""
    async with redis.pipeline(transaction=False) as pipe:
        pipe.exists(keys.session(session_id))
        pipe.exists(keys.session_deleted(session_id))
        exists, deleted = await pipe.execute()
    return bool(exists) and not deleted


async def hset(redis: Redis, session_id: str, key: str, mapping: Mapping[str, str]) -> bool:
    """HSET `mapping` into `key` while the session lives; False when refused."""
    if not mapping:
        return await is_live(redis, session_id)
    flat = [part for item in mapping.items() for part in item]
    return bool(await _eval(redis, _HSET, session_id, key, *flat))


async def rpush(redis: Redis, session_id: str, key: str, *values: str) -> bool:
    """RPUSH `values` onto `key` while the session lives; False when refused."""
    return bool(await _eval(redis, _RPUSH, session_id, key, *values))


async def xadd(redis: Redis, session_id: str, key: str, fields: Mapping[str, str]) -> str | None:
    """XADD `fields` to the stream `key` while the session lives: the entry id, None when
    refused."""
    flat = [part for item in fields.items() for part in item]
    entry = await _eval(redis, _XADD, session_id, key, *flat)
    return None if entry is None else str(entry)


async def set_value(redis: Redis, session_id: str, key: str, value: str) -> bool:
    """SET `key` while the session lives; False when refused."""
    return bool(await _eval(redis, _SET, session_id, key, value))


async def set_nx(redis: Redis, session_id: str, key: str, value: str) -> bool:
    """SET `key` NX while the session lives; True when this call set it."""
    return bool(await _eval(redis, _SET_NX, session_id, key, value))
