"""A tenant's own interviews: what they ask and how, stored as JSON, indexed per tenant."""

from __future__ import annotations

import asyncio
import re
import secrets
import time
from collections.abc import Callable
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
)

from pipeline.engine import CustomQuestionSpec, PlanSpec
from pipeline.interview.analysis import Embedder
from pipeline.interview.skills import closest_skills, question_text
from pipeline.personas import PERSONAS
from server.catalogue import TRACK_IDS
from server.storage import keys
from server.storage.store import Redis

InterviewType = Literal["behavioral", "technical", "case_study", "system_design", "culture_fit"]
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


def _known_persona(persona_id: str) -> str:
    if persona_id not in PERSONAS:
        raise ValueError(f"unknown persona; one of {', '.join(PERSONAS)}")
    return persona_id


def _known_track(track: str) -> str:
    if track not in TRACK_IDS:
        raise ValueError(f"unknown track; one of {', '.join(TRACK_IDS)}")
    return track


def _served_language(language: str) -> str:
    if not re.fullmatch(r"en(-[A-Z]{2})?", language):
        raise ValueError(
            "only English interviews are served: the speech models (Whisper tiny.en, the Piper "
            "en_US voice) and the question bank are English; use 'en' or e.g. 'en-GB'"
        )
    return language


# The speech models and the question bank are English: another language would be accepted and
# then silently interviewed in English.
Language = Annotated[
    str,
    AfterValidator(_served_language),
    Field(json_schema_extra={"pattern": "^en(-[A-Z]{2})?$"}),
]
PersonaId = Annotated[
    str, AfterValidator(_known_persona), Field(json_schema_extra={"enum": sorted(PERSONAS)})
]
TrackId = Annotated[
    str, AfterValidator(_known_track), Field(json_schema_extra={"enum": list(TRACK_IDS)})
]


MetadataKey = Annotated[str, StringConstraints(min_length=1, max_length=64)]
MetadataValue = Annotated[str, StringConstraints(max_length=2000)] | int | bool | None


class Skill(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: ShortText
    description: str = Field("", max_length=1000)


KeyPointText = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=3, max_length=300)
]
MAX_KEY_POINTS = 8


class CustomQuestion(BaseModel):
    model_config = ConfigDict(extra="forbid")
    question: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=1000)
    ]
    time_limit_s: int = Field(120, ge=60, le=240, description="answer time, 1 to 4 minutes")
    answer: Literal["audio", "text"] = "audio"
    skill: ShortText | None = Field(
        None,
        description="the interview skill this question assesses (one of `skills`, by name); "
        "unset: the server links it to the closest skill by meaning and says so in "
        "`skill_source`",
    )
    skill_source: Literal["tenant", "assigned"] | None = Field(
        None,
        description="set by the server: `tenant` when you named the skill, `assigned` when the "
        "server chose the closest by meaning (re-chosen whenever the interview changes); null "
        "when the interview has no skills",
    )
    key_points: list[KeyPointText] = Field(
        default_factory=list,
        max_length=MAX_KEY_POINTS,
        description="what a good answer covers, as short statements (up to 8): the answer is "
        "scored on how many it makes, by meaning, and follow-ups and feedback name the missing "
        "ones",
    )
    ideal_answer: str | None = Field(
        None,
        max_length=3000,
        description="a model answer: scored against like key points (its sentences are the "
        "points when `key_points` is empty), and a reference for what is on topic",
    )


