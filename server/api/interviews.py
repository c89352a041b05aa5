"""`/v1/interviews`: a tenant's reusable interview definitions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.responses import Response

from server import interviews, invites
from server.api.code import check_round
from server.api.schemas import timestamp
from server.http.endpoint import Call, Endpoint
from server.http.errors import from_validation, not_found
from server.interviews import (
    CodingRound,
    CustomQuestion,
    InterviewFields,
    InterviewType,
    Language,
    MetadataKey,
    MetadataValue,
    PersonaId,
    ShortText,
    Skill,
    StoredInterview,
    TrackId,
    Weight,
)

TAG = "interviews"


class InterviewCreated(BaseModel):
    interview_id: str
    invite_url: str = Field(
        description="the interview's invite link: a page that opens a new session when the "
        "candidate asks for one, while `invite_sessions` allows"
    )
    questions: list[CustomQuestion] = Field(
        description="your questions as stored: each with the skill it assesses and whether you "
        "named it (`skill_source: tenant`) or the server linked it by meaning (`assigned`)"
    )


class Interview(InterviewFields):
    model_config = ConfigDict(extra="ignore")
    id: str
    invite_url: str
    created_at: datetime
    updated_at: datetime


class InterviewPage(BaseModel):
    items: list[Interview]
    total: int
    offset: int
    limit: int
    next_offset: int | None


class PageQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    offset: int = Field(0, ge=0, le=1_000_000)
    limit: int = Field(20, ge=1, le=100)


class InterviewPatch(BaseModel):
    """Any subset of the interview's fields; the result is validated as a whole."""

    model_config = ConfigDict(extra="forbid")
    name: ShortText | None = None
    type: InterviewType | None = None
    track: TrackId | None = None
    round: str | None = Field(None, max_length=100)
    level: str | None = Field(None, max_length=50)
    language: Language | None = None
    persona_id: PersonaId | None = None
    skills: list[Skill] | None = Field(None, max_length=10)
    questions: list[CustomQuestion] | None = Field(None, max_length=20)
    max_questions: int | None = Field(None, ge=1, le=20)
    duration_minutes: int | None = Field(None, ge=5, le=120)
    focus_areas: list[ShortText] | None = Field(None, max_length=10)
    job_description: str | None = Field(None, max_length=20_000)
    company_context: str | None = Field(None, max_length=5_000)
    metadata: dict[MetadataKey, MetadataValue] | None = Field(None, max_length=50)
    invite_sessions: int | None = Field(None, strict=True, ge=0, le=100_000)
    invite_rate_per_minute: int | None = Field(None, strict=True, ge=0, le=10_000)
    competency_weights: dict[str, Weight] | None = Field(
        None, max_length=12, description="null: back to the rubric's default weights"
    )
    coding: CodingRound | None = Field(None, description="null: no coding question")


def invite_url(call: Call[Any, Any], interview_id: str) -> str:
    return invites.link(call.services.settings, interview_id)


def view(call: Call[Any, Any], stored: StoredInterview) -> Interview:
    data = stored.model_dump(exclude={"tenant_id", "created_at", "updated_at"})
    return Interview(
        **data,
        invite_url=invite_url(call, stored.id),
        created_at=timestamp(stored.created_at),
        updated_at=timestamp(stored.updated_at),
    )


async def _owned(call: Call[Any, Any]) -> StoredInterview:
    interview_id = call.path("interview_id")
    stored = await interviews.get(call.redis, call.tenant.tenant_id, interview_id)
    if stored is None:
        raise not_found("interview", interview_id)
    return stored


async def create_interview(call: Call[InterviewFields, None]) -> InterviewCreated:
    await check_round(call, call.body.coding)
    stored = await interviews.create(
        call.redis, call.tenant.tenant_id, call.body, call.services.models.embedder
    )
    return InterviewCreated(
        interview_id=stored.id, invite_url=invite_url(call, stored.id), questions=stored.questions
    )


async def list_interviews(call: Call[None, PageQuery]) -> InterviewPage:
    q = call.query
    items, total = await interviews.page(
        call.redis, call.tenant.tenant_id, offset=q.offset, limit=q.limit
    )
    more = q.offset + q.limit < total
    return InterviewPage(
        items=[view(call, i) for i in items],
        total=total,
        offset=q.offset,
        limit=q.limit,
        next_offset=q.offset + q.limit if more else None,
    )


async def get_interview(call: Call[None, None]) -> Interview:
    return view(call, await _owned(call))


async def update_interview(call: Call[InterviewPatch, None]) -> Interview:
    stored = await _owned(call)
    merged = {
        **stored.model_dump(include=set(InterviewFields.model_fields)),
        **call.body.model_dump(mode="json", exclude_unset=True),
    }
    try:
        fields = InterviewFields.model_validate(merged)
    except ValidationError as exc:
        raise from_validation(exc) from exc
    await check_round(call, fields.coding)
    updated = await interviews.replace(call.redis, stored, fields, call.services.models.embedder)
    return view(call, updated)


async def delete_interview(call: Call[None, None]) -> Response:
    await interviews.delete(call.redis, await _owned(call))
    return Response(status_code=204)


ENDPOINTS = (
    Endpoint(
        "POST",
        "/v1/interviews",
        create_interview,
        "Create an interview",
        TAG,
        body=InterviewFields,
        response=InterviewCreated,
        status=201,
    ),
    Endpoint(
        "GET",
        "/v1/interviews",
        list_interviews,
        "List your interviews, newest first",
        TAG,
        query=PageQuery,
        response=InterviewPage,
    ),
    Endpoint(
        "GET",
        "/v1/interviews/{interview_id}",
        get_interview,
        "Get an interview",
        TAG,
        response=Interview,
    ),
    Endpoint(
        "PATCH",
        "/v1/interviews/{interview_id}",
        update_interview,
        "Change an interview",
        TAG,
        body=InterviewPatch,
        response=Interview,
    ),
    Endpoint(
        "DELETE",
        "/v1/interviews/{interview_id}",
        delete_interview,
        "Delete an interview (its sessions stay)",
        TAG,
        status=204,
    ),
)
