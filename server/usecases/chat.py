"""One typed exchange: the candidate's answer stored (if any), then the interviewer's next turn.
The same engine and the same turns as the voice loop; used by the REST chat endpoints and the
compat adapters that answer in text (server/compat/cvjd.py, server/compat/liya.py)."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pipeline.conversation import interviewer_turn, reply_in_time, typed_answer
from pipeline.engine import Turn, asked_questions
from server.engines import engine_for
from server.lifecycle import start_session
from server.services import Services
from server.sessions import AppendResult, SessionRecord, SessionStore
from server.storage import audit_trail
from server.usecases.clock import session_seconds
from server.usecases.consent import consent_of
from server.usecases.ending import finish
from server.usecases.errors import Conflicting, Invalid, Missing

EMPTY_ANSWER = "Answer cannot be empty."


@dataclass(frozen=True)
class Progress:
    question_count: int  # questions asked so far
    max_questions: int
    is_started: bool
    is_complete: bool


def progress_of(record: SessionRecord, transcript: Sequence[Turn]) -> Progress:
    closed = bool(transcript) and transcript[-1].kind == "closing"
    return Progress(
        question_count=len(asked_questions(transcript)),
        max_questions=len(record.plan.questions),
        is_started=bool(transcript),
        is_complete=closed or record.is_finished,
    )


@dataclass(frozen=True)
class Exchange:
    """What one exchange gave: the interviewer's turn (`turn`), the transcript with it, the
    session's status after it, and the report's URL once the interview is complete."""

    record: SessionRecord
    turns: list[Turn]
    turn: Turn
    status: str
    report_url: str | None

    @property
    def is_complete(self) -> bool:
        return self.turn.kind == "closing"

    @property
    def feedback(self) -> dict[str, Any] | None:
        """Practice mode: the feedback on the answer just given."""
        feedback = self.turn.meta.get("feedback_on_previous")
        return dict(feedback) if isinstance(feedback, dict) and feedback else None

    @property
    def progress(self) -> Progress:
        return progress_of(self.record, self.turns)


def _stored_or_raise(record: SessionRecord, result: AppendResult, conflict: str) -> None:
    if result is AppendResult.FINISHED:
        raise Conflicting("The interview is over.", code="session_finished")
    if result is AppendResult.ERASED:
        raise Missing(f"No session {record.id}.")
    if result is not AppendResult.STORED:
        raise Conflicting(f"{conflict}; fetch the transcript.")


async def converse(
    services: Services,
    record: SessionRecord,
    text: str | None,
    *,
    actor: str,
    entered_by: str | None = None,
) -> Exchange:
    """One exchange: store the answer (if any), then the interviewer's next turn; `text` None
    asks for the open question again (or the opening). `actor`: who starts the session if this
    is its first turn. `entered_by`: the answer comes from someone other than the candidate (a
    tenant relaying it, server/compat/liya.py): said in the turn's meta (the tenant's
    transcript) and audited."""
    redis = services.store.redis
    if record.is_finished:
        raise Conflicting("The interview is over.", code="session_finished")
    sessions = SessionStore(redis)
    if await consent_of(redis, record.id) is None:
        raise Conflicting(
            "The candidate has not consented to the disclosure yet.", code="consent_required"
        )
    turns = await sessions.turns(record.id)
    if text is None and turns and turns[-1].role == "interviewer":
        return Exchange(record, turns, turns[-1], record.status, None)  # the open question again
    if text is not None:
        if not text.strip():
            raise Invalid(EMPTY_ANSWER, fields={"text": EMPTY_ANSWER}, code="empty_answer")
        if not turns:
            raise Conflicting("Start the interview first.", code="not_started")
        now = await session_seconds(redis, record.id)
        answer = typed_answer(len(turns), text, turns[-1].question_index, now)
        if entered_by is not None:
            answer = dataclasses.replace(answer, meta={**answer.meta, "entered_by": entered_by})
        _stored_or_raise(
            record, await sessions.store_turn(record.id, answer), "Another answer was stored first"
        )
        if entered_by is not None:
            await audit_trail.record(
                redis, record.id, "answer_entered", entered_by, turn=answer.index
            )
        turns.append(answer)

    engine = engine_for(services, record)
    started = await session_seconds(redis, record.id)
    # Past the interview's duration, the answer just given is the last: the closing follows.
    reply = await reply_in_time(engine, record.plan, turns, started)
    words = " ".join([sentence async for sentence in reply.sentences()])
    said = interviewer_turn(
        engine,
        reply,
        index=len(turns),
        text=words,
        started_at=started,
        ended_at=await session_seconds(redis, record.id),
        source="text",
    )
    _stored_or_raise(
        record,
        await sessions.store_turn(record.id, said),
        "The interviewer's turn was stored by another request",
    )
    turns.append(said)
    if said.index == 0:
        await start_session(
            sessions,
            record,
            actor=actor,
            mode="chat",
            engine=engine.name,
            engine_version=engine.version,
        )
    if reply.move.is_complete:
        result = await finish(services, record.id, ended_early=False)
        record.status = result.status
        return Exchange(record, turns, said, result.status, result.report_url)
    return Exchange(record, turns, said, record.status, None)
