"""Opening a session: plan, quota, store, audit; a new session and its candidate token. The
same door for the REST API, invite links, the demo and the compat adapters."""

from __future__ import annotations

import dataclasses
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, StringConstraints

from pipeline.engine import InterviewPlan, PlanSpec
from pipeline.interview.planning import build_plan
from server import code, interviews
from server.catalogue import builtin_interview
from server.interviews import PersonaId
from server.security import netguard, ratelimit
from server.services import Services
from server.sessions import SessionRecord, SessionStore, new_session_id
from server.settings import Settings
from server.storage import audit_trail
from server.storage.store import Redis
from server.usecases.errors import Invalid, LimitReached, Missing

Tag = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
MetadataKey = Annotated[str, StringConstraints(min_length=1, max_length=64)]
MetadataValue = Annotated[str, StringConstraints(max_length=500)] | int | bool | None


class CandidateInfo(BaseModel):
    model_config = ConfigDict(extra="forbid")
    external_id: str | None = Field(None, max_length=200, description="your id for the candidate")
    name: str | None = Field(None, max_length=200, description="for the greeting; never scored")


# What a session is opened with (the body of `POST /v1/sessions`; no docstring: it would enter
# the OpenAPI document).
class SessionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    interview_id: str = Field(min_length=1, max_length=100, description="yours or a catalogue id")
    persona_id: PersonaId | None = None
    mode: Literal["voice", "chat", "phone"] = Field(
        "voice", description="phone: the candidate calls in with `phone_pin` (or is called)"
    )
    practice: bool = Field(False, description="per-answer feedback while the interview runs")
    grade: str | None = Field(
        None, max_length=50, description="required where the interview has grades"
    )
    candidate: CandidateInfo = Field(default_factory=CandidateInfo)
    cv_text: str = Field("", max_length=50_000)
    job_description: str = Field("", max_length=20_000)
    metadata: dict[MetadataKey, MetadataValue] = Field(default_factory=dict, max_length=50)
    tags: list[Tag] = Field(default_factory=list, max_length=20)
    webhook_url: HttpUrl | None = None


def _first_name(name: str | None) -> str | None:
    return name.split()[0] if name and name.strip() else None


async def _plan_spec(redis: Redis, tenant_id: str, body: SessionCreate) -> tuple[PlanSpec, str]:
    """The plan recipe of the session's interview (a catalogue one or the tenant's own)."""
    builtin = builtin_interview(body.interview_id)
    if builtin is not None:
        if builtin.grades and body.grade not in builtin.grades:
            message = f"this interview needs a grade: one of {', '.join(builtin.grades)}"
            raise Invalid("A grade is required.", fields={"grade": message})
        spec = builtin.plan_spec(
            grade=body.grade,
            persona_id=body.persona_id or "maya",
            practice=body.practice,
            cv_text=body.cv_text,
            job_description=body.job_description,
        )
        return spec, builtin.title
    own = await interviews.get(redis, tenant_id, body.interview_id)
    if own is None:
        raise Missing(
            f"No interview {body.interview_id}.",
            fields={"interview_id": "no such interview, yours or built-in"},
        )
    spec = own.plan_spec(
        persona_id=body.persona_id,
        practice=body.practice,
        grade=body.grade,
        cv_text=body.cv_text,
        job_description=body.job_description,
    )
    return spec, own.name


async def _check_webhook_url(url: str, settings: Settings) -> None:
    """Invalid when the URL names or resolves to an internal address (delivery checks again)."""
    try:
        await netguard.check_url(
            url, netguard.AddressPolicy.from_setting(settings.webhook_allow_networks)
        )
    except netguard.BlockedAddress as exc:
        raise Invalid("The webhook URL is not allowed.", fields={"webhook_url": str(exc)}) from exc


async def open_session(
    services: Services, tenant_id: str, actor: str, body: SessionCreate
) -> tuple[SessionRecord, str]:
    """Plan, quota, store, audit: a new session and its token."""
    redis, settings = services.store.redis, services.settings
    if body.webhook_url is not None:
        await _check_webhook_url(str(body.webhook_url), settings)
    spec, title = await _plan_spec(redis, tenant_id, body)
    defaults = ratelimit.TenantLimits(settings.rate_limit_per_minute, settings.daily_session_quota)
    limits = await ratelimit.limits_for(redis, tenant_id, defaults)
    try:
        await ratelimit.take_session(redis, tenant_id, limits.daily_sessions)
    except ratelimit.LimitExceeded as exc:
        raise LimitReached(
            str(exc), retry_after_s=exc.retry_after_s, code="quota_exceeded"
        ) from exc
    plan: InterviewPlan = dataclasses.replace(
        build_plan(spec), candidate_first_name=_first_name(body.candidate.name)
    )
    session_id = new_session_id()
    # A coding round: its problem's question first (server/code.py, docs/coding-round.md).
    plan, coding = await code.with_coding_round(
        redis, tenant_id, body.interview_id, plan, session_id
    )
    record = SessionRecord(
        id=session_id,
        tenant_id=tenant_id,
        plan=plan,
        mode=body.mode,
        interview_id=body.interview_id,
        extra={
            "interview_title": title,
            "persona_id": spec.persona_id,
            "practice": body.practice,
            "grade": body.grade,
            "candidate": body.candidate.model_dump(),
            "metadata": body.metadata,
            "tags": list(dict.fromkeys(body.tags)),
            "webhook_url": str(body.webhook_url) if body.webhook_url else None,
            **({"coding": coding} if coding else {}),
        },
    )
    record, token = await SessionStore(redis).create(record, settings.session_token_ttl_s)
    await audit_trail.record(
        redis,
        record.id,
        "created",
        actor,
        interview_id=body.interview_id,
        questions=len(plan.questions),
        mode=body.mode,
    )
    return record, token
