"""Streaming recognition of one answer at flat cost: segments cut at pauses, each heard once.

The answer's audio is cut into segments at the pauses the VAD finds (where no word is cut in
two): once the open segment has at least `min_segment_s` of audio, the next pause closes it and
one Whisper pass transcribes it; its words are committed for good, in segment order. A voice
that never pauses is cut at `max_segment_s` anyway. The final then transcribes only the open
segment. So each stretch of audio is transcribed about once, no call covers more than
`max_segment_s`, and (the reason for cutting at pauses, not at the words partial hypotheses
agree on, as LocalAgreement does) the stored words depend only on the audio: the same answer
streamed twice, under any load, is cut at the same samples and heard the same.

Partials, while there is headroom, transcribe the open segment for captions only: the caption is
the committed words and the prefix the last two hypotheses agree on (LocalAgreement-2), so it
seldom takes a word back. Pure logic on words and times: tested without Whisper.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

_PUNCT = re.compile(r"[^\w']+")
# Longer than any spoken word: Whisper sometimes stretches a word over a pause to the end of the
# clip.
MAX_WORD_S = 1.2


@dataclass(frozen=True)
class Word:
    text: str
    start_s: float  # seconds from the start of the turn's audio
    end_s: float


@dataclass(frozen=True)
class StreamingConfig:
    # A pause closes the open segment once it holds this much audio: Whisper hears short
    # clips less well, and each segment is a call.
    min_segment_s: float = 3.0
    # A voice (or a noise) that does not pause is cut here anyway, at its latest pause if any.
    max_segment_s: float = 20.0


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


def on_turn_clock(words: Sequence[tuple[str, float, float]], origin_s: float) -> list[Word]:
    """Whisper's words (times relative to a clip cut at `origin_s` of the turn) on the turn's
    clock, without a repetition loop at their end."""
    return without_repeats(
        [Word(w, origin_s + s, origin_s + min(e, s + MAX_WORD_S)) for w, s, e in words if norm(w)]
    )


class CommittedTranscript:
    """One open turn's words: the closed segments' words, and the open segment's caption."""

    def __init__(self) -> None:
        self.committed: list[Word] = []
        self.segment_start_s = 0.0  # turn clock: the open segment's audio starts here
        self._hypothesis: list[Word] = []  # the last partial over the open segment
        self._agreed: list[Word] = []  # what it and the one before agree on

    @property
    def text(self) -> str:
        return text_of(self.committed)

    @property
    def caption(self) -> str:
        """What a client may show: the committed words and the open segment's agreed ones."""
        return text_of([*self.committed, *self._agreed])

    def close_segment(self, cut_s: float) -> tuple[float, float]:
        """The open segment ends at `cut_s` (turn clock); returns its (start, end). The next
        one starts there, and the partials' hypotheses, over the closed one, are dropped."""
        span = (self.segment_start_s, cut_s)
        self.segment_start_s = cut_s
        self._hypothesis, self._agreed = [], []
        return span

    def commit(self, words: Sequence[Word]) -> None:
        """A closed segment's words: called in segment order."""
        self.committed.extend(words)

    def add_hypothesis(self, origin_s: float, words: Sequence[Word]) -> bool:
        """A partial's words over the open segment from `origin_s`. True when the caption
        changed. A partial over a segment closed meanwhile is ignored."""
        if origin_s != self.segment_start_s:
            return False
        before = self.caption
        agreed: list[Word] = []
        for old, new in zip(self._hypothesis, words, strict=False):
            if norm(old.text) != norm(new.text):
                break
            agreed.append(new)
        self._hypothesis = list(words)
        if len(agreed) >= len(self._agreed):  # agreement only grows within a segment
            self._agreed = agreed
        return self.caption != before

    def final(self, tail: Sequence[Word]) -> list[Word]:
        """Every word of the answer: the committed ones and the open segment's."""
        return [*self.committed, *tail]
