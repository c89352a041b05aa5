"""Raw PCM signed 16-bit little-endian mono <-> float32 samples."""

from __future__ import annotations

import numpy as np

BYTES_PER_SAMPLE = 2


class PcmFormatError(ValueError):
    """Bytes that are not whole s16le samples."""


def decode_s16le(data: bytes) -> np.ndarray:
    """s16le bytes to float32 in [-1, 1)."""
    if len(data) % BYTES_PER_SAMPLE:
        raise PcmFormatError(f"{len(data)} bytes is not a whole number of 16-bit samples")
    return np.frombuffer(data, dtype="<i2").astype(np.float32) / 32768.0


def encode_s16le(samples: np.ndarray) -> bytes:
    """float32 in [-1, 1] (or int16) to s16le bytes; float input is clipped, not wrapped."""
    if samples.dtype == np.int16:
        return samples.astype("<i2", copy=False).tobytes()
    scaled = np.clip(samples, -1.0, 32767 / 32768) * 32768.0
    return np.round(scaled).astype("<i2").tobytes()


def duration_s(byte_count: int, sample_rate: int) -> float:
    return byte_count / BYTES_PER_SAMPLE / sample_rate
