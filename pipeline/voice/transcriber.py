"""One shared Whisper for every session: finals first, partials only when the model is free.

All sessions of a process submit here. A single worker runs one transcription at a time on a
dedicated thread (CTranslate2 already uses every thread it was given). Under load a session's
partial is dropped when it already has one waiting or running, so finals are never delayed by
captions; a caller that stops waiting (cancelled) leaves the queue.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import math
import time
from collections import deque
from collections.abc import Hashable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np

from models.asr import SAMPLE_RATE, Transcript, WhisperASR

# Whisper encodes a fixed 30 s window by default whatever the clip length; a window a little
# longer than the clip costs a fraction of that with the same words on short answers.
MIN_WINDOW_S = 8
MAX_WINDOW_S = 30
# Silence the window keeps after the clip: with only ~1 s the decoder does not see the speech
# end and sometimes repeats itself or adds "Thanks." (then falls back to sampling: seconds).
WINDOW_PAD_S = 3.0


def window_for(samples: int) -> int:
    return max(MIN_WINDOW_S, min(MAX_WINDOW_S, math.ceil(samples / SAMPLE_RATE + WINDOW_PAD_S)))


def transcribe_windowed(asr: WhisperASR, audio: np.ndarray, *, words: bool) -> Transcript:
    """Transcribe with an encoder window sized to the clip. Blocking."""
    return asr.transcribe(audio, word_timestamps=words, window_s=window_for(len(audio)))


@dataclass
class _Job:
    owner: Hashable
    audio: np.ndarray
    final: bool
    future: asyncio.Future[Transcript]
    queued_at: float = field(default_factory=time.perf_counter)


@dataclass
class SchedulerStats:
    finals: int = 0
    partials: int = 0
    partials_skipped: int = 0
    audio_s: float = 0.0
    busy_s: float = 0.0
    final_wait_s: float = 0.0  # queued -> started, summed over finals
    longest_call_s: float = 0.0  # the longest clip transcribed in one call

    @property
    def real_time_factor(self) -> float:
        return self.busy_s / self.audio_s if self.audio_s else 0.0


class TranscriptionScheduler:
    def __init__(self, asr: WhisperASR) -> None:
        self.asr = asr
        self.stats = SchedulerStats()
        self._finals: deque[_Job] = deque()
        self._partials: dict[Hashable, _Job] = {}
        self._running_partial: Hashable | None = None
        self._wake = asyncio.Event()
        self._worker: asyncio.Task[None] | None = None
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="asr")

    async def final(self, owner: Hashable, audio: np.ndarray) -> Transcript:
        """The transcript with word times (relative to the clip). Queued ahead of partials."""
        job = self._submit(owner, audio, final=True)
        return await job.future

    async def partial(self, owner: Hashable, audio: np.ndarray) -> Transcript | None:
        """A hypothesis with word times, or None when skipped because this owner has one in
        flight."""
        if owner in self._partials or self._running_partial == owner:
            self.stats.partials_skipped += 1
            return None
        job = self._submit(owner, audio, final=False)
        return await job.future

    @property
    def queued(self) -> int:
        return len(self._finals) + len(self._partials)

    def busy(self, owner: Hashable) -> bool:
        return owner in self._partials or self._running_partial == owner

    async def close(self) -> None:
        if self._worker is not None:
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker
        self._thread.shutdown(wait=False, cancel_futures=True)

    def _submit(self, owner: Hashable, audio: np.ndarray, *, final: bool) -> _Job:
        job = _Job(owner, audio, final, asyncio.get_running_loop().create_future())
        if final:
            self._finals.append(job)
        else:
            self._partials[owner] = job
        if self._worker is None or self._worker.done():
            self._worker = asyncio.get_running_loop().create_task(self._run())
        self._wake.set()
        return job

    def _next(self) -> _Job | None:
        while self._finals:
            job = self._finals.popleft()
            if not job.future.done():
                return job
        while self._partials:
            owner = next(iter(self._partials))
            job = self._partials.pop(owner)
            if not job.future.done():
                return job
        return None

    def _transcribe(self, job: _Job) -> Transcript:
        return transcribe_windowed(self.asr, job.audio, words=True)

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            job = self._next()
            if job is None:
                self._wake.clear()
                await self._wake.wait()
                continue
            if not job.final:
                self._running_partial = job.owner
            started = time.perf_counter()
            if job.final:
                self.stats.final_wait_s += started - job.queued_at
            try:
                result = await loop.run_in_executor(
                    self._thread, functools.partial(self._transcribe, job)
                )
            except Exception as exc:  # handed to the waiting session, the worker lives on
                if not job.future.done():
                    job.future.set_exception(exc)
                continue
            finally:
                self._running_partial = None
            self.stats.busy_s += time.perf_counter() - started
            self.stats.audio_s += len(job.audio) / SAMPLE_RATE
            self.stats.longest_call_s = max(self.stats.longest_call_s, len(job.audio) / SAMPLE_RATE)
            if job.final:
                self.stats.finals += 1
            else:
                self.stats.partials += 1
            if not job.future.done():
                job.future.set_result(result)
