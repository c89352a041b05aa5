"""What the phone channel keeps in Redis: PINs, one-time stream tokens, outbound call tickets,
wrong-PIN counters (key names in server/storage/keys.py).

- A **PIN** (12 digits) opens a phone session from an inbound call. Only its keyed hash
  (HMAC-SHA256 under the server's key, server/security/secret_key.py) is stored, mapped to the session id,
  for `VIVA_PHONE_PIN_TTL_S` (24 h) and never past the session's token; a reinvite or the end of
  the session revokes it. It is never the session token and never opens anything but a call.
- **Wrong PINs** are budgeted (docs/security.md, "Phone PINs", works out the odds): 3 a call;
  10 an hour from one caller number; the whole server `VIVA_PHONE_PIN_GUESSES_PER_HOUR` (120) an
  hour, of which callers with no caller ID together at most a third. No counter is keyed on a
  missing or withheld number. Past a budget the PIN is not even looked at; each turn-away is a
  lock-out: counted in `viva_phone_pin_lockouts_total{scope}` and written to the phone audit log.
- A **stream token** is what the TwiML hands to Twilio's Media Streams as a custom parameter:
  256 random bits, bound to the call that earned it, good for one connection within 2 minutes.
- A **stream nonce** is the last segment of the stream URL in that TwiML (Twilio takes no query
  string there): one-time, bound to the call, spent by the handshake, whose signature covers it;
  and a CallSid is connected once (issue 24 #4: a replayed PIN step gave a second stream token,
  and the handshake's signature over a fixed URL could be replayed for ever).
- A **ticket** stands for the session in the webhook URL of an outbound call (Twilio fetches it
  when the candidate answers); read once.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import secrets
import time
from dataclasses import asdict, dataclass
from typing import Any

from prometheus_client import Counter

from server.security.secret_key import keyed_hash
from server.storage import keys
from server.storage.store import Redis

log = logging.getLogger(__name__)

PIN_DIGITS = 12
STREAM_TOKEN_TTL_S = 120
TICKET_TTL_S = 15 * 60  # ringing, voicemail screening, a slow answer
MAX_PIN_TRIES = 3  # per call: the third wrong PIN hangs up
MAX_CALLER_PIN_TRIES = 10  # per caller number and hour, across calls
CALL_TRIES_TTL_S = 3600
CALL_CLAIM_TTL_S = 6 * 3600  # longer than any call: a CallSid connects once
ANONYMOUS_SHARE = 3  # callers with no caller ID: at most 1/3 of the server's hourly budget
LOCKOUT_LOG_MAX = 10_000  # entries kept in the phone audit log

E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")
# What Twilio puts in `From` when the caller ID is withheld or unknown (and the words some
# carriers send instead): no one's number, so no counter is keyed on them.
WITHHELD = frozenset({"+266696687", "+86282452253", "+8656696", "+2562533", "+7378742833"})

PIN_LOCKOUTS = Counter(
    "viva_phone_pin_lockouts_total",
    "Phone calls turned away for wrong PINs, by the budget spent (call, caller, anonymous, global)",
    ["scope"],
)


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def pin_hash(key: bytes, pin: str) -> str:
    return keyed_hash(key, "phone-pin", pin)


def mask_number(number: str) -> str:
    """A phone number for display: its last 4 digits only."""
    digits = [c for c in number if c.isdigit()]
    return "•••" + "".join(digits[-4:]) if len(digits) > 4 else "••••"


def identified(caller: str) -> bool:
    """A caller number we may count wrong PINs against: E.164, and not a withheld-ID stand-in."""
    return bool(E164.match(caller)) and caller not in WITHHELD


async def issue_pin(redis: Redis, key: bytes, session_id: str, ttl_s: int) -> str:
    """A new PIN for the session, unique among live PINs; it replaces the session's last one."""
    await revoke_pin(redis, session_id)
    for _ in range(20):
        pin = "".join(secrets.choice("0123456789") for _ in range(PIN_DIGITS))
        hashed = pin_hash(key, pin)
        if await redis.set(keys.phone_pin(hashed), session_id, ex=ttl_s, nx=True):
            await redis.set(keys.phone_session_pin(session_id), hashed, ex=ttl_s)
            return pin
    raise RuntimeError("no free PIN after 20 draws")


async def revoke_pin(redis: Redis, session_id: str) -> bool:
    """The session's PIN opens nothing any more (a reinvite, the end). True when there was one."""
    hashed = await redis.getdel(keys.phone_session_pin(session_id))
    if not hashed:
        return False
    await redis.delete(keys.phone_pin(str(hashed)))
    return True


