"""The voice loop's tunables reach it from the environment."""

from __future__ import annotations

import pytest

from pipeline.voice.config import VoiceConfig
from server.runtime import voice_config
from server.settings import Settings

VARIABLES = (
    "VIVA_PATIENCE_MS",
    "VIVA_UNFINISHED_EXTRA_MS",
    "VIVA_REPAIR_WINDOW_MS",
    "VIVA_ANSWER_GRACE_S",
    "VIVA_INPUT_QUIET_MS",
    "VIVA_VAD_MIN_SPEECH_MS",
    "VIVA_BARGE_IN_MS",
    "VIVA_TTS_LEAD_MS",
    "VIVA_PARTIAL_EVERY_MS",
)


def test_the_environment_reaches_the_voice_config(monkeypatch: pytest.MonkeyPatch) -> None:
    env = {
        "VIVA_PATIENCE_MS": "2600",
        "VIVA_UNFINISHED_EXTRA_MS": "700",
        "VIVA_REPAIR_WINDOW_MS": "2500",
        "VIVA_ANSWER_GRACE_S": "45",
        "VIVA_INPUT_QUIET_MS": "8000",
        "VIVA_VAD_MIN_SPEECH_MS": "180",
        "VIVA_BARGE_IN_MS": "350",
        "VIVA_TTS_LEAD_MS": "120",
        "VIVA_PARTIAL_EVERY_MS": "900",
    }
    assert set(env) == set(VARIABLES)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    config = voice_config(Settings(_env_file=None))
    assert config.turns.patience_s == 2.6
    assert config.turns.unfinished_extra_s == 0.7
    assert config.turns.repair_window_s == 2.5
    assert config.turns.hard_limit_grace_s == 45
    assert config.turns.input_quiet_s == 8.0
    assert config.vad.min_speech_ms == 180
    assert config.vad.barge_in_ms == 350
    assert config.tts.lead_ms == 120
    assert config.asr.partial_every_ms == 900
    # What the environment does not name keeps the loop's default.
    assert config.vad.start_threshold == VoiceConfig().vad.start_threshold
    assert config.tts.chunk_ms == VoiceConfig().tts.chunk_ms


def test_without_the_environment_the_loop_defaults_hold(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)
    assert voice_config(Settings(_env_file=None)) == VoiceConfig()


def test_a_nonsense_value_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VIVA_PATIENCE_MS", "0")
    with pytest.raises(ValueError, match="VIVA_PATIENCE_MS"):
        Settings(_env_file=None)
