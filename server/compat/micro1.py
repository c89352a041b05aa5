"""micro1's public API (seed 004): `POST /interview` with `x-api-key`, creating a native
interview (`/v1/interviews`) whose invite link candidates open.

Field for field: `interview_name` is the name; `skills` (≤ 10, with descriptions) the skills;
`custom_question_list` (≤ 20) the custom questions, `time` in minutes (1-4) as the answer time
and `type` (audio/text) as the expected answer; `interview_language` the language. The coding options
map to the interview's coding round (docs/coding-round.md): `only_coding_round` or
`is_coding_round_required` adds one (`only`, `required`), `selected_coding_language` is the
language allowed (`user_choice`: any this server runs; one it does not run, such as `rust`, is a
400), `coding_exercise_details` picks the problem (difficulty and topic words). Without either
flag there is no coding round. The options are also kept in the interview's `metadata` under
`micro1.*`. Those this server cannot honour (a language other than English, letting the
candidate switch language, a coding language it does not run) are refused with micro1's own 400
body, `{"status": false, "message"}`, saying why.
`is_proctoring_required` (micro1's default: true) is honoured by the integrity checks every voice
session runs (a second voice, reading aloud: the report's `fraud_signals`); there is no webcam or
screen monitoring. The `invite_url` is the native invite link, open for `INVITE_SESSIONS`
sessions in all and `INVITE_RATE_PER_MINUTE` a minute, so that a leaked link cannot spend the
tenant's quota (issue 24, #12; raise either with `PATCH /v1/interviews/{id}`: `invite_sessions`,
`invite_rate_per_minute`).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, cast

from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from starlette.responses import JSONResponse, Response

from pipeline.coding.sandbox import available_languages
from server import interviews, invites
from server.compat.base import CompatEndpoint, flat_message
from server.http.endpoint import Call
from server.http.errors import ApiError, BadRequest
from server.interviews import (
    CodingLanguage,
    CodingRound,
    CustomQuestion,
    InterviewFields,
    Skill,
)

TAG = "compat: micro1"
TAG_DESCRIPTION = "micro1's public API (POST /interview) on native interviews and invite links."
INVITE_SESSIONS = 25
INVITE_RATE_PER_MINUTE = 3
SERVED_LANGUAGES = ("en", "en-GB")
MICRO1_LANGUAGES = Literal[
    "en", "fr", "de", "he", "hi", "pt", "es", "es-la", "tr", "ja", "sv", "ar", "pl", "dk", "kr",
    "it", "nl", "cz", "ua", "ur", "id", "en-GB", "es-MX", "cn", "zh-CN", "zh-TW", "zh-HK", "ru",
    "bn", "ms", "pt-BR", "vi", "tl", "th", "afb", "pt-PT",
]  # fmt: skip
CODING_LANGUAGES = Literal[
    "user_choice", "javascript", "cpp", "c", "csharp", "go", "java", "kotlin", "php", "python",
    "ruby", "rust", "swift", "typescript",
]  # fmt: skip
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


class Micro1Skill(BaseModel):
    model_config = ConfigDict(strict=True)
    name: Text = Field(description="Name of the skill")
    description: str = Field("", max_length=1000, description="More information about the skill")


class Micro1Question(BaseModel):
    model_config = ConfigDict(strict=True)
    question: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=1000)
    ] = Field(description="The question to ask the candidate")
    time: float = Field(
        2, ge=1, le=4, allow_inf_nan=False, description="answer time limit in minutes (1-4)"
    )
    type: Literal["audio", "text"] = Field("audio", description="The type of question")


class CreateInterviewRequest(BaseModel):
    """micro1's CreateInterviewRequest."""

    model_config = ConfigDict(extra="ignore", strict=True)
    interview_name: Text = Field(description="Name of the interview")
    skills: list[Micro1Skill] = Field(default_factory=list, max_length=10)
    custom_question_list: list[Micro1Question] = Field(default_factory=list, max_length=20)
    interview_language: MICRO1_LANGUAGES = "en"
    can_change_interview_language: bool = False
    only_coding_round: bool = False
    is_coding_round_required: bool = False
    selected_coding_language: CODING_LANGUAGES = "user_choice"
    coding_exercise_details: str = Field("", max_length=2000)
    is_proctoring_required: bool = True


