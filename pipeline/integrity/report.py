"""The report's `fraud_signals` and `language` sections, and when a session is low-confidence.

Every signal is a flag for a human reviewer with its evidence (time ranges, seconds, cues),
never a verdict.
"""

from __future__ import annotations

from dataclasses import dataclass

from pipeline.integrity.language import LanguageRead
from pipeline.integrity.reading import ReadingSignal
from pipeline.integrity.speakers import Attribution
from pipeline.integrity.timeline import TimeRange

# Aligned with the report's word floor: a short two-question practice run still scores.
MIN_CANDIDATE_SPEECH_S = 10.0
MIN_CANDIDATE_WORDS = 30


@dataclass(frozen=True)
class MultipleSpeakers:
    detected: bool
    ranges: tuple[TimeRange, ...]  # where another voice spoke on the candidate's microphone
    other_seconds: float
    candidate_seconds: float
    echo_seconds: float  # the interviewer's own voice picked up again: not another person

    def to_dict(self) -> dict[str, object]:
        return {
            "detected": self.detected,
            "ranges": [r.to_dict() for r in self.ranges],
            "other_seconds": round(self.other_seconds, 1),
            "candidate_seconds": round(self.candidate_seconds, 1),
            "echo_seconds": round(self.echo_seconds, 1),
        }


@dataclass(frozen=True)
class SpeechAmount:
    candidate_seconds: float
    words: int

    @property
    def too_little(self) -> bool:
        return self.candidate_seconds < MIN_CANDIDATE_SPEECH_S or self.words < MIN_CANDIDATE_WORDS

    def to_dict(self) -> dict[str, object]:
        return {
            "detected": self.too_little,
            "candidate_seconds": round(self.candidate_seconds, 1),
            "words": self.words,
            "minimum": {"seconds": MIN_CANDIDATE_SPEECH_S, "words": MIN_CANDIDATE_WORDS},
        }


def multiple_speakers(attribution: Attribution) -> MultipleSpeakers:
    ranges = attribution.ranges_of("other")
    return MultipleSpeakers(
        detected=bool(ranges),
        ranges=tuple(ranges),
        other_seconds=attribution.seconds("other"),
        candidate_seconds=attribution.seconds("candidate") + attribution.seconds("unknown"),
        echo_seconds=attribution.seconds("echo"),
    )


def is_low_confidence(amount: SpeechAmount) -> bool:
    """Too little of the candidate's own speech to assess: the report should say so."""
    return amount.too_little


def fraud_signals(
    speakers: MultipleSpeakers, reading: ReadingSignal, amount: SpeechAmount
) -> dict[str, object]:
    return {
        "multiple_speakers": speakers.to_dict(),
        "reading_detected": reading.to_dict(),
        "too_little_speech": amount.to_dict(),
        "note": "flags for a human reviewer to check against the recording, not verdicts",
    }


def language_section(read: LanguageRead | None) -> dict[str, object]:
    if read is None:
        return {"available": False, "reason": "too few candidate words to assess"}
    return {"available": True, **read.to_dict()}
