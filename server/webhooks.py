"""Webhooks: signed, delivered at least once, retried with back-off, logged per session.

A finished session enqueues one delivery on the `viva:{webhooks}` stream. Workers read it through
the `deliverers` consumer group, so a delivery read but never acknowledged (the process died
mid-request) stays pending and is claimed again by a live worker. A failed attempt is parked in
the `viva:{webhooks}:retry` sorted set until its back-off has passed, then goes back on the stream.

A receiver cannot hold the server: each attempt has one deadline and never reads the response
body (`server/webhook_http.py`), deliveries run concurrently with a per-tenant share (below), and
the URL may reach only public addresses unless allowed (`server/security/netguard.py`).

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
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import httpx
import redis.exceptions

from server import webhook_http
from server.security import netguard
from server.settings import Settings
from server.storage import guard, keys
from server.storage.store import Redis

if TYPE_CHECKING:
    from server.sessions import SessionRecord

log = logging.getLogger(__name__)

EVENT_FOR_STATUS = {
    "completed": "session.completed",
    "partial": "session.partial",
    "low_confidence": "session.low_confidence",
}
# The shape of an event's `data`: native (server/lifecycle.py), or one a tenant picks among those
# registered here (the compat layer registers its products' shapes: server/compat/zenhire.py).
NATIVE_FORMAT = "native"
FORMAT_FIELD = "webhook_format"  # in the tenant's hash (server/storage/keys.py)
DataShape = Callable[["SessionRecord", dict[str, Any], str], dict[str, Any]]
_SHAPES: dict[str, DataShape] = {}
MAX_BACKOFF_S = 3600.0
DEFER_S = 0.5  # a tenant at its concurrency cap: its next delivery waits this long, then again


def register_format(name: str, shape: DataShape) -> None:
    """A shape of `data` tenants may pick: `shape(record, report, report_url)`."""
    _SHAPES[name] = shape


async def tenant_format(redis: Redis, tenant_id: str) -> str:
    """The format the tenant picked, if registered; else native."""
    value = await redis.hget(keys.tenant(tenant_id), FORMAT_FIELD)
    return value if value in _SHAPES else NATIVE_FORMAT


async def set_tenant_format(redis: Redis, tenant_id: str, name: str) -> None:
    await redis.hset(keys.tenant(tenant_id), FORMAT_FIELD, name)


def shape_of(name: str) -> DataShape | None:
    """The registered shape called `name`; None for native."""
    return _SHAPES.get(name)


# Move due retries back onto the stream, atomically: a retry is never lost or doubled.
_PROMOTE_DUE = """
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, 50)
for _, member in ipairs(due) do
  redis.call('XADD', KEYS[2], '*', 'delivery', member)
  redis.call('ZREM', KEYS[1], member)
