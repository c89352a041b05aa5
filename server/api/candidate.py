"""The candidate's endpoints, open to the session token: consent, start, messages, end,
transcript. Chat mode runs the same engine and stores the same turns as the voice loop."""

from __future__ import annotations

import dataclasses
import time
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from pipeline.conversation import interviewer_turn, reply_in_time, typed_answer
from pipeline.engine import Turn
from server import audit, guard, keys, revocation
from server.api.schemas import Feedback, Progress, SessionStatus, TurnView, progress_of, timestamp
from server.auth import TenantCaller
from server.engines import engine_for
from server.http.access import session_for
from server.http.endpoint import Call, Endpoint
from server.http.errors import BadRequest, Conflict, NotFound
from server.lifecycle import FinishPending, FinishResult, finish_session, start_session
from server.sessions import AppendResult, SessionNotFound, SessionRecord, SessionStore

TAG = "candidate"
DISCLOSURE_VERSION = "2026-01"
DISCLOSURE_TEXT = (
    "This interview is conducted by an AI interviewer. Your voice (or typed answers) is "
    "transcribed and recorded, and your answers are scored against the interview's rubric to "
    "produce a report for the organisation that invited you. Your name and any metadata are "
    "never used for scoring. The organisation may delete the session, its recordings and its "
    "report at any time."
)
EMPTY_ANSWER = "Answer cannot be empty."


class Disclosure(BaseModel):
    version: str
    text: str


class ConsentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    accepted: Literal[True] = Field(description="the candidate agreed to the disclosure")
    version: Literal["2026-01"] = Field(description="the disclosure version shown")


class ConsentState(BaseModel):
    disclosure: Disclosure
    consented: bool
    version: str | None
    at: datetime | None


class MessageIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str | None = Field(
        None, max_length=10_000, description="the answer; omit it to get the current question"
    )


class MessageOut(BaseModel):
    message: str = Field(description="the interviewer's reply")
    turn: int = Field(description="index of the interviewer's turn in the transcript")
    kind: str = Field(description="opening | question | follow_up | closing")
    question_index: int | None
    feedback_on_previous: Feedback | None = Field(description="practice mode only")
    progress: Progress
    is_complete: bool
    status: SessionStatus
    report_url: str | None = Field(description="set once the interview is complete")


class EndOut(BaseModel):
    status: SessionStatus
    score: int | None
    report_url: str


class Transcript(BaseModel):
    session_id: str
    turns: list[TurnView]
    progress: Progress


async def _consent_state(call: Call[Any, Any], record: SessionRecord) -> ConsentState:
    consent = await SessionStore(call.redis).consent(record.id)
    return ConsentState(
        disclosure=Disclosure(version=DISCLOSURE_VERSION, text=DISCLOSURE_TEXT),
        consented=consent is not None,
        version=consent["version"] if consent else None,
        at=timestamp(consent["at"]) if consent else None,
    )


async def get_consent(call: Call[None, None]) -> ConsentState:
    return await _consent_state(call, await session_for(call))


async def give_consent(call: Call[ConsentIn, None]) -> ConsentState:
    record = await session_for(call)
    sessions = SessionStore(call.redis)
    if await sessions.consent(record.id) is None:
        await sessions.set_consent(record.id, call.body.version, time.time())
        await audit.record(
            call.redis, record.id, "consented", call.caller.actor, version=call.body.version
        )
    return await _consent_state(call, record)


async def _session_seconds(call: Call[Any, Any], session_id: str) -> float:
    """Seconds since the session's first turn: the time base turns share with the voice loop."""
    await guard.set_nx(call.redis, session_id, keys.session_clock(session_id), repr(time.time()))
    zero = await call.redis.get(keys.session_clock(session_id))
    return round(time.time() - float(zero or time.time()), 3)


def _out(
    record: SessionRecord, turns: list[Turn], turn: Turn, status: str, url: str | None
) -> MessageOut:
    view = TurnView.of(turn)
    return MessageOut(
        message=turn.text,
        turn=turn.index,
        kind=turn.kind,
        question_index=turn.question_index,
        feedback_on_previous=view.feedback_on_previous,
        progress=progress_of(record, turns),
        is_complete=turn.kind == "closing",
        status=status,
        report_url=url,
    )


