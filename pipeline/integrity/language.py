"""A read of the candidate's spoken English: rate, fillers, pauses, vocabulary range, a CEFR
estimate with its basis, and a fluency score.

The CEFR estimate is indicative: each criterion maps to a band by thresholds we set from the
usual ranges reported for learner speech, not calibrated against rated recordings; the estimate
is the median band (the lower of the two middle ones), and every criterion is shown so a reviewer
can see why. Range and complexity make three criteria and fluency one, so a fast, smooth
speaker of simple sentences is not rated above their vocabulary.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from wordfreq import zipf_frequency

from pipeline.integrity.delivery import FILLERS, Delivery, delivery, ramp, token
from pipeline.integrity.words import Word

CEFR_LEVELS = ("A1", "A2", "B1", "B2", "C1", "C2")
MIN_WORDS = 50  # fewer words say little about a speaker's level (and MATTR needs a window)
MATTR_WINDOW = 50
RARE_ZIPF = 4.0  # rarer than about 1 in 10 000 words of English: beyond everyday vocabulary

# Lower bounds of A2, B1, B2, C1, C2 for each criterion.
BANDS: dict[str, tuple[float, float, float, float, float]] = {
    "vocabulary_range_mattr": (0.60, 0.68, 0.74, 0.80, 0.86),
    "rare_word_share": (0.03, 0.06, 0.10, 0.15, 0.20),
    "words_per_sentence": (6.0, 9.0, 12.0, 16.0, 20.0),
    "fluency": (20.0, 40.0, 55.0, 70.0, 85.0),  # rate, pauses, fillers and runs, 0-100
}


@dataclass(frozen=True)
class CefrCriterion:
    name: str
    value: float
    level: str


@dataclass(frozen=True)
class LanguageRead:
    words: int
    words_per_minute: float
    fillers_per_100_words: float
    pause_ratio: float
    mean_run_words: float
    vocabulary_range_mattr: float
    rare_word_share: float
    words_per_sentence: float
    cefr: str
    cefr_basis: tuple[CefrCriterion, ...]
    fluency: int  # 0-100

    def to_dict(self) -> dict[str, object]:
        return {
            "words": self.words,
            "words_per_minute": round(self.words_per_minute, 1),
            "fillers_per_100_words": round(self.fillers_per_100_words, 1),
            "pause_ratio": round(self.pause_ratio, 3),
            "mean_run_words": round(self.mean_run_words, 1),
            "vocabulary_range_mattr": round(self.vocabulary_range_mattr, 3),
            "rare_word_share": round(self.rare_word_share, 3),
            "words_per_sentence": round(self.words_per_sentence, 1),
            "cefr_estimate": self.cefr,
            "cefr_basis": [
                {"criterion": c.name, "value": round(c.value, 3), "suggests": c.level}
                for c in self.cefr_basis
            ],
            "fluency": self.fluency,
        }


def mattr(tokens: Sequence[str], window: int = MATTR_WINDOW) -> float:
    """Moving-average type-token ratio; plain type-token ratio below one window."""
    if not tokens:
        return 0.0
    if len(tokens) <= window:
        return len(set(tokens)) / len(tokens)
    ratios = [len(set(tokens[i : i + window])) / window for i in range(len(tokens) - window + 1)]
    return float(np.mean(ratios))


def language_read(answers: Sequence[Sequence[Word]]) -> LanguageRead | None:
    """The read of the candidate-only words of each answer; None under `MIN_WORDS` words."""
    timing = delivery(answers)
    tokens = [t for answer in answers for w in answer if (t := token(w))]
    if len(tokens) < MIN_WORDS:
        return None
    content = [t for t in tokens if t not in FILLERS]
    rare = sum(zipf_frequency(t, "en") < RARE_ZIPF for t in content) / max(len(content), 1)
    sentences = sum(w.text.rstrip().endswith((".", "?", "!")) for a in answers for w in a)
    values = {
        "vocabulary_range_mattr": mattr(content),
        "rare_word_share": rare,
        "words_per_sentence": len(tokens) / max(sentences, 1),
        "fluency": float(fluency(timing)),
    }
    basis = tuple(
        CefrCriterion(name, value, CEFR_LEVELS[_band(value, BANDS[name])])
        for name, value in values.items()
    )
    level = CEFR_LEVELS[int(np.floor(np.median([_band(c.value, BANDS[c.name]) for c in basis])))]
    return LanguageRead(
        words=len(tokens),
        words_per_minute=timing.words_per_minute,
        fillers_per_100_words=timing.fillers_per_100_words,
        pause_ratio=timing.pause_ratio,
        mean_run_words=timing.mean_run_words,
        vocabulary_range_mattr=values["vocabulary_range_mattr"],
        rare_word_share=rare,
        words_per_sentence=values["words_per_sentence"],
        cefr=level,
        cefr_basis=basis,
        fluency=int(values["fluency"]),
    )


def fluency(timing: Delivery) -> int:
    """0-100: the mean of four scores in [0, 1] for rate, pauses, fillers and run length."""
    rate = ramp(timing.words_per_minute, 50, 110) * ramp(timing.words_per_minute, 230, 170)
    pauses = ramp(timing.pause_ratio, 0.45, 0.15)
    fillers = ramp(timing.fillers_per_100_words, 8, 1)
    runs = ramp(timing.mean_run_words, 2, 10)
    return round(100 * (rate + pauses + fillers + runs) / 4)


def _band(value: float, lower_bounds: Sequence[float]) -> int:
    return int(np.searchsorted(lower_bounds, value, side="right"))
