"""Partials only with headroom: under load they thin out instead of keeping Whisper (both
cores) busy; finals never wait for that. A stand-in model that takes a fixed time a call."""

from __future__ import annotations

import asyncio
import time
from typing import Any, cast

import numpy as np

from models.asr import Transcript, WhisperASR
from pipeline.voice.transcriber import DUTY_WINDOW_S, TranscriptionScheduler

CALL_S = 0.1


class SlowModel:
    def __init__(self) -> None:
        self.calls = 0

    def transcribe(self, audio: np.ndarray, **_: Any) -> Transcript:
        time.sleep(CALL_S)
        self.calls += 1
        return Transcript("words")


async def keep_asking(scheduler: TranscriptionScheduler, owner: str, until: float) -> int:
    answered = 0
    while time.perf_counter() < until:
        if await scheduler.partial(owner, np.zeros(16000, np.float32)) is not None:
            answered += 1
    return answered


async def test_partials_leave_whisper_idle_part_of_the_time_and_share_it() -> None:
    model = SlowModel()
    scheduler = TranscriptionScheduler(cast(WhisperASR, model), partial_duty=0.5)
    until = time.perf_counter() + 2 * DUTY_WINDOW_S
    counts = await asyncio.gather(*(keep_asking(scheduler, f"s{i}", until) for i in range(4)))
    await scheduler.close()
    duty = model.calls * CALL_S / (2 * DUTY_WINDOW_S)
    assert duty < 0.65, duty  # unbounded, four sessions would keep it busy all the time
    assert min(counts) >= max(counts) - 2, counts  # evenly between sessions


async def test_a_final_does_not_wait_for_headroom() -> None:
    model = SlowModel()
    scheduler = TranscriptionScheduler(cast(WhisperASR, model), partial_duty=0.5)
    until = time.perf_counter() + DUTY_WINDOW_S
    load = asyncio.gather(*(keep_asking(scheduler, f"s{i}", until) for i in range(4)))
    await asyncio.sleep(1.0)  # Whisper at its partial duty
    assert scheduler.duty() > 0.3
    started = time.perf_counter()
    await scheduler.final("f", np.zeros(16000, np.float32))
    assert time.perf_counter() - started < 2.5 * CALL_S  # at most one partial ahead of it
    await load
    await scheduler.close()
