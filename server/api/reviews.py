"""`/v1/reviews` (the queue of sessions that need a person, and the tenant's rules for it),
`POST /v1/sessions/{id}/review` (a reviewer's decision and overrides) and
`GET /v1/sessions/{id}/report.pdf` (the report to share, with the decision beside it)."""

from __future__ import annotations

import secrets
import time
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from starlette.responses import Response

from server import webhooks
from server.api.schemas import SessionStatus, timestamp
from server.http.access import session_for
from server.http.endpoint import Call, Endpoint
from server.http.errors import BadRequest, Conflict, NotFound
from server.lifecycle import report_url, stored_report, webhook_data
from server.review import report_pdf, reviews
from server.review.reviews import (
    Decision,
    FinalStatus,
    ReviewRules,
    ReviewRulesView,
    ReviewView,
    Score,
)
from server.sessions import SessionNotFound, SessionRecord, SessionStore
from server.storage import audit_trail
from server.usecases.opening import CandidateInfo

TAG = "reviews"
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
# A reason is a few sentences; longer ones are refused (400) rather than stored (issue 24, #6).
MAX_REASON_CHARS = 2000
Reason = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_REASON_CHARS)
]
CompetencyName = Annotated[str, StringConstraints(min_length=1, max_length=100)]


class ReviewCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reviewer: Text = Field(description="who reviewed (your user id); kept in the audit log")
    reason: Reason = Field(
        description=f"why: required for every decision and override; at most {MAX_REASON_CHARS} "
        "characters"
    )
    decision: Decision | None = None
    status: FinalStatus | None = Field(None, description="overrides the report's status")
    overall_score: Score | None = Field(None, description="overrides the overall score (0-100)")
    competencies: dict[CompetencyName, Score] = Field(
        default_factory=dict,
        max_length=50,
        description="overrides per competency, by the report's competency name (0-100)",
    )


class ReviewQueueQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    state: Literal["pending", "reviewed", "all"] = Field(
        "pending", description="pending: not yet reviewed; reviewed: with a reviewer's decision"
    )
    interview_id: str | None = Field(None, max_length=100)
    offset: int = Field(0, ge=0, le=1_000_000)
    limit: int = Field(20, ge=1, le=100)


class ReviewQueueItem(BaseModel):
    session_id: str
    interview_id: str
    status: SessionStatus
    candidate: CandidateInfo
    tags: list[str]
    finished_at: datetime | None
    overall_score: int | None = Field(description="the machine's")
    flags: list[str] = Field(
        description=(
            "why it needs a person: `fraud_signals.<signal>`, `low_confidence`, `partial`,"
            " `score_band`, `competency_below`"
        )
    )
    review: ReviewView | None = Field(description="the latest decision on this report, if any")


class ReviewQueue(BaseModel):
    items: list[ReviewQueueItem]
    offset: int
    limit: int
    next_offset: int | None
    rules: ReviewRules = Field(description="the tenant's rules applied (PUT /v1/reviews/rules)")


async def _queue_item(
    call: Call[Any, Any], record: SessionRecord, rules: ReviewRules
) -> ReviewQueueItem | None:
    """The session's place in the queue; None when it is not finished or needs no one."""
    if not record.is_finished:
        return None
    report = await stored_report(call.services, record.id)
    if report is None:
        return None
    flags = reviews.flags(report, rules)
    if not flags:
        return None
    finished = await SessionStore(call.redis).field_values(record.id, "finished_at")
    score = report.get("overall_score")
    return ReviewQueueItem(
        session_id=record.id,
        interview_id=record.interview_id,
        status=record.status,
        candidate=CandidateInfo.model_validate(record.extra.get("candidate") or {}),
        tags=record.extra.get("tags") or [],
        finished_at=timestamp(finished.get("finished_at")),
        overall_score=score if isinstance(score, int) else None,
        flags=flags,
        review=await reviews.current(call.redis, record.id, report),
    )


async def list_reviews(call: Call[None, ReviewQueueQuery]) -> ReviewQueue:
    """Finished sessions whose report needs a person, newest first: an integrity signal
    detected, status `low_confidence` or `partial`, or one of the tenant's rules. `pending`
    (the default) lists those without a decision on their current report."""
    q = call.query
    rules = await reviews.get_rules(call.redis, call.tenant.tenant_id)
    sessions = SessionStore(call.redis)
    skipped, more = 0, False
    items: list[ReviewQueueItem] = []
    async for session_id in sessions.tenant_session_ids(call.tenant.tenant_id):
        try:
            record = await sessions.get(session_id)
        except SessionNotFound:  # erased between the index read and now
            continue
        if q.interview_id is not None and record.interview_id != q.interview_id:
            continue
        item = await _queue_item(call, record, rules)
        if item is None:
            continue
        if (q.state == "pending" and item.review) or (q.state == "reviewed" and not item.review):
            continue
        if skipped < q.offset:
            skipped += 1
            continue
        if len(items) == q.limit:
            more = True
            break
        items.append(item)
    return ReviewQueue(
        items=items,
        offset=q.offset,
        limit=q.limit,
        next_offset=q.offset + q.limit if more else None,
        rules=ReviewRules(score_band=rules.score_band, competency_below=rules.competency_below),
    )


