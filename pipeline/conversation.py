"""How the interview's turns are recorded, the same for the voice loop and chat mode: which
engine spoke and why, practice feedback, what an interrupted turn actually said."""

from __future__ import annotations

from pipeline.engine import Reply, Turn, TurnEngine


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
