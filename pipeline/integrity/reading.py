"""Is the candidate reading their answers? A cue score from how they deliver them.

Read-aloud speech keeps an even rate, pauses where the punctuation is, has no fillers, and
often starts after a longer silence (finding or generating the text). Each cue scores 0
(spontaneous) to 1 (read); the confidence is their mean.

Shipped disabled (`ENABLED = False`): the only speech we can make here is synthesized, where
the two styles differ by construction, so the figure measured on it (see the benchmark) shows
the cues are computed, not that they detect reading in real candidates. Whisper tiny.en also
drops most fillers and places punctuation at pauses, which blunts two of the four cues. The
cues are still reported for a reviewer to read.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from pipeline.integrity.delivery import delivery, ramp
from pipeline.integrity.words import Word

ENABLED = False
DISABLED_REASON = "not validated on real read and spontaneous speech; cues shown for a reviewer"
THRESHOLD = 0.75
MIN_WORDS = 40


@dataclass(frozen=True)
class ReadingSignal:
    enabled: bool
    confidence: float | None  # 0-1: how read-like the delivery is; None with too few words
    cues: dict[str, float]

    @property
    def detected(self) -> bool:
        return self.enabled and self.confidence is not None and self.confidence >= THRESHOLD

    def to_dict(self) -> dict[str, object]:
        out: dict[str, object] = {
            "enabled": self.enabled,
            "detected": self.detected,
            "confidence": None if self.confidence is None else round(self.confidence, 2),
            "cues": {k: round(v, 3) for k, v in self.cues.items()},
        }
        if not self.enabled:
            out["reason"] = DISABLED_REASON
        return out


def reading_cues(
    answers: Sequence[Sequence[Word]], latencies_s: Sequence[float] = ()
) -> dict[str, float]:
    """The delivery measures behind the score (candidate-only words of each answer, and the
    silence between the end of each question and the answer's first word)."""
    timing = delivery(answers)
    cues = {
        "rate_variation": timing.rate_variation,
        "pauses_at_clause_ends": timing.pauses_at_clause_ends,
        "fillers_per_100_words": timing.fillers_per_100_words,
    }
    if latencies_s:
        cues["median_latency_s"] = float(np.median(latencies_s))
    return cues


def reading_score(cues: dict[str, float]) -> float:
    """Mean of the read-like scores of each cue, 0-1."""
    scores = [
        ramp(cues["rate_variation"], 0.35, 0.10),
        ramp(cues["pauses_at_clause_ends"], 0.5, 0.9),
        ramp(cues["fillers_per_100_words"], 4.0, 0.5),
    ]
    if "median_latency_s" in cues:
        scores.append(ramp(cues["median_latency_s"], 1.5, 4.0))
    return float(np.mean(scores))


def reading_signal(
    answers: Sequence[Sequence[Word]],
    latencies_s: Sequence[float] = (),
    enabled: bool = ENABLED,
) -> ReadingSignal:
    cues = reading_cues(answers, latencies_s)
    words = sum(len(a) for a in answers)
    confidence = reading_score(cues) if words >= MIN_WORDS else None
    return ReadingSignal(enabled=enabled, confidence=confidence, cues=cues)
