"""The structured interviewer: the plan's questions, one targeted follow-up per gap, a rubric.

Deterministic and offline. The move is decided from the analysis of the answer so far; the first
sentence is always short (an acknowledgement) so the voice can start speaking at once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

from models.embedding import shared_embedder
from pipeline.engine import Feedback, InterviewPlan, Move, Reply, Turn, sentences_of
from pipeline.interview.analysis import AnswerAnalysis, Embedder, analyse
from pipeline.interview.followups import (
    gap_of,
    probe_sentences,
    probed_gaps,
    quote_meta,
    quote_of,
    salient_quote,
)
from pipeline.interview.report import collect_answers
from pipeline.interview.rubric import AnswerScore, score_answer
from pipeline.personas import Persona, get_persona

STRONG_ANSWER = 75  # at or above: praise rather than a plain acknowledgement


class StructuredEngine:
    name = "structured"
    version = "1"

    def __init__(self, embedder: Embedder | None = None) -> None:
        self._embedder = embedder

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            self._embedder = shared_embedder()
        return self._embedder

    def _reply(
        self,
        move: Move,
        sentences: Sequence[str],
        feedback: Feedback | None = None,
        /,
        **meta: object,
    ) -> Reply:
        stamp = {"engine": self.name, "engine_version": self.version, **meta}
        return Reply(move, sentences_of([s for s in sentences if s]), feedback, stamp)

    async def next_reply(self, plan: InterviewPlan, transcript: Sequence[Turn]) -> Reply:
        persona = get_persona(plan.persona_id)
        last = transcript[-1] if transcript else None
        if last is None:
            return self._opening(plan, persona)
        if last.role == "interviewer":
            return self._resume(plan, persona, last)
        current = _current_question(transcript)
        if current is None:  # candidate spoke before any question: start properly
            return self._opening(plan, persona)

        assessed = await asyncio.to_thread(self.assess, plan, transcript, current)
        feedback = assessed.score.feedback() if plan.practice else None
        gap = self._gap_to_probe(persona, transcript, current, assessed)
        turn_number = len(transcript)
        if gap is not None:
            question = plan.questions[current].text
            # Name what the candidate said where it fits ("You mentioned Kafka consumer lag").
            quote = salient_quote(gap, assessed.analysis, assessed.answer, question)
            return self._reply(
                Move("follow_up", current, False),
                [persona.follow_up_lead, *probe_sentences(gap, question, quote)],
                feedback,
                gap=gap,
                **quote_meta(quote),
            )
        ack = _acknowledgement(persona, assessed.score, turn_number)
        tip = _practice_tip(feedback)
        following = current + 1
        if following >= len(plan.questions):
            return self._reply(Move("closing", None, True), [ack, tip, persona.closing], feedback)
        transition = persona.transitions[turn_number % len(persona.transitions)]
        return self._reply(
            Move("question", following, False),
            [ack, tip, transition, plan.questions[following].text],
            feedback,
        )

    def assess(
        self, plan: InterviewPlan, transcript: Sequence[Turn], question_index: int
    ) -> _Assessment:
        """The answer so far to one question (follow-up answers included), analysed and scored."""
        turns = collect_answers(plan, transcript).get(question_index, [])
        question = plan.questions[question_index]
        answer = " ".join(t.text.strip() for t in turns)
        analysis = analyse(question, answer, self.embedder)
        return _Assessment(
            analysis.gaps, score_answer(analysis, question.time_limit_s), analysis, answer
        )

    def _gap_to_probe(
        self,
        persona: Persona,
        transcript: Sequence[Turn],
        question_index: int,
        assessed: _Assessment,
    ) -> str | None:
        if assessed.score.score >= persona.probe_below:
            return None
        probed = probed_gaps(transcript, question_index)
        if len(probed) >= persona.follow_up_depth:
            return None
        return next((gap for gap in assessed.gaps if gap not in probed), None)

    def _opening(self, plan: InterviewPlan, persona: Persona) -> Reply:
        name = f" {plan.candidate_first_name}" if plan.candidate_first_name else ""
        greeting = persona.greeting.format(name=f",{name}" if name else "", persona=persona.name)
        if not plan.questions:
            return self._reply(Move("closing", None, True), [greeting, persona.closing])
        return self._reply(
            Move("opening", 0, False),
            [greeting, persona.introduction, plan.questions[0].text],
        )

    def _resume(self, plan: InterviewPlan, persona: Persona, last: Turn) -> Reply:
        if last.kind == "closing" or last.question_index is None:
            return self._reply(Move("closing", None, True), [persona.closing])
        index = last.question_index
        question = plan.questions[index].text
        if last.kind == "follow_up":  # the open question is the follow-up itself
            gap, quote = gap_of(last), quote_of(last)
            return self._reply(
                Move("follow_up", index, False),
                ["Let's pick up where we left off.", *probe_sentences(gap, question, quote)],
                gap=gap,
                **quote_meta(quote),
            )
        return self._reply(
            Move("question", index, False), ["Let's pick up where we left off.", question]
        )


@dataclass(frozen=True)
class _Assessment:
    gaps: tuple[str, ...]
    score: AnswerScore
    analysis: AnswerAnalysis
    answer: str  # the answer so far to the question, follow-up answers included


def _current_question(transcript: Sequence[Turn]) -> int | None:
    for turn in reversed(transcript):
        if turn.role == "interviewer":
            return turn.question_index
    return None


def _acknowledgement(persona: Persona, score: AnswerScore | None, turn_number: int) -> str:
    if score is not None and score.score >= STRONG_ANSWER and persona.praise:
        return persona.praise[turn_number % len(persona.praise)]
    return persona.acknowledgements[turn_number % len(persona.acknowledgements)]


def _practice_tip(feedback: Feedback | None) -> str:
    if feedback is None or not feedback.improvements:
        return ""
    return f"One tip: {feedback.improvements[0]}"