async def converse(
    call: Call[Any, Any], record: SessionRecord, text: str | None, *, entered_by: str | None = None
) -> MessageOut:
    """One exchange: store the answer (if any), then the interviewer's next turn.
    `entered_by`: the answer comes from someone other than the candidate (a tenant relaying it,
    server/compat/liya.py): said in the turn's meta (the tenant's transcript) and audited."""
    if record.is_finished:
        raise Conflict("The interview is over.", code="session_finished")
    sessions = SessionStore(call.redis)
    if await sessions.consent(record.id) is None:
        raise Conflict(
            "The candidate has not consented to the disclosure yet.", code="consent_required"
        )
    turns = await sessions.turns(record.id)
    if text is None and turns and turns[-1].role == "interviewer":
        return _out(record, turns, turns[-1], record.status, None)  # the open question again
    if text is not None:
        if not text.strip():
            raise BadRequest(EMPTY_ANSWER, fields={"text": EMPTY_ANSWER}, code="empty_answer")
        if not turns:
            raise Conflict("Start the interview first.", code="not_started")
        now = await _session_seconds(call, record.id)
        answer = typed_answer(len(turns), text, turns[-1].question_index, now)
        if entered_by is not None:
            answer = dataclasses.replace(answer, meta={**answer.meta, "entered_by": entered_by})
        _stored_or_raise(
            record, await sessions.store_turn(record.id, answer), "Another answer was stored first"
        )
        if entered_by is not None:
            await audit.record(
                call.redis, record.id, "answer_entered", entered_by, turn=answer.index
            )
        turns.append(answer)

    engine = engine_for(call.services, record)
    started = await _session_seconds(call, record.id)
    # Past the interview's duration, the answer just given is the last: the closing follows.
    reply = await reply_in_time(engine, record.plan, turns, started)
    words = " ".join([sentence async for sentence in reply.sentences()])
    said = interviewer_turn(
        engine,
        reply,
        index=len(turns),
        text=words,
        started_at=started,
        ended_at=await _session_seconds(call, record.id),
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
            actor=call.caller.actor,
            mode="chat",
            engine=engine.name,
            engine_version=engine.version,
        )
    if reply.move.is_complete:
        result = await _finish(call, record.id, ended_early=False)
        record.status = result.status
        return _out(record, turns, said, result.status, result.report_url)
    return _out(record, turns, said, record.status, None)


def _stored_or_raise(record: SessionRecord, result: AppendResult, conflict: str) -> None:
    if result is AppendResult.FINISHED:
        raise Conflict("The interview is over.", code="session_finished")
    if result is AppendResult.ERASED:
        raise NotFound(f"No session {record.id}.")
    if result is not AppendResult.STORED:
        raise Conflict(f"{conflict}; fetch the transcript.")


async def _finish(call: Call[Any, Any], session_id: str, *, ended_early: bool) -> FinishResult:
    """End the session away from its stream; a socket still streaming it closes (`ended`)."""
    try:
        result = await finish_session(call.services, session_id, ended_early=ended_early)
    except SessionNotFound as exc:  # erased meanwhile
        raise NotFound(f"No session {session_id}.") from exc
    except FinishPending as exc:
        raise Conflict(
            "The interview is being scored; ask again in a minute.", code="being_scored"
        ) from exc
    await revocation.revoke(call.redis, session_id, "ended")
    return result


async def start(call: Call[None, None]) -> MessageOut:
    return await converse(call, await session_for(call), None)


async def post_message(call: Call[MessageIn | None, None]) -> MessageOut:
    record = await session_for(call)
    return await converse(call, record, call.body.text if call.body else None)


async def end(call: Call[None, None]) -> EndOut:
    record = await session_for(call)
    result = await _finish(call, record.id, ended_early=True)
    if not record.is_finished:
        await audit.record(call.redis, record.id, "ended", call.caller.actor)
    return EndOut(status=result.status, score=result.score, report_url=result.report_url)


async def transcript(call: Call[None, None]) -> Transcript:
    """The turns so far. The tenant also sees each turn's `meta` (what was left out of an
    answer as another voice or echo, word timings, the engine); the candidate does not."""
    record = await session_for(call)
    turns = await SessionStore(call.redis).turns(record.id)
    tenant = isinstance(call.caller, TenantCaller)
    return Transcript(
        session_id=record.id,
        turns=[TurnView.of(t, with_meta=tenant) for t in turns],
        progress=progress_of(record, turns),
    )


ENDPOINTS = (
    Endpoint(
        "GET",
        "/v1/sessions/{session_id}/consent",
        get_consent,
        "The disclosure to show, and whether the candidate consented",
        TAG,
        auth="session",
        response=ConsentState,
    ),
    Endpoint(
        "POST",
        "/v1/sessions/{session_id}/consent",
        give_consent,
        "Record the candidate's consent (needed before any answer is processed)",
        TAG,
        auth="candidate",
        body=ConsentIn,
        response=ConsentState,
    ),
    Endpoint(
        "POST",
        "/v1/sessions/{session_id}/start",
        start,
        "Start: the opening question",
        TAG,
        auth="candidate",
        response=MessageOut,
        errors=(409,),
    ),
    Endpoint(
        "POST",
        "/v1/sessions/{session_id}/messages",
        post_message,
        "Answer in text; returns the interviewer's next turn",
        TAG,
        auth="candidate",
        body=MessageIn,
        body_required=False,
        response=MessageOut,
        errors=(409,),
    ),
    Endpoint(
        "POST",
        "/v1/sessions/{session_id}/end",
        end,
        "End now and score what was said",
        TAG,
        auth="session",
        response=EndOut,
    ),
    Endpoint(
        "GET",
        "/v1/sessions/{session_id}/transcript",
        transcript,
        "The transcript so far",
        TAG,
        auth="session",
        response=Transcript,
    ),
)
