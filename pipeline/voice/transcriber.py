"""One shared Whisper for every session: finals first and batched, partials only when free.

All sessions of a process submit here. A single worker runs one model call at a time on a dedicated
thread (CTranslate2 already uses every thread it was given). Three kinds of work, in this order:
urgent finals (a turn that has ended: somebody waits for the reply), tentative finals (a pass over
the audio up to a pause: the answer may go on, and the pass is not wasted if it does, see the voice
loop; `promote` makes one urgent when the turn ends while it waits), then partials. The finals of
one encoder window waiting together (several sessions ending at once, or queued behind a running
call) are decoded in ONE CTranslate2 call (`WhisperASR.transcribe_batch`), each caller getting its
own words; a final that would run alone waits at most `gather_s` (a few ms) for company. Partials
run one at a time, only when no final waits and only with headroom: while Whisper was busy more
than `partial_duty` of the last few seconds, partials wait (so under load they thin out, evenly
between sessions, and leave the CPU to finals, the VAD, the speaker checks and the voice); a
session's partial is dropped when it already has one waiting or running. A caller that stops
waiting (cancelled) leaves the queue; one cancelled while its batch runs leaves the others their
results.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import math
import time
from collections import deque
from collections.abc import Hashable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np

from models.asr import SAMPLE_RATE, Transcript, WhisperASR

log = logging.getLogger(__name__)

# Whisper encodes a fixed 30 s window by default whatever the clip length; a window a little
# longer than the clip costs a fraction of that with the same words on short answers.
MIN_WINDOW_S = 8
MAX_WINDOW_S = 30
# Silence the window keeps after the clip: with only ~1 s the decoder does not see the speech
# end and sometimes repeats itself or adds "Thanks." (then falls back to sampling: seconds).
WINDOW_PAD_S = 3.0
# Finals decoded in one call at most (WhisperLive's batch_inference gathers up to 8).
MAX_BATCH = 8
# How long a final that would run alone waits for others to join its batch. Finals that queued
# up behind a running call never wait: they are batched as they are.
GATHER_S = 0.004
# A batch holds only finals of the same encoder window. Padded to a larger window a clip costs
# more (measured: 8 mixed 3-8 s finals padded to the largest window, 18 % MORE CPU than one call
# each) and may come out slightly different (a word's spelling), and the same answer must be
# heard the same whoever else is talking (issue 15's fairness test); with equal windows a batch
# gives each clip exactly its single call's words and word times, to the bit (each clip is
# aligned alone, and a retry is a beam search, never a sample: issue 28, see
# tests/test_asr_same_words.py), so which finals happen to wait together changes nothing stored.
# Partials run only while Whisper was busy less than this share of the last DUTY_WINDOW_S: on
# 2 cores Whisper's two threads take both, and captions must not starve everything else.
PARTIAL_DUTY = 0.6
DUTY_WINDOW_S = 3.0
PARTIAL_POLL_S = 0.05


def window_for(samples: int) -> int:
    return max(MIN_WINDOW_S, min(MAX_WINDOW_S, math.ceil(samples / SAMPLE_RATE + WINDOW_PAD_S)))


def transcribe_windowed(
    asr: WhisperASR, audio: np.ndarray, *, words: bool, retry: bool = True
) -> Transcript:
    """Transcribe with an encoder window sized to the clip. Blocking."""
    return asr.transcribe(
        audio, word_timestamps=words, window_s=window_for(len(audio)), retry=retry
    )


def transcribe_finals(asr: WhisperASR, clips: list[np.ndarray]) -> list[Transcript | Exception]:
    """Each clip's words with times, several clips in one model call. Blocking. A failing batch
    is retried clip by clip, so one bad clip fails only its own caller."""
    if len(clips) > 1:
        try:
            return list(asr.transcribe_batch(clips, [window_for(len(c)) for c in clips]))
        except Exception:
            log.exception("batched transcription failed; transcribing each clip alone")
    results: list[Transcript | Exception] = []
    for clip in clips:
        try:
            results.append(transcribe_windowed(asr, clip, words=True))
        except Exception as exc:
            results.append(exc)
    return results


# Compared by identity: the queues remove a job with `deque.remove`, which compares it with every
# job before it, and a generated `__eq__` compares the audio arrays (a ValueError that killed the
# worker, so every later final of every session waited forever: seen under load, when one
# session's later segment joined a batch past its earlier one of another window).
@dataclass(eq=False)
class _Job:
    owner: Hashable
    audio: np.ndarray
    final: bool
    future: asyncio.Future[Transcript]
    urgent: bool = True
    queued_at: float = field(default_factory=time.perf_counter)

    @property
    def window_s(self) -> int:
        return window_for(len(self.audio))


@dataclass
class SchedulerStats:
    finals: int = 0
    partials: int = 0
    partials_skipped: int = 0
    audio_s: float = 0.0
    busy_s: float = 0.0
    final_wait_s: float = 0.0  # queued -> started, summed over finals
    longest_call_s: float = 0.0  # the longest clip transcribed in one call
    final_calls: int = 0  # model calls that ran finals (a batch is one)
    batches: int = 0  # of those, the ones that ran two finals or more
    batched_finals: int = 0  # finals that ran in such a batch
    largest_batch: int = 0

    @property
    def real_time_factor(self) -> float:
        return self.busy_s / self.audio_s if self.audio_s else 0.0


class TranscriptionScheduler:
    def __init__(
        self,
        asr: WhisperASR,
        *,
        max_batch: int = MAX_BATCH,
        gather_s: float = GATHER_S,
        partial_duty: float = PARTIAL_DUTY,
    ) -> None:
        self.asr = asr
        self.partial_duty = partial_duty
        self._busy_spans: deque[tuple[float, float]] = deque()  # (start, end) perf_counter
        self.max_batch = max(1, max_batch)
        self.gather_s = gather_s
        self.stats = SchedulerStats()
        self._finals: deque[_Job] = deque()  # urgent
        self._tentative: deque[_Job] = deque()
        self._partials: dict[Hashable, _Job] = {}
        self._running_partial: Hashable | None = None
        self._wake = asyncio.Event()
        self._worker: asyncio.Task[None] | None = None
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="asr")

    async def final(self, owner: Hashable, audio: np.ndarray, *, urgent: bool = True) -> Transcript:
        """The transcript with word times (relative to the clip). Queued ahead of partials, and
        decoded together with the other finals waiting; a tentative one (`urgent=False`) after
        every urgent one."""
        job = self._submit(owner, audio, final=True, urgent=urgent)
        return await job.future

    def promote(self, owner: Hashable) -> None:
        """The owner's tentative finals still waiting become urgent: its turn has ended."""
        for job in [job for job in self._tentative if job.owner == owner]:
            self._tentative.remove(job)
            job.urgent = True
            self._finals.append(job)
        self._wake.set()

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
        return len(self._finals) + len(self._tentative) + len(self._partials)

    def busy(self, owner: Hashable) -> bool:
        return owner in self._partials or self._running_partial == owner

    async def close(self) -> None:
        if self._worker is not None:
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker
        self._thread.shutdown(wait=False, cancel_futures=True)

    def _submit(
        self, owner: Hashable, audio: np.ndarray, *, final: bool, urgent: bool = True
    ) -> _Job:
        job = _Job(owner, audio, final, asyncio.get_running_loop().create_future(), urgent)
        if final:
            (self._finals if urgent else self._tentative).append(job)
        else:
            self._partials[owner] = job
        job.future.add_done_callback(lambda _: self._leave(job))
        if self._worker is None or self._worker.done():
            self._worker = asyncio.get_running_loop().create_task(self._run())
        self._wake.set()
        return job

    def _leave(self, job: _Job) -> None:
        """A caller that stopped waiting (or was answered) is out of the queue."""
        if job.final:
            with contextlib.suppress(ValueError):
                (self._finals if job.urgent else self._tentative).remove(job)
        elif self._partials.get(job.owner) is job:
            del self._partials[job.owner]

    def duty(self, now: float | None = None) -> float:
        """The share of the last DUTY_WINDOW_S Whisper spent transcribing."""
        now = time.perf_counter() if now is None else now
        horizon = now - DUTY_WINDOW_S
        while self._busy_spans and self._busy_spans[0][1] <= horizon:
            self._busy_spans.popleft()
        busy = sum(end - max(start, horizon) for start, end in self._busy_spans)
        return busy / DUTY_WINDOW_S

    def _next(self) -> _Job | None:
        for queue in (self._finals, self._tentative):
            while queue:
                job = queue.popleft()
                if not job.future.done():
                    return job
        if self._partials and self.duty() >= self.partial_duty:
            return None  # no headroom: the partials wait (the worker polls)
        while self._partials:
            owner = next(iter(self._partials))
            job = self._partials.pop(owner)
            if not job.future.done():
                return job
        return None

    def _join(self, batch: list[_Job]) -> None:
        """Move the waiting finals of the batch's window (urgent first, oldest first) into it."""
        window = batch[0].window_s
        for queue in (self._finals, self._tentative):
            for job in list(queue):
                if len(batch) >= self.max_batch:
                    return
                if not job.future.done() and job.window_s == window:
                    queue.remove(job)
                    batch.append(job)

    async def _gather(self, first: _Job) -> list[_Job]:
        batch = [first]
        self._join(batch)
        if len(batch) == 1 and len(batch) < self.max_batch and self.gather_s > 0:
            # Alone: a moment for the finals of sessions ending at the same time.
            deadline = time.perf_counter() + self.gather_s
            while len(batch) < self.max_batch and (left := deadline - time.perf_counter()) > 0:
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), left)
                self._join(batch)
        return [job for job in batch if not job.future.done()]

    async def _run(self) -> None:
        while True:
            job = self._next()
            if job is None:
                self._wake.clear()
                waiting = PARTIAL_POLL_S if self._partials else None
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), waiting)
                continue
            if job.final:
                batch = await self._gather(job)
                if batch:
                    await self._run_finals(batch)
            else:
                await self._run_partial(job)

    async def _run_finals(self, batch: list[_Job]) -> None:
        loop = asyncio.get_running_loop()
        started = time.perf_counter()
        clips = [job.audio for job in batch]
        for job in batch:
            self.stats.final_wait_s += started - job.queued_at
        try:
            results = await loop.run_in_executor(
                self._thread, functools.partial(transcribe_finals, self.asr, clips)
            )
        except Exception as exc:  # handed to the waiting sessions, the worker lives on
            results = [exc] * len(batch)
        self._account(clips, started)
        self.stats.finals += len(batch)
        self.stats.final_calls += 1
        if len(batch) > 1:
            self.stats.batches += 1
            self.stats.batched_finals += len(batch)
        self.stats.largest_batch = max(self.stats.largest_batch, len(batch))
        for job, result in zip(batch, results, strict=True):
            if job.future.done():
                continue  # its caller stopped waiting
            if isinstance(result, Exception):
                job.future.set_exception(result)
            else:
                job.future.set_result(result)

    async def _run_partial(self, job: _Job) -> None:
        loop = asyncio.get_running_loop()
        self._running_partial = job.owner
        started = time.perf_counter()
        try:
            result = await loop.run_in_executor(
                self._thread,
                # Greedy only: a short clip often fails Whisper's checks, and the beam retry
                # would double a call that an ended turn's final may be queued behind
                # (measured: 1.3 s of speech 336 ms with the retry, 4.1 s 150 ms without).
                functools.partial(
                    transcribe_windowed, self.asr, job.audio, words=True, retry=False
                ),
            )
        except Exception as exc:  # handed to the waiting session, the worker lives on
            if not job.future.done():
                job.future.set_exception(exc)
            return
        finally:
            self._running_partial = None
        self._account([job.audio], started)
        self.stats.partials += 1
        if not job.future.done():
            job.future.set_result(result)

    def _account(self, clips: list[np.ndarray], started: float) -> None:
        ended = time.perf_counter()
        self._busy_spans.append((started, ended))
        self.stats.busy_s += ended - started
        seconds = [len(clip) / SAMPLE_RATE for clip in clips]
        self.stats.audio_s += sum(seconds)
        self.stats.longest_call_s = max(self.stats.longest_call_s, *seconds)
