"""Key points: what a strong answer to a question says, judged by meaning rather than by words.

A key point has a short label (what feedback names), one or more statements that make the point
(`meaning`: an answer covers the point when one of its sentences says the same thing, by the
sentence embedder's cosine similarity), and optionally claims that contradict it (`wrong`: an
answer that says one of those, more than it says the point, is penalised for it).

Bank questions carry full key points. A tenant's own question may carry key points, short
statements each its own label and matched by meaning like the bank's, or an ideal answer whose
sentences are its key points. A question built elsewhere (focus areas, a job description's
technologies) carries bare labels, matched by their words.
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
    by_meaning: bool = True  # made by a claim close in meaning to a statement; else by its words

    @property
    def bare(self) -> bool:
        """Only a label (a term such as "kafka"), matched by its words: no statement of the point
        was written for it."""
        return not self.by_meaning


def point(label: str, *meaning: str, wrong: tuple[str, ...] = (), weight: float = 1.0) -> KeyPoint:
    if not meaning:
        return KeyPoint(label, (label,), wrong, weight, by_meaning=False)
    return KeyPoint(label, tuple(meaning), wrong, weight)


def bare(label: str) -> KeyPoint:
    return KeyPoint(label, (label,), by_meaning=False)


def stated(statement: str) -> KeyPoint:
    """A tenant's key point: a short statement, which is its own label and is made by a claim
    that says the same thing, in any words (as a catalogue point's statements are)."""
    return KeyPoint(statement, (statement,))


def from_ideal_answer(text: str) -> tuple[KeyPoint, ...]:
    """A tenant's model answer as key points: each of its sentences (of at least three words) is
    a statement a good answer makes, in the tenant's own words, the first eight."""
    found = [s.strip() for s in re.split(r"(?<=[.!?;])\s+|\n+", text) if s.strip()]
    points = [s for s in found if len(s.split()) >= MIN_POINT_WORDS]
    return tuple(stated(s) for s in dict.fromkeys(points))[:MAX_IDEAL_POINTS]
