"""The turn-engine interface shared by voice and chat, and the plain scripted engine.

An engine is given the interview plan and the transcript so far and decides the interviewer's
next move (greeting and first question, a follow-up, the next question, the closing line), then
streams its words. Engines are stateless: everything they need is in the plan and the transcript,
which the server keeps in Redis, so a session resumes on any process after a restart.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

Role = Literal["interviewer", "candidate"]
MoveKind = Literal["opening", "question", "follow_up", "closing"]


@dataclass(frozen=True)
class Question:
    id: str
    text: str
    time_limit_s: int = 120
    skill: str | None = None
    source: str = "custom"  # custom | bank | cv | jd
    style: str = "behavioral"  # behavioral | technical: which answer structure is expected
    key_points: tuple[str, ...] = ()  # what a strong answer covers (bank or tenant questions)
    ideal_answer: str = ""  # the tenant's model answer, if it wrote one
    # Answered over minutes of quiet work (the coding round's problem): silence does not end a
    # spoken answer to it, only a signal (answer_done, a typed answer, a code submission) or its
    # time limit does (pipeline/voice/turn_policy.py).
    open_ended: bool = False


@dataclass(frozen=True)
class InterviewPlan:
    questions: tuple[Question, ...]
    persona_id: str = "alex"
    practice: bool = False
    language: str = "en"
    candidate_first_name: str | None = None  # for the greeting only; never used in scoring
    interview_type: str = "behavioral"
    skills: tuple[str, ...] = ()  # the interview's competencies, scored in the report
    # The customer's weight per competency (skills, communication, problem_solving), summing
    # to 1; () keeps the rubric's default weights (pipeline/interview/report.py).
    competency_weights: tuple[tuple[str, float], ...] = ()
    # The interview's time budget (its duration), kept in chat as the plan's cap keeps it in voice;
    # None: no limit beyond the questions' own.
    duration_s: int | None = None


@dataclass(frozen=True)
class CustomQuestionSpec:
    """A tenant's own question as the plan gets it: asked first, scored on what the tenant says a
    good answer covers (its key points, its ideal answer) or else on what the question asks for."""

    text: str
    time_limit_s: int = 120
    skill: str | None = None  # one of the interview's skills: named by the tenant or assigned
    key_points: tuple[str, ...] = ()
    ideal_answer: str = ""


@dataclass(frozen=True)
class PlanSpec:
    """What a plan is built from: the interview resource plus the session's own inputs."""

    type: str = "behavioral"  # behavioral | technical | case_study | system_design | culture_fit
    track: str | None = None  # catalogue track id, e.g. "dsa", "k12_math"
    level: str | None = None
    grade: str | None = None  # K-12: "Grade 7", "7", "K"... picks the grade band's questions
    round: str | None = None  # screening | technical | final, or the caller's own words
    skills: tuple[tuple[str, str], ...] = ()  # (name, description)
    questions: tuple[CustomQuestionSpec, ...] = ()  # the tenant's own, asked first
    max_questions: int = 8
    duration_minutes: int | None = None
    focus_areas: tuple[str, ...] = ()
    cv_text: str = ""
    job_description: str = ""
    company_context: str = ""  # what the company does: tailors a question, as the JD does
    persona_id: str = "maya"
    practice: bool = False
    language: str = "en"
    competency_weights: tuple[tuple[str, float], ...] = ()  # (competency, weight); () default


@dataclass(frozen=True)
class Turn:
    """One completed turn of the transcript, as stored."""

    index: int
    role: Role
    text: str
    question_index: int | None = None  # the plan question this turn belongs to
    kind: str = "answer"  # opening | question | follow_up | closing | answer
    started_at: float = 0.0
    ended_at: float = 0.0
    interrupted: bool = False
    source: str = "voice"  # voice | text
    meta: dict[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class Feedback:
    """Per-answer feedback (practice mode)."""

    strengths: tuple[str, ...]
    improvements: tuple[str, ...]
    score: int  # 0-100


@dataclass(frozen=True)
class Move:
    """What the interviewer does next, decided before any words are produced."""

    kind: MoveKind
    question_index: int | None
    is_complete: bool  # True with the closing line: the interview ends after it


class Reply:
    """A move and its words. `sentences()` may be iterated once."""

    def __init__(
        self,
        move: Move,
        sentences: AsyncIterator[str],
        feedback: Feedback | None = None,
        meta: Mapping[str, object] | None = None,
    ) -> None:
        self.move = move
        self._sentences = sentences
        self.feedback = feedback
        # For the interviewer turn's meta: which engine spoke, and why it fell back if it did.
        self.meta: dict[str, object] = dict(meta or {})

    def sentences(self) -> AsyncIterator[str]:
        return self._sentences

    def opening_with(self, first: str, meta: Mapping[str, object]) -> Reply:
        """The same reply, said after `first`, with `meta` added to its own (the wrappers that
        show the engine the candidate's code or whiteboard)."""
        return Reply(
            self.move, _after(first, self._sentences), self.feedback, {**self.meta, **meta}
        )

    def with_meta(self, meta: Mapping[str, object]) -> Reply:
        return Reply(self.move, self._sentences, self.feedback, {**self.meta, **meta})


async def _after(first: str, rest: AsyncIterator[str]) -> AsyncIterator[str]:
    yield first
    async for sentence in rest:
        yield sentence


class TurnEngine(Protocol):
    name: str
    version: str

    async def next_reply(self, plan: InterviewPlan, transcript: Sequence[Turn]) -> Reply:
        """The interviewer's next turn given everything said so far.

        With an empty transcript, the opening (greeting and first question). If the last turn
        is the interviewer's (a resumed session), the same question again.
        """
        ...


async def sentences_of(items: Sequence[str]) -> AsyncIterator[str]:
    """A reply's sentences from a list: what engines that know their words at once give."""
    for item in items:
        yield item


def asked_questions(transcript: Sequence[Turn]) -> list[int]:
    """Indices of plan questions the interviewer has asked, in order."""
    seen: list[int] = []
    for turn in transcript:
        index = turn.question_index
        if turn.role == "interviewer" and index is not None and index not in seen:
            seen.append(index)
    return seen


class ScriptedEngine:
    """Greeting, the plan's questions in order, a closing line. No follow-ups, no scoring."""

    name = "scripted"
    version = "1"

    async def next_reply(self, plan: InterviewPlan, transcript: Sequence[Turn]) -> Reply:
        last = transcript[-1] if transcript else None
        if last is not None and last.role == "interviewer" and last.kind != "closing":
            # Resumed: ask the open question again.
            move = Move("question", last.question_index, False)
            question = plan.questions[last.question_index or 0].text
            return Reply(move, sentences_of(["Let's pick up where we left off.", question]))
        asked = asked_questions(transcript)
        next_index = (asked[-1] + 1) if asked else 0
        if not transcript:
            name = f", {plan.candidate_first_name}" if plan.candidate_first_name else ""
            if not plan.questions:
                return Reply(
                    Move("closing", None, True), sentences_of(["There are no questions today."])
                )
            return Reply(
                Move("opening", 0, False),
                sentences_of([f"Hello{name}, thanks for joining.", plan.questions[0].text]),
            )
        if next_index >= len(plan.questions):
            return Reply(
                Move("closing", None, True),
                sentences_of(["Thank you, that's all my questions.", "Goodbye."]),
            )
        return Reply(
            Move("question", next_index, False),
            sentences_of(["Thank you.", plan.questions[next_index].text]),
        )
