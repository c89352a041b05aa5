"""The shared scheduler survives finals of one session queued in any order and company (issue 28).

Seen under load: a session had two passes waiting (a segment of one encoder window, then a shorter
one of another); a final of another session took the worker, and joining its batch removed the
shorter pass from the queue. `deque.remove` compares the job with each one before it, the job's
generated `__eq__` compared their audio arrays, and the ValueError killed the worker: every later
final of every session waited forever. Without Whisper: a stand-in model answers with each clip's
length.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import numpy as np

from models.asr import SAMPLE_RATE, Transcript
from pipeline.voice.transcriber import TranscriptionScheduler, window_for


class LengthASR:
    """Stands in for `WhisperASR`: a clip's "words" are its length in samples."""

    def __init__(self) -> None:
        self.batches: list[list[int]] = []
        self.retries: list[bool] = []  # `retry` of each single call, in order

    def transcribe(
        self,
        audio: np.ndarray,
        word_timestamps: bool = False,
        window_s: int | None = None,
        retry: bool = True,
    ) -> Transcript:
        self.retries.append(retry)
        return Transcript(text=str(len(audio)))

    def transcribe_batch(
        self, clips: Sequence[np.ndarray], windows_s: Sequence[int]
    ) -> list[Transcript]:
        self.batches.append([len(c) for c in clips])
        return [Transcript(text=str(len(c))) for c in clips]


def seconds(s: float) -> np.ndarray:
    return np.zeros(int(s * SAMPLE_RATE), np.float32)


async def test_a_session_s_later_pass_joins_a_batch_past_its_earlier_one() -> None:
    asr = LengthASR()
    scheduler = TranscriptionScheduler(asr, gather_s=0)  # type: ignore[arg-type]
    longer, shorter, other = seconds(6.0), seconds(1.0), seconds(2.0)
    assert window_for(len(longer)) != window_for(len(shorter)) == window_for(len(other))
    try:
        # Queued before the worker runs: session a's two passes, then session b's ended turn.
        jobs = [
            asyncio.ensure_future(scheduler.final("a", longer, urgent=False)),
            asyncio.ensure_future(scheduler.final("a", shorter, urgent=False)),
            asyncio.ensure_future(scheduler.final("b", other, urgent=True)),
        ]
        results = await asyncio.wait_for(asyncio.gather(*jobs), 10)
        # And the worker lives on.
        after = await asyncio.wait_for(scheduler.final("a", seconds(3.0)), 10)
    finally:
        await scheduler.close()
    assert [r.text for r in results] == [str(len(longer)), str(len(shorter)), str(len(other))]
    assert after.text == str(3 * SAMPLE_RATE)
    assert [len(other), len(shorter)] in asr.batches  # b's final took a's shorter pass along


async def test_promoting_a_session_s_passes_keeps_the_others_in_the_queue() -> None:
    """`promote` removes the owner's tentative jobs from a queue that holds others' too."""
    asr = LengthASR()
    scheduler = TranscriptionScheduler(asr, gather_s=0)  # type: ignore[arg-type]
    try:
        jobs = [
            asyncio.ensure_future(scheduler.final(owner, seconds(s), urgent=False))
            for owner, s in [("b", 6.0), ("a", 1.0), ("b", 2.0), ("a", 12.0)]
        ]
        await asyncio.sleep(0)  # all submitted
        scheduler.promote("a")
        results = await asyncio.wait_for(asyncio.gather(*jobs), 10)
    finally:
        await scheduler.close()
    assert [r.text for r in results] == [str(int(s * SAMPLE_RATE)) for s in (6.0, 1.0, 2.0, 12.0)]


async def test_a_partial_never_retries_and_a_final_may() -> None:
    """A caption's decode is greedy only (the retry would double a call an ended turn's final
    may wait behind); a final keeps Whisper's checks and the beam retry."""
    asr = LengthASR()
    scheduler = TranscriptionScheduler(asr, gather_s=0, partial_duty=1.0)  # type: ignore[arg-type]
    try:
        partial = await asyncio.wait_for(scheduler.partial("a", seconds(1.0)), 10)
        final = await asyncio.wait_for(scheduler.final("a", seconds(2.0)), 10)
    finally:
        await scheduler.close()
    assert partial is not None and partial.text == str(SAMPLE_RATE)
    assert final.text == str(2 * SAMPLE_RATE)
    assert asr.retries == [False, True]
