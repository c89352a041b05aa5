"""ZenHire's AI interview API results (seed 003): the native report in ZenHire's shape, at the
native report's URL with `?format=zenhire` (`GET /v1/sessions/{id}?format=zenhire`), and in
webhooks when the tenant picks that format (`PUT /v1/webhook-format`).

Field for field: `interview_id` (the run: the session id), `channel` (`browser` or `phone`; a
chat session is typed in the browser: `browser`, with `mode: "chat"` beside), `overall_score`,
`competencies` keyed by name, `language` (`cefr`, `fluency`), `fraud_signals` as booleans
(`multiple_speakers`, `reading_detected`) with the native detail beside in
`fraud_signals_detail`, and `status` `completed` / `partial` / `low-confidence` (`pending` while
the interview runs: there is no score to give yet). Per-dimension explanations, the verdict,
summary, external id, metadata and tags come beside them.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from server import webhooks
from server.compat.base import CompatEndpoint
from server.http.endpoint import Call, Endpoint
from server.lifecycle import report_url, stored_report
from server.services import Services
from server.sessions import SessionRecord
from server.storage.store import Redis

TAG = "compat: ZenHire"
TAG_DESCRIPTION = (
    "ZenHire's result shape: GET /v1/sessions/{id}?format=zenhire, and webhooks in that shape "
    "when the tenant picks it (PUT /v1/webhook-format)."
)
FORMAT = "zenhire"
Status = Literal["completed", "partial", "low-confidence", "pending"]
Format = Literal["native", "zenhire"]
STATUS: dict[str, Status] = {
    "completed": "completed",
    "partial": "partial",
    "low_confidence": "low-confidence",
}
NOT_HEARD = "answers were typed: there is no audio to check"


class ZenHireLanguage(BaseModel):
    cefr: str | None = Field(description="A1-C2 from the spoken answers; null: not assessed")
    fluency: int | None
    reason: str | None = Field(None, description="why there is no read, when there is none")


class ZenHireFraudSignals(BaseModel):
    multiple_speakers: bool
    reading_detected: bool


class ZenHireResult(BaseModel):
    interview_id: str = Field(description="the run: the native session id")
    channel: Literal["browser", "phone"]
    mode: str = Field(description="native: voice, chat (typed in the browser) or phone")
    overall_score: int | None
    competencies: dict[str, int | None]
    language: ZenHireLanguage
    fraud_signals: ZenHireFraudSignals
    fraud_signals_detail: dict[str, Any] | None = Field(
        description="the native signals: time ranges, confidences, cues; null when nothing was "
        "heard (chat)"
    )
    status: Status
    explanations: dict[str, str] = Field(description="per competency, why it scored as it did")
    verdict: str | None
    summary: str | None
    external_id: str | None
    metadata: dict[str, Any]
    tags: list[str]
    report_url: str


def zenhire_result(record: SessionRecord, report: dict[str, Any] | None, url: str) -> ZenHireResult:
    """A native report (None while the interview runs) in ZenHire's shape."""
    report = report or {}
    channel = report.get("channel") or ("phone" if record.mode == "phone" else "browser")
    competencies = report.get("competencies") or []
    language = report.get("language") or {}
    fraud = report.get("fraud_signals")
    if language.get("available"):
        read = ZenHireLanguage(cefr=language.get("cefr_estimate"), fluency=language.get("fluency"))
    else:
        reason = language.get("reason") or (NOT_HEARD if record.mode == "chat" else None)
        read = ZenHireLanguage(cefr=None, fluency=None, reason=reason or "not assessed yet")
    candidate = record.extra.get("candidate") or {}
    return ZenHireResult(
        interview_id=record.id,
        channel="phone" if channel == "phone" else "browser",
        mode=record.mode,
        overall_score=report.get("overall_score"),
        competencies={c["name"]: c.get("score") for c in competencies},
        language=read,
        fraud_signals=ZenHireFraudSignals(
            multiple_speakers=bool(fraud and _detected(fraud, "multiple_speakers")),
            reading_detected=bool(fraud and _detected(fraud, "reading_detected")),
        ),
        fraud_signals_detail=fraud,
        status=STATUS.get(str(report.get("status")), "pending"),
        explanations={c["name"]: c.get("explanation") or "" for c in competencies},
        verdict=report.get("verdict"),
        summary=report.get("summary"),
        external_id=candidate.get("external_id"),
        metadata=record.extra.get("metadata") or {},
        tags=record.extra.get("tags") or [],
        report_url=url,
    )


def _detected(fraud: dict[str, Any], name: str) -> bool:
    signal = fraud.get(name)
    return bool(signal.get("detected")) if isinstance(signal, dict) else bool(signal)


async def result_for(services: Services, record: SessionRecord) -> ZenHireResult:
    """The session's result, for `GET /v1/sessions/{id}?format=zenhire`."""
    url = report_url(services, record.id)
    return zenhire_result(record, await stored_report(services, record.id), url)


async def webhook_format(redis: Redis, tenant_id: str) -> Format:
    return "zenhire" if await webhooks.tenant_format(redis, tenant_id) == FORMAT else "native"


def webhook_data(record: SessionRecord, report: dict[str, Any], url: str) -> dict[str, Any]:
    """A finished session's webhook `data` in ZenHire's shape."""
    return zenhire_result(record, report, url).model_dump(mode="json")


# Finished sessions of a tenant that picked it get their webhooks' `data` in this shape.
webhooks.register_format(FORMAT, webhook_data)


class WebhookFormat(BaseModel):
    format: Format = Field(
        description="the shape of your webhooks' `data`: native, or ZenHire's result"
    )


async def get_webhook_format(call: Call[None, None]) -> WebhookFormat:
    return WebhookFormat(format=await webhook_format(call.redis, call.tenant.tenant_id))


async def set_webhook_format(call: Call[WebhookFormat, None]) -> WebhookFormat:
    """Pick the shape of every later webhook's `data` (the envelope and signature stay)."""
    await webhooks.set_tenant_format(call.redis, call.tenant.tenant_id, call.body.format)
    return call.body


ENDPOINTS: tuple[Endpoint, ...] = (
    CompatEndpoint(
        "GET",
        "/v1/webhook-format",
        get_webhook_format,
        "The shape of your webhooks' data: native or zenhire",
        TAG,
        response=WebhookFormat,
        tag_description=TAG_DESCRIPTION,
    ),
    CompatEndpoint(
        "PUT",
        "/v1/webhook-format",
        set_webhook_format,
        "Pick the shape of your webhooks' data",
        TAG,
        body=WebhookFormat,
        response=WebhookFormat,
        statuses=(400, 401, 413, 429),
        tag_description=TAG_DESCRIPTION,
    ),
)