end
return #due
"""
# Settle one attempt in two steps (the session's log is in its slot, the queue in `{webhooks}`:
# Redis Cluster): first the attempt's log line, a guarded RPUSH (server/storage/guard.py) that
# writes only while the session exists and is not being erased; then this script parks the retry
# (only if the line was written: an erased session's retry is dropped) and takes the delivery off
# the stream. A crash between the two leaves the delivery pending: it is claimed and sent again
# (deliveries are at least once already), with one extra log line.
# KEYS: retries, stream; ARGV: the retry ('' for none), its time, group, entry id.
_SETTLE = """
if ARGV[1] ~= '' then redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1]) end
redis.call('XACK', KEYS[2], ARGV[3], ARGV[4])
redis.call('XDEL', KEYS[2], ARGV[4])
return 1
"""
# Put a delivery back for later without an attempt (its tenant is at its concurrency cap).
_DEFER = """
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
redis.call('XACK', KEYS[2], ARGV[3], ARGV[4])
redis.call('XDEL', KEYS[2], ARGV[4])
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
) -> Delivery | None:
    """Queue one delivery, unless the session is gone or being erased (then None): an erase
    drops the queued ones (`forget_session`) after its marker stops new ones. The check comes
    before the XADD, not with it (the queue is not in the session's slot: Redis Cluster); one
    queued by an erase between the two is dropped by the worker, which checks again before each
    delivery."""
    delivery_id = "whd_" + secrets.token_hex(8)
    body = {
        "id": delivery_id,
        "type": event,
        "created_at": datetime.now(UTC).isoformat(),
        "data": data,
    }
    delivery = Delivery(delivery_id, tenant_id, session_id, event, url, json.dumps(body))
    if not await guard.is_live(redis, session_id):
        return None
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
    """Delivers webhooks until stopped. One per process; any number may share the group.

    Up to `webhook_concurrency` deliveries run at once, at most `webhook_tenant_concurrency` of
    them for one tenant: a tenant's further deliveries wait in the retry set (not counted as an
    attempt), so one tenant's slow receiver never holds back the others."""

    def __init__(self, redis: Redis, settings: Settings) -> None:
        self.redis = redis
        self.settings = settings
        self.consumer = f"worker-{uuid.uuid4().hex[:12]}"
        # A delivery pending this long belongs to a worker that died mid-request.
        self.stale_ms = int(settings.webhook_timeout_s * 3 * 1000)
        self.policy = netguard.AddressPolicy.from_setting(settings.webhook_allow_networks)
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()
        self._promote = redis.register_script(_PROMOTE_DUE)
        self._settle = redis.register_script(_SETTLE)
        self._defer = redis.register_script(_DEFER)
        self._inflight: dict[str, asyncio.Task[None]] = {}  # stream entry id -> its delivery
        self._per_tenant: Counter[str] = Counter()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="webhook-worker")

    async def stop(self) -> None:
        """Let the deliveries in flight finish and settle (at most one attempt's deadline), then
        stop. Cut mid-request, the receiver may have it while the queue does not know: it would
        be sent again as the same attempt once its claim goes stale."""
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
        settings = self.settings
        client = webhook_http.new_client(settings.webhook_timeout_s, settings.webhook_concurrency)
        async with client:
            try:
                while not self._stopping.is_set():
                    try:
                        if not group_exists:
                            await self._create_group()
                            group_exists = True
                        await self._poll(client)
                    except redis.exceptions.RedisError as exc:
                        if self._stopping.is_set():
                            break
                        # NOGROUP: the stream went (FLUSHDB, failover to an empty replica) and
                        # took the group with it. Any other error: keep the worker alive, retry.
                        group_exists = group_exists and not str(exc).startswith("NOGROUP")
                        log.warning("webhook worker: %s; retrying", exc)
                        with contextlib.suppress(TimeoutError):
                            await asyncio.wait_for(self._stopping.wait(), 1.0)
                if self._inflight:  # stopping: let the deliveries in flight settle
                    await asyncio.wait(set(self._inflight.values()))
            finally:
                for task in list(self._inflight.values()):
                    task.cancel()

    async def _create_group(self) -> None:
        with contextlib.suppress(redis.exceptions.ResponseError):  # BUSYGROUP: it exists
            await self.redis.xgroup_create(keys.WEBHOOKS, keys.WEBHOOK_GROUP, id="0", mkstream=True)

    async def _poll(self, client: httpx.AsyncClient) -> None:
        await self._promote(keys=[keys.WEBHOOK_RETRIES, keys.WEBHOOKS], args=[time.time()])
        free = self.settings.webhook_concurrency - len(self._inflight)
        if free <= 0:  # every slot busy: wait for one to free up
            await asyncio.wait(
                set(self._inflight.values()), timeout=0.25, return_when=asyncio.FIRST_COMPLETED
            )
            return
        claimed: list[Any] = await self.redis.xautoclaim(
            keys.WEBHOOKS, keys.WEBHOOK_GROUP, self.consumer, self.stale_ms, "0-0", count=free
        )
        entries: list[tuple[str, dict[str, str]]] = [
            (entry_id, fields)
            for entry_id, fields in claimed[1]
            if fields and entry_id not in self._inflight
        ]
        if len(entries) < free:
            fresh: list[Any] = await self.redis.xreadgroup(  # type: ignore[assignment]
                keys.WEBHOOK_GROUP,
                self.consumer,
                {keys.WEBHOOKS: ">"},
                count=free - len(entries),
                block=None if entries else 250,
            )
            entries += [e for _, stream_entries in fresh for e in stream_entries]
        for entry_id, fields in entries:
            if self._stopping.is_set():
                return  # the rest stay pending; a worker claims them when they go stale
            delivery = Delivery.from_json(fields["delivery"])
            if self._per_tenant[delivery.tenant_id] >= self.settings.webhook_tenant_concurrency:
                await self._defer(
                    keys=[keys.WEBHOOK_RETRIES, keys.WEBHOOKS],
                    args=[delivery.to_json(), time.time() + DEFER_S, keys.WEBHOOK_GROUP, entry_id],
                )
                continue
            self._per_tenant[delivery.tenant_id] += 1
            self._inflight[entry_id] = asyncio.create_task(
                self._deliver_guarded(client, entry_id, delivery), name=f"webhook-{delivery.id}"
            )

    async def _deliver_guarded(
        self, client: httpx.AsyncClient, entry_id: str, delivery: Delivery
    ) -> None:
        try:
            await self._deliver(client, entry_id, delivery)
        except redis.exceptions.RedisError as exc:
            # Not settled: it stays pending and is claimed again once stale.
            log.warning("webhook %s: could not settle the attempt: %s", delivery.id, exc)
        except Exception:
            log.exception("webhook %s: delivery failed unexpectedly", delivery.id)
        finally:
            self._inflight.pop(entry_id, None)
            self._per_tenant[delivery.tenant_id] -= 1
            if self._per_tenant[delivery.tenant_id] <= 0:
                del self._per_tenant[delivery.tenant_id]

    async def _deliver(self, client: httpx.AsyncClient, entry_id: str, delivery: Delivery) -> None:
        if not await guard.is_live(self.redis, delivery.session_id):  # erased since it was queued
            await self._settle(
                keys=[keys.WEBHOOK_RETRIES, keys.WEBHOOKS],
                args=["", 0, keys.WEBHOOK_GROUP, entry_id],
            )
            return
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
        result = await webhook_http.post(
            client,
            delivery.url,
            body=body,
            headers=headers,
            policy=self.policy,
            deadline_s=self.settings.webhook_timeout_s,
        )
        delivered = result.delivered
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
            "status_code": result.status_code,
            "delivered": delivered,
            "error": result.error,
            "next_attempt_at": retry_at,
        }
        retry = replace(delivery, attempt=delivery.attempt + 1).to_json() if retry_at else ""
        logged = await guard.rpush(
            self.redis,
            delivery.session_id,
            keys.session_webhooks(delivery.session_id),
            json.dumps(attempt_log),
        )
        await self._settle(
            keys=[keys.WEBHOOK_RETRIES, keys.WEBHOOKS],
            args=[retry if logged else "", retry_at or 0, keys.WEBHOOK_GROUP, entry_id],
        )
        if gives_up:
            log.warning(
                "webhook %s to %s: gave up after %d attempts",
                delivery.id,
                delivery.url,
                delivery.attempt,
            )
