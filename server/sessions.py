"""Sessions in Redis: the record, its token, and its append-once transcript.

A session token is 256 random bits, shown once at creation; Redis keeps only its SHA-256, mapped
to the session id with the token's expiry as TTL.
"""

from __future__ import annotations

import dataclasses
import enum
import hashlib
import json
import re
import secrets
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from redis.exceptions import ResponseError

from pipeline.engine import InterviewPlan, Question, Turn
from server.storage import guard, keys
from server.storage.store import Redis

DEFAULT_TOKEN_TTL_S = 7 * 24 * 3600
# A session id as `new_session_id` makes it. Ids from a path or a body are checked against it at
# the edge (`is_session_id`): a crafted one ("ses_…:turns") would otherwise name another key.
SESSION_ID_PATTERN = r"^ses_[0-9a-f]{20}$"
_SESSION_ID = re.compile(SESSION_ID_PATTERN)


def new_session_id() -> str:
    return "ses_" + secrets.token_hex(10)


def is_session_id(value: str) -> bool:
    return _SESSION_ID.fullmatch(value) is not None


# A turn goes in only while the session takes turns: its record is there, it is not being erased
# (server/storage/guard.py) and not finished or being finished (server/lifecycle.py claims the finish
# with `finishing_at`). Returns -1 for an erased session, -2 for a finished one.
_TAKES_TURNS = f"""
if not ({guard.LIVE}) then return -1 end
local state = redis.call('HMGET', KEYS[1], 'status', 'finishing_at')
if state[2] or state[1] == 'completed' or state[1] == 'partial' or state[1] == 'low_confidence' then
  return -2
end
"""
# A live connection writes only while it owns the session (server/ownership.py): checked in the
# same step as the write, so a connection that was taken over, in any process, stores nothing
# after the newer one read the transcript. Returns -3 when another connection owns it.
# KEYS[n]: the owner key; ARGV[m]: this connection's owner value.


def _owned(n: int, m: int) -> str:
    return f"""
if redis.call('GET', KEYS[{n}]) ~= ARGV[{m}] then return -3 end
"""


# Append a turn only if it is the next one: a resumed stream or a retried request can never
# store the same turn twice. Returns 1 when stored, 0 when that index already exists. The time
# of the last stored turn goes to the open-sessions index (idle expiry) right after, not in the
# script: the index is global, the script's keys are the session's slot (Redis Cluster). A crash
# in between leaves the index's time older: expiry already leaves a streamed session alone for
# twice the idle timeout, and the next turn corrects it.
# KEYS: record, marker, turns, (owner); ARGV: index, turn, (owner).
_APPEND = """
if redis.call('LLEN', KEYS[3]) == tonumber(ARGV[1]) then
  redis.call('RPUSH', KEYS[3], ARGV[2])
  return 1
end
return 0
"""
_APPEND_ONCE = _TAKES_TURNS + _APPEND
_APPEND_OWNED = _TAKES_TURNS + _owned(4, 3) + _APPEND
# A repaired answer (the candidate went on after the reply began) replaces its stored turn,
# only while it is the last one: nothing after it can have been stored on top of it.
# KEYS: record, marker, turns, (owner); ARGV: index, turn, (owner).
_REPLACE = """
if redis.call('LLEN', KEYS[3]) == tonumber(ARGV[1]) + 1 then
  redis.call('LSET', KEYS[3], tonumber(ARGV[1]), ARGV[2])
  return 1
end
return 0
"""
_REPLACE_LAST = _TAKES_TURNS + _REPLACE
_REPLACE_OWNED = _TAKES_TURNS + _owned(4, 3) + _REPLACE
# A new token, only for a session that is still there. The old token's name is in KEYS (a
# cluster runs a script only on the keys it is given): the caller read the old hash first, and
# the script refuses (-1) if it changed meanwhile; the caller then reads it again.
# KEYS: record, marker, new token, old token; ARGV: new token hash, expires_at, ttl, session id,
# the old token hash read ('' for none).
_REISSUE = f"""
if not ({guard.LIVE}) then return 0 end
local old = redis.call('HGET', KEYS[1], 'token_hash')
if (old or '') ~= ARGV[5] then return -1 end
if old then redis.call('DEL', KEYS[4]) end
redis.call('HSET', KEYS[1], 'token_hash', ARGV[1], 'expires_at', ARGV[2])
redis.call('SET', KEYS[3], ARGV[4], 'EX', tonumber(ARGV[3]))
return 1
"""
_REISSUE_ATTEMPTS = 5


