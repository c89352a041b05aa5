"""The words (and word times) Whisper gives a clip depend on the clip alone: not on the clips
batched with it, not on what was decoded before it, not on a decode that needed a retry.

Issue 28: the same answer streamed by two sessions at once was stored as "In my last role" in one
and "in my last role" in the other. Each test here pins one way a clip's words could depend on
something else than its audio; the stream-level proof under load is
`tests/test_same_words_under_load.py`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import models.asr as asr_module
from models.asr import Transcript, WhisperASR
from models.registry import ModelRegistry
from pipeline.voice.transcriber import transcribe_windowed, window_for
from tests.conftest import piper_speech

# All of the 8 s encoder window (the scheduler batches only clips of one window), with texts of
# very different lengths: a batch pads every clip's tokens to the longest one's.
SENTENCES = [
    "Yes, I think so.",
    "In my last role, our billing service failed at the end of every month.",
    "I led the project to rebuild it, and I trained the team myself.",
    "Honestly, the hardest part was getting three teams to agree on one schema.",
]


@pytest.fixture(scope="module")
def clips(models: ModelRegistry) -> list[np.ndarray]:
    clips = [piper_speech(models, s) for s in SENTENCES]
    assert {window_for(len(c)) for c in clips} == {8}
    return clips


@pytest.fixture(scope="module")
def alone(models: ModelRegistry, clips: list[np.ndarray]) -> list[Transcript]:
    return [transcribe_windowed(models.asr(), c, words=True) for c in clips]


def test_a_clip_in_any_batch_gives_its_single_calls_words_and_times_to_the_bit(
    models: ModelRegistry, clips: list[np.ndarray], alone: list[Transcript]
) -> None:
    """Batched, each clip was once aligned in one `align` call with the others: its tokens
    padded to the longest clip's, and the alignment heads' weights normalised over the padding,
    so "I" of "Yes, I think so." ended at 0.88 s in company and at 0.86 s alone."""
    asr: WhisperASR = models.asr()
    for order in ([0, 1], [1, 0], [0, 2, 3], [3, 2, 1, 0], [1, 1], [0, 3]):
        batched = asr.transcribe_batch([clips[i] for i in order], [8] * len(order))
        for i, got in zip(order, batched, strict=True):
            assert got == alone[i], (order, i, got, alone[i])


class _Recorder:
    """Stands in for the CTranslate2 model inside faster-whisper, recording every `generate`
    call's options."""

    def __init__(self, model: Any) -> None:
        self._model = model
        self.generate_options: list[dict[str, Any]] = []

    def generate(self, *args: Any, **kwargs: Any) -> Any:
        self.generate_options.append(kwargs)
        return self._model.generate(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._model, name)


def test_a_decode_that_fails_the_checks_is_redone_without_sampling(
    models: ModelRegistry,
    clips: list[np.ndarray],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A retry sampled at a higher temperature draws from CTranslate2's one generator per
    worker thread, which `set_random_seed` never reseeds: its words depended on every sample
    drawn before, by any session. Here every decode fails the checks (any log probability is
    too low), so each clip takes the fallback; the same clip gives the same words before and
    after other clips' fallbacks, and no call sampled."""
    asr: WhisperASR = models.asr()
    recorder = _Recorder(asr.model.model)
    monkeypatch.setattr(asr.model, "model", recorder)
    monkeypatch.setattr(asr_module, "LOG_PROB_THRESHOLD", 1.0)

    first = transcribe_windowed(asr, clips[1], words=True)
    for other in (clips[0], clips[3], clips[2]):
        transcribe_windowed(asr, other, words=True)
    again = transcribe_windowed(asr, clips[1], words=True)

    assert again == first
    assert first.text.lower().startswith("in my last role")
    beams = [o.get("beam_size") for o in recorder.generate_options]
    assert asr_module.FALLBACK_BEAM in beams  # the fallback did run
    assert not [o for o in recorder.generate_options if o.get("sampling_temperature", 0) > 0]


def test_a_clip_failing_the_checks_in_a_batch_gets_the_single_calls_fallback(
    models: ModelRegistry, clips: list[np.ndarray], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The batch hands a clip that fails the checks to the single path, which redoes it by
    beam search: the same words as a single call under the same checks."""
    asr: WhisperASR = models.asr()
    monkeypatch.setattr(asr_module, "COMPRESSION_RATIO_THRESHOLD", 0.0)  # all "repetitive"
    single = transcribe_windowed(asr, clips[2], words=True)
    retried = asr.batch_stats.retried
    batched = asr.transcribe_batch([clips[0], clips[2]], [8, 8])
    assert asr.batch_stats.retried == retried + 2
    assert batched[1] == single
