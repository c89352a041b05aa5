"""When a live decode is redone by beam search (`models.asr.needs_fallback`): pure logic on the
figures faster-whisper gives each segment, no model loaded."""

from __future__ import annotations

from dataclasses import dataclass

from models.asr import LOG_PROB_THRESHOLD, needs_fallback


@dataclass(frozen=True)
class Window:
    """The fields of a faster-whisper `Segment` the decision reads."""

    seek: int  # the window's start, in 10 ms frames
    avg_logprob: float
    compression_ratio: float = 1.0
    no_speech_prob: float = 0.0


SURE = LOG_PROB_THRESHOLD + 0.5
UNSURE = LOG_PROB_THRESHOLD - 0.2


def test_a_failing_window_in_the_clip_s_last_second_after_a_sure_one_is_not_redone() -> None:
    # 8 s of speech heard in one window to 7.8 s, then "Thank you." in a window of the last 0.2 s
    # and the padding (measured on a real answer: the retry cost 1 s and heard the same).
    segments = [Window(0, SURE), Window(0, SURE), Window(780, UNSURE, no_speech_prob=0.49)]
    assert not needs_fallback(segments, clip_s=8.0)
    assert needs_fallback(segments)  # without the clip's length: as before


def test_a_failing_window_with_speech_after_it_is_redone() -> None:
    segments = [Window(0, SURE), Window(500, UNSURE)]  # starts 3 s before the end
    assert needs_fallback(segments, clip_s=8.0)


def test_a_clip_heard_unsure_throughout_is_redone() -> None:
    assert needs_fallback([Window(0, UNSURE)], clip_s=1.7)
    # A short clip is all "last second": with no window that passed, it is redone.
    assert needs_fallback([Window(0, UNSURE), Window(60, UNSURE)], clip_s=0.8)


def test_a_repetitive_window_early_in_the_clip_is_redone() -> None:
    segments = [Window(0, SURE, compression_ratio=3.0), Window(780, SURE)]
    assert needs_fallback(segments, clip_s=8.0)


def test_sure_windows_are_kept() -> None:
    assert not needs_fallback([Window(0, SURE), Window(780, SURE)], clip_s=8.0)
