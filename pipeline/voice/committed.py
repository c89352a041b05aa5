"""Streaming recognition of one answer at flat cost: a committed prefix and a trimmed buffer.

The LocalAgreement-2 scheme of ufal/whisper_streaming: each partial transcribes only the audio
buffer (the answer since the last trim point), words two consecutive hypotheses agree on are
committed for good, and once the buffer is long the audio before a pause whose words are all
committed is dropped from it. No Whisper call then covers more than about `max_buffer_s`, however
long the answer runs, and the final transcribes only the uncommitted tail. (No prompt: with
tiny.en the committed text as `initial_prompt` made short tails loop, "...runs it today. And the
team still runs it today...", cost 1.5x the decoder time and lost more words on real speech.)

Trim points are silences the VAD found (where no word can be cut in two), not Whisper's word
times, which drift by a tenth of a second or more. Pure logic on words and times: tested without
Whisper.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

_PUNCT = re.compile(r"[^\w']+")
# Whisper's word times drift by about this much; a word this close to a boundary is on it.
TIME_TOLERANCE_S = 0.15
# The n-gram check that drops words a new hypothesis repeats from the committed tail.
MAX_OVERLAP_WORDS = 5
# Longer than any spoken word: Whisper sometimes stretches a word over a pause to the end of the
# clip. Committed, such an end would hide every word said before it from later hypotheses.
MAX_WORD_S = 1.2


@dataclass(frozen=True)
class Word:
    text: str
    start_s: float  # seconds from the start of the turn's audio
    end_s: float


@dataclass(frozen=True)
class StreamingConfig:
    trim_after_s: float = 6.0  # a buffer longer than this is trimmed at a committed pause
    # A buffer this long is cut even without agreement (partials starved under load, or a
    # voice that never pauses): what the last hypothesis heard is committed as it stands.
    max_buffer_s: float = 20.0
    min_gap_s: float = 0.15  # a pause shorter than this is no trim point
    # A pass over the buffer up to a pause commits its words when it covered at least this
    # much audio; a shorter one is only the tail (Whisper hears short clips less well).
    min_commit_pass_s: float = 3.0


def norm(word: str) -> str:
    return _PUNCT.sub("", word.lower())


def text_of(words: Sequence[Word]) -> str:
    return " ".join(w.text for w in words).strip()


def without_repeats(words: list[Word], min_run: int = 3) -> list[Word]:
    """Drop a run of words that repeats the run just before it at the end of a hypothesis:
    Whisper's decoder can loop on a short window ("...runs it today. And the team still runs
    it today. And the team..."), and the loop has no audio under it."""
    keys = [norm(w.text) for w in words]
    changed = True
    while changed:
        changed = False
        for size in range(min_run, len(keys) // 2 + 1):
            if keys[-size:] == keys[-2 * size : -size]:
                keys, words = keys[:-size], words[:-size]
                changed = True
                break
    return words


class CommittedTranscript:
    """One open turn's words: committed for good, plus the last hypothesis's unstable tail."""

    def __init__(self, config: StreamingConfig | None = None) -> None:
        self.config = config or StreamingConfig()
        self.committed: list[Word] = []
        self.buffer_start_s = 0.0  # audio before this is never transcribed again
        self.unstable: list[Word] = []  # the last hypothesis's words beyond the committed ones
        self.heard_until_s = 0.0  # the end of the audio the last hypothesis covered

    @property
    def text(self) -> str:
        return text_of(self.committed)

    def offset(
        self, words: Sequence[tuple[str, float, float]], origin: float | None = None
    ) -> list[Word]:
        """Whisper's words (times relative to the buffer) on the turn's clock, without a
        repetition loop at their end. `origin`: where the transcribed audio started on the
        turn's clock, when the buffer may have been trimmed since it was cut."""
        start = self.buffer_start_s if origin is None else origin
        return without_repeats(
            [Word(w, start + s, start + min(e, s + MAX_WORD_S)) for w, s, e in words if norm(w)]
        )

    def _new_words(self, hypothesis: Sequence[Word]) -> list[Word]:
        """The words of a hypothesis beyond what is committed: by time, then by the n-gram the
        hypothesis may repeat from the committed tail."""
        if not self.committed:
            return list(hypothesis)
        floor = self.committed[-1].end_s - TIME_TOLERANCE_S
        words = [w for w in hypothesis if w.start_s > floor]
        tail = [norm(w.text) for w in self.committed[-MAX_OVERLAP_WORDS:]]
        for n in range(min(MAX_OVERLAP_WORDS, len(words), len(tail)), 0, -1):
            if [norm(w.text) for w in words[:n]] == tail[-n:]:
                return words[n:]
        return words

    def add_hypothesis(self, hypothesis: Sequence[Word], heard_until_s: float) -> list[Word]:
        """A partial's words (turn clock) covering the buffer up to `heard_until_s`.
        Returns the words newly committed: the prefix this and the last hypothesis share."""
        new = self._new_words(hypothesis)
        agreed = 0
        for old, fresh in zip(self.unstable, new, strict=False):
            if norm(old.text) != norm(fresh.text):
                break
            agreed += 1
        committed = new[:agreed]
        self.committed.extend(committed)
        self.unstable = new[agreed:]
        self.heard_until_s = heard_until_s
        return committed

    def trim(self, pauses: Sequence[tuple[float, float]], audio_end_s: float) -> bool:
        """Move the buffer's start into the latest pause (turn clock) before which every word
        heard is committed. Past `max_buffer_s`, commit what the last hypothesis heard and cut
        anyway. True when the buffer moved."""
        cfg = self.config
        if audio_end_s - self.buffer_start_s < cfg.trim_after_s:
            return False
        for gap_start, gap_end in reversed(pauses):
            point = self._trim_point(gap_start, gap_end)
            if point is not None and self._all_committed_before(point):
                self._move_to(point)
                return True
        if audio_end_s - self.buffer_start_s < cfg.max_buffer_s:
            return False
        return self._force(pauses)

    def _trim_point(self, gap_start: float, gap_end: float) -> float | None:
        """Where in a pause the next buffer starts (a little silence kept before the speech),
        or None when the pause is too short, already trimmed or not yet heard."""
        min_gap = self.config.min_gap_s
        if gap_end - gap_start < min_gap or gap_start <= self.buffer_start_s:
            return None
        if self.heard_until_s < gap_start + min_gap / 2:
            return None  # the last hypothesis did not reach it: what follows is unknown
        return min(gap_end - min(0.2, (gap_end - gap_start) / 2), self.heard_until_s)

    def _all_committed_before(self, point: float) -> bool:
        if any(w.start_s < point - TIME_TOLERANCE_S for w in self.unstable):
            return False
        # No committed word may straddle the cut: its end would be heard again.
        return not any(
            w.start_s < point - TIME_TOLERANCE_S and w.end_s > point + TIME_TOLERANCE_S
            for w in self.committed[-MAX_OVERLAP_WORDS:]
        )

    def _force(self, pauses: Sequence[tuple[float, float]]) -> bool:
        """Commit the unstable words up to the latest heard pause (or all of them) and cut."""
        for gap_start, gap_end in reversed(pauses):
            point = self._trim_point(gap_start, gap_end)
            if point is None:
                continue
            before = [w for w in self.unstable if w.start_s < point]
            self.committed.extend(before)
            self.unstable = self.unstable[len(before) :]
            self._move_to(point)
            return True
        if self.heard_until_s <= self.buffer_start_s:
            return False  # nothing heard yet: the final will transcribe the buffer
        self.committed.extend(self.unstable)
        end = self.unstable[-1].end_s if self.unstable else self.heard_until_s
        self.unstable = []
        self._move_to(min(end, self.heard_until_s))
        return True

    def _move_to(self, point: float) -> None:
        self.buffer_start_s = max(self.buffer_start_s, point)
        # Unstable words before the cut would never be heard again: they were committed above,
        # or there were none (the cut is checked); what is left is re-heard from the buffer.
        self.unstable = [w for w in self.unstable if w.start_s >= point - TIME_TOLERANCE_S]

    def commit_through(self, words: Sequence[Word], cut_s: float) -> list[Word]:
        """A pass over the buffer up to `cut_s`, a point in a pause: its words are the answer up
        to there, committed for good, and the buffer moves past them. Returns them."""
        new = self._new_words(words)
        self.committed.extend(new)
        self.unstable = [w for w in self.unstable if w.start_s >= cut_s]
        self.heard_until_s = max(self.heard_until_s, cut_s)
        self.buffer_start_s = max(self.buffer_start_s, cut_s)
        return new

    def final(self, tail: Sequence[Word]) -> list[Word]:
        """Every word of the answer: the committed ones and the final pass over the buffer."""
        return [*self.committed, *self._new_words(tail)]
