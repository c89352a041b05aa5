"""Batched finals across sessions: one CTranslate2 call for several clips gives each clip the
words (and word times) a call of its own gives, and the shared scheduler batches the finals
that wait together."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable

import numpy as np
import pytest

import models.asr as asr_module
from models.asr import Transcript, WhisperASR
from models.registry import ModelRegistry
from pipeline.voice.transcriber import TranscriptionScheduler, transcribe_windowed, window_for
from tests.conftest import piper_speech

# 4.1, 5.1, 6.9, 1.5 and 3.6 s: encoder windows of 8, 9, 10, 8 and 8 s.
SENTENCES = [
    "Honestly, the hardest part was getting three teams to agree on one schema.",
    "My manager asked me to mentor two new engineers, and both of them were promoted within a "
    "year.",
    "We measured latency before and after the change, and the median dropped by forty percent, "
    "which our customers noticed within a week.",
    "Yes, I think so.",
    "If I did it again, I would talk to the customers much earlier.",
]
SHORT = [0, 3, 4]  # the same 8 s window


@pytest.fixture(scope="module")
def clips(models: ModelRegistry) -> list[np.ndarray]:
    return [piper_speech(models, s) for s in SENTENCES]


@pytest.fixture(scope="module")
def singles(models: ModelRegistry, clips: list[np.ndarray]) -> list[Transcript]:
    return [transcribe_windowed(models.asr(), c, words=True) for c in clips]


def words(transcript: Transcript) -> list[str]:
    return [re.sub(r"[^a-z0-9']", "", w.lower()) for w, _, _ in transcript.words]


def assert_close(batched: Transcript, single: Transcript, tolerance_s: float = 0.1) -> None:
    assert words(batched) == words(single), (batched.text, single.text)
    assert batched.words, single.text
    for (_, start, end), (_, start1, end1) in zip(batched.words, single.words, strict=True):
        assert abs(start - start1) <= tolerance_s and abs(end - end1) <= tolerance_s


def test_batch_of_different_lengths_matches_single_calls(
    models: ModelRegistry, clips: list[np.ndarray], singles: list[Transcript]
) -> None:
    asr = models.asr()
    calls = asr.batch_stats.calls
    batched = asr.transcribe_batch(clips[:4], [window_for(len(c)) for c in clips[:4]])
    assert asr.batch_stats.calls > calls
    for got, single in zip(batched, singles[:4], strict=True):
        assert_close(got, single)
    # Every clip in its own clip's time: the longest ends near its 6.9 s, the shortest by 1.5 s.
    assert batched[2].words[-1][2] > 5.5
    assert batched[3].words[-1][2] < 1.6


def test_batch_of_one_window_is_the_single_call(
    models: ModelRegistry, clips: list[np.ndarray], singles: list[Transcript]
) -> None:
    """Same window, nothing padded: the very words and times of one call each."""
    short = [clips[i] for i in SHORT]
    batched = models.asr().transcribe_batch(short, [8] * len(short))
    for got, i in zip(batched, SHORT, strict=True):
        assert got.text == singles[i].text
        assert_close(got, singles[i], tolerance_s=0.02)


def test_silence_in_a_batch_is_what_a_single_call_gives(
    models: ModelRegistry, clips: list[np.ndarray], singles: list[Transcript]
) -> None:
    silence = np.zeros(2 * 16000, dtype=np.float32)
    alone = transcribe_windowed(models.asr(), silence, words=True)
    batched = models.asr().transcribe_batch([clips[0], silence], [8, 8])
    assert_close(batched[0], singles[0])
    assert words(batched[1]) == words(alone)


def test_clip_needing_the_temperature_fallback_is_retried_alone(
    models: ModelRegistry,
    clips: list[np.ndarray],
    singles: list[Transcript],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The batch decodes greedily once; a clip the single call would decode again (by beam
    search) is handed to the single call (here: every clip, as if all were repetitive)."""
    asr = models.asr()
    monkeypatch.setattr(asr_module, "COMPRESSION_RATIO_THRESHOLD", 0.0)
    retried = asr.batch_stats.retried
    batched = asr.transcribe_batch([clips[0], clips[4]], [8, 8])
    assert asr.batch_stats.retried == retried + 2
    assert batched == [singles[0], singles[4]]