class AppendResult(enum.Enum):
    STORED = "stored"
    EXISTS = "exists"  # that index is already stored (or is not the next one)
    FINISHED = "finished"  # the session is finished, or being finished: no more turns
    ERASED = "erased"  # the session is gone, or being erased
    SUPERSEDED = "superseded"  # another connection owns the session now (only with `owner`)


_APPEND_RESULTS = {
    1: AppendResult.STORED,
    0: AppendResult.EXISTS,
    -1: AppendResult.ERASED,
    -2: AppendResult.FINISHED,
    -3: AppendResult.SUPERSEDED,
}


class SessionError(Exception):
    """Base of session lookup failures; `code` is the stream protocol's close code."""

    code = 4400


class SessionNotFound(SessionError):
    code = 4404


class InvalidToken(SessionError):
    code = 4401


@dataclass
class SessionRecord:
    id: str
    tenant_id: str
    plan: InterviewPlan
    mode: str = "voice"  # voice | chat
    status: str = "created"  # created | active | completed | partial | low_confidence
    created_at: float = field(default_factory=time.time)
    expires_at: float = 0.0
    interview_id: str = ""
    extra: dict[str, Any] = field(default_factory=dict)  # REST-level fields (candidate, tags...)

    @property
    def is_finished(self) -> bool:
        return self.status in ("completed", "partial", "low_confidence")


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def plan_to_json(plan: InterviewPlan) -> str:
    return json.dumps(dataclasses.asdict(plan))


def _tuples(data: dict[str, Any]) -> dict[str, Any]:
    """JSON arrays back into the tuples the frozen plan dataclasses hold."""
    return {k: tuple(v) if isinstance(v, list) else v for k, v in data.items()}


def plan_from_json(raw: str) -> InterviewPlan:
    data = _tuples(json.loads(raw))
    data["questions"] = tuple(Question(**_tuples(q)) for q in data.get("questions", ()))
    data["competency_weights"] = tuple(tuple(w) for w in data.get("competency_weights", ()))
    return InterviewPlan(**data)


def turn_to_json(turn: Turn) -> str:
    return json.dumps(dataclasses.asdict(turn))


def turn_from_json(raw: str) -> Turn:
    return Turn(**json.loads(raw))


def _record_to_hash(record: SessionRecord) -> dict[str, str]:
    return {
        "id": record.id,
        "tenant_id": record.tenant_id,
        "plan": plan_to_json(record.plan),
        "mode": record.mode,
        "status": record.status,
        "created_at": repr(record.created_at),
        "expires_at": repr(record.expires_at),
        "interview_id": record.interview_id,
        "extra": json.dumps(record.extra),
    }


def _record_from_hash(data: dict[str, str]) -> SessionRecord:
    return SessionRecord(
        id=data["id"],
        tenant_id=data["tenant_id"],
        plan=plan_from_json(data["plan"]),
        mode=data.get("mode", "voice"),
        status=data.get("status", "created"),
        created_at=float(data.get("created_at", 0)),
        expires_at=float(data.get("expires_at", 0)),
        interview_id=data.get("interview_id", ""),
        extra=json.loads(data.get("extra", "{}")),
    )


