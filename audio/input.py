"""The input stage: client PCM at any accepted rate -> 16 kHz float32 frames for the VAD."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from audio.framing import Framer
from audio.pcm import decode_s16le
from audio.resample import StreamResampler

ACCEPTED_RATES = (8000, 16000, 24000, 44100, 48000)
PIPELINE_RATE = 16000


class UnsupportedRate(ValueError):
    pass


class AudioInput:
    """Decodes s16le, resamples to 16 kHz and cuts `frame_samples` frames; keeps stream state."""

    def __init__(self, in_rate: int, frame_samples: int = 512) -> None:
        if in_rate not in ACCEPTED_RATES:
            raise UnsupportedRate(f"sample rate {in_rate} is not one of {ACCEPTED_RATES}")
        self.in_rate = in_rate
        self._resampler = StreamResampler(in_rate, PIPELINE_RATE)
        self._framer = Framer(frame_samples)

    def push(self, pcm: bytes) -> Iterator[np.ndarray]:
        return self._framer.push(self._resampler.push(decode_s16le(pcm)))