async def session_for_pin(redis: Redis, key: bytes, pin: str) -> str | None:
    if not pin.isdigit() or len(pin) != PIN_DIGITS:
        return None
    found = await redis.get(keys.phone_pin(pin_hash(key, pin)))
    return str(found) if found else None


async def forget_pin(redis: Redis, key: bytes, pin: str) -> None:
    await redis.delete(keys.phone_pin(pin_hash(key, pin)))


@dataclass(frozen=True)
class CallInfo:
    """Who is on the line, bound to the stream token (never shown outside the audit log)."""

    session_id: str
    call_sid: str
    direction: str  # inbound | outbound
    caller: str  # the candidate's number: From inbound, To outbound

    @classmethod
    def from_json(cls, raw: str) -> CallInfo:
        data: dict[str, Any] = json.loads(raw)
        return cls(**data)


async def issue_stream_token(redis: Redis, info: CallInfo) -> str:
    token = secrets.token_urlsafe(32)
    await redis.set(
        keys.phone_stream_token(sha256(token)), json.dumps(asdict(info)), ex=STREAM_TOKEN_TTL_S
    )
    return token


# KEYS: session's calls, tenant's calls today; ARGV: per session, per tenant-day, day TTL.
# Counts the call unless a cap is reached; returns 0 (counted), 1 (session cap), 2 (tenant).
# Count one more below a cap, on one key (a Redis Cluster runs a script on one slot's keys):
# 1 when counted, 0 when the cap refuses. KEYS: the counter; ARGV: cap, TTL.
_COUNT_BELOW_CAP = """
if tonumber(redis.call('GET', KEYS[1]) or '0') >= tonumber(ARGV[1]) then return 0 end
redis.call('INCR', KEYS[1])
redis.call('EXPIRE', KEYS[1], ARGV[2])
return 1
"""
SESSION_CALLS_TTL_S = 30 * 86400
TENANT_CALLS_TTL_S = 2 * 86400


