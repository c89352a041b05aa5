"""Speaker attribution on real and generated speech: one voice is never flagged, a second voice
is, at the right time, and the interviewer's echo is not another person."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy.signal import butter, lfilter

from models.registry import ModelRegistry
from pipeline.integrity.speakers import SpeakerTracker
from tests.bench_integrity import (
    SR,
    real_sample,
    speak,
    synthetic_interview,
)

pytestmark = pytest.mark.slow

QUESTION = "Tell me about a project you are proud of, and what you did on it."


@pytest.mark.parametrize(
    "voice", ["piper", "en-us", "en-us+f3", "en-gb+m3", "en-us+m7", "en-us+f4"]
)
def test_single_voice_interview_is_never_flagged(models: ModelRegistry, voice: str) -> None:
    attribution = synthetic_interview(models, voice).tracker(models).attribution()
    assert attribution.enrolled
    assert attribution.ranges_of("other") == []
    assert attribution.seconds("candidate") > 30


@pytest.mark.parametrize("voice", ["en-us", "en-us+f4"])
def test_single_voice_with_changing_rate_and_loudness_is_not_flagged(
    models: ModelRegistry, voice: str
) -> None:
    interview = synthetic_interview(
        models, voice, rates=(130, 190, 150, 175), gains=(1.0, 0.3, 0.6, 1.4)
    )
    assert interview.tracker(models).attribution().ranges_of("other") == []


@pytest.mark.parametrize(
    ("candidate", "intruder"),
    [("piper", "en-us+f3"), ("en-us", "en-us+f3"), ("en-us+f3", "en-gb+m3"), ("en-gb+m3", "piper")],
)
def test_second_voice_in_an_answer_is_flagged_with_its_time_range(
    models: ModelRegistry, candidate: str, intruder: str
) -> None:
    interview = synthetic_interview(models, candidate, intruder)
    found = interview.tracker(models).attribution().ranges_of("other")
    (truth,) = interview.other_truth
    assert len(found) == 1, found
    # Measured: boundaries within 0.7 s, 89-100 % of the other voice's time found.
    assert abs(found[0].start_s - truth.start_s) <= 1.0
    assert abs(found[0].end_s - truth.end_s) <= 1.0
    assert truth.overlap(found[0]) >= 0.85 * truth.seconds


def test_real_two_speaker_recording(models: ModelRegistry, shared_data: Path) -> None:
    attribution, result = real_sample(models, shared_data)
    # Measured (BENCHMARKS.md, integrity): 85.3 % of single-speaker frames attributed right,
    # DER 21.9 % (no collar). The floors are the targets, not the measurement.
    assert result.attribution_accuracy >= 0.80
    assert result.der <= 0.27
    # The first speaker to talk at length is enrolled as the candidate.
    assert result.mapping == {"candidate": "speaker90", "other": "speaker91"}
    assert attribution.seconds("other") > 8


def test_nothing_is_attributed_before_enrolment(models: ModelRegistry) -> None:
    tracker = SpeakerTracker(models.speaker())
    audio = speak(models, "en-us", "I led the migration.")
    tracker.add_candidate_segment(0, 1.0, 1.0 + len(audio) / SR, audio)
    attribution = tracker.attribution()
    assert not attribution.enrolled
    assert {r.label for r in attribution.ranges} == {"unknown"}


def _through_a_room(audio: np.ndarray, seed: int = 0) -> np.ndarray:
    """Loudspeaker and room: low-passed, reverberant, quieter."""
    b, a = butter(4, 3500 / (SR / 2))
    muffled = lfilter(b, a, audio)
    rng = np.random.default_rng(seed)
    tail = np.arange(int(0.25 * SR))
    impulse = rng.standard_normal(len(tail)) * np.exp(-tail / (0.05 * SR))
    impulse[0] = 8.0
    reverberant = np.convolve(muffled, impulse)[: len(audio)]
    return (0.3 * reverberant / np.abs(reverberant).max()).astype(np.float32)


def _echo_session(models: ModelRegistry, register: bool, leak: str | None) -> SpeakerTracker:
    """Three questions in Piper's voice and answers in espeak's; from the second question on the
    microphone picks up the question (`leak="echo"`) or another person (`leak=<voice>`)."""
    tracker = SpeakerTracker(models.speaker())
    question = speak(models, "piper", QUESTION)
    clock = 0.0
    for turn in range(3):
        if register:
            tracker.add_interviewer_audio(clock, question)
        if turn and leak:
            heard = (
                _through_a_room(question)
                if leak == "echo"
                else speak(models, leak, "Say that you used a message queue with retries.")
            )
            tracker.add_candidate_segment(turn, clock + 0.5, clock + 0.5 + len(heard) / SR, heard)
        clock += len(question) / SR + 1.0
        answer = synthetic_interview(models, "en-us+f3", answers=3).segments[turn][2]
        tracker.add_candidate_segment(turn, clock, clock + len(answer) / SR, answer)
        clock += len(answer) / SR + 1.0
    return tracker


def test_interviewer_echo_is_not_another_speaker(models: ModelRegistry) -> None:
    attribution = _echo_session(models, register=True, leak="echo").attribution()
    assert attribution.ranges_of("other") == []
    assert attribution.seconds("echo") > 5


def test_echo_unknown_to_the_tracker_counts_as_another_voice(models: ModelRegistry) -> None:
    attribution = _echo_session(models, register=False, leak="echo").attribution()
    assert attribution.seconds("other") > 5


def test_another_person_during_playback_is_not_taken_for_echo(models: ModelRegistry) -> None:
    attribution = _echo_session(models, register=True, leak="en-gb+m3").attribution()
    assert attribution.seconds("echo") == 0
    assert len(attribution.ranges_of("other")) == 2