class InterviewData(BaseModel):
    interview_id: str
    invite_url: str


class CreateInterviewResponse(BaseModel):
    status: bool = True
    message: str = "Interview created successfully"
    data: InterviewData


class BadRequestResponse(BaseModel):
    status: bool = False
    message: str


def render_error(exc: ApiError) -> Response:
    headers = {"Retry-After": exc.headers["Retry-After"]} if "Retry-After" in exc.headers else {}
    body = BadRequestResponse(message=flat_message(exc))
    return JSONResponse(body.model_dump(), status_code=exc.status, headers=headers)


def _unsupported(body: CreateInterviewRequest) -> dict[str, str]:
    """What the request asks for that this server cannot do yet, per field."""
    refused: dict[str, str] = {}
    if body.interview_language not in SERVED_LANGUAGES:
        refused["interview_language"] = (
            f"'{body.interview_language}' is not supported yet: interviews are held in English "
            "only (en, en-GB), as the speech models and the question bank are English"
        )
    if body.can_change_interview_language:
        refused["can_change_interview_language"] = (
            "not supported yet: English is the only language, so there is none to change to"
        )
    language = body.selected_coding_language
    if _has_coding_round(body) and language != "user_choice":
        offered = [lang.id for lang in available_languages()]
        if language not in offered:
            refused["selected_coding_language"] = (
                f"'{language}' is not available on this server; one of user_choice, "
                f"{', '.join(offered)}"
            )
    return refused


def _has_coding_round(body: CreateInterviewRequest) -> bool:
    return body.only_coding_round or body.is_coding_round_required


def coding_round(body: CreateInterviewRequest) -> CodingRound | None:
    if not _has_coding_round(body):
        return None
    language = body.selected_coding_language
    return CodingRound(
        # Only a language this server runs gets here (`_unsupported` refused the others).
        languages=[] if language == "user_choice" else [cast(CodingLanguage, language)],
        details=body.coding_exercise_details,
        required=body.is_coding_round_required,
        only=body.only_coding_round,
    )


def native_fields(body: CreateInterviewRequest) -> InterviewFields:
    questions = [
        CustomQuestion(question=q.question, time_limit_s=round(q.time * 60), answer=q.type)
        for q in body.custom_question_list
    ]
    metadata: dict[str, Any] = {
        "micro1.is_proctoring_required": body.is_proctoring_required,
        "micro1.selected_coding_language": body.selected_coding_language,
    }
    if body.coding_exercise_details:
        metadata["micro1.coding_exercise_details"] = body.coding_exercise_details
    return InterviewFields(
        name=body.interview_name,
        type="technical" if body.skills or body.only_coding_round else "behavioral",
        language=body.interview_language,
        skills=[Skill(name=s.name, description=s.description) for s in body.skills],
        questions=questions,
        # Every custom question, then one per skill, at least the native default of 8.
        max_questions=min(20, max(8, len(questions) + len(body.skills))),
        metadata=metadata,
        coding=coding_round(body),
        invite_sessions=INVITE_SESSIONS,
        invite_rate_per_minute=INVITE_RATE_PER_MINUTE,
    )


async def create_micro1_interview(
    call: Call[CreateInterviewRequest | None, None],
) -> CreateInterviewResponse:
    """Create an interview; its invite link opens a session per candidate."""
    if call.body is None:
        raise BadRequest("interview_name: Field required")
    refused = _unsupported(call.body)
    if refused:
        raise BadRequest("Unsupported option.", fields=refused)
    stored = await interviews.create(
        call.redis, call.tenant.tenant_id, native_fields(call.body), call.services.models.embedder
    )
    return CreateInterviewResponse(
        data=InterviewData(
            interview_id=stored.id, invite_url=invites.link(call.services.settings, stored.id)
        )
    )


ENDPOINTS = (
    CompatEndpoint(
        "POST",
        "/interview",
        create_micro1_interview,
        "Create a new interview",
        TAG,
        body=CreateInterviewRequest,
        body_required=False,
        response=CreateInterviewResponse,
        render_error=render_error,
        error_model=BadRequestResponse,
        statuses=(400, 401, 413, 429, 500),
        tag_description=TAG_DESCRIPTION,
    ),
)
