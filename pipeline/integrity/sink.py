"""The voice loop's `SegmentSink`, handing its audio to integrity observers off the event loop.

The loop calls a sink synchronously and expects it to return at once; the observers (speaker
attribution, recording) block. Every call goes to one worker thread, in order, so a query
submitted after a turn's segments (`submit(session.candidate_answer, ...)`) sees all of them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Protocol, TypeVar

import numpy as np
import soxr

from pipeline.voice.sink import CandidateSegment, InterviewerSpeech

log = logging.getLogger(__name__)
T = TypeVar("T")
SAMPLE_RATE = 16000


class AudioObserver(Protocol):
    def add_candidate_segment(
        self, turn: int, start_s: float, end_s: float, audio16k: np.ndarray
    ) -> None: ...

    def add_interviewer_audio(self, start_s: float, audio16k: np.ndarray) -> None: ...


class ObserverSink:
    """One per session. `close()` when the session ends, after the last `submit`."""

    def __init__(self, observers: Sequence[AudioObserver]) -> None:
        self._observers = tuple(observers)
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="integrity")

    def candidate_speech(self, segment: CandidateSegment) -> None:
        self._queue(self._candidate, segment)

    def interviewer_speech(self, speech: InterviewerSpeech) -> None:
        self._queue(self._interviewer, speech)

    def submit(self, fn: Callable[..., T], *args: object) -> Future[T]:
        """Run `fn(*args)` on the worker after everything already queued; await it with
        `asyncio.wrap_future`."""
        return self._worker.submit(fn, *args)

    def close(self, wait: bool = True) -> None:
        self._worker.shutdown(wait=wait)

    def _queue(self, fn: Callable[[T], None], item: T) -> None:
        future = self._worker.submit(fn, item)
        future.add_done_callback(_log_failure)

    def _candidate(self, segment: CandidateSegment) -> None:
        audio = np.asarray(segment.audio, dtype=np.float32)
        for observer in self._observers:
            observer.add_candidate_segment(
                segment.turn_index, segment.start_s, segment.end_s, audio
            )

    def _interviewer(self, speech: InterviewerSpeech) -> None:
        audio = np.asarray(speech.audio, dtype=np.float32)
        if speech.audio.dtype == np.int16:
            audio /= 32768.0
        if speech.sample_rate != SAMPLE_RATE:
            audio = soxr.resample(audio, speech.sample_rate, SAMPLE_RATE).astype(np.float32)
        for observer in self._observers:
            observer.add_interviewer_audio(speech.start_s, audio)


def _log_failure(future: Future[None]) -> None:
    error = future.exception()
    if error is not None:
        log.error("integrity observer failed", exc_info=error)
