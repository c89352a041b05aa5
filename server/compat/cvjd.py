"""The CV + job-description interview app (seed 001): `GET /session/{id}/interview` and
`POST /session/{id}/message`, on a native session in chat mode.

The session is a native one (`POST /v1/sessions` with `cv_text` and `job_description`); its id
is Viva's (`ses_...`), not an integer. The candidate's session token opens it, sent as the
product's cookie (`Cookie: session=<token>`), as a Bearer token or as `X-Session-Token`; the
tenant's `X-API-Key` may read the page but not answer. Opening the page starts the interview
(the opening question), once the candidate has consented to the AI disclosure
(`POST /v1/sessions/{id}/consent`): until then the page carries the disclosure to show.
Errors are the product's `{"error": true, "message": ...}`.
"""

from __future__ import annotations

import contextlib
import dataclasses
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from pipeline.engine import Turn
from server import tenants
from server.compat.base import FORM, CompatEndpoint, flat_message
from server.http.access import session_for
from server.http.endpoint import Call
from server.http.errors import ApiError, BadRequest, Forbidden, NotFound
from server.security.auth import (
    AuthError,
    Caller,
    CandidateCaller,
    TenantCaller,
    session_token_of,
    tenant_caller,
)
from server.services import Services
from server.sessions import SessionRecord, SessionStore, hash_token
from server.storage import keys
from server.usecases import chat
from server.usecases.chat import EMPTY_ANSWER
from server.usecases.clock import clock_epoch
from server.usecases.consent import DISCLOSURE_TEXT, DISCLOSURE_VERSION
from server.usecases.errors import Conflicting

TAG = "compat: CV + job description app"
TAG_DESCRIPTION = (
    "The CV + job-description interview app's Interviews API (GET /session/{id}/interview, "
    "POST /session/{id}/message) on native chat-mode sessions."
)
NO_ACCESS = "You don't have access to this session"
NOT_FOUND = "Session not found"
COOKIE = "session"
SCHEMES = {
    "SessionCookie": {
        "type": "apiKey",
        "in": "cookie",
        "name": COOKIE,
        "description": "the session token, as the product's session cookie",
    }
}


class ErrorFragment(BaseModel):
    error: Literal[True] = True
    message: str


class SessionInfo(BaseModel):
    id: str = Field(description="the native session id (a string, where the product had an int)")
    job_title: str
    company_name: str


class ConversationMessage(BaseModel):
    id: int
    session_id: str
    role: Literal["assistant", "user"]
    content: str
    timestamp: datetime


class ProgressInfo(BaseModel):
    question_count: int
    max_questions: int
    is_started: bool
    is_complete: bool


class Disclosure(BaseModel):
    version: str
    text: str
    consent_path: str = Field(description="POST {accepted: true, version} here, with the token")


class InterviewPage(BaseModel):
    session: SessionInfo
    conversation: list[ConversationMessage]
    progress: ProgressInfo
    disclosure: Disclosure | None = Field(
        None,
        description="set until the candidate consents: show it, record the consent, then "
        "open this page again for the first question",
    )


class AnswerForm(BaseModel):
    model_config = ConfigDict(json_schema_extra={"required": ["answer"]})
    answer: str | None = Field(None, max_length=10_000, description="cannot be empty")


class AnswerResult(BaseModel):
    next_question: str | None
    is_complete: bool
    question_count: int


def render_error(exc: ApiError) -> Response:
    status = exc.status
    if status == 401:  # the product knows no 401: a token that opens nothing is a 403
        status = 403
    elif status == 409:  # finished, not consented...: the product's validation error
        status = 400
    headers = {"Retry-After": exc.headers["Retry-After"]} if "Retry-After" in exc.headers else {}
    # Every 404 is the product's one text, whatever found the session missing.
    body = ErrorFragment(message=NOT_FOUND if status == 404 else flat_message(exc))
    return JSONResponse(body.model_dump(), status_code=status, headers=headers)


async def caller_for(services: Services, request: Request) -> Caller:
    """The tenant (its key; another tenant's session is not there), or the holder of this
    session's token; else 403, whether the session exists or not (a malformed id is 404)."""
    redis = services.store.redis
    session_id = str(request.path_params["session_id"])
    if request.headers.get("x-api-key"):
        try:
            caller = await tenant_caller(redis, request)
        except AuthError as exc:
            raise Forbidden(NO_ACCESS) from exc
        if await redis.hget(keys.session(session_id), "tenant_id") != caller.tenant_id:
            raise NotFound(NOT_FOUND)
        return caller
    token = session_token_of(request) or request.cookies.get(COOKIE)
    if token and await redis.get(keys.session_token(session_id, hash_token(token))) == session_id:
        return CandidateCaller(session_id)
    # The same 403 whether the session exists or not: an anonymous caller learns nothing.
    raise Forbidden(NO_ACCESS)


