"""Timing of the candidate's words within their answers: pauses, runs, rate.

Shared by the language read and reading detection. Works on the candidate-only words of each
answer (session clock), as Whisper timed them.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from pipeline.integrity.words import Word

PAUSE_S = 0.3  # a gap between words at least this long is a pause
FILLERS = frozenset({"um", "uh", "uhm", "umm", "er", "erm", "ah", "hmm", "mm", "mhm"})
FILLER_PAIRS = frozenset({("you", "know"), ("i", "mean")})
_CLAUSE_END = re.compile(r"[,.;:?!]$")
_LETTERS = re.compile(r"[^a-z']")


def ramp(value: float, zero_at: float, one_at: float) -> float:
    """0 at `zero_at`, 1 at `one_at`, linear between and clipped (either order)."""
    return float(np.clip((value - zero_at) / (one_at - zero_at), 0.0, 1.0))


def token(word: Word) -> str:
    """The word lowercased, without punctuation ("" when nothing is left)."""
    return _LETTERS.sub("", word.text.lower()).strip("'")


def ends_clause(word: Word) -> bool:
    return bool(_CLAUSE_END.search(word.text.strip()))


@dataclass(frozen=True)
class Pause:
    start_s: float
    end_s: float
    after_clause: bool  # the word before it ends a clause (punctuation)

    @property
    def seconds(self) -> float:
        return self.end_s - self.start_s


@dataclass(frozen=True)
class Delivery:
    """Timing of one or more answers."""

    words: int
    speaking_s: float  # from each answer's first word to its last, summed
    pauses: tuple[Pause, ...]
    runs: tuple[float, ...]  # words per second of each run of 3+ words between pauses
    run_lengths: tuple[int, ...]  # words in each run between pauses
    fillers: int

    @property
    def words_per_minute(self) -> float:
        return 60 * self.words / self.speaking_s if self.speaking_s > 0 else 0.0

    @property
    def pause_ratio(self) -> float:
        paused = sum(p.seconds for p in self.pauses)
        return paused / self.speaking_s if self.speaking_s > 0 else 0.0

    @property
    def fillers_per_100_words(self) -> float:
        return 100 * self.fillers / self.words if self.words else 0.0

    @property
    def mean_run_words(self) -> float:
        return float(np.mean(self.run_lengths)) if self.run_lengths else 0.0

    @property
    def rate_variation(self) -> float:
        """Coefficient of variation of the speaking rate across runs."""
        if len(self.runs) < 2:
            return 0.0
        return float(np.std(self.runs) / np.mean(self.runs))

    @property
    def pauses_at_clause_ends(self) -> float:
        """Share of pauses that fall where a clause ends."""
        if not self.pauses:
            return 0.0
        return sum(p.after_clause for p in self.pauses) / len(self.pauses)


def delivery(answers: Sequence[Sequence[Word]]) -> Delivery:
    pauses: list[Pause] = []
    runs: list[float] = []
    run_lengths: list[int] = []
    words = fillers = 0
    speaking = 0.0
    for answer in answers:
        spoken = [w for w in answer if token(w)]
        if not spoken:
            continue
        words += len(spoken)
        fillers += _count_fillers(spoken)
        speaking += spoken[-1].end_s - spoken[0].start_s
        run = [spoken[0]]
        for before, after in itertools.pairwise(spoken):
            if after.start_s - before.end_s >= PAUSE_S:
                pauses.append(Pause(before.end_s, after.start_s, ends_clause(before)))
                _close_run(run, runs, run_lengths)
                run = []
            run.append(after)
        _close_run(run, runs, run_lengths)
    return Delivery(words, speaking, tuple(pauses), tuple(runs), tuple(run_lengths), fillers)


def _close_run(run: list[Word], rates: list[float], lengths: list[int]) -> None:
    lengths.append(len(run))
    duration = run[-1].end_s - run[0].start_s
    if len(run) >= 3 and duration > 0:
        rates.append(len(run) / duration)


def _count_fillers(words: Sequence[Word]) -> int:
    tokens = [token(w) for w in words]
    single = sum(t in FILLERS for t in tokens)
    pairs = sum(pair in FILLER_PAIRS for pair in itertools.pairwise(tokens))
    return single + pairs
