"""G.711 μ-law: 16-bit linear PCM <-> 8-bit μ-law, as telephone networks carry voice.

The classic algorithm (bias 132, clip at 32635, 8 segments of 16 steps, bits inverted), computed
once into lookup tables: encoding is one table read per sample, for any int16 value.
"""

from __future__ import annotations

import numpy as np

BIAS = 0x84
CLIP = 32635
SILENCE = 0xFF  # μ-law of 0


def _encode_table() -> np.ndarray:
    # As the reference implementation (Sun's g711.c): on the top 14 bits, so a negative sample
    # rounds towards minus infinity before its magnitude is taken.
    pcm = np.arange(-32768, 32768, dtype=np.int32) >> 2
    mask = np.where(pcm < 0, 0x7F, 0xFF)
    magnitude = np.minimum(np.abs(pcm), CLIP >> 2) + (BIAS >> 2)  # 33 .. 8191
    segment = np.floor(np.log2(magnitude)).astype(np.int32) - 5  # highest bit above bit 5
    mantissa = (magnitude >> (segment + 1)) & 0x0F
    table = ((segment << 4) | mantissa) ^ mask
    # Index by the sample's bits read as uint16: 0..32767 then -32768..-1.
    return np.roll(table.astype(np.uint8), -32768)


def _decode_table() -> np.ndarray:
    code = ~np.arange(256, dtype=np.int32) & 0xFF
    sign = code & 0x80
    exponent = (code >> 4) & 0x07
    mantissa = code & 0x0F
    magnitude = (((mantissa << 3) + BIAS) << exponent) - BIAS
    return np.where(sign != 0, -magnitude, magnitude).astype(np.int16)


_ENCODE = _encode_table()
_DECODE = _decode_table()


def encode(samples: np.ndarray) -> bytes:
    """int16 samples (float32 in [-1, 1] is scaled and clipped first) to μ-law bytes."""
    if samples.dtype != np.int16:
        scaled = np.clip(samples.astype(np.float32), -1.0, 32767 / 32768) * 32768.0
        samples = np.round(scaled).astype(np.int16)
    return bytes(_ENCODE[samples.view(np.uint16)])


def decode(data: bytes) -> np.ndarray:
    """μ-law bytes to int16 samples."""
    return _DECODE[np.frombuffer(data, dtype=np.uint8)]
