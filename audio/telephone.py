"""Audio for a telephone line: 8 kHz μ-law in 20 ms frames, both ways.

Out (the interviewer's voice, Piper's 22 050 Hz int16): a gentle low-pass at the top of the
telephone band (a 2nd-order Butterworth at 3.4 kHz: soft, no ringing), then soxr down to 8 kHz
(its own steep anti-alias filter stops at 4 kHz), then μ-law, cut into 160-byte frames.
The low-pass takes off the energy just under 4 kHz that soxr keeps and μ-law's coarse steps
make harsh on a phone speaker.

In (the caller): μ-law bytes to int16 at 8 kHz; the voice loop's input stage resamples to 16 kHz.
"""

from __future__ import annotations

import numpy as np
from scipy import signal

from audio import mulaw
from audio.resample import StreamResampler

RATE = 8000
FRAME_MS = 20
FRAME_BYTES = RATE * FRAME_MS // 1000  # one μ-law byte per sample: 160
LOWPASS_HZ = 3400.0
LOWPASS_ORDER = 2


class LowPass:
    """A streaming Butterworth low-pass (state kept across chunks)."""

    def __init__(self, rate: int, cutoff_hz: float = LOWPASS_HZ, order: int = LOWPASS_ORDER):
        self._sos = signal.butter(order, cutoff_hz, btype="low", fs=rate, output="sos")
        self._state = np.zeros((self._sos.shape[0], 2))

    def push(self, samples: np.ndarray) -> np.ndarray:
        if not len(samples):
            return samples.astype(np.float32, copy=False)
        out, self._state = signal.sosfilt(self._sos, samples, zi=self._state)
        return np.asarray(out, dtype=np.float32)


def _as_float(samples: np.ndarray) -> np.ndarray:
    if samples.dtype == np.int16:
        return samples.astype(np.float32) / 32768.0
    return samples.astype(np.float32, copy=False)


class TelephoneEncoder:
    """One stream of audio at `in_rate` to 8 kHz μ-law frames of 20 ms.

    `push` returns the whole frames ready so far; `flush` ends the utterance (the filters'
    tails, the last frame padded with silence); `reset` drops everything held (a barge-in)."""

    def __init__(self, in_rate: int) -> None:
        self.in_rate = in_rate
        self.reset()

    def reset(self) -> None:
        self._lowpass = LowPass(self.in_rate)
        self._resampler = StreamResampler(self.in_rate, RATE)
        self._pending = b""

    def push(self, samples: np.ndarray) -> list[bytes]:
        narrow = self._resampler.push(self._lowpass.push(_as_float(samples)))
        return self._frames(mulaw.encode(narrow))

    def flush(self) -> list[bytes]:
        tail = mulaw.encode(self._resampler.flush())
        frames = self._frames(tail)
        if self._pending:
            frames.append(
                self._pending + bytes([mulaw.SILENCE]) * (FRAME_BYTES - len(self._pending))
            )
        self.reset()
        return frames

    def _frames(self, data: bytes) -> list[bytes]:
        data = self._pending + data
        whole = len(data) - len(data) % FRAME_BYTES
        self._pending = data[whole:]
        return [data[i : i + FRAME_BYTES] for i in range(0, whole, FRAME_BYTES)]


def to_telephone(samples: np.ndarray, rate: int) -> bytes:
    """A whole clip (float32 or int16 at `rate`) as 8 kHz μ-law, through the same chain as the
    interviewer's voice: what a caller's audio looks like once it crossed the phone network."""
    encoder = TelephoneEncoder(rate)
    return b"".join([*encoder.push(samples), *encoder.flush()])


def from_telephone(data: bytes) -> np.ndarray:
    """8 kHz μ-law to int16 at 8 kHz."""
    return mulaw.decode(data)
