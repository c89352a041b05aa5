"""Liya Engine's mock interview (seed 002): `POST /v1/hiring/mock-interview`, one call per turn,
answered in its `{success, data: {output, session_id}}` envelope.

Turn 1 (no `session_id`) creates a native interview from `interview_context` (`interview_type`
the type, `interview_round` the round, `focus_areas`, `time_limit_minutes` the duration,
`company_research` the company context) and `job_description`, with the `profile` kept on it
(its `years_of_experience` sets the level), then a practice chat session of it for
`input.user_id` (the candidate's external id) with the `resume` as CV text; it answers the
opening question. Each later turn stores `input.message` as the answer and answers the next
question with `feedback_on_previous` (the native practice feedback); the final turn also
carries `summary`, from the native report. `input.session_history` is ignored: the session
keeps the history.

The calls come from the tenant's backend with its key, not from the candidate's browser, so
turn 1 records the candidate's consent to the AI disclosure on the tenant's word (audited as
`consented` with `attested_by` the tenant): the tenant's product shows its users the disclosure
(`GET /v1/sessions/{id}/consent` has its text). Each answer is likewise the tenant's word for what
its user said (issue 24 #10): stored with `meta.entered_by` the tenant (the tenant's transcript
shows it) and audited as `answer_entered` by the tenant, turn by turn.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from starlette.responses import JSONResponse, Response

from server import interviews
from server.compat.base import CompatEndpoint, flat_message
from server.http.endpoint import Call
from server.http.errors import ApiError, BadRequest, NotFound
from server.interviews import InterviewFields, InterviewType
from server.lifecycle import stored_report
from server.sessions import SESSION_ID_PATTERN, SessionNotFound, SessionRecord, SessionStore
from server.usecases import chat
from server.usecases.chat import EMPTY_ANSWER
from server.usecases.consent import DISCLOSURE_VERSION, give_consent
from server.usecases.opening import CandidateInfo, SessionCreate, open_session

TAG = "compat: Liya Engine"
TAG_DESCRIPTION = "Liya Engine's mock interview (POST /v1/hiring/mock-interview) on native practice chat sessions."
SOURCE = "liya"
USER_KEY = "liya.user_id"
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Round = Literal["phone_screen", "first_round", "second_round", "final_round"]
Document = str | dict[str, Any] | list[Any]


class ProfileInput(BaseModel):
    model_config = ConfigDict(extra="allow", strict=True)
    title: str | None = Field(None, max_length=200)
    years_of_experience: float | None = Field(None, ge=0, le=80, allow_inf_nan=False)


class InterviewContextInput(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    interview_type: InterviewType = "behavioral"
    interview_round: Round | None = None
    focus_areas: list[Text] = Field(default_factory=list, max_length=10)
    time_limit_minutes: int | None = Field(None, ge=5, le=120)
    company_research: str = Field("", max_length=5_000)


class MockInterviewInput(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    user_id: str = Field(min_length=1, max_length=200, description="your platform's user id")
    profile: ProfileInput | None = None
    message: str | None = Field(None, max_length=10_000, description="the answer (turn 2+)")
    resume: Document | None = Field(None, description="text, or an object of text fields")
    job_description: Document | None = None
    interview_context: InterviewContextInput | None = None
    session_history: Any = Field(None, description="ignored: the session keeps the history")


class MockInterviewRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    input: MockInterviewInput
    session_id: str | None = Field(
        None, pattern=SESSION_ID_PATTERN, description="omitted on turn 1; as turn 1 returned it"
    )


class FeedbackOnPrevious(BaseModel):
    strengths: list[str]
    improvements: list[str]
    score: int


class CompetencySummary(BaseModel):
    name: str
    score: int | None


class InterviewSummary(BaseModel):
    status: str = Field(description="completed | partial | low_confidence")
    score: int | None = Field(description="overall, 0-100; null when too little was said")
    verdict: str
    summary: str
    strengths: list[str]
    improvements: list[str]
    competencies: list[CompetencySummary]


class MockInterviewOutput(BaseModel):
    message: str = Field(description="the interviewer's next question (or closing words)")
    turn: int = Field(description="the interviewer's turns so far, 1 for the opening")
    feedback_on_previous: FeedbackOnPrevious | None
    is_complete: bool
    summary: InterviewSummary | None = Field(description="on the final turn")


class MockInterviewData(BaseModel):
    output: MockInterviewOutput
    session_id: str


class MockInterviewResponse(BaseModel):
    success: bool = True
    data: MockInterviewData


class LiyaErrorDetail(BaseModel):
    code: str
    message: str


class LiyaError(BaseModel):
    success: bool = False
    error: LiyaErrorDetail


def render_error(exc: ApiError) -> Response:
    headers = {"Retry-After": exc.headers["Retry-After"]} if "Retry-After" in exc.headers else {}
    body = LiyaError(error=LiyaErrorDetail(code=exc.code, message=flat_message(exc)))
    return JSONResponse(body.model_dump(), status_code=exc.status, headers=headers)


def as_text(document: Document | None) -> str:
    """A resume or job description given as text, or as an object of text fields."""
    if document is None:
        return ""
    if isinstance(document, str):
        return document
    values = document.values() if isinstance(document, dict) else document
    return "\n".join(filter(None, (as_text(v) if not _scalar(v) else str(v) for v in values)))


def _scalar(value: Any) -> bool:
    return value is None or isinstance(value, str | int | float | bool)


def level_of(profile: ProfileInput | None) -> str | None:
    years = profile.years_of_experience if profile else None
    if years is None:
        return None
    return "junior" if years < 3 else "mid" if years < 7 else "senior"


def interview_fields(body: MockInterviewInput) -> InterviewFields:
    context = body.interview_context or InterviewContextInput()
    profile = body.profile
    metadata: dict[str, Any] = {"source": SOURCE, USER_KEY: body.user_id}
    if profile is not None:  # kept as given (scalars; numbers as int or text)
        for key, value in profile.model_dump(exclude_none=True).items():
            name = f"liya.profile.{key}"
            if not _scalar(value) or len(name) > 64 or len(metadata) == 50:
                continue
            if isinstance(value, float):
                value = int(value) if value.is_integer() else str(value)
            metadata[name] = value[:2000] if isinstance(value, str) else value
    name = f"Mock interview: {profile.title}" if profile and profile.title else "Mock interview"
    return InterviewFields(
        name=name[:200],
        type=context.interview_type,
        round=context.interview_round,
        level=level_of(profile),
        focus_areas=context.focus_areas,
        duration_minutes=context.time_limit_minutes,
        job_description=as_text(body.job_description)[:20_000],
        company_context=context.company_research,
        metadata=metadata,
    )


def _check_sizes(body: MockInterviewInput) -> None:
    fields = {}
    if len(as_text(body.resume)) > 50_000:
        fields["input.resume"] = "at most 50000 characters of text"
    if len(as_text(body.job_description)) > 20_000:
        fields["input.job_description"] = "at most 20000 characters of text"
    if fields:
        raise BadRequest("The request body is invalid.", fields=fields)


async def _first_turn(call: Call[MockInterviewRequest, None]) -> chat.Exchange:
    body = call.body.input
    _check_sizes(body)
    tenant = call.tenant
    interview = await interviews.create(
        call.redis, tenant.tenant_id, interview_fields(body), call.services.models.embedder
    )
    create = SessionCreate(
        interview_id=interview.id,
        mode="chat",
        practice=True,
        candidate=CandidateInfo(external_id=body.user_id),
        cv_text=as_text(body.resume),
        metadata={"source": SOURCE, USER_KEY: body.user_id},
    )
    record, _token = await open_session(call.services, tenant.tenant_id, tenant.actor, create)
    # The tenant's backend relays its user's turns: consent on the tenant's word, audited.
    await give_consent(
        call.redis,
        record.id,
        DISCLOSURE_VERSION,
        tenant.actor,
        attested_by=tenant.actor,
        via="liya compat",
    )
    return await chat.converse(call.services, record, None, actor=tenant.actor)


async def _next_turn(call: Call[MockInterviewRequest, None], session_id: str) -> chat.Exchange:
    try:
        record = await SessionStore(call.redis).get(session_id)
    except SessionNotFound:
        record = None
    if (
        record is None
        or record.tenant_id != call.tenant.tenant_id
        or (record.extra.get("metadata") or {}).get(USER_KEY) != call.body.input.user_id
    ):
        # Another tenant's or user's session, or not a mock interview: not there for this user.
        raise NotFound(f"No mock interview session {session_id} for this user_id.")
    message = call.body.input.message
    if message is None or not message.strip():
        raise BadRequest(f"{EMPTY_ANSWER} Send the answer as input.message.", code="empty_answer")
    # The tenant's key answers for its user: stored as entered by the tenant (the turn's meta
    # `entered_by`, in the tenant's transcript) and audited (`answer_entered`), never as if the
    # candidate had typed it into the room.
    actor = call.tenant.actor
    return await chat.converse(call.services, record, message, actor=actor, entered_by=actor)


async def _summary(call: Call[Any, Any], record: SessionRecord) -> InterviewSummary | None:
    report = await stored_report(call.services, record.id)
    if report is None:
        return None
    return InterviewSummary(
        status=report["status"],
        score=report.get("overall_score"),
        verdict=report.get("verdict") or "",
        summary=report.get("summary") or "",
        strengths=report.get("strengths") or [],
        improvements=report.get("improvements") or [],
        competencies=[
            CompetencySummary(name=c["name"], score=c.get("score"))
            for c in report.get("competencies") or []
        ],
    )


async def mock_interview(call: Call[MockInterviewRequest, None]) -> MockInterviewResponse:
    """One turn: the candidate's answer in, the next question (with feedback on the answer)
    out; the final turn carries the summary."""
    session_id = call.body.session_id
    out = await (_next_turn(call, session_id) if session_id else _first_turn(call))
    feedback = out.feedback
    output = MockInterviewOutput(
        message=out.turn.text,
        turn=out.turn.index // 2 + 1,  # interviewer turns alternate with answers: 0, 2, 4...
        feedback_on_previous=FeedbackOnPrevious.model_validate(feedback) if feedback else None,
        is_complete=out.is_complete,
        summary=await _summary(call, out.record) if out.is_complete else None,
    )
    return MockInterviewResponse(data=MockInterviewData(output=output, session_id=out.record.id))


ENDPOINTS = (
    CompatEndpoint(
        "POST",
        "/v1/hiring/mock-interview",
        mock_interview,
        "Run a mock interview, one turn per call",
        TAG,
        body=MockInterviewRequest,
        response=MockInterviewResponse,
        render_error=render_error,
        error_model=LiyaError,
        statuses=(400, 401, 404, 409, 413, 429, 500),
        tag_description=TAG_DESCRIPTION,
    ),
)
