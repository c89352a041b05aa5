"""G.711 μ-law and the telephone resampling chain (audio/mulaw.py, audio/telephone.py)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from audio import mulaw
from audio.telephone import FRAME_BYTES, TelephoneEncoder, from_telephone, to_telephone

ALL_INT16 = np.arange(-32768, 32768, dtype=np.int16)


def tone(rate: int, seconds: float, hz: float, level: float = 0.5) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    return (level * np.sin(2 * np.pi * hz * t)).astype(np.float32)


def rms_db(samples: np.ndarray) -> float:
    x = samples.astype(np.float64)
    return float(20 * np.log10(np.sqrt(np.mean(x * x)) + 1e-12))


def peak_hz(samples: np.ndarray, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(samples.astype(np.float64) * np.hanning(len(samples))))
    return float(np.argmax(spectrum) * rate / len(samples))


def test_mulaw_known_codes() -> None:
    encoded = mulaw.encode(np.array([0, -1, 32767, -32768, 100, -100], dtype=np.int16))
    assert list(encoded) == [0xFF, 0x7E, 0x80, 0x00, 0xF2, 0x72]
    assert mulaw.decode(bytes([0xFF, 0x7F, 0x80, 0x00])).tolist() == [0, 0, 32124, -32124]
    assert mulaw.SILENCE == 0xFF


def test_mulaw_matches_the_reference_codec_for_every_sample() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        audioop = pytest.importorskip("audioop")  # CPython's G.711 (3.11; gone in 3.13)
    assert mulaw.encode(ALL_INT16) == audioop.lin2ulaw(ALL_INT16.tobytes(), 2)
    codes = bytes(range(256))
    assert mulaw.decode(codes).tobytes() == audioop.ulaw2lin(codes, 2)


def test_mulaw_round_trip_error_is_relative() -> None:
    back = mulaw.decode(mulaw.encode(ALL_INT16)).astype(np.int32)
    error = np.abs(back - ALL_INT16.astype(np.int32))
    magnitude = np.abs(ALL_INT16.astype(np.int32))
    # Steps double per segment (8 near zero, 1024 near full scale): the error stays under a
    # tenth of the sample (a few units near zero); past the clip level it is the clip.
    kept = magnitude < 32124
    assert np.all(error[kept] <= np.maximum(8, magnitude[kept] / 10))
    # Every code decodes to a value that encodes back to the same code.
    codes = bytes(range(256))
    again = mulaw.encode(mulaw.decode(codes))
    assert all(a == b or {a, b} == {0x7F, 0xFF} for a, b in zip(again, codes, strict=True))


def test_float_input_is_scaled_and_clipped() -> None:
    encoded = mulaw.encode(np.array([0.0, 2.0, -2.0], dtype=np.float32))
    assert list(encoded) == [0xFF, 0x80, 0x00]


def test_mulaw_speech_level_snr() -> None:
    """μ-law keeps over 30 dB of SNR from full scale down to -40 dBFS (16-bit linear would
    lose 40 dB of it there: the point of the log scale)."""
    for level in (0.5, 0.05, 0.01):
        x = tone(8000, 1.0, 440, level)
        pcm = np.round(x * 32767).astype(np.int16)
        back = mulaw.decode(mulaw.encode(pcm))
        noise = back.astype(np.float64) - pcm
        assert rms_db(pcm) - rms_db(noise) > 30


@pytest.mark.parametrize("rate", [22050, 16000, 8000])
def test_encoder_gives_20ms_frames_at_8khz_keeping_the_pitch(rate: int) -> None:
    source = tone(rate, 1.0, 1000)
    encoder = TelephoneEncoder(rate)
    step = rate // 10  # the voice loop sends 100 ms chunks
    frames = [f for i in range(0, len(source), step) for f in encoder.push(source[i : i + step])]
    frames += encoder.flush()
    assert all(len(f) == FRAME_BYTES for f in frames)
    audio = from_telephone(b"".join(frames))
    assert abs(len(audio) - 8000) <= FRAME_BYTES
    assert abs(peak_hz(audio[800:7200], 8000) - 1000) < 5
    # Level kept in the pass band (within 1 dB of the source's).
    assert abs(rms_db(audio[800:7200] / 32768) - rms_db(source)) < 1.0


def test_encoder_int16_input_and_chunking_do_not_matter() -> None:
    source = tone(22050, 0.5, 700, 0.3)
    one_shot = to_telephone(source, 22050)
    encoder = TelephoneEncoder(22050)
    as_int16 = np.round(source * 32767).astype(np.int16)
    chunked = b"".join(
        [f for i in range(0, len(as_int16), 441) for f in encoder.push(as_int16[i : i + 441])]
        + encoder.flush()
    )
    assert len(chunked) == len(one_shot)
    difference = from_telephone(chunked).astype(np.int32) - from_telephone(one_shot)
    assert np.percentile(np.abs(difference), 99) <= 64  # a μ-law step or so


def test_gentle_lowpass_and_no_aliasing() -> None:
    """3.4 kHz Butterworth (2nd order) then soxr: the band is kept, the top of it softened, and
    nothing above 4 kHz folds back into the call."""
    level = {
        hz: rms_db(from_telephone(to_telephone(tone(22050, 1.0, hz), 22050))[800:7200] / 32768)
        for hz in (300, 1000, 3000, 3800, 6000, 9000)
    }
    reference = rms_db(tone(22050, 1.0, 1000))
    assert abs(level[300] - reference) < 1 and abs(level[1000] - reference) < 1
    assert -5 < level[3000] - reference < -0.5  # gentle: a few dB down below the corner
    assert level[3800] - reference < -5
    assert level[6000] - reference < -45 and level[9000] - reference < -45  # aliases gone


def test_reset_drops_held_audio() -> None:
    encoder = TelephoneEncoder(22050)
    assert encoder.push(tone(22050, 0.005, 440)) == []  # less than one frame: held
    encoder.reset()
    assert encoder.flush() == []
