"""The LLM interviewer: an OpenAI-compatible model assesses each answer and phrases the reply.

The move is decided from the model's JSON assessment (validated, repaired or rejected) before
any words stream; the words then stream sentence by sentence so TTS starts on the first. Any
failure (unreachable, timeout, bad JSON) falls back to the structured engine, and the reply's
meta says so (`fallback_from`, `fallback_reason`) for the transcript. The plan's questions are
asked verbatim: the model never rewrites what is being assessed.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Sequence
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from pipeline.engine import Feedback, InterviewPlan, Move, Reply, Turn
from pipeline.interview.followups import PROBES, probe_sentences, probed_gaps
from pipeline.interview.llm_client import ChatClient, LLMError, Message
from pipeline.interview.report import collect_answers
from pipeline.interview.structured import StructuredEngine
from pipeline.personas import Persona, get_persona

Gap = Literal[
    "none",
    "relevance",
    "brevity",
    "situation",
    "ownership",
    "outcome",
    "measurement",
    "approach",
    "complexity",
    "tradeoffs",
    "steps",
    "reasoning",
    "check",
    "specifics",
]
MAX_SENTENCE_WORDS = 40
MAX_LLM_SENTENCES = 2
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
_CONTROL = re.compile(r"<[^>]{1,40}>|[\x00-\x1f]")  # chat-template tokens, control characters


class LLMAssessment(BaseModel):
    """What the model must return about an answer."""

    # No other keys (as OpenAI's strict structured outputs require): a schema that allows them
    # lets a small model invent keys until it runs out of tokens.
    model_config = ConfigDict(extra="forbid")

    score: int = Field(ge=0, le=100)
    missing: Gap
    follow_up: bool
    strength: str = Field(default="", max_length=300)
    improvement: str = Field(default="", max_length=300)


class LLMEngine:
    name = "llm"
    version = "1"

    def __init__(self, client: ChatClient, fallback: StructuredEngine) -> None:
        self.client = client
        self.fallback = fallback

    async def next_reply(self, plan: InterviewPlan, transcript: Sequence[Turn]) -> Reply:
        last = transcript[-1] if transcript else None
        if last is None or last.role == "interviewer":
            # Greeting and resuming are fixed words: nothing for the model to decide.
            reply = await self.fallback.next_reply(plan, transcript)
            reply.meta.update(engine=self.name, engine_version=self.version)
            return reply
        current = next(
            (t.question_index for t in reversed(transcript) if t.role == "interviewer"), None
        )
        if current is None:
            return await self.fallback.next_reply(plan, transcript)
        persona = get_persona(plan.persona_id)
        question = plan.questions[current].text
        answer = " ".join(t.text for t in collect_answers(plan, transcript).get(current, []))
        try:
            assessment = await self.client.complete_json(
                _assessment_prompt(persona, question, answer), LLMAssessment
            )
        except LLMError as exc:
            reply = await self.fallback.next_reply(plan, transcript)
            reply.meta.update(fallback_from=self.name, fallback_reason=_reason(exc))
            return reply

        feedback = _feedback(assessment) if plan.practice else None
        meta: dict[str, object] = {
            "engine": self.name,
            "engine_version": self.version,
            "llm_assessment": assessment.model_dump(),
        }
        gap = _gap_to_probe(persona, transcript, current, assessment)
        if gap is not None:
            meta["gap"] = gap
            move = Move("follow_up", current, False)
            fixed = probe_sentences(gap, question)
            words = self._follow_up(persona, question, answer, gap, fixed, meta)
            return Reply(move, words, feedback, meta)
        following = current + 1
        if following >= len(plan.questions):
            return Reply(
                Move("closing", None, True),
                self._acknowledge(persona, answer, [persona.closing], meta),
                feedback,
                meta,
            )
        return Reply(
            Move("question", following, False),
            self._acknowledge(persona, answer, [plan.questions[following].text], meta),
            feedback,
            meta,
        )

    async def _follow_up(
        self,
        persona: Persona,
        question: str,
        answer: str,
        gap: str,
        fixed: list[str],
        meta: dict[str, object],
    ) -> AsyncIterator[str]:
        yield persona.follow_up_lead  # short and fixed: the voice starts at once
        messages = _follow_up_prompt(persona, question, answer, gap)
        said = [s async for s in self._stream(messages, meta)]
        if not any(s.endswith("?") for s in said):
            said = fixed  # a follow-up must ask something; the fixed probe always does
        for sentence in said:
            yield sentence

    async def _acknowledge(
        self, persona: Persona, answer: str, then: list[str], meta: dict[str, object]
    ) -> AsyncIterator[str]:
        said = False
        async for sentence in self._stream(_acknowledgement_prompt(persona, answer), meta, 1):
            said = True
            yield sentence
        if not said:
            yield persona.acknowledgements[0]
        for sentence in then:
            yield sentence

    async def _stream(
        self, messages: list[Message], meta: dict[str, object], limit: int = MAX_LLM_SENTENCES
    ) -> AsyncIterator[str]:
        """The model's sentences as they complete; on failure, what came so far and a note."""
        count = 0
        try:
            async for sentence in split_sentences(self.client.stream_text(messages)):
                clean = _clean(sentence)
                if clean:
                    yield clean
                    count += 1
                if count >= limit:
                    return
        except LLMError as exc:
            meta["fallback_reason"] = _reason(exc)  # the words fall back; the move stands


