"""The session clock's audio timeline and its mapping to wall time, and the VAD's soft tail."""

from __future__ import annotations

import pytest

from pipeline.voice.clock import SessionClock
from pipeline.voice.config import FRAME_MS, VadConfig
from pipeline.voice.detector import SpeechDetector

FRAME = 0.02  # a client's 20 ms frame


class Wall:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def send(clock: SessionClock, wall: Wall, seconds: float, *, at: float | None = None) -> None:
    """Frames captured in real time from now for `seconds`, each arriving as captured (or all
    at `at`: held back, then a burst)."""
    if at is not None:
        wall.t = at
    for _ in range(round(seconds / FRAME)):
        if at is None:
            wall.t += FRAME
        clock.audio_arrived(FRAME)


def test_a_gap_in_the_input_adds_no_audio_and_maps_each_side_to_its_own_capture() -> None:
    wall = Wall()
    clock = SessionClock(0.0, wall=wall)
    send(clock, wall, 2.0)  # captured 100-102
    wall.t += 5.0  # the client is muted while the interviewer speaks
    send(clock, wall, 1.0)  # captured 107-108
    assert clock.received_s == pytest.approx(3.0)  # the gap is not audio
    assert clock.wall_of(1.0) == pytest.approx(101.0)
    assert clock.wall_of(2.5) == pytest.approx(107.5)
    assert clock.session_of(2.5) == pytest.approx(7.5)


def test_a_burst_after_a_stall_maps_the_late_audio_to_when_it_was_said() -> None:
    wall = Wall()
    clock = SessionClock(0.0, wall=wall)
    send(clock, wall, 2.0)  # captured 100-102, on time
    send(clock, wall, 3.0, at=105.0)  # captured 102-105, held back, arriving at 105 at once
    send(clock, wall, 1.0)  # on time again
    assert clock.wall_of(3.0) == pytest.approx(103.0, abs=0.03)
    assert clock.wall_of(5.5) == pytest.approx(105.5, abs=0.03)


def test_jitter_is_not_a_gap() -> None:
    wall = Wall()
    clock = SessionClock(0.0, wall=wall)
    send(clock, wall, 1.0)
    wall.t += 0.3  # one frame late by 300 ms, then the rest catch up
    clock.audio_arrived(FRAME)
    wall.t -= 0.3 - FRAME
    send(clock, wall, 1.0)
    assert clock.wall_of(1.5) == pytest.approx(101.5, abs=0.03)


def test_the_end_of_speech_keeps_a_soft_trailing_syllable() -> None:
    detector = SpeechDetector(VadConfig())
    frame = FRAME_MS / 1000
    t = 0.0
    # A word, a soft tail (heard below the stop threshold), then silence.
    for p in [0.9] * 10 + [0.25] * 5 + [0.02] * 10:
        t += frame
        detector.update(p, t)
    assert detector.last_voiced_end_s == pytest.approx(10 * frame)
    assert detector.speech_end_s == pytest.approx(15 * frame)


def test_the_tail_is_bounded() -> None:
    """A room at 0.2 for ever does not keep a turn open: the tail stops `tail_max_ms` on."""
    config = VadConfig()
    detector = SpeechDetector(config)
    frame = FRAME_MS / 1000
    t = 0.0
    for p in [0.9] * 10 + [0.2] * 60:
        t += frame
        detector.update(p, t)
    tail = detector.speech_end_s - detector.last_voiced_end_s
    assert config.tail_max_ms / 1000 - frame < tail <= config.tail_max_ms / 1000 + 1e-9


def test_small_drops_do_not_add_up() -> None:
    """A client dropping 20 ms of audio every second (a glitching audio callback): gaps too
    small to see one by one, 0.6 s after half a minute unless the anchor follows them."""
    wall = Wall()
    clock = SessionClock(0.0, wall=wall)
    for _ in range(30):
        send(clock, wall, 0.98)
        wall.t += FRAME  # captured, dropped
    send(clock, wall, 1.0)
    # The last second's audio (received 29.4-30.4 s) was captured 130-131 s (wall).
    assert clock.wall_of(clock.received_s - 0.5) == pytest.approx(wall.t - 0.5, abs=0.15)
