"""Key points: what a strong answer to a question says, judged by meaning rather than by words.

A key point has a short label (what feedback names), one or more statements that make the point
(`meaning`: an answer covers the point when one of its sentences says the same thing, by the
sentence embedder's cosine similarity), and optionally claims that contradict it (`wrong`: an
answer that says one of those, more than it says the point, is penalised for it).

Bank questions carry full key points; a question built elsewhere (focus areas, or a caller's own
Question) may carry bare labels, which become key points whose only statement is the label.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MAX_IDEAL_POINTS = 8  # as many as a tenant may write as key points
MIN_POINT_WORDS = 3  # a shorter sentence of an ideal answer ("Yes.", "Then:") makes no point


@dataclass(frozen=True)
class KeyPoint:
    label: str
    meaning: tuple[str, ...]
    wrong: tuple[str, ...] = ()
    weight: float = 1.0

    @property
    def bare(self) -> bool:
        """Only a label: no statement of the point was written for it."""
        return self.meaning == (self.label,)


def point(label: str, *meaning: str, wrong: tuple[str, ...] = (), weight: float = 1.0) -> KeyPoint:
    return KeyPoint(label, tuple(meaning) or (label,), wrong, weight)


def bare(label: str) -> KeyPoint:
    return KeyPoint(label, (label,))


def from_ideal_answer(text: str) -> tuple[KeyPoint, ...]:
    """A tenant's model answer as key points: each of its sentences (of at least three words) is
    a statement a good answer makes, in the tenant's own words, the first eight."""
    found = [s.strip() for s in re.split(r"(?<=[.!?;])\s+|\n+", text) if s.strip()]
    points = [s for s in found if len(s.split()) >= MIN_POINT_WORDS]
    return tuple(bare(s) for s in dict.fromkeys(points))[:MAX_IDEAL_POINTS]