async def _session(call: Call[Any, Any]) -> SessionRecord:
    try:
        return await session_for(call)
    except NotFound as exc:
        raise NotFound(NOT_FOUND) from exc


async def _clock_zero(call: Call[Any, Any], record: SessionRecord) -> float:
    zero = await clock_epoch(call.redis, record.id)
    return zero if zero is not None else record.created_at


async def _session_info(call: Call[Any, Any], record: SessionRecord) -> SessionInfo:
    metadata = record.extra.get("metadata") or {}
    company = metadata.get("company_name")
    if not company:
        tenant = await tenants.get_tenant(call.redis, record.tenant_id)
        company = tenant.name if tenant else ""
    return SessionInfo(
        id=record.id,
        job_title=str(metadata.get("job_title") or record.extra.get("interview_title") or ""),
        company_name=str(company),
    )


def _message(record: SessionRecord, turn: Turn, zero: float) -> ConversationMessage:
    return ConversationMessage(
        id=turn.index + 1,
        session_id=record.id,
        role="assistant" if turn.role == "interviewer" else "user",
        content=turn.text,
        timestamp=datetime.fromtimestamp(zero + turn.started_at, UTC),
    )


async def get_interview_page(call: Call[None, None]) -> Response:
    """The conversation and progress. The candidate's first visit starts the interview: the
    opening question is generated from the CV and job description."""
    record = await _session(call)
    sessions = SessionStore(call.redis)
    turns = await sessions.turns(record.id)
    consented = await sessions.consent(record.id) is not None
    if (
        not turns
        and consented
        and not record.is_finished
        and isinstance(call.caller, CandidateCaller)
    ):
        # Another request opening the page at the same moment asked it: that one stands.
        with contextlib.suppress(Conflicting):
            await chat.converse(call.services, record, None, actor=call.caller.actor)
        record = await _session(call)
        turns = await sessions.turns(record.id)
    zero = await _clock_zero(call, record)
    disclosure = None
    if not consented and not record.is_finished:
        disclosure = Disclosure(
            version=DISCLOSURE_VERSION,
            text=DISCLOSURE_TEXT,
            consent_path=f"/v1/sessions/{record.id}/consent",
        )
    page = InterviewPage(
        session=await _session_info(call, record),
        conversation=[_message(record, t, zero) for t in turns],
        progress=ProgressInfo(**dataclasses.asdict(chat.progress_of(record, turns))),
        disclosure=disclosure,
    )
    # `disclosure` only while it is needed: otherwise the page is the product's, field for field.
    return JSONResponse(page.model_dump(mode="json", exclude_none=True))


async def post_answer(call: Call[AnswerForm | None, None]) -> AnswerResult:
    """Submit the candidate's answer; the next question, or null once the interview is over
    (it is then scored: the report is on `GET /v1/sessions/{id}`)."""
    record = await _session(call)
    if isinstance(call.caller, TenantCaller):
        raise Forbidden(NO_ACCESS)  # the candidate answers, never the tenant's key
    answer = call.body.answer if call.body is not None else None
    if answer is None or not answer.strip():
        raise BadRequest(EMPTY_ANSWER)
    if not await SessionStore(call.redis).turns(record.id) and not record.is_finished:
        raise BadRequest(
            f"The interview has not started: open GET /session/{record.id}/interview first."
        )
    out = await chat.converse(call.services, record, answer, actor=call.caller.actor)
    return AnswerResult(
        next_question=None if out.is_complete else out.turn.text,
        is_complete=out.is_complete,
        question_count=out.progress.question_count,
    )


_COMMON: dict[str, Any] = {
    "render_error": render_error,
    "error_model": ErrorFragment,
    "custom_auth": caller_for,
    "security_schemes": SCHEMES,
    "tag_description": TAG_DESCRIPTION,
}
ENDPOINTS = (
    CompatEndpoint(
        "GET",
        "/session/{session_id}/interview",
        get_interview_page,
        "The interview page: conversation and progress (starts the interview)",
        TAG,
        auth="session",
        response=InterviewPage,
        statuses=(403, 404, 429, 500),
        security=(("SessionCookie",), ("SessionToken",), ("SessionTokenHeader",), ("ApiKey",)),
        **_COMMON,
    ),
    CompatEndpoint(
        "POST",
        "/session/{session_id}/message",
        post_answer,
        "Submit an answer; the next question",
        TAG,
        auth="candidate",
        body=AnswerForm,
        body_required=False,
        response=AnswerResult,
        body_media_type=FORM,
        statuses=(400, 403, 404, 413, 429, 500),
        security=(("SessionCookie",), ("SessionToken",), ("SessionTokenHeader",)),
        **_COMMON,
    ),
)
