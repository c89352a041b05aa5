"""Streaming resampling with soxr: chunk by chunk, no clicks at chunk edges."""

from __future__ import annotations

import numpy as np
import soxr


class StreamResampler:
    """Resamples consecutive float32 mono chunks of one stream; identity when rates match."""

    def __init__(self, in_rate: int, out_rate: int) -> None:
        self.in_rate = in_rate
        self.out_rate = out_rate
        self._stream = (
            None
            if in_rate == out_rate
            else soxr.ResampleStream(in_rate, out_rate, 1, dtype="float32", quality="HQ")
        )

    def push(self, chunk: np.ndarray) -> np.ndarray:
        if self._stream is None:
            return chunk.astype(np.float32, copy=False)
        return self._stream.resample_chunk(chunk.astype(np.float32, copy=False))

    def flush(self) -> np.ndarray:
        """What the filter still holds, at the end of the stream."""
        if self._stream is None:
            return np.zeros(0, dtype=np.float32)
        return self._stream.resample_chunk(np.zeros(0, dtype=np.float32), last=True)
