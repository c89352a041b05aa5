"""What the phone channel keeps in Redis: PINs, one-time stream tokens, outbound call tickets,
wrong-PIN counters (key names in server/keys.py).

- A **PIN** (8 digits) opens a phone session from an inbound call. Only its SHA-256 is stored,
  mapped to the session id, for as long as the session's token lives. It is never the session
  token and never opens anything but a call.
- A **stream token** is what the TwiML hands to Twilio's Media Streams as a custom parameter:
  256 random bits, bound to the call that earned it, good for one connection within 2 minutes.
- A **ticket** stands for the session in the webhook URL of an outbound call (Twilio fetches it
  when the candidate answers); read once.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import asdict, dataclass
from typing import Any

from server import keys
from server.store import Redis

PIN_DIGITS = 8
STREAM_TOKEN_TTL_S = 120
TICKET_TTL_S = 15 * 60  # ringing, voicemail screening, a slow answer
MAX_PIN_TRIES = 3  # per call: the third wrong PIN hangs up
MAX_CALLER_PIN_TRIES = 10  # per caller number and hour, across calls
CALL_TRIES_TTL_S = 3600


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def mask_number(number: str) -> str:
    """A phone number for display: its last 4 digits only."""
    digits = [c for c in number if c.isdigit()]
    return "•••" + "".join(digits[-4:]) if len(digits) > 4 else "••••"


async def issue_pin(redis: Redis, session_id: str, ttl_s: int) -> str:
    """A new PIN for the session, unique among live PINs."""
    for _ in range(20):
        pin = "".join(secrets.choice("0123456789") for _ in range(PIN_DIGITS))
        if await redis.set(keys.phone_pin(sha256(pin)), session_id, ex=ttl_s, nx=True):
            return pin
    raise RuntimeError("no free PIN after 20 draws")


async def session_for_pin(redis: Redis, pin: str) -> str | None:
    if not pin.isdigit() or len(pin) != PIN_DIGITS:
        return None
    found = await redis.get(keys.phone_pin(sha256(pin)))
    return str(found) if found else None


async def forget_pin(redis: Redis, pin: str) -> None:
    await redis.delete(keys.phone_pin(sha256(pin)))


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


async def wrong_pin(redis: Redis, call_sid: str, caller: str) -> tuple[int, int]:
    """Count a wrong PIN; returns (this call's tries, this caller's tries this hour)."""
    call_key = keys.phone_call_pin_tries(call_sid)
    caller_key = keys.phone_caller_pin_tries(sha256(caller))
    async with redis.pipeline(transaction=True) as pipe:
        pipe.incr(call_key)
        pipe.expire(call_key, CALL_TRIES_TTL_S)
        pipe.incr(caller_key)
        pipe.expire(caller_key, CALL_TRIES_TTL_S, nx=True)
        call_tries, _, caller_tries, _ = await pipe.execute()
    return int(call_tries), int(caller_tries)


async def caller_blocked(redis: Redis, caller: str) -> bool:
    tries = await redis.get(keys.phone_caller_pin_tries(sha256(caller)))
    return int(tries or 0) >= MAX_CALLER_PIN_TRIES
