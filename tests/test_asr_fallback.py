"""When a live decode is redone by beam search (`models.asr.needs_fallback`): pure logic on the
figures faster-whisper gives each segment, no model loaded."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from faster_whisper.transcribe import Segment, Word

from models.asr import LOG_PROB_THRESHOLD, SAMPLE_RATE, WhisperASR, needs_fallback


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
    # The same window further from the clip's end is redone.
    assert needs_fallback(segments, clip_s=10.0)


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


class ScriptedWhisper(WhisperASR):
    """`WhisperASR` whose decodes are scripted (no model): greedy hears two windows, the second
    failing Whisper's checks; the beam search hears the audio it is given as one sure segment."""

    def __init__(self) -> None:
        self.beam_audio_s: list[float] = []

    def _segments(
        self,
        audio: np.ndarray,
        prompt: str | None,
        word_timestamps: bool,
        window_s: int | None,
        beam_size: int,
        temperatures: tuple[float, ...],
    ) -> list[Segment]:
        if beam_size == 1:
            return [
                _segment(0, 0.0, "kept words", SURE),
                _segment(500, 5.0, "misheard end", UNSURE),
            ]
        self.beam_audio_s.append(len(audio) / SAMPLE_RATE)
        return [_segment(0, 0.1, "heard end", SURE)]


def _segment(seek: int, start: float, text: str, logprob: float) -> Segment:
    words = [
        Word(start=start + 0.5 * i, end=start + 0.5 * i + 0.4, word=f" {w}", probability=0.9)
        for i, w in enumerate(text.split())
    ]
    return Segment(
        id=0,
        seek=seek,
        start=start,
        end=words[-1].end,
        text=f" {text}",
        tokens=[],
        avg_logprob=logprob,
        compression_ratio=1.0,
        no_speech_prob=0.0,
        words=words,
        temperature=0.0,
    )


def test_only_the_failing_window_on_is_redone_and_keeps_the_clip_s_times() -> None:
    asr = ScriptedWhisper()
    audio = np.zeros(8 * SAMPLE_RATE, np.float32)
    transcript = asr._transcribe_locked(audio, None, True, 11)
    assert asr.beam_audio_s == [3.0]  # from the failing window's start (5 s) to the end
    assert transcript.text == "kept words heard end"
    assert [(w, round(s, 2)) for w, s, _ in transcript.words] == [
        ("kept", 0.0),
        ("words", 0.5),
        ("heard", 5.1),  # 0.1 s into the redone audio, which starts 5 s into the clip
        ("end", 5.6),
    ]
