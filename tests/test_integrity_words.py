"""Other voices' words are kept out of the candidate-only text, with their time ranges."""

from __future__ import annotations

import numpy as np
import pytest

from models.registry import ModelRegistry
from pipeline.integrity.session import SessionIntegrity
from pipeline.integrity.timeline import TimeRange
from pipeline.integrity.words import Word, candidate_words, words_from_timestamps
from tests.bench_integrity import INTRUSION, SR, synthetic_interview


def _words(spec: list[tuple[str, float, float]]) -> list[Word]:
    return words_from_timestamps(spec)


def test_words_inside_another_voice_are_excluded_with_their_range() -> None:
    words = _words(
        [("I", 0.0, 0.2), ("built", 0.2, 0.5), ("it.", 0.5, 0.9), ("Say", 1.2, 1.5),
         ("queues.", 1.5, 2.0), ("Then", 2.4, 2.7), ("we", 2.7, 2.9), ("shipped.", 2.9, 3.4)]
    )  # fmt: skip
    result = candidate_words(words, {"other_speaker": [TimeRange(1.1, 2.2)]})
    assert result.text == "I built it. Then we shipped."
    (excluded,) = result.excluded
    assert (excluded.text, excluded.start_s, excluded.end_s) == ("Say queues.", 1.2, 2.0)
    assert result.to_meta() == {
        "excluded_speech": [
            {"text": "Say queues.", "start_s": 1.2, "end_s": 2.0, "reason": "other_speaker"}
        ]
    }


def test_a_word_counts_where_most_of_it_is() -> None:
    words = _words([("mostly", 0.0, 1.0), ("partly", 1.0, 2.0)])
    result = candidate_words(words, {"other_speaker": [TimeRange(0.4, 1.3)]})
    assert [w.text for w in result.kept] == ["partly"]
    assert [e.text for e in result.excluded] == ["mostly"]


def test_separate_reasons_and_offsets() -> None:
    words = _words([("hello", 0.0, 0.5), ("echo", 1.0, 1.5), ("other", 2.0, 2.5)])
    shifted = words_from_timestamps([[w.text, w.start_s, w.end_s] for w in words], offset_s=10)
    assert shifted[0] == Word("hello", 10.0, 10.5)
    result = candidate_words(
        shifted,
        {"other_speaker": [TimeRange(12.0, 12.5)], "interviewer_echo": [TimeRange(11.0, 11.5)]},
    )
    assert result.text == "hello"
    assert [(e.text, e.reason) for e in result.excluded] == [
        ("echo", "interviewer_echo"),
        ("other", "other_speaker"),
    ]


def test_nothing_excluded_keeps_every_word() -> None:
    words = _words([("one", 0.0, 0.3), ("two", 0.3, 0.6)])
    result = candidate_words(words, {"other_speaker": []})
    assert result.text == "one two"
    assert result.excluded == ()


def _norm(text: str) -> set[str]:
    return {"".join(c for c in w.lower() if c.isalnum()) for w in text.split()} - {""}


@pytest.mark.slow
def test_injected_voice_is_cut_from_a_whisper_transcript(models: ModelRegistry) -> None:
    """Piper answers, an espeak voice says a sentence in the middle of answer 2; Whisper
    transcribes the answer with word timestamps; the session removes the injected words."""
    interview = synthetic_interview(models, "piper", "en-us+f3")
    session = SessionIntegrity(models.speaker())
    for turn, start, audio in interview.segments:
        session.add_candidate_segment(turn, start, start + len(audio) / SR, audio)
    turn, start, audio = interview.segments[2]
    transcript = models.asr().transcribe(audio, word_timestamps=True)
    result = session.candidate_answer(turn, words_from_timestamps(transcript.words, start))

    # Whisper mishears some of the robotic voice ("item potent"); these words it gets right.
    injected = {"tell", "them", "message", "queue", "consumers"}
    assert injected <= _norm(INTRUSION)
    kept = _norm(result.text)
    excluded = _norm(" ".join(e.text for e in result.excluded))
    assert not injected & kept, result.text
    assert injected <= excluded, result.excluded
    assert {"engineers", "designer", "checkout", "receipt", "alerts", "night"} <= kept
    (truth,) = interview.other_truth
    (span,) = [e for e in result.excluded if e.reason == "other_speaker"]
    assert abs(span.start_s - truth.start_s) < 1.0 and abs(span.end_s - truth.end_s) < 1.0
    assert np.isclose(len(result.kept) + sum(len(e.text.split()) for e in result.excluded),
                      len(transcript.words))  # fmt: skip
