"""The VAD hears an answer the same however long the silence before it was (issue 28).

Silero's recurrent state, carried through digital silence (the zeros a client sends while the
interviewer speaks), drifts frame after frame and never settles: the same answer after 60 and
after 333 frames of zeros got speech probabilities up to 0.4 apart. How long that silence lasts
depends on timing (how fast the server spoke, how late it was), so where the turn started and
where its segments were cut did too. Digital silence now starts the state afresh.
"""

from __future__ import annotations

import numpy as np
import pytest

from models.registry import ModelRegistry
from models.vad import FRAME_SAMPLES
from tests.conftest import piper_speech

ANSWER = "In my last role, our billing service failed at the end of every month."


@pytest.fixture(scope="module")
def frames(models: ModelRegistry) -> np.ndarray:
    speech = piper_speech(models, ANSWER)
    speech = np.concatenate([speech, np.zeros(-len(speech) % FRAME_SAMPLES, np.float32)])
    return speech.reshape(-1, FRAME_SAMPLES)


def heard(
    models: ModelRegistry, frames: np.ndarray, silent_frames: int, before: int = 0
) -> list[float]:
    """Speech probabilities of the answer's frames, after `before` frames of the answer itself
    (what was said earlier) and `silent_frames` frames of zeros."""
    stream = models.vad().stream()
    for frame in frames[:before]:
        stream.probability(frame)
    for _ in range(silent_frames):
        stream.probability(np.zeros(FRAME_SAMPLES, np.float32))
    return [stream.probability(frame) for frame in frames]


def test_the_same_answer_gets_the_same_probabilities_after_any_silence(
    models: ModelRegistry, frames: np.ndarray
) -> None:
    reference = heard(models, frames, 60)
    assert sum(p >= 0.5 for p in reference) > len(frames) / 2  # it is heard as speech
    for silent, before in [(1, 0), (10, 0), (333, 0), (1, len(frames)), (200, len(frames))]:
        assert heard(models, frames, silent, before) == reference, (silent, before)


def test_quiet_audio_that_is_not_digital_silence_keeps_the_state(
    models: ModelRegistry, frames: np.ndarray
) -> None:
    """A microphone's noise floor (here -70 dBFS) is audio: the state carries through it."""
    noise = np.random.default_rng(0).normal(0, 10**-3.5, (40, FRAME_SAMPLES)).astype(np.float32)
    carried = models.vad().stream()
    for frame in frames:
        carried.probability(frame)
    fresh = models.vad().stream()
    assert [carried.probability(f) for f in noise] != [fresh.probability(f) for f in noise]
