"""The candidate's endpoints, open to the session token: consent, start, messages, end,
transcript. Chat mode runs the same engine and stores the same turns as the voice loop."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from server.api.schemas import Feedback, Progress, SessionStatus, TurnView, progress_of, timestamp
from server.http.access import session_for
from server.http.endpoint import Call, Endpoint
from server.security.auth import TenantCaller
from server.sessions import SessionRecord, SessionStore
from server.usecases import chat, consent, ending

TAG = "candidate"


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
    given = await consent.consent_of(call.redis, record.id)
    return ConsentState(
        disclosure=Disclosure(version=consent.DISCLOSURE_VERSION, text=consent.DISCLOSURE_TEXT),
        consented=given is not None,
        version=given["version"] if given else None,
        at=timestamp(given["at"]) if given else None,
    )


async def get_consent(call: Call[None, None]) -> ConsentState:
    return await _consent_state(call, await session_for(call))


async def give_consent(call: Call[ConsentIn, None]) -> ConsentState:
    record = await session_for(call)
    await consent.give_consent(call.redis, record.id, call.body.version, call.caller.actor)
    return await _consent_state(call, record)


def _out(exchange: chat.Exchange) -> MessageOut:
    turn = exchange.turn
    view = TurnView.of(turn)
    return MessageOut(
        message=turn.text,
        turn=turn.index,
        kind=turn.kind,
        question_index=turn.question_index,
        feedback_on_previous=view.feedback_on_previous,
        progress=progress_of(exchange.record, exchange.turns),
        is_complete=exchange.is_complete,
        status=exchange.status,
        report_url=exchange.report_url,
    )


async def _converse(call: Call[Any, Any], text: str | None) -> MessageOut:
    record = await session_for(call)
    return _out(await chat.converse(call.services, record, text, actor=call.caller.actor))


async def start(call: Call[None, None]) -> MessageOut:
    return await _converse(call, None)


async def post_message(call: Call[MessageIn | None, None]) -> MessageOut:
    return await _converse(call, call.body.text if call.body else None)


async def end(call: Call[None, None]) -> EndOut:
    record = await session_for(call)
    result = await ending.end(call.services, record, call.caller.actor)
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
