"""Keeping other voices out of the transcript that scoring sees.

Whisper's words (with `word_timestamps=True`) are filtered by time: a word mostly inside a range
attributed to someone else is excluded, and consecutive excluded words are kept together with
their time range so that the stored transcript can show what was left out and when.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from pipeline.integrity.timeline import TimeRange


@dataclass(frozen=True)
class Word:
    text: str
    start_s: float
    end_s: float

    @property
    def range(self) -> TimeRange:
        return TimeRange(self.start_s, self.end_s)


@dataclass(frozen=True)
class ExcludedSpeech:
    """Consecutive words left out of the candidate's answer, and why."""

    text: str
    start_s: float
    end_s: float
    reason: str  # other_speaker | interviewer_echo

    def to_dict(self) -> dict[str, object]:
        return {
            "text": self.text,
            "start_s": round(self.start_s, 2),
            "end_s": round(self.end_s, 2),
            "reason": self.reason,
        }


@dataclass(frozen=True)
class CandidateWords:
    kept: tuple[Word, ...]
    excluded: tuple[ExcludedSpeech, ...]

    @property
    def text(self) -> str:
        """The candidate-only text: what scoring sees."""
        return " ".join(w.text for w in self.kept)

    def to_meta(self) -> dict[str, object]:
        """For the stored turn's `meta`: the excluded speech with its time ranges."""
        return {"excluded_speech": [e.to_dict() for e in self.excluded]}


def words_from_timestamps(
    words: Iterable[Sequence[str | float]], offset_s: float = 0.0
) -> list[Word]:
    """`[[word, start_s, end_s], ...]` (as Whisper gives them, relative to the transcribed audio)
    to words on the session clock, the audio having started at `offset_s`."""
    return [
        Word(str(text), float(start) + offset_s, float(end) + offset_s)
        for text, start, end in words
    ]


def candidate_words(
    words: Sequence[Word], excluded: Mapping[str, Sequence[TimeRange]]
) -> CandidateWords:
    """Split `words` into the candidate's and the excluded, by reason (e.g. `other_speaker`)."""
    kept: list[Word] = []
    spans: list[tuple[str, list[Word]]] = []
    previous: str | None = None
    for word in words:
        reason = _exclusion(word, excluded)
        if reason is None:
            kept.append(word)
        elif reason == previous and spans:
            spans[-1][1].append(word)
        else:
            spans.append((reason, [word]))
        previous = reason
    return CandidateWords(
        kept=tuple(kept),
        excluded=tuple(
            ExcludedSpeech(
                " ".join(w.text for w in group), group[0].start_s, group[-1].end_s, reason
            )
            for reason, group in spans
        ),
    )


def _exclusion(word: Word, excluded: Mapping[str, Sequence[TimeRange]]) -> str | None:
    """The reason whose ranges hold most of the word (its midpoint, for an instant)."""
    span = word.range
    for reason, ranges in excluded.items():
        if span.seconds > 0:
            inside = sum(span.overlap(r) for r in ranges)
            if inside >= span.seconds / 2:
                return reason
        elif any(r.start_s <= span.start_s <= r.end_s for r in ranges):
            return reason
    return None
