"""Response models shared by several resources."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from pipeline.engine import Turn
from server.sessions import SessionRecord
from server.usecases import chat

SessionStatus = Literal["created", "active", "completed", "partial", "low_confidence"]


def timestamp(seconds: float | str | None) -> datetime | None:
    if seconds in (None, "", 0, 0.0):
        return None
    return datetime.fromtimestamp(float(seconds), UTC)


class Progress(BaseModel):
    question_count: int = Field(description="questions asked so far")
    max_questions: int
    is_started: bool
    is_complete: bool


def progress_of(record: SessionRecord, transcript: Sequence[Turn]) -> Progress:
    return Progress(**dataclasses.asdict(chat.progress_of(record, transcript)))


class Feedback(BaseModel):
    strengths: list[str]
    improvements: list[str]
    score: int = Field(ge=0, le=100)


class TurnView(BaseModel):
    index: int
    role: Literal["interviewer", "candidate"]
    kind: str = Field(description="opening | question | follow_up | closing | answer")
    text: str
    question_index: int | None
    source: str = Field(description="voice | text")
    started_at: float = Field(description="seconds")
    ended_at: float
    interrupted: bool
    feedback_on_previous: Feedback | None = None
    meta: dict[str, Any] | None = Field(
        None,
        description=(
            "the tenant's view only (never the candidate's): e.g. `excluded_speech` (speech left"
            " out of the answer as another voice or echo, with time ranges), `asr_text` (the"
            " full transcript), `words` (word timings), the engine"
        ),
    )

    @classmethod
    def of(cls, turn: Turn, *, with_meta: bool = False) -> TurnView:
        feedback = turn.meta.get("feedback_on_previous")
        return cls(
            index=turn.index,
            role=turn.role,
            kind=turn.kind,
            text=turn.text,
            question_index=turn.question_index,
            source=turn.source,
            started_at=turn.started_at,
            ended_at=turn.ended_at,
            interrupted=turn.interrupted,
            feedback_on_previous=Feedback.model_validate(feedback) if feedback else None,
            meta=dict(turn.meta) if with_meta else None,
        )
