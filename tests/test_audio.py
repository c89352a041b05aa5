from __future__ import annotations

import numpy as np
import pytest

from audio.framing import Framer
from audio.input import AudioInput, UnsupportedRate
from audio.pcm import PcmFormatError, decode_s16le, encode_s16le
from audio.resample import StreamResampler


def tone(rate: int, seconds: float, hz: float = 440.0) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    return (0.5 * np.sin(2 * np.pi * hz * t)).astype(np.float32)


def test_pcm_round_trip_and_clipping() -> None:
    samples = np.array([0.0, 0.5, -0.5, -1.0, 0.99997], dtype=np.float32)
    assert np.allclose(decode_s16le(encode_s16le(samples)), samples, atol=1 / 32768)
    assert decode_s16le(encode_s16le(np.array([2.0, -2.0], np.float32))).tolist() == [
        32767 / 32768,
        -1.0,
    ]
    with pytest.raises(PcmFormatError):
        decode_s16le(b"\x00\x01\x02")


@pytest.mark.parametrize("rate", [8000, 24000, 44100, 48000])
def test_streaming_resampler_matches_length_and_pitch(rate: int) -> None:
    source = tone(rate, 1.0)
    resampler = StreamResampler(rate, 16000)
    chunks = [resampler.push(source[i : i + rate // 50]) for i in range(0, len(source), rate // 50)]
    out = np.concatenate([*chunks, resampler.flush()])
    assert abs(len(out) - 16000) <= 2
    spectrum = np.abs(np.fft.rfft(out[2000:14000]))
    peak_hz = np.argmax(spectrum) * 16000 / 12000
    assert abs(peak_hz - 440) < 3


def test_framer_cuts_whole_frames_and_keeps_the_rest() -> None:
    framer = Framer(512)
    frames = list(framer.push(np.arange(1000, dtype=np.float32)))
    assert [len(f) for f in frames] == [512] and framer.pending == 488
    frames = list(framer.push(np.arange(1000, 1100, dtype=np.float32)))
    assert frames[0][0] == 512 and frames[0][-1] == 1023 and framer.pending == 76


def test_audio_input_turns_48k_pcm_into_16k_frames() -> None:
    stage = AudioInput(48000)
    pcm = encode_s16le(tone(48000, 0.5))
    frames = [f for i in range(0, len(pcm), 1920) for f in stage.push(pcm[i : i + 1920])]
    assert all(f.shape == (512,) and f.dtype == np.float32 for f in frames)
    assert 13 <= len(frames) <= 16  # 0.5 s at 16 kHz is 15.6 frames, less the filter delay
    with pytest.raises(UnsupportedRate):
        AudioInput(11025)
