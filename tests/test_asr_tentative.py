"""Tentative finals (a pass over the audio up to a pause: the answer may go on) wait behind
every urgent final (a turn that has ended) and run before partials; `promote` makes one urgent
when its turn ends while it waits. A stand-in model that records the order of its calls."""

from __future__ import annotations

import asyncio
import time
from typing import Any, cast

import numpy as np

from models.asr import Transcript, WhisperASR
from pipeline.voice.candidate import FRAME_S, CandidateTurn
from pipeline.voice.transcriber import TranscriptionScheduler

CALL_S = 0.05


class OrderedModel:
    """Each clip's length in samples names it."""

    def __init__(self) -> None:
        self.order: list[int] = []

    def transcribe(self, audio: np.ndarray, **_: Any) -> Transcript:
        time.sleep(CALL_S)
        self.order.append(len(audio))
        return Transcript("words")


def clip(name: int) -> np.ndarray:
    return np.zeros(name, np.float32)


def one_at_a_time(model: OrderedModel) -> TranscriptionScheduler:
    return TranscriptionScheduler(cast(WhisperASR, model), max_batch=1, gather_s=0)


async def test_urgent_finals_go_before_tentative_ones_and_partials_last() -> None:
    model = OrderedModel()
    scheduler = one_at_a_time(model)
    running = asyncio.ensure_future(scheduler.final("a", clip(1000)))
    await asyncio.sleep(CALL_S / 2)  # the worker holds it
    queued = [
        asyncio.ensure_future(scheduler.partial("p", clip(1004))),
        asyncio.ensure_future(scheduler.final("t1", clip(1001), urgent=False)),
        asyncio.ensure_future(scheduler.final("t2", clip(1002), urgent=False)),
        asyncio.ensure_future(scheduler.final("u", clip(1003))),
    ]
    await asyncio.gather(running, *queued)
    await scheduler.close()
    assert model.order == [1000, 1003, 1001, 1002, 1004]


async def test_promote_moves_an_ended_turns_pass_ahead_of_the_tentative_ones() -> None:
    model = OrderedModel()
    scheduler = one_at_a_time(model)
    running = asyncio.ensure_future(scheduler.final("a", clip(1000)))
    await asyncio.sleep(CALL_S / 2)
    queued = [
        asyncio.ensure_future(scheduler.final(owner, clip(size), urgent=False))
        for owner, size in (("x", 1001), ("y", 1002), ("z", 1003))
    ]
    await asyncio.sleep(0)
    scheduler.promote("z")  # its candidate sent answer_done
    await asyncio.gather(running, *queued)
    await scheduler.close()
    assert model.order == [1000, 1003, 1001, 1002]


async def test_a_cancelled_tentative_final_leaves_the_queue() -> None:
    model = OrderedModel()
    scheduler = one_at_a_time(model)
    running = asyncio.ensure_future(scheduler.final("a", clip(1000)))
    await asyncio.sleep(CALL_S / 2)
    gone = asyncio.ensure_future(scheduler.final("x", clip(1001), urgent=False))
    kept = asyncio.ensure_future(scheduler.final("y", clip(1002), urgent=False))
    await asyncio.sleep(0)
    gone.cancel()
    await asyncio.gather(running, kept)
    await scheduler.close()
    assert model.order == [1000, 1002]
    assert scheduler.queued == 0


def test_the_last_voiced_frame_is_not_speech_after_a_pass_that_ended_with_it() -> None:
    """The voice loop decides whether a pass over the turn heard everything by comparing two
    clocks that add up frames in different orders; off by a rounding error, it would start a
    new pass over the same audio forever (a reply that never came, seen in the bench)."""
    rate_s = 512 / 16000
    for origin in (0.0, 3.7, 1234.567):
        for onset_frame in range(1, 400, 7):
            for length in range(1, 300, 11):
                end_s = origin + (onset_frame + length) * 512 / 16000  # the loop's session clock
                candidate = CandidateTurn(end_s - length * FRAME_S)
                candidate.frames = [np.zeros(512, np.float32)] * length
                candidate.last_voiced_s = end_s
                cut = candidate.audio_end_s - candidate.audio_start_s
                assert not candidate.spoken_after(cut), (origin, onset_frame, length)
                candidate.last_voiced_s = end_s + 2 * rate_s
                assert candidate.spoken_after(cut)