async def get_review_rules(call: Call[None, None]) -> ReviewRulesView:
    return await reviews.get_rules(call.redis, call.tenant.tenant_id)


async def set_review_rules(call: Call[ReviewRules, None]) -> ReviewRulesView:
    """Replace the tenant's rules (an omitted rule is off). The built-in flags always apply.
    Each change is kept in the tenant's audit log."""
    await reviews.set_rules(call.redis, call.tenant.tenant_id, call.body, call.tenant.actor)
    return await reviews.get_rules(call.redis, call.tenant.tenant_id)


async def _report_of(call: Call[Any, Any], record: SessionRecord) -> dict[str, Any]:
    """The session's stored report: 409 while the interview runs, 404 while it is scored."""
    if not record.is_finished:
        raise Conflict("The interview is not finished: no report yet.", code="session_not_finished")
    report = await stored_report(call.services, record.id)
    if report is None:
        raise NotFound(f"No report for session {record.id} yet.")
    return report


async def review_session(call: Call[ReviewCreate, None]) -> ReviewView:
    """A reviewer's decision on the report: overrides of the status and the overall or
    competency scores, with a required reason. The machine report is kept unchanged; the
    session view, the PDF and a `session.reviewed` webhook show both values. The latest review
    is the session's; each is kept in the audit log with the reviewer id."""
    record = await session_for(call)
    report = await _report_of(call, record)
    body = call.body
    try:
        review = reviews.build_review(
            report,
            review_id="rev_" + secrets.token_hex(8),
            at=time.time(),
            actor=call.tenant.actor,
            reviewer=body.reviewer,
            reason=body.reason,
            decision=body.decision,
            status=body.status,
            overall_score=body.overall_score,
            competencies=body.competencies,
        )
    except reviews.ReviewInvalid as exc:
        raise BadRequest(str(exc), fields=exc.fields) from exc
    if not await reviews.store(call.redis, record.id, report, review):
        raise NotFound(f"No session {record.id}.")  # erased meanwhile
    await audit_trail.record(
        call.redis, record.id, "reviewed", call.tenant.actor, **reviews.audit_detail(review)
    )
    webhook_url = record.extra.get("webhook_url")
    if webhook_url:
        url = report_url(call.services, record.id)
        await webhooks.enqueue(
            call.redis,
            tenant_id=record.tenant_id,
            session_id=record.id,
            url=webhook_url,
            event=reviews.EVENT_REVIEWED,
            data={**webhook_data(record, report, url), "review": review.model_dump(mode="json")},
        )
    return review


async def get_report_pdf(call: Call[None, None]) -> Response:
    """The report as a PDF: scores with evidence quotes, per-question feedback, integrity
    signals with time ranges, the reviewer's decision beside the machine's values, and the
    versions of the engine, rubric and models."""
    record = await session_for(call)
    report = await _report_of(call, record)
    rules = await reviews.get_rules(call.redis, record.tenant_id)
    review = await reviews.current(call.redis, record.id, report)
    finished = await SessionStore(call.redis).field_values(record.id, "finished_at")
    candidate = record.extra.get("candidate") or {}
    context = report_pdf.PdfContext(
        session_id=record.id,
        interview_id=record.interview_id,
        generated_at=datetime.now(UTC),
        interview_title=record.extra.get("interview_title"),
        candidate_name=candidate.get("name"),
        external_id=candidate.get("external_id"),
        mode=record.mode,
        finished_at=timestamp(finished.get("finished_at")),
        flags=tuple(reviews.flags(report, rules)),
    )
    review_json = review.model_dump(mode="json") if review else None
    pdf = await report_pdf.render_async(report, context, review_json)
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{record.id}-report.pdf"'},
    )


ENDPOINTS = (
    Endpoint(
        "GET",
        "/v1/reviews",
        list_reviews,
        "Finished sessions that need a person, newest first",
        TAG,
        query=ReviewQueueQuery,
        response=ReviewQueue,
    ),
    Endpoint(
        "GET",
        "/v1/reviews/rules",
        get_review_rules,
        "The tenant's rules for the review queue",
        TAG,
        response=ReviewRulesView,
    ),
    Endpoint(
        "PUT",
        "/v1/reviews/rules",
        set_review_rules,
        "Set the tenant's rules for the review queue (score band, competency floor)",
        TAG,
        body=ReviewRules,
        response=ReviewRulesView,
    ),
    Endpoint(
        "POST",
        "/v1/sessions/{session_id}/review",
        review_session,
        "Record a reviewer's decision and overrides, with a reason",
        TAG,
        body=ReviewCreate,
        response=ReviewView,
        status=201,
        errors=(409,),
    ),
    Endpoint(
        "GET",
        "/v1/sessions/{session_id}/report.pdf",
        get_report_pdf,
        "The report as a PDF, with the reviewer's decision if any",
        TAG,
        media_type="application/pdf",
        errors=(409,),
    ),
)
