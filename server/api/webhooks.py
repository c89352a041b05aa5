"""Webhook settings and logs: the tenant's signing secret, each session's delivery log."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from server import webhooks
from server.api.schemas import timestamp
from server.http.access import session_for
from server.http.endpoint import Call, Endpoint

TAG = "webhooks"


class WebhookSecret(BaseModel):
    secret: str = Field(
        description="HMAC-SHA256 key: X-Viva-Signature is sha256=hex(HMAC(secret, "
        "'{X-Viva-Timestamp}.' + raw body))"
    )


class DeliveryAttempt(BaseModel):
    delivery_id: str
    event: str
    url: str
    attempt: int
    at: datetime
    status_code: int | None
    delivered: bool
    error: str | None
    next_attempt_at: datetime | None


class DeliveryLog(BaseModel):
    session_id: str
    attempts: list[DeliveryAttempt]


async def get_secret(call: Call[None, None]) -> WebhookSecret:
    return WebhookSecret(secret=await webhooks.tenant_secret(call.redis, call.tenant.tenant_id))


async def rotate_secret(call: Call[None, None]) -> WebhookSecret:
    return WebhookSecret(secret=await webhooks.rotate_secret(call.redis, call.tenant.tenant_id))


async def delivery_log(call: Call[None, None]) -> DeliveryLog:
    record = await session_for(call)
    attempts = await webhooks.delivery_log(call.redis, record.id)
    return DeliveryLog(
        session_id=record.id,
        attempts=[
            DeliveryAttempt.model_validate(
                {**a, "at": timestamp(a["at"]), "next_attempt_at": timestamp(a["next_attempt_at"])}
            )
            for a in attempts
        ],
    )


ENDPOINTS = (
    Endpoint(
        "GET",
        "/v1/webhook-secret",
        get_secret,
        "Your webhook signing secret",
        TAG,
        response=WebhookSecret,
    ),
    Endpoint(
        "POST",
        "/v1/webhook-secret/rotate",
        rotate_secret,
        "A new signing secret; the old one stops signing at once",
        TAG,
        response=WebhookSecret,
    ),
    Endpoint(
        "GET",
        "/v1/sessions/{session_id}/webhooks",
        delivery_log,
        "Webhook delivery attempts for the session",
        TAG,
        response=DeliveryLog,
    ),
)
