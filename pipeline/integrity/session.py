"""One session's integrity checks behind the voice loop's observer calls.

The voice loop calls `add_candidate_segment` and `add_interviewer_audio` as audio flows,
`candidate_answer` once an answer is transcribed, and `report_sections` when the session ends.
Every method is blocking (embeddings, clustering): run them in a worker thread, one at a time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import cast

import numpy as np

from models.speaker import SpeakerEncoder
from pipeline.integrity.language import language_read
from pipeline.integrity.persist import IntegrityDelta, StoredAnswer, decode, encode
from pipeline.integrity.reading import reading_signal
from pipeline.integrity.report import (
    SpeechAmount,
    fraud_signals,
    is_low_confidence,
    language_section,
    multiple_speakers,
)
from pipeline.integrity.speakers import SpeakerTracker, TrackerConfig, TrackerMark
from pipeline.integrity.words import CandidateWords, Word, candidate_words


@dataclass(eq=False)
class SessionIntegrity:
    encoder: SpeakerEncoder
    config: TrackerConfig = field(default_factory=TrackerConfig)
    _answers: dict[int, StoredAnswer] = field(default_factory=dict)
    _saved: TrackerMark = field(default_factory=TrackerMark)
    _unsaved_answers: set[int] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.tracker = SpeakerTracker(self.encoder, self.config)

    def restore(self, blobs: Sequence[bytes]) -> None:
        """Take back what earlier sockets saved (`unsaved_delta`), oldest first, before any
        new audio: the candidate stays enrolled and earlier voices stay in the report."""
        for blob in blobs:
            delta = decode(blob)
            self.tracker.extend(delta.tracker)
            self._answers.update(delta.answers)
        self._saved = self.tracker.mark()

    def unsaved_delta(self) -> bytes | None:
        """What was heard since the last call (or `restore`), as bytes; None when nothing."""
        delta = IntegrityDelta(
            self.tracker.since(self._saved),
            {t: self._answers[t] for t in sorted(self._unsaved_answers)},
        )
        self._saved = self.tracker.mark()
        self._unsaved_answers.clear()
        return None if delta.is_empty else encode(delta)

    def add_candidate_segment(
        self, turn: int, start_s: float, end_s: float, audio16k: np.ndarray
    ) -> None:
        self.tracker.add_candidate_segment(turn, start_s, end_s, audio16k)

    def add_interviewer_audio(self, start_s: float, audio16k: np.ndarray) -> None:
        self.tracker.add_interviewer_audio(start_s, audio16k)

    def candidate_answer(
        self, turn: int, words: Sequence[Word], question_end_s: float | None = None
    ) -> CandidateWords:
        """The answer's words (session clock) without other voices or echo: `.text` is for
        scoring, `.to_meta()` for the stored turn. Until the candidate is enrolled (their first
        few seconds), nothing is excluded."""
        attribution = self.tracker.attribution()
        result = candidate_words(
            words,
            {
                "other_speaker": attribution.ranges_of("other", turn),
                "interviewer_echo": attribution.ranges_of("echo", turn),
            },
        )
        latency = None
        if question_end_s is not None and result.kept:
            latency = max(0.0, result.kept[0].start_s - question_end_s)
        self._answers[turn] = StoredAnswer(result, latency)
        self._unsaved_answers.add(turn)
        return result

    def report_sections(self) -> dict[str, object]:
        """`fraud_signals`, `language` and `low_confidence` for the report."""
        answers = [self._answers[t].words.kept for t in sorted(self._answers)]
        latencies = [a.latency_s for a in self._answers.values() if a.latency_s is not None]
        speakers = multiple_speakers(self.tracker.attribution())
        amount = SpeechAmount(speakers.candidate_seconds, sum(len(a) for a in answers))
        return {
            "fraud_signals": fraud_signals(speakers, reading_signal(answers, latencies), amount),
            "language": language_section(language_read(answers)),
            "low_confidence": is_low_confidence(amount),
        }


class _NoAudio:
    """Stands in for the speaker encoder where no audio comes: evidence restored from storage
    is already embedded."""

    def __getattr__(self, name: str) -> object:
        raise RuntimeError("saved integrity evidence takes no new audio")


def saved_report_sections(
    blobs: Sequence[bytes], config: TrackerConfig | None = None
) -> dict[str, object]:
    """The report sections that a session's saved evidence (`unsaved_delta` blobs, oldest first)
    adds up to: what the stream reports, for a session ended elsewhere (REST, idle expiry).
    Needs no model; no blobs gives the sections of a session where nothing was heard."""
    integrity = SessionIntegrity(cast(SpeakerEncoder, _NoAudio()), config or TrackerConfig())
    integrity.restore(blobs)
    return integrity.report_sections()