def check_question_skills(
    questions: list[CustomQuestion], skills: list[Skill] | None
) -> list[CustomQuestion]:
    """A question's named skill is one of the interview's (matched without case, kept as the
    skill is spelt). A skill the server assigned that the interview no longer has is dropped, to
    be assigned again when the interview is stored (`link_skills`)."""
    if skills is None:  # skills invalid: their own error says why
        return questions
    names = {s.name.lower(): s.name for s in skills}
    checked: list[CustomQuestion] = []
    for n, q in enumerate(questions):
        if q.skill is None or q.skill.lower() not in names:
            if q.skill is not None and q.skill_source != "assigned":
                known = ", ".join(s.name for s in skills) or "none (the interview has no skills)"
                raise ValueError(
                    f"questions[{n}].skill {q.skill!r} is not one of the interview's skills: "
                    f"{known}"
                )
            checked.append(q.model_copy(update={"skill": None, "skill_source": None}))
            continue
        source = q.skill_source or "tenant"
        checked.append(
            q.model_copy(update={"skill": names[q.skill.lower()], "skill_source": source})
        )
    return checked


# Customer-set weights must sum to 1 within this (floats such as 0.1 + 0.2 are not exact).
WEIGHTS_SUM_TOLERANCE = 1e-6
GENERAL_COMPETENCIES = ("communication", "problem_solving")  # as pipeline/interview/report.py


def check_competency_weights(
    weights: dict[str, float] | None, skills: list[Skill] | None
) -> dict[str, float] | None:
    """Weights name exactly the interview's competencies (its skills, `communication`,
    `problem_solving`), each in [0, 1], summing to 1 within WEIGHTS_SUM_TOLERANCE."""
    if weights is None or skills is None:  # skills invalid: their own error says why
        return weights
    names = [s.name for s in skills]
    clash = sorted(set(names) & set(GENERAL_COMPETENCIES))
    if clash:
        raise ValueError(
            f"a skill may not be named {', '.join(clash)} when weights are set: that name is a "
            "general competency"
        )
    expected = [*names, *GENERAL_COMPETENCIES]
    missing = [n for n in expected if n not in weights]
    unknown = [n for n in weights if n not in expected]
    if missing or unknown:
        parts = []
        if missing:
            parts.append(f"missing {', '.join(missing)}")
        if unknown:
            parts.append(f"unknown {', '.join(unknown)}")
        raise ValueError(
            f"weights must name exactly the interview's competencies: {', '.join(expected)} "
            f"({'; '.join(parts)})"
        )
    total = sum(weights.values())
    if abs(total - 1.0) > WEIGHTS_SUM_TOLERANCE:
        raise ValueError(
            f"weights must sum to 1 (within {WEIGHTS_SUM_TOLERANCE:g}); they sum to {total:.6g}"
        )
    return weights


Weight = Annotated[float, Field(ge=0.0, le=1.0, allow_inf_nan=False)]
CodingLanguage = Literal["python", "javascript", "c", "cpp", "java"]


class CodingRound(BaseModel):
    """A live coding question (docs/coding-round.md): the candidate writes code in the room's
    editor, runs the visible tests, submits (hidden tests), then explains the approach."""

    model_config = ConfigDict(extra="forbid", strict=True)
    problems: list[Annotated[str, StringConstraints(min_length=1, max_length=64)]] = Field(
        default_factory=list,
        max_length=10,
        description="problem ids to choose from (the bank's, GET /v1/problems, or yours, "
        "POST /v1/problems); empty: the whole bank. Each session gets one, chosen by "
        "`details` and then by the session id",
    )
    languages: list[CodingLanguage] = Field(
        default_factory=list,
        max_length=5,
        description="languages the candidate may use; empty: every one this server has",
    )
    details: str = Field(
        "",
        max_length=2000,
        description="what the exercise should be like ('hard', 'dynamic programming'...): "
        "picks the problem whose difficulty and topics it names",
    )
    required: bool = Field(
        False, description="the report flags a session ended without a submission"
    )
    only: bool = Field(False, description="the coding question is the interview's only one")


