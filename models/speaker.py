"""Speaker embeddings with Resemblyzer's GE2E encoder (256-d, L2-normalised)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from models.errors import ModelNotFoundError

SETTING = "SPEAKER_ENCODER"
PACKAGE = "resemblyzer"
SAMPLE_RATE = 16000


class SpeakerEncoder:
    def __init__(self, source: str = "") -> None:
        if source and not Path(source).is_file():
            raise ModelNotFoundError(
                SETTING, PACKAGE, f"speaker encoder weights {source!r} not found"
            )
        try:
            import torch
            from resemblyzer import VoiceEncoder
        except ImportError as exc:
            raise ModelNotFoundError(
                SETTING, PACKAGE, f"resemblyzer cannot be imported: {exc}"
            ) from exc
        torch.set_num_threads(1)
        try:
            self.encoder = VoiceEncoder("cpu", verbose=False, weights_fpath=source or None)
        except Exception as exc:
            raise ModelNotFoundError(
                SETTING,
                PACKAGE,
                f"speaker encoder {source or 'default'!r} could not be loaded: {exc}",
            ) from exc
        self.source = source or "resemblyzer/pretrained.pt"

    def embed(self, audio: np.ndarray) -> np.ndarray:
        """Embedding of 16 kHz float32 speech (at least ~0.5 s). Blocking."""
        return np.asarray(self.encoder.embed_utterance(audio.astype(np.float32, copy=False)))
