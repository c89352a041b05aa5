"""Report sections: multiple speakers, reading cues, too little speech, language; the session
facade end to end on real generated speech."""

from __future__ import annotations

import pytest

from models.registry import ModelRegistry
from pipeline.integrity.reading import THRESHOLD, reading_signal
from pipeline.integrity.report import (
    SpeechAmount,
    fraud_signals,
    is_low_confidence,
    language_section,
    multiple_speakers,
)
from pipeline.integrity.session import SessionIntegrity
from pipeline.integrity.speakers import Attribution, LabelledRange
from pipeline.integrity.words import Word, words_from_timestamps
from tests.bench_integrity import SR, synthetic_interview


def _even(text: str, start: float, pause_after_clause: bool) -> list[Word]:
    """Steady words; pauses of 0.5 s after every clause end, or in the middle of clauses."""
    words, clock = [], start
    for i, token in enumerate(text.split()):
        words.append(Word(token, clock, clock + 0.3))
        clock += 0.3
        if (pause_after_clause and token.endswith((",", "."))) or (
            not pause_after_clause and i % 4 == 2
        ):
            clock += 0.5
    return words


READ_TEXT = (
    "We moved the billing service to three smaller services, and the main challenge was "
    "keeping invoices correct. I wrote the plan, the team reviewed it, and we shipped it in "
    "stages. Each stage had a rollback, so nobody was paged at night. The whole move took "
    "four months, and the invoices stayed correct the whole time."
)


def test_multiple_speakers_from_an_attribution() -> None:
    attribution = Attribution(
        (
            LabelledRange(0.0, 10.0, "candidate", 0),
            LabelledRange(10.0, 13.5, "other", 0),
            LabelledRange(13.5, 20.0, "candidate", 0),
            LabelledRange(30.0, 31.0, "echo", 1),
            LabelledRange(31.0, 40.0, "candidate", 1),
        ),
        enrolled=True,
    )
    signal = multiple_speakers(attribution)
    assert signal.detected
    assert signal.other_seconds == pytest.approx(3.5)
    assert signal.candidate_seconds == pytest.approx(25.5)
    assert signal.echo_seconds == pytest.approx(1.0)
    assert signal.to_dict()["ranges"] == [{"start_s": 10.0, "end_s": 13.5}]


def test_too_little_speech_makes_the_session_low_confidence() -> None:
    assert is_low_confidence(SpeechAmount(candidate_seconds=8.0, words=40))
    assert is_low_confidence(SpeechAmount(candidate_seconds=200.0, words=20))
    assert not is_low_confidence(SpeechAmount(candidate_seconds=12.0, words=30))
    assert not is_low_confidence(SpeechAmount(candidate_seconds=90.0, words=220))
    assert language_section(None) == {
        "available": False,
        "reason": "too few candidate words to assess",
    }


def test_reading_cues_score_read_delivery_above_hesitant_delivery() -> None:
    read = reading_signal([_even(READ_TEXT, 0.0, pause_after_clause=True)], [3.5])
    hesitant_text = READ_TEXT.replace(", and", ", um, and").replace(". ", ". Uh, ")
    spontaneous = reading_signal([_even(hesitant_text, 0.0, pause_after_clause=False)], [0.8])
    assert read.confidence is not None and spontaneous.confidence is not None
    assert read.confidence >= THRESHOLD > spontaneous.confidence
    assert read.cues["pauses_at_clause_ends"] == 1.0
    # Shipped disabled: the cues are shown, nothing is flagged.
    assert not read.enabled and not read.detected
    assert read.to_dict()["reason"]
    assert reading_signal([_even(READ_TEXT, 0.0, True)], [3.5], enabled=True).detected


def test_reading_needs_enough_words() -> None:
    assert reading_signal([_even("Too short to judge.", 0.0, True)]).confidence is None


@pytest.mark.slow
def test_session_report_sections_for_a_two_voice_interview(models: ModelRegistry) -> None:
    interview = synthetic_interview(models, "piper", "en-us+f3")
    session = SessionIntegrity(models.speaker())
    for turn, start, audio in interview.segments:
        session.add_candidate_segment(turn, start, start + len(audio) / SR, audio)
    for turn, start, audio in interview.segments:
        transcript = models.asr().transcribe(audio, word_timestamps=True)
        words = words_from_timestamps(transcript.words, start)
        session.candidate_answer(turn, words, question_end_s=start - 1.0)
    sections = session.report_sections()
    signals = sections["fraud_signals"]
    assert isinstance(signals, dict)
    speakers = signals["multiple_speakers"]
    assert speakers["detected"] is True
    (truth,) = interview.other_truth
    (found,) = speakers["ranges"]
    # Boundaries are as sharp as one speaker window (1.6 s); Piper's timing varies run to run.
    window_s = 1.6
    assert abs(found["start_s"] - truth.start_s) < window_s
    assert abs(found["end_s"] - truth.end_s) < window_s
    assert signals["reading_detected"]["enabled"] is False
    assert signals["too_little_speech"]["detected"] is False
    assert sections["low_confidence"] is False
    language = sections["language"]
    assert isinstance(language, dict) and language["available"] is True
    assert language["cefr_estimate"] in {"A1", "A2", "B1", "B2", "C1", "C2"}
    assert 0 <= language["fluency"] <= 100


def test_fraud_signals_shape() -> None:
    attribution = Attribution((LabelledRange(0.0, 5.0, "unknown", 0),), enrolled=False)
    section = fraud_signals(
        multiple_speakers(attribution),
        reading_signal([]),
        SpeechAmount(5.0, 10),
    )
    assert set(section) == {"multiple_speakers", "reading_detected", "too_little_speech", "note"}
    assert section["too_little_speech"] == {
        "detected": True,
        "candidate_seconds": 5.0,
        "words": 10,
        "minimum": {"seconds": 10.0, "words": 30},
    }
