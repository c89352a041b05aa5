"""How the interview's turns are recorded, the same for the voice loop and chat mode: which
engine spoke and why, practice feedback, what an interrupted turn actually said; and the
interview's time budget, which ends it with the closing once its duration has passed."""

from __future__ import annotations

from collections.abc import Sequence

from pipeline.engine import Feedback, InterviewPlan, Move, Reply, Turn, TurnEngine, sentences_of
from pipeline.personas import get_persona

TIME_UP = "We've reached the end of our time, so let's stop here."


def over_time(plan: InterviewPlan, elapsed_s: float) -> bool:
    """The interview has used its whole duration (`plan.duration_s`; None: no budget)."""
    return plan.duration_s is not None and elapsed_s >= plan.duration_s


def time_up_reply(plan: InterviewPlan, feedback: Feedback | None = None) -> Reply:
    """The closing when time has run out: said as such, and marked `time_up` in the turn's
    meta, which the report reads."""
    persona = get_persona(plan.persona_id)
    return Reply(
        Move("closing", None, True),
        sentences_of([TIME_UP, persona.closing]),
        feedback,
        {"time_up": True},
    )


async def reply_in_time(
    engine: TurnEngine, plan: InterviewPlan, transcript: Sequence[Turn], elapsed_s: float
) -> Reply:
    """The engine's next turn; once the interview is past its duration, an answer is followed by
    the closing instead of another question or follow-up (practice mode still gets its feedback
    on that answer). `elapsed_s`: seconds since the session's first turn."""
    if not transcript or transcript[-1].role != "candidate" or not over_time(plan, elapsed_s):
        return await engine.next_reply(plan, transcript)
    feedback = (await engine.next_reply(plan, transcript)).feedback if plan.practice else None
    return time_up_reply(plan, feedback)


def interviewer_meta(
    engine: TurnEngine, reply: Reply, spoken_text: str | None = None
) -> dict[str, object]:
    """Which engine spoke and why (read after speaking: an engine may add to it while its
    sentences stream), practice feedback on the previous answer, and for an interrupted turn
    the words actually spoken."""
    meta: dict[str, object] = {
        "engine": engine.name,
        "engine_version": engine.version,
        **reply.meta,
    }
    if reply.feedback is not None:
        meta["feedback_on_previous"] = {
            "strengths": list(reply.feedback.strengths),
            "improvements": list(reply.feedback.improvements),
            "score": reply.feedback.score,
        }
    if spoken_text is not None:
        meta["spoken_text"] = spoken_text
    return meta


def interviewer_turn(
    engine: TurnEngine,
    reply: Reply,
    *,
    index: int,
    text: str,
    started_at: float,
    ended_at: float,
    source: str = "voice",
    interrupted: bool = False,
) -> Turn:
    move = reply.move
    return Turn(
        index=index,
        role="interviewer",
        text=text,
        question_index=move.question_index,
        kind=move.kind,
        started_at=round(started_at, 3),
        ended_at=round(ended_at, 3),
        interrupted=interrupted,
        source=source,
        meta=interviewer_meta(engine, reply, text if interrupted else None),
    )


def typed_answer(index: int, text: str, question_index: int | None, at: float) -> Turn:
    return Turn(
        index=index,
        role="candidate",
        text=text.strip(),
        question_index=question_index,
        kind="answer",
        started_at=at,
        ended_at=at,
        source="text",
    )
