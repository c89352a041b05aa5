"""Cutting a stream of samples into fixed-size frames (Silero VAD wants 512 at 16 kHz)."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np


class Framer:
    """Buffers samples and yields whole frames of `frame_samples`, in order."""

    def __init__(self, frame_samples: int) -> None:
        if frame_samples <= 0:
            raise ValueError("frame_samples must be positive")
        self.frame_samples = frame_samples
        self._pending = np.zeros(0, dtype=np.float32)

    @property
    def pending(self) -> int:
        """Samples held back until the next frame is complete."""
        return len(self._pending)

    def push(self, samples: np.ndarray) -> Iterator[np.ndarray]:
        buffer = np.concatenate([self._pending, samples.astype(np.float32, copy=False)])
        whole = len(buffer) - len(buffer) % self.frame_samples
        for start in range(0, whole, self.frame_samples):
            yield buffer[start : start + self.frame_samples]
        self._pending = buffer[whole:]