async def count_call(
    redis: Redis, session_id: str, tenant_id: str, *, per_session: int, per_tenant_day: int
) -> tuple[str, int] | None:
    """Count an outbound call, or say which cap refuses it: (`session` or `tenant`, seconds
    until it may be tried again)."""
    now = time.time()
    day = int(now // 86400)
    session_key = keys.phone_session_calls(session_id)
    tenant_key = keys.phone_tenant_calls(tenant_id, day)
    # The tenant's day counter, then the session's (two slots); the tenant's call is given back
    # when the session's cap refuses. A crash between leaves the tenant one call short today.
    tenant_ok = await redis.eval(
        _COUNT_BELOW_CAP, 1, tenant_key, per_tenant_day, TENANT_CALLS_TTL_S
    )
    if not int(tenant_ok):
        if int(await redis.get(session_key) or 0) >= per_session:  # the session's cap first
            return "session", 86400
        return "tenant", int((day + 1) * 86400 - now) + 1
    session_ok = await redis.eval(
        _COUNT_BELOW_CAP, 1, session_key, per_session, SESSION_CALLS_TTL_S
    )
    if not int(session_ok):
        await redis.decr(tenant_key)
        return "session", 86400  # a reinvite does not reset it: a new session does
    return None


async def claim_call(redis: Redis, call_sid: str) -> bool:
    """The first connect of this call: True once per CallSid (a replayed webhook gets False)."""
    claimed = await redis.set(
        keys.phone_call_connected(call_sid), "1", nx=True, ex=CALL_CLAIM_TTL_S
    )
    return bool(claimed)


async def issue_stream_nonce(redis: Redis, call_sid: str) -> str:
    """The one-time path segment of the call's stream URL: the handshake's signature covers it,
    and it is spent by the first handshake, so a captured signature opens nothing again."""
    nonce = secrets.token_urlsafe(24)
    await redis.set(keys.phone_stream_nonce(nonce), call_sid, ex=STREAM_TOKEN_TTL_S)
    return nonce


async def take_stream_nonce(redis: Redis, nonce: str) -> str | None:
    """The call a stream URL was made for; the URL opens nothing after this."""
    if not nonce:
        return None
    found = await redis.getdel(keys.phone_stream_nonce(nonce))
    return str(found) if found else None


async def take_stream_token(redis: Redis, token: str) -> CallInfo | None:
    """The call a stream token was issued for; the token is gone after this (one use)."""
    if not token:
        return None
    raw = await redis.getdel(keys.phone_stream_token(sha256(token)))
    return CallInfo.from_json(str(raw)) if raw else None


async def issue_ticket(redis: Redis, session_id: str, number: str) -> str:
    ticket = secrets.token_urlsafe(24)
    await redis.set(
        keys.phone_ticket(ticket),
        json.dumps({"session_id": session_id, "number": number, "call_sid": None}),
        ex=TICKET_TTL_S,
    )
    return ticket


async def bind_ticket(redis: Redis, ticket: str, call_sid: str) -> None:
    """The call Twilio created for the ticket: only that call may use it."""
    raw = await redis.get(keys.phone_ticket(ticket))
    if raw:
        data = {**json.loads(raw), "call_sid": call_sid}
        await redis.set(keys.phone_ticket(ticket), json.dumps(data), keepttl=True)


async def take_ticket(redis: Redis, ticket: str, call_sid: str) -> dict[str, Any] | None:
    """The ticket's session and number, once, and only for the call it was bound to (when the
    webhook beats the binding, any call of this account)."""
    key = keys.phone_ticket(ticket)
    raw = await redis.get(key)
    if not raw:
        return None
    data: dict[str, Any] = json.loads(raw)
    if data.get("call_sid") not in (None, call_sid):
        return None
    if not await redis.delete(key):
        return None  # another request took it meanwhile
    return data


def _hour() -> int:
    return int(time.time() // 3600)


async def wrong_pin(redis: Redis, call_sid: str, caller: str) -> tuple[int, int]:
    """Count a wrong PIN against the call, the caller's number (when there is one), and the
    server's hour (its anonymous share too, without one). Returns (this call's tries, this
    caller's tries this hour; 0 for a withheld number)."""
    call_key = keys.phone_call_pin_tries(call_sid)
    hour = _hour()
    known = identified(caller)
    # Not a transaction: each INCR and its EXPIRE touch one key, and the keys are in different
    # slots on a Redis Cluster.
    async with redis.pipeline(transaction=False) as pipe:
        pipe.incr(call_key)
        pipe.expire(call_key, CALL_TRIES_TTL_S)
        pipe.incr(keys.phone_pin_guesses(hour))
        pipe.expire(keys.phone_pin_guesses(hour), 2 * 3600)
        if known:
            caller_key = keys.phone_caller_pin_tries(sha256(caller))
            pipe.incr(caller_key)
            pipe.expire(caller_key, CALL_TRIES_TTL_S, nx=True)
        else:
            pipe.incr(keys.phone_pin_guesses(hour, anonymous=True))
            pipe.expire(keys.phone_pin_guesses(hour, anonymous=True), 2 * 3600)
        results = await pipe.execute()
    return int(results[0]), int(results[4]) if known else 0


async def locked_out(redis: Redis, caller: str, budget: int) -> str | None:
    """Which budget turns this caller away now, if any: `global` (the server's wrong PINs this
    hour), `anonymous` (no caller ID: their third of it), `caller` (this number's ten)."""
    hour = _hour()
    async with redis.pipeline(transaction=False) as pipe:  # GETs: two slots on a cluster
        pipe.get(keys.phone_pin_guesses(hour))
        pipe.get(keys.phone_pin_guesses(hour, anonymous=True))
        spent, anonymous = await pipe.execute()
    if int(spent or 0) >= budget:
        return "global"
    if not identified(caller):
        return "anonymous" if int(anonymous or 0) >= max(1, budget // ANONYMOUS_SHARE) else None
    tries = await redis.get(keys.phone_caller_pin_tries(sha256(caller)))
    return "caller" if int(tries or 0) >= MAX_CALLER_PIN_TRIES else None


async def record_lockout(redis: Redis, scope: str, call_sid: str, caller: str) -> None:
    """A call turned away for wrong PINs: the metric, the phone audit log (number masked), a
    warning in the server's log."""
    PIN_LOCKOUTS.labels(scope).inc()
    log.warning("phone PIN lock-out (%s): call %s from %s", scope, call_sid, mask_number(caller))
    await redis.xadd(
        keys.phone_audit(),
        {
            "at": repr(time.time()),
            "action": "phone_pin_lockout",
            "scope": scope,
            "call_sid": call_sid,
            "caller": mask_number(caller) if identified(caller) else "withheld",
        },
        maxlen=LOCKOUT_LOG_MAX,
        approximate=True,
    )


async def lockouts(redis: Redis) -> list[dict[str, str]]:
    """The phone audit log's entries, oldest first."""
    raw: list[tuple[str, dict[str, str]]] = await redis.xrange(keys.phone_audit())  # type: ignore[assignment]
    return [{str(k): str(v) for k, v in fields.items()} for _, fields in raw]
