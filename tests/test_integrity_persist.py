"""Integrity evidence carried from one socket of a session to the next."""

from __future__ import annotations

import numpy as np
import pytest

from models.registry import ModelRegistry
from pipeline.integrity.embeddings import Window
from pipeline.integrity.persist import IntegrityDelta, StoredAnswer, decode, encode
from pipeline.integrity.session import SessionIntegrity
from pipeline.integrity.speakers import Segment, TrackerDelta
from pipeline.integrity.timeline import TimeRange
from pipeline.integrity.words import CandidateWords, ExcludedSpeech, Word, words_from_timestamps
from tests.bench_integrity import SR, synthetic_interview


def _unit(rng: np.random.Generator) -> np.ndarray:
    vector = rng.normal(size=256).astype(np.float32)
    return vector / np.linalg.norm(vector)


def test_a_delta_survives_encoding() -> None:
    rng = np.random.default_rng(0)
    windows = (Window(1.0, 2.6, _unit(rng)), Window(1.4, 3.0, _unit(rng)))
    delta = IntegrityDelta(
        TrackerDelta(
            segments=(
                Segment(1, TimeRange(1.0, 3.0), windows),
                Segment(3, TimeRange(9.0, 9.3), ()),
            ),
            interviewer=(Window(0.0, 1.6, _unit(rng)),),
            playback=(TimeRange(0.0, 0.9),),
        ),
        {
            1: StoredAnswer(
                CandidateWords(
                    kept=(Word("hello", 1.0, 1.4),),
                    excluded=(ExcludedSpeech("psst", 2.0, 2.5, "other_speaker"),),
                ),
                0.75,
            )
        },
    )
    back = decode(encode(delta))
    assert back.answers == delta.answers
    assert back.tracker.playback == delta.tracker.playback
    assert [(s.turn, s.range) for s in back.tracker.segments] == [
        (1, TimeRange(1.0, 3.0)),
        (3, TimeRange(9.0, 9.3)),
    ]
    restored = back.tracker.segments[0].windows + back.tracker.interviewer
    for original, again in zip(windows + delta.tracker.interviewer, restored, strict=True):
        assert (again.start_s, again.end_s) == (original.start_s, original.end_s)
        assert float(original.embedding @ again.embedding) > 0.9999  # float16, renormalised


@pytest.mark.slow
def test_a_resumed_socket_keeps_the_enrolment_and_an_earlier_second_voice(
    models: ModelRegistry,
) -> None:
    interview = synthetic_interview(models, "piper", "en-us+f3")  # intruder in turn 2
    asr = models.asr()

    def answer(session: SessionIntegrity, turn: int, start: float, audio: np.ndarray) -> None:
        session.add_candidate_segment(turn, start, start + len(audio) / SR, audio)
        words = words_from_timestamps(asr.transcribe(audio, word_timestamps=True).words, start)
        session.candidate_answer(turn, words, question_end_s=start - 1.0)

    *before_drop, after_resume = interview.segments
    first_socket = SessionIntegrity(models.speaker())
    for segment in before_drop:
        answer(first_socket, *segment)
    saved = first_socket.unsaved_delta()
    assert saved is not None and first_socket.unsaved_delta() is None  # nothing new since

    second_socket = SessionIntegrity(models.speaker())
    second_socket.restore([saved])
    assert second_socket.tracker.attribution().enrolled  # no new enrolment needed
    answer(second_socket, *after_resume)
    signals = second_socket.report_sections()["fraud_signals"]
    assert isinstance(signals, dict)
    (truth,) = interview.other_truth
    (found,) = signals["multiple_speakers"]["ranges"]
    assert abs(found["start_s"] - truth.start_s) < 1.6 and abs(found["end_s"] - truth.end_s) < 1.6
    assert signals["too_little_speech"]["detected"] is False
    # Its own save holds only what it heard itself.
    own = second_socket.unsaved_delta()
    assert own is not None
    assert [s.turn for s in decode(own).tracker.segments] == [after_resume[0]]
    assert list(decode(own).answers) == [after_resume[0]]

    # Without the restore, the resumed socket would know nothing of the second voice.
    fresh = SessionIntegrity(models.speaker())
    answer(fresh, *after_resume)
    fresh_signals = fresh.report_sections()["fraud_signals"]
    assert isinstance(fresh_signals, dict)
    assert fresh_signals["multiple_speakers"]["detected"] is False