class SessionStore:
    def __init__(self, redis: Redis) -> None:
        self.redis = redis
        self._append_once = redis.register_script(_APPEND_ONCE)
        self._replace_last = redis.register_script(_REPLACE_LAST)
        self._append_owned = redis.register_script(_APPEND_OWNED)
        self._replace_owned = redis.register_script(_REPLACE_OWNED)

    async def create(
        self, record: SessionRecord, token_ttl_s: int = DEFAULT_TOKEN_TTL_S
    ) -> tuple[SessionRecord, str]:
        """Store a new session and issue its token. Returns the record and the token."""
        token = secrets.token_urlsafe(32)
        record.expires_at = time.time() + token_ttl_s
        mapping = _record_to_hash(record)
        mapping["token_hash"] = hash_token(token)
        # The tenant's index first, then the record and token in one MULTI (the session's slot;
        # the index is another, Redis Cluster): a crash between leaves an id without a record,
        # which the listings, the review queue and the bias audit skip.
        await self.redis.zadd(
            keys.tenant_sessions(record.tenant_id), {record.id: record.created_at}
        )
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(keys.session(record.id), mapping=mapping)  # type: ignore[arg-type]
            pipe.set(
                keys.session_token(record.id, mapping["token_hash"]), record.id, ex=token_ttl_s
            )
            await pipe.execute()
        return record, token

    async def get(self, session_id: str) -> SessionRecord:
        try:
            data = await self.redis.hgetall(keys.session(session_id))
        except ResponseError as exc:  # an id naming another key's type ("ses_…:turns")
            if not str(exc).startswith("WRONGTYPE"):
                raise
            data = {}
        if not data:
            raise SessionNotFound(f"no session {session_id}")
        return _record_from_hash(data)  # type: ignore[arg-type]

    async def authorize(self, session_id: str, token: str) -> SessionRecord:
        """The session a token opens; InvalidToken for a wrong, revoked or expired token."""
        record = await self.get(session_id)
        owner = await self.redis.get(keys.session_token(session_id, hash_token(token)))
        if owner != session_id or record.expires_at < time.time():
            raise InvalidToken("bad or expired session token")
        return record

    async def set_status(self, session_id: str, status: str) -> None:
        await self.set_fields(session_id, status=status)

    async def store_turn(
        self, session_id: str, turn: Turn, *, owner: str | None = None
    ) -> AppendResult:
        """Store a completed turn if index `turn.index` is the next one and the session still
        takes turns (not finished, not erased); says which. With `owner` (a live connection's
        value of the owner key, server/ownership.py), only while that connection owns the
        session, checked in the same step (else SUPERSEDED)."""
        names = [*guard.live_keys(session_id), keys.session_turns(session_id)]
        args: list[str | int] = [turn.index, turn_to_json(turn)]
        if owner is None:
            result = await self._append_once(keys=names, args=args)
        else:
            names.append(keys.session_stream_owner(session_id))
            result = await self._append_owned(keys=names, args=[*args, owner])
        stored = _APPEND_RESULTS[int(result)]
        if stored is AppendResult.STORED:
            # The time is the last activity, for expiring abandoned sessions (server/expiry.py).
            await self.redis.zadd(keys.OPEN_SESSIONS, {session_id: time.time()})
        return stored

    async def append_turn(self, session_id: str, turn: Turn) -> bool:
        """Store a completed turn if index `turn.index` is the next one. False if already there,
        or if the session is finished or erased (`store_turn` says which)."""
        return await self.store_turn(session_id, turn) is AppendResult.STORED

    async def replace_last_turn(
        self, session_id: str, turn: Turn, *, owner: str | None = None
    ) -> AppendResult:
        """Store `turn` over the stored turn of its index if that is the last one and the
        session still takes turns (with `owner`: and that connection owns it, as `store_turn`);
        STORED when replaced, EXISTS when it is not the last one."""
        names = [*guard.live_keys(session_id), keys.session_turns(session_id)]
        args: list[str | int] = [turn.index, turn_to_json(turn)]
        if owner is None:
            result = await self._replace_last(keys=names, args=args)
        else:
            names.append(keys.session_stream_owner(session_id))
            result = await self._replace_owned(keys=names, args=[*args, owner])
        return _APPEND_RESULTS[int(result)]

    async def turns(self, session_id: str) -> list[Turn]:
        raw = await self.redis.lrange(keys.session_turns(session_id), 0, -1)
        return [turn_from_json(str(item)) for item in raw]

    async def field_values(self, session_id: str, *names: str) -> dict[str, str]:
        """Hash fields kept beside the record: `started_at`, `finished_at`, `consent`."""
        values = await self.redis.hmget(keys.session(session_id), list(names))
        return {n: str(v) for n, v in zip(names, values, strict=True) if v is not None}

    async def set_fields(self, session_id: str, **values: str) -> None:
        """Set fields of a session that is still there (never recreates an erased one)."""
        await guard.hset(self.redis, session_id, keys.session(session_id), values)

    async def set_extra(self, session_id: str, extra: dict[str, Any]) -> None:
        await self.set_fields(session_id, extra=json.dumps(extra))

    async def set_consent(self, session_id: str, version: str, at: float) -> None:
        """Record the candidate's consent to the disclosure `version`. The voice loop reads it
        with `consent()` before processing any audio."""
        await self.set_fields(session_id, consent=json.dumps({"version": version, "at": at}))

    async def consent(self, session_id: str) -> dict[str, Any] | None:
        raw = await self.redis.hget(keys.session(session_id), "consent")
        return json.loads(raw) if raw else None

    async def reissue_token(self, session_id: str, token_ttl_s: int) -> tuple[str, float]:
        """A new token for the session; the old one stops working at once. Sockets streaming
        with the old one are told by `server.security.revocation.revoke` (the caller's part)."""
        token = secrets.token_urlsafe(32)
        expires_at = time.time() + token_ttl_s
        for _ in range(_REISSUE_ATTEMPTS):
            old = str(await self.redis.hget(keys.session(session_id), "token_hash") or "")
            reissued = int(
                await self.redis.eval(
                    _REISSUE,
                    4,
                    *guard.live_keys(session_id),
                    keys.session_token(session_id, hash_token(token)),
                    keys.session_token(session_id, old),
                    hash_token(token),
                    repr(expires_at),
                    str(token_ttl_s),
                    session_id,
                    old,
                )
            )
            if reissued == 1:
                return token, expires_at
            if reissued == 0:
                raise SessionNotFound(f"no session {session_id}")
        raise SessionError(f"the token of {session_id} kept changing; not reissued")

    async def tenant_session_ids(self, tenant_id: str, batch: int = 100) -> AsyncIterator[str]:
        """The tenant's session ids, newest first."""
        index = keys.tenant_sessions(tenant_id)
        start = 0
        while ids := await self.redis.zrevrange(index, start, start + batch - 1):
            for session_id in ids:
                yield str(session_id)
            start += batch

    async def erase(self, record: SessionRecord) -> None:
        """Delete every key of the session (its `viva:session:{id}*` keys), its token and its
        entry in the tenant's index. The deletion marker goes first: a writer still running
        (server/storage/guard.py) cannot put back a key after the scan below has passed it."""
        await guard.mark_deleted(self.redis, record.id)
        token_hash = await self.redis.hget(keys.session(record.id), "token_hash")
        doomed = [k async for k in self.redis.scan_iter(match=f"{keys.session(record.id)}*")]
        # The prefix also matches ids that merely start with this one; keep only ours.
        mine = [
            k
            for k in doomed
            if k == keys.session(record.id) or k.startswith(f"{keys.session(record.id)}:")
        ]
        # The session's keys and token in one MULTI (one slot), then its index entries (other
        # slots, Redis Cluster); both steps are idempotent: a DELETE repeated after a crash
        # between them finishes the erase.
        async with self.redis.pipeline(transaction=True) as pipe:
            if mine:
                pipe.delete(*mine)
            if token_hash:
                pipe.delete(keys.session_token(record.id, str(token_hash)))
            if mine or token_hash:
                await pipe.execute()
        await self.redis.zrem(keys.tenant_sessions(record.tenant_id), record.id)
        await self.redis.zrem(keys.OPEN_SESSIONS, record.id)
