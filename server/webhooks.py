"""Webhooks: signed, delivered at least once, retried with back-off, logged per session.

A finished session enqueues one delivery on the `viva:webhooks` stream. Workers read it through
the `deliverers` consumer group, so a delivery read but never acknowledged (the process died
mid-request) stays pending and is claimed again by a live worker. A failed attempt is parked in
the `viva:webhooks:retry` sorted set until its back-off has passed, then goes back on the stream.

Signature: `X-Viva-Signature: sha256=<hex>`, the HMAC-SHA256 with the tenant's webhook secret of
`{X-Viva-Timestamp}.{raw body}`. Receivers should refuse timestamps more than a few minutes old.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import logging
import secrets
import time
import uuid
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from typing import Any

import httpx
import redis.exceptions

from server import keys
from server.settings import Settings
from server.store import Redis

log = logging.getLogger(__name__)

EVENT_FOR_STATUS = {
    "completed": "session.completed",
    "partial": "session.partial",
    "low_confidence": "session.low_confidence",
}
MAX_BACKOFF_S = 3600.0

# Move due retries back onto the stream, atomically: a retry is never lost or doubled.
_PROMOTE_DUE = """
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, 50)
for _, member in ipairs(due) do
  redis.call('XADD', KEYS[2], '*', 'delivery', member)
  redis.call('ZREM', KEYS[1], member)
end
return #due
"""
# Settle one attempt atomically: log it and park the retry only while the session exists (an
# erased session is never recreated, its retry is dropped), then take it off the stream.
_SETTLE = """
if redis.call('EXISTS', KEYS[1]) == 1 then
  redis.call('RPUSH', KEYS[2], ARGV[1])
  if ARGV[2] ~= '' then redis.call('ZADD', KEYS[3], ARGV[3], ARGV[2]) end
end
redis.call('XACK', KEYS[4], ARGV[4], ARGV[5])
redis.call('XDEL', KEYS[4], ARGV[5])
return 1
"""


@dataclass(frozen=True)
class Delivery:
    id: str
    tenant_id: str
    session_id: str
    event: str
    url: str
    body: str
    attempt: int = 1

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, raw: str) -> Delivery:
        return cls(**json.loads(raw))


def sign(secret: str, timestamp: int, body: bytes) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return "sha256=" + digest.hexdigest()


def backoff_s(base_s: float, attempt: int) -> float:
    """Wait after failed attempt `attempt` (1-based): base, 2x base, 4x base... capped at 1 h."""
    return float(min(base_s * 2 ** (attempt - 1), MAX_BACKOFF_S))


async def tenant_secret(redis: Redis, tenant_id: str) -> str:
    """The tenant's signing secret, created on first use."""
    await redis.hsetnx(keys.tenant(tenant_id), "webhook_secret", "whsec_" + secrets.token_hex(32))
    return str(await redis.hget(keys.tenant(tenant_id), "webhook_secret"))


async def rotate_secret(redis: Redis, tenant_id: str) -> str:
    secret = "whsec_" + secrets.token_hex(32)
    await redis.hset(keys.tenant(tenant_id), "webhook_secret", secret)
    return secret


async def enqueue(
    redis: Redis, *, tenant_id: str, session_id: str, url: str, event: str, data: dict[str, Any]
) -> Delivery:
    delivery_id = "whd_" + secrets.token_hex(8)
    body = {
        "id": delivery_id,
        "type": event,
        "created_at": datetime.now(UTC).isoformat(),
        "data": data,
    }
    delivery = Delivery(delivery_id, tenant_id, session_id, event, url, json.dumps(body))
    await redis.xadd(keys.WEBHOOKS, {"delivery": delivery.to_json()})
    return delivery


async def delivery_log(redis: Redis, session_id: str) -> list[dict[str, Any]]:
    raw = await redis.lrange(keys.session_webhooks(session_id), 0, -1)
    return [json.loads(item) for item in raw]


async def forget_session(redis: Redis, session_id: str) -> None:
    """Drop the session's undelivered webhooks (queued or awaiting retry): its data goes too."""
    queued: list[tuple[str, dict[str, str]]] = await redis.xrange(keys.WEBHOOKS)  # type: ignore[assignment]
    for entry_id, fields in queued:
        if Delivery.from_json(fields["delivery"]).session_id == session_id:
            await redis.xdel(keys.WEBHOOKS, entry_id)
    retries: list[str] = await redis.zrange(keys.WEBHOOK_RETRIES, 0, -1)  # type: ignore[assignment]
    for member in retries:
        if Delivery.from_json(member).session_id == session_id:
            await redis.zrem(keys.WEBHOOK_RETRIES, member)


