"""Messages the server sends on the stream (docs/stream-protocol.md), as typed values.

The voice loop produces these; the transport serialises them with `to_wire`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, ClassVar, Literal


@dataclass(frozen=True)
class Ready:
    type: ClassVar[str] = "ready"
    session_id: str
    audio_out: dict[str, Any]
    resumed: bool
    progress: dict[str, Any]


@dataclass(frozen=True)
class Vad:
    type: ClassVar[str] = "vad"
    speaking: bool


@dataclass(frozen=True)
class TranscriptText:
    type: ClassVar[str] = "transcript"
    text: str
    final: bool
    turn: int
    role: str = "candidate"


@dataclass(frozen=True)
class AgentText:
    type: ClassVar[str] = "agent_text"
    text: str
    turn: int


@dataclass(frozen=True)
class AgentAudio:
    type: ClassVar[str] = "agent_audio"
    event: Literal["start", "end"]
    turn: int


@dataclass(frozen=True)
class Interrupt:
    type: ClassVar[str] = "interrupt"
    turn: int


@dataclass(frozen=True)
class FeedbackMessage:
    type: ClassVar[str] = "feedback"
    turn: int
    strengths: list[str]
    improvements: list[str]
    score: int


@dataclass(frozen=True)
class Progress:
    type: ClassVar[str] = "progress"
    question_count: int
    max_questions: int
    is_complete: bool
    elapsed_s: float


@dataclass(frozen=True)
class TurnMetrics:
    type: ClassVar[str] = "metrics"
    turn: int
    eos_to_first_audio_ms: float
    asr_final_ms: float
    engine_ms: float
    tts_first_chunk_ms: float
    end: str = "silence"  # v1.1: what ended the turn: signal | cue | silence | limit
    end_to_first_audio_ms: float = 0.0  # v1.1: from that moment to the first audio


@dataclass(frozen=True)
class Finished:
    type: ClassVar[str] = "finished"
    status: str
    score: int | None
    report_url: str


@dataclass(frozen=True)
class ErrorMessage:
    type: ClassVar[str] = "error"
    code: str
    message: str
    fatal: bool
    retry_after_s: float | None = None  # `server_busy`: when to try again


ServerMessage = (
    Ready
    | Vad
    | TranscriptText
    | AgentText
    | AgentAudio
    | Interrupt
    | FeedbackMessage
    | Progress
    | TurnMetrics
    | Finished
    | ErrorMessage
)


def to_wire(message: ServerMessage) -> dict[str, Any]:
    wire = {"type": message.type, **dataclasses.asdict(message)}
    if isinstance(message, ErrorMessage) and message.retry_after_s is None:
        del wire["retry_after_s"]
    return wire