class InterviewFields(BaseModel):
    """What a tenant defines once and reuses for many sessions."""

    model_config = ConfigDict(extra="forbid")
    name: ShortText
    type: InterviewType = "behavioral"
    track: TrackId | None = Field(None, description="catalogue track whose bank fills the plan")
    round: str | None = Field(
        None,
        max_length=100,
        description="e.g. screening, technical, final: a screening asks at most 4 questions, "
        "motivation and a behavioural one first; a final round of a technical interview adds a "
        "system design question, of a behavioural one asks the deeper questions first",
    )
    level: str | None = Field(None, max_length=50)
    language: Language = "en"
    persona_id: PersonaId = "maya"
    skills: list[Skill] = Field(default_factory=list, max_length=10)
    questions: list[CustomQuestion] = Field(default_factory=list, max_length=20)
    max_questions: int = Field(8, ge=1, le=20)
    duration_minutes: int | None = Field(None, ge=5, le=120)
    focus_areas: list[ShortText] = Field(default_factory=list, max_length=10)
    job_description: str = Field("", max_length=20_000)
    company_context: str = Field(
        "",
        max_length=5_000,
        description='what the company does ("Stripe is a payments infrastructure company..."): '
        "one question names the company or its domain",
    )
    metadata: dict[MetadataKey, MetadataValue] = Field(
        default_factory=dict,
        max_length=50,
        description="your own keys, returned as given; never used by the interview or its scoring",
    )
    invite_sessions: int = Field(
        0,
        strict=True,
        ge=0,
        le=100_000,
        description="sessions the invite link may open in all; 0 (the default) turns it off",
    )
    invite_rate_per_minute: int = Field(
        0,
        strict=True,
        ge=0,
        le=10_000,
        description="sessions the invite link may open per minute; 0 (the default): the "
        "server's limit (VIVA_INVITE_INTERVIEW_RATE_LIMIT_PER_MINUTE), which also caps it",
    )
    coding: CodingRound | None = Field(
        None, description="a live coding question, asked first (docs/coding-round.md)"
    )
    competency_weights: dict[str, Weight] | None = Field(
        None,
        max_length=12,
        description="the weight of each competency in the overall score: every skill's name, "
        "`communication` and `problem_solving`, each 0 to 1, summing to 1 (within 1e-6); "
        "unset: the rubric's default (skills share 0.6, the two general ones 0.2 each)",
    )

    @field_validator("questions")
    @classmethod
    def _skills_are_the_interviews(
        cls, questions: list[CustomQuestion], info: ValidationInfo
    ) -> list[CustomQuestion]:
        return check_question_skills(questions, info.data.get("skills"))

    @field_validator("competency_weights")
    @classmethod
    def _weights_fit_the_competencies(
        cls, weights: dict[str, float] | None, info: ValidationInfo
    ) -> dict[str, float] | None:
        return check_competency_weights(weights, info.data.get("skills"))


class StoredInterview(InterviewFields):
    # Read back as stored: an interview saved before the English-only check still loads.
    language: str = "en"
    id: str
    tenant_id: str
    created_at: float
    updated_at: float

    def plan_spec(
        self,
        *,
        persona_id: str | None,
        practice: bool,
        grade: str | None,
        cv_text: str,
        job_description: str,
    ) -> PlanSpec:
        return PlanSpec(
            type=self.type,
            track=self.track,
            level=self.level,
            grade=grade,
            round=self.round,
            skills=tuple((s.name, s.description) for s in self.skills),
            questions=tuple(
                CustomQuestionSpec(
                    q.question,
                    q.time_limit_s,
                    q.skill,
                    tuple(q.key_points),
                    q.ideal_answer or "",
                )
                for q in self.questions
            ),
            max_questions=self.max_questions,
            duration_minutes=self.duration_minutes,
            focus_areas=tuple(self.focus_areas),
            cv_text=cv_text,
            job_description=job_description or self.job_description,
            company_context=self.company_context,
            persona_id=persona_id or self.persona_id,
            practice=practice,
            language=self.language,
            competency_weights=tuple((self.competency_weights or {}).items()),
        )


def new_interview_id() -> str:
    return "int_" + secrets.token_hex(8)