class WebhookWorker:
    """Delivers webhooks until stopped. One per process; any number may share the group."""

    def __init__(self, redis: Redis, settings: Settings) -> None:
        self.redis = redis
        self.settings = settings
        self.consumer = f"worker-{uuid.uuid4().hex[:12]}"
        # A delivery pending this long belongs to a worker that died mid-request.
        self.stale_ms = int(settings.webhook_timeout_s * 3 * 1000)
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()
        self._promote = redis.register_script(_PROMOTE_DUE)
        self._settle = redis.register_script(_SETTLE)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="webhook-worker")

    async def stop(self) -> None:
        """Let a delivery in flight finish and settle (at most one request timeout), then stop.
        Cut mid-request, the receiver may have it while the queue does not know: it would be
        sent again as the same attempt once its claim goes stale."""
        self._stopping.set()
        if self._task is None:
            return
        await asyncio.wait({self._task}, timeout=self.settings.webhook_timeout_s + 1.0)
        # The flag, not only the cancel: redis-py can turn a cancel that lands mid-connect into a
        # ConnectionError, which the retry loop would otherwise take for an outage.
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None

    async def _run(self) -> None:
        group_exists = False
        async with httpx.AsyncClient(timeout=self.settings.webhook_timeout_s) as client:
            while not self._stopping.is_set():
                try:
                    if not group_exists:
                        await self._create_group()
                        group_exists = True
                    await self._poll(client)
                except redis.exceptions.RedisError as exc:
                    if self._stopping.is_set():
                        return
                    # NOGROUP: the stream went (FLUSHDB, failover to an empty replica) and took
                    # the group with it. Any other error: keep the worker alive, retry.
                    group_exists = group_exists and not str(exc).startswith("NOGROUP")
                    log.warning("webhook worker: %s; retrying", exc)
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._stopping.wait(), 1.0)

    async def _create_group(self) -> None:
        with contextlib.suppress(redis.exceptions.ResponseError):  # BUSYGROUP: it exists
            await self.redis.xgroup_create(keys.WEBHOOKS, keys.WEBHOOK_GROUP, id="0", mkstream=True)

    async def _poll(self, client: httpx.AsyncClient) -> None:
        await self._promote(keys=[keys.WEBHOOK_RETRIES, keys.WEBHOOKS], args=[time.time()])
        claimed: list[Any] = await self.redis.xautoclaim(
            keys.WEBHOOKS, keys.WEBHOOK_GROUP, self.consumer, self.stale_ms, "0-0", count=10
        )
        fresh: list[Any] = await self.redis.xreadgroup(  # type: ignore[assignment]
            keys.WEBHOOK_GROUP, self.consumer, {keys.WEBHOOKS: ">"}, count=10, block=250
        )
        stale: list[tuple[str, dict[str, str]]] = claimed[1]
        entries = stale + [e for _, stream_entries in fresh for e in stream_entries]
        for entry_id, fields in entries:
            if self._stopping.is_set():
                return  # the rest stay pending; a worker claims them when they go stale
            await self._deliver(client, entry_id, Delivery.from_json(fields["delivery"]))

    async def _deliver(self, client: httpx.AsyncClient, entry_id: str, delivery: Delivery) -> None:
        secret = await tenant_secret(self.redis, delivery.tenant_id)
        timestamp = int(time.time())
        body = delivery.body.encode()
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "viva-voce-webhooks/1",
            "X-Viva-Event": delivery.event,
            "X-Viva-Delivery": delivery.id,
            "X-Viva-Timestamp": str(timestamp),
            "X-Viva-Signature": sign(secret, timestamp, body),
        }
        status_code: int | None = None
        error: str | None = None
        try:
            response = await client.post(delivery.url, content=body, headers=headers)
            status_code = response.status_code
            if not response.is_success:
                error = f"HTTP {status_code}"
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        delivered = error is None
        gives_up = not delivered and delivery.attempt >= self.settings.webhook_max_attempts
        retry_at = (
            None
            if delivered or gives_up
            else time.time() + backoff_s(self.settings.webhook_backoff_s, delivery.attempt)
        )
        attempt_log = {
            "delivery_id": delivery.id,
            "event": delivery.event,
            "url": delivery.url,
            "attempt": delivery.attempt,
            "at": time.time(),
            "status_code": status_code,
            "delivered": delivered,
            "error": error,
            "next_attempt_at": retry_at,
        }
        retry = replace(delivery, attempt=delivery.attempt + 1).to_json() if retry_at else ""
        await self._settle(
            keys=[
                keys.session(delivery.session_id),
                keys.session_webhooks(delivery.session_id),
                keys.WEBHOOK_RETRIES,
                keys.WEBHOOKS,
            ],
            args=[json.dumps(attempt_log), retry, retry_at or 0, keys.WEBHOOK_GROUP, entry_id],
        )
        if gives_up:
            log.warning(
                "webhook %s to %s: gave up after %d attempts",
                delivery.id,
                delivery.url,
                delivery.attempt,
            )