async def test_scheduler_batches_finals_submitted_together(
    models: ModelRegistry, clips: list[np.ndarray], singles: list[Transcript]
) -> None:
    scheduler = TranscriptionScheduler(models.asr())
    order = [0, 3, 4, 1]  # windows 8, 8, 8, 9
    try:
        results = await asyncio.gather(*(scheduler.final(f"s{i}", clips[i]) for i in order))
    finally:
        await scheduler.close()
    # One call for the three of window 8; the 9 s window waits for the next: padded to a
    # larger window a clip may be heard differently, and an answer must be heard the same
    # whoever else is talking.
    assert scheduler.stats.final_calls == 2
    assert scheduler.stats.largest_batch == 3
    assert scheduler.stats.finals == len(order)
    for got, i in zip(results, order, strict=True):
        assert got == singles[i]  # each caller exactly its own single call's words


async def test_cancelled_finals_do_not_break_the_batch(
    models: ModelRegistry, clips: list[np.ndarray], singles: list[Transcript]
) -> None:
    scheduler = TranscriptionScheduler(models.asr())
    try:
        # One caller gives up before the batch starts: it leaves the queue.
        tasks = {i: asyncio.create_task(scheduler.final(f"s{i}", clips[i])) for i in SHORT}
        await asyncio.sleep(0)
        tasks[3].cancel()
        assert_close(await tasks[0], singles[0])
        assert_close(await tasks[4], singles[4])
        assert tasks[3].cancelled()
        assert scheduler.queued == 0
        assert scheduler.stats.final_calls == 1
        assert scheduler.stats.finals == 2

        # One gives up while its batch runs: the others still get their own words.
        tasks = {i: asyncio.create_task(scheduler.final(f"t{i}", clips[i])) for i in SHORT}
        await asyncio.sleep(0)  # submitted
        while scheduler.queued:  # then taken, all three in one batch
            await asyncio.sleep(0.001)
        tasks[0].cancel()
        assert_close(await tasks[3], singles[3])
        assert_close(await tasks[4], singles[4])
        assert tasks[0].cancelled()
        assert scheduler.stats.final_calls == 2
        assert scheduler.stats.largest_batch == 3

        # And the worker lives on.
        assert_close(await scheduler.final("u", clips[0]), singles[0])
    finally:
        await scheduler.close()


async def test_finals_go_first_and_partials_run_alone(
    models: ModelRegistry, clips: list[np.ndarray], singles: list[Transcript]
) -> None:
    scheduler = TranscriptionScheduler(models.asr(), gather_s=0)
    done: list[str] = []

    async def track(name: str, call: Awaitable[Transcript | None]) -> Transcript | None:
        result = await call
        done.append(name)
        return result

    try:
        first = asyncio.ensure_future(track("first", scheduler.final("s1", clips[1])))
        await asyncio.sleep(0)  # submitted
        while scheduler.queued:  # then taken: the model is busy with it
            await asyncio.sleep(0.001)
        partial = asyncio.ensure_future(track("partial", scheduler.partial("a", clips[3])))
        await asyncio.sleep(0)
        skipped = await scheduler.partial("a", clips[3])  # "a" already has one queued
        finals = [
            asyncio.ensure_future(track(f"final{i}", scheduler.final(f"s{i}", clips[i])))
            for i in (0, 4)
        ]
        results = await asyncio.gather(first, *finals, partial)
    finally:
        await scheduler.close()
    assert skipped is None
    assert done[0] == "first"
    assert done[-1] == "partial"  # queued before the two finals, run after them
    assert scheduler.stats.final_calls == 2  # the two finals in one call
    assert scheduler.stats.partials == 1
    assert results[3] is not None
    assert_close(results[3], singles[3])


async def test_a_lone_final_is_not_held_back(
    models: ModelRegistry, clips: list[np.ndarray]
) -> None:
    asr: WhisperASR = models.asr()
    scheduler = TranscriptionScheduler(asr)
    try:
        await scheduler.final("alone", clips[0])
    finally:
        await scheduler.close()
    assert scheduler.stats.final_wait_s < 0.05
    assert scheduler.stats.final_calls == 1
