"""Start-up progress: a line per model (which one, how long), and a failure said with its cause."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from server.ops import startup


class _Model:
    source = "/models/x.onnx"


class _Registry:
    """The registry's five loaders; the VAD fails as a wrong `VAD_MODEL` path would."""

    def asr(self) -> Any:
        return _Model()

    def tts(self) -> Any:
        return _Model()

    def vad(self) -> Any:
        raise FileNotFoundError("VAD_MODEL=/nope.onnx: no such file")

    def speaker(self) -> Any:
        return _Model()

    def embedder(self) -> Any:
        return _Model()


def test_one_line_per_model_and_the_failure_with_its_cause(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.INFO, logger="uvicorn.error"):
        startup.load_models(_Registry())  # type: ignore[arg-type]
    lines = [r.getMessage() for r in caplog.records]
    assert lines[0] == "Loading model 1/5: speech recognition (Whisper) ..."
    assert lines[1].startswith("Model 1/5: speech recognition (Whisper) loaded in 0.0 s")
    assert lines[1].endswith("(/models/x.onnx)")
    failed = next(r for r in caplog.records if r.levelno == logging.ERROR).getMessage()
    assert failed.startswith("Model 3/5 voice activity (Silero VAD) (vad) failed after")
    assert "VAD_MODEL=/nope.onnx: no such file" in failed and "viva doctor" in failed
    assert lines[-1].startswith("Models: 4 of 5 loaded in ")
    assert lines[-1].endswith("/readyz says 503 until the rest load")
