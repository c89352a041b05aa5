"""Where the voice loop publishes audio for observers (diarization, integrity, recording).

The loop calls the sink synchronously on the event loop: implementations must return at once
and do real work on their own thread or queue.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np


@dataclass(frozen=True)
class CandidateSegment:
    """One voiced stretch of a candidate turn (16 kHz float32, session-relative seconds)."""

    session_id: str
    turn_index: int
    audio: np.ndarray
    start_s: float
    end_s: float


@dataclass(frozen=True)
class InterviewerSpeech:
    """The interviewer audio actually sent for one turn (int16 at `sample_rate`)."""

    session_id: str
    turn_index: int
    audio: np.ndarray
    sample_rate: int
    start_s: float
    text: str
    interrupted: bool


class SegmentSink(Protocol):
    def candidate_speech(self, segment: CandidateSegment) -> None: ...

    def interviewer_speech(self, speech: InterviewerSpeech) -> None: ...


class NullSink:
    def candidate_speech(self, segment: CandidateSegment) -> None:
        return None

    def interviewer_speech(self, speech: InterviewerSpeech) -> None:
        return None