# Stored interviews' ids, as `new_interview_id` makes them. Any other id (a catalogue id, or a
# crafted one such as "int_…:invites", which names the link's counter) is no stored interview,
# and is not looked up (issue 24, #8).
_INTERVIEW_ID = re.compile(r"int_[0-9a-f]{16}")


def is_interview_id(value: str) -> bool:
    return _INTERVIEW_ID.fullmatch(value) is not None


async def link_skills(fields: InterviewFields, embedder: Callable[[], Embedder]) -> InterviewFields:
    """Each question without a skill of the tenant's gets the interview skill closest to it in
    meaning (`skill_source: assigned`); with no skills, none."""
    unlinked = [
        n for n, q in enumerate(fields.questions) if q.skill is None or q.skill_source == "assigned"
    ]
    if not unlinked or not fields.skills:
        return fields
    texts = [
        question_text(q.question, q.key_points, q.ideal_answer or "")
        for q in (fields.questions[n] for n in unlinked)
    ]
    skills = [(s.name, s.description) for s in fields.skills]
    chosen = await asyncio.to_thread(lambda: closest_skills(texts, skills, embedder()))
    questions = list(fields.questions)
    for n, skill in zip(unlinked, chosen, strict=True):
        questions[n] = questions[n].model_copy(update={"skill": skill, "skill_source": "assigned"})
    return fields.model_copy(update={"questions": questions})


async def create(
    redis: Redis, tenant_id: str, fields: InterviewFields, embedder: Callable[[], Embedder]
) -> StoredInterview:
    fields = await link_skills(fields, embedder)
    now = time.time()
    interview = StoredInterview(
        **fields.model_dump(),
        id=new_interview_id(),
        tenant_id=tenant_id,
        created_at=now,
        updated_at=now,
    )
    # The record, then the index (two slots on a Redis Cluster): the index never names an
    # interview that is not there.
    await redis.set(keys.interview(interview.id), interview.model_dump_json())
    await redis.zadd(keys.tenant_interviews(tenant_id), {interview.id: now})
    return interview


async def get(redis: Redis, tenant_id: str, interview_id: str) -> StoredInterview | None:
    """The tenant's interview; None when absent or another tenant's."""
    if not is_interview_id(interview_id):
        return None
    raw = await redis.get(keys.interview(interview_id))
    if raw is None:
        return None
    interview = StoredInterview.model_validate_json(raw)
    return interview if interview.tenant_id == tenant_id else None


async def find(redis: Redis, interview_id: str) -> StoredInterview | None:
    """Any tenant's interview (for its invite link); None when absent."""
    if not is_interview_id(interview_id):
        return None
    raw = await redis.get(keys.interview(interview_id))
    return None if raw is None else StoredInterview.model_validate_json(raw)


async def page(
    redis: Redis, tenant_id: str, *, offset: int, limit: int
) -> tuple[list[StoredInterview], int]:
    """Newest first. Returns the page and the total count."""
    index = keys.tenant_interviews(tenant_id)
    ids = await redis.zrevrange(index, offset, offset + limit - 1)
    total = int(await redis.zcard(index))
    found = [await get(redis, tenant_id, str(i)) for i in ids]
    return [i for i in found if i is not None], total


async def replace(
    redis: Redis,
    interview: StoredInterview,
    fields: InterviewFields,
    embedder: Callable[[], Embedder],
) -> StoredInterview:
    fields = await link_skills(fields, embedder)
    updated = StoredInterview(
        **fields.model_dump(),
        id=interview.id,
        tenant_id=interview.tenant_id,
        created_at=interview.created_at,
        updated_at=time.time(),
    )
    await redis.set(keys.interview(interview.id), updated.model_dump_json())
    return updated


async def delete(redis: Redis, interview: StoredInterview) -> None:
    # The other order: out of the index first, then its keys, one at a time (other slots).
    await redis.zrem(keys.tenant_interviews(interview.tenant_id), interview.id)
    await redis.delete(keys.interview(interview.id))
    await redis.delete(keys.interview_invites(interview.id))
