"""The voice loop's decisions on synthetic inputs: no models, no sockets."""

from __future__ import annotations

import math

from pipeline.voice.config import VadConfig
from pipeline.voice.detector import SpeechDetector, SpeechStarted, SpeechStopped
from pipeline.voice.endpoint import looks_unfinished

FRAME_S = 0.032


def run(detector: SpeechDetector, probabilities: list[float], agent: bool = False) -> list:
    events = []
    for i, p in enumerate(probabilities):
        event = detector.update(p, (i + 1) * FRAME_S, agent_speaking=agent)
        if event is not None:
            events.append((i, event))
    return events


def frames(ms: float) -> int:
    return math.ceil(ms / 32)


def test_silence_starts_nothing() -> None:
    assert run(SpeechDetector(VadConfig()), [0.02] * 100) == []


def test_a_cough_is_too_short_to_start_a_turn() -> None:
    cough = [0.9] * frames(192)  # < 250 ms voiced
    assert run(SpeechDetector(VadConfig()), [0.0] * 5 + cough + [0.0] * 30) == []


def test_speech_starts_at_its_onset_and_stops_at_the_last_voiced_frame() -> None:
    probs = [0.0] * 10 + [0.9] * 40 + [0.1] * 20
    events = run(SpeechDetector(VadConfig()), probs)
    (i_start, started), (i_stop, stopped) = events
    assert isinstance(started, SpeechStarted) and not started.barge_in
    assert abs(started.start_s - 10 * FRAME_S) < 1e-9  # onset, not the confirmation
    assert i_start == 10 + frames(250) - 1
    assert isinstance(stopped, SpeechStopped)
    assert abs(stopped.end_s - 50 * FRAME_S) < 1e-9
    assert i_stop == 49 + frames(160)


def test_hysteresis_keeps_a_turn_through_mid_probability_dips() -> None:
    probs = [0.9] * 10 + [0.4, 0.38, 0.45] * 10 + [0.9] * 5 + [0.0] * 10
    kinds = [type(e).__name__ for _, e in run(SpeechDetector(VadConfig()), probs)]
    assert kinds == ["SpeechStarted", "SpeechStopped"]


def test_short_pauses_do_not_stop_but_longer_ones_do() -> None:
    probs = [0.9] * 12 + [0.1] * 3 + [0.9] * 12 + [0.1] * 6
    kinds = [type(e).__name__ for _, e in run(SpeechDetector(VadConfig()), probs)]
    assert kinds == ["SpeechStarted", "SpeechStopped"]


def test_barge_in_needs_300ms_of_confident_speech_during_agent_audio() -> None:
    echo = [0.6] * 40  # leaked interviewer audio scores lower than a voice at the mic
    assert run(SpeechDetector(VadConfig()), echo, agent=True) == []
    events = run(SpeechDetector(VadConfig()), [0.95] * 20, agent=True)
    ((index, started),) = events
    assert isinstance(started, SpeechStarted) and started.barge_in
    assert index == frames(300) - 1
    assert run(SpeechDetector(VadConfig()), [0.95] * frames(256), agent=True) == []


def test_words_that_look_unfinished() -> None:
    for text in ("I led it and", "so, um", "because...", "my number is 555 12", "it was forty"):
        assert looks_unfinished(text), text
    assert not looks_unfinished("I led the migration to Postgres.")
    assert not looks_unfinished("")
    assert not looks_unfinished("That is all.")


def test_an_onset_is_pending_until_confirmed_or_broken() -> None:
    detector = SpeechDetector(VadConfig())
    run(detector, [0.9] * 20 + [0.1] * 10)  # a turn that has stopped
    assert not detector.speaking and not detector.onset_pending
    detector.update(0.9, 1.0)  # speech again, too short so far to be a start
    assert detector.onset_pending
    detector.update(0.1, 1.032)  # a click, not speech
    assert not detector.onset_pending
    for i in range(frames(250)):
        detector.update(0.9, 1.1 + i * FRAME_S)
    assert detector.speaking and not detector.onset_pending


def test_span_audio_is_the_turns_audio_between_two_times() -> None:
    import numpy as np

    from pipeline.voice.candidate import CandidateTurn

    turn = CandidateTurn(10.0)
    turn.frames = [np.arange(i * 512, (i + 1) * 512, dtype=np.float32) for i in range(50)]
    whole = np.concatenate(turn.frames)
    for start, end in [(10.0, 10.5), (10.013, 11.2), (10.9, 11.6), (11.5, 12.0), (9.0, 10.1)]:
        first = max(0, round((start - 10) * 16000))
        last = max(first, round((end - 10) * 16000))
        assert np.array_equal(turn.span_audio(start, end), whole[first:last]), (start, end)
