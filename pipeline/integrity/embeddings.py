"""Speaker embeddings of overlapping windows of a voiced segment.

Resemblyzer embeds fixed 1.6 s partials; asking it for the partials of a whole segment computes
the mel spectrogram once and runs all windows in one batch, about 6 ms of CPU per window, where
embedding each window separately costs about 50 ms.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from models.speaker import SAMPLE_RATE, SpeakerEncoder

WINDOW_S = 1.6  # Resemblyzer's partial utterance: 160 mel frames of 10 ms
MIN_AUDIO_S = 0.5  # shorter audio gives an embedding too noisy to attribute
TARGET_RMS = 10 ** (-30 / 20)  # -30 dBFS, the level Resemblyzer was trained at


@dataclass(frozen=True)
class Window:
    """One embedded window on the session clock; `embedding` is L2-normalised (256,)."""

    start_s: float
    end_s: float
    embedding: np.ndarray

    @property
    def centre_s(self) -> float:
        return (self.start_s + self.end_s) / 2


def embed_windows(
    encoder: SpeakerEncoder, audio16k: np.ndarray, start_s: float, hop_s: float
) -> list[Window]:
    """Windows of `WINDOW_S` every `hop_s` over `audio16k`, which starts at `start_s`.

    Blocking (about 6 ms of CPU per window): run it off the event loop. Audio shorter than
    `MIN_AUDIO_S` gives no window.
    """
    duration = len(audio16k) / SAMPLE_RATE
    if duration < MIN_AUDIO_S:
        return []
    # Skip the first few samples so that the windows tile the segment up to its very end: a
    # last window padded with silence embeds unlike the rest of the same voice.
    skip = round(((duration - WINDOW_S) % hop_s) * SAMPLE_RATE) if duration > WINDOW_S else 0
    audio = audio16k[skip:].astype(np.float32)
    # The embedding moves with loudness; a candidate leaning back must not become someone else.
    rms = float(np.sqrt(np.mean(audio**2)))
    if rms > 0:
        audio *= TARGET_RMS / rms
    _, partials, slices = encoder.encoder.embed_utterance(
        audio,
        return_partials=True,
        rate=1.0 / hop_s,
        min_coverage=1.0,
    )
    windows = []
    for embedding, piece in zip(partials, slices, strict=True):
        begin = (skip + piece.start) / SAMPLE_RATE
        end = min((skip + piece.stop) / SAMPLE_RATE, duration)
        windows.append(Window(start_s + begin, start_s + end, np.asarray(embedding, np.float32)))
    return windows