async def split_sentences(pieces: AsyncIterator[str]) -> AsyncIterator[str]:
    """Regroup streamed text into sentences, each yielded as soon as it ends."""
    buffer = ""
    async for piece in pieces:
        buffer += piece
        *done, buffer = _SENTENCE_END.split(buffer)
        for sentence in done:
            if sentence.strip():
                yield sentence.strip()
    if buffer.strip():
        yield buffer.strip()


def _clean(sentence: str) -> str:
    words = _CONTROL.sub(" ", sentence).split()
    return " ".join(words[:MAX_SENTENCE_WORDS])


def _gap_to_probe(
    persona: Persona, transcript: Sequence[Turn], current: int, assessment: LLMAssessment
) -> str | None:
    if not assessment.follow_up or assessment.missing == "none":
        return None
    probed = probed_gaps(transcript, current)
    if len(probed) >= persona.follow_up_depth or assessment.missing in probed:
        return None
    return assessment.missing


def _feedback(a: LLMAssessment) -> Feedback:
    strengths = (a.strength,) if a.strength.strip() else ()
    improvements = (a.improvement,) if a.improvement.strip() else ()
    return Feedback(strengths, improvements, a.score)


def _reason(exc: Exception) -> str:
    public = next(c for c in type(exc).__mro__ if not c.__name__.startswith("_"))
    return f"{public.__name__}: {exc}"[:300]


def _system(persona: Persona) -> Message:
    return {
        "role": "system",
        "content": (
            f"You are {persona.name}, a {persona.title.lower()} running a job interview. "
            f"{persona.description} Be brief. Never ask personal questions."
        ),
    }


def _assessment_prompt(persona: Persona, question: str, answer: str) -> list[Message]:
    gaps = ", ".join(['"none"', *(f'"{g}"' for g in PROBES)])
    return [
        _system(persona),
        {
            "role": "user",
            "content": (
                f"Question: {question}\nCandidate's answer: {answer or '(no answer)'}\n\n"
                "Assess the answer. Reply with JSON only, keys: score (0-100), missing (the most "
                f"important thing the answer lacks, one of {gaps}), follow_up (true if one "
                "follow-up question should probe it), strength, improvement (one sentence each)."
            ),
        },
    ]


def _follow_up_prompt(persona: Persona, question: str, answer: str, gap: str) -> list[Message]:
    return [
        _system(persona),
        {
            "role": "user",
            "content": (
                f"Question: {question}\nCandidate's answer: {answer}\n\n"
                f"Ask ONE short follow-up question. It must ask for this: {PROBES[gap]}"
            ),
        },
    ]


def _acknowledgement_prompt(persona: Persona, answer: str) -> list[Message]:
    return [
        _system(persona),
        {
            "role": "user",
            "content": (
                f"Candidate's answer: {answer}\n\nAcknowledge it in one short sentence, "
                "without judging it and without asking anything."
            ),
        },
    ]
