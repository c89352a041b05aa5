"""Batched finals: N sessions' finals at once through the shared scheduler, decoded in one
model call (batched) against one call each (sequential: the same scheduler with `max_batch=1`).

    .venv/bin/python -m tests.bench_asr_batch [--repeats 5] [--sizes 1,2,4,8]

Prints a markdown table per N: wall time until the last of the N transcripts, the process's CPU
seconds for them (steadier than wall time on a shared machine), each caller's latency (submit ->
its transcript; mean and max), model calls, and clips the batch handed back to a single call
(temperature fallback or runaway). Runs alternate sequential / batched, medians are shown.
Clips are 3-8 s of Piper speech; figures depend on what else the machine is doing.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from dataclasses import dataclass, field

import numpy as np

from models.registry import ModelRegistry
from pipeline.voice.transcriber import TranscriptionScheduler, window_for
from tests.conftest import piper_speech

SENTENCES = [
    "I led the migration of our billing service to Kafka last year.",
    "We measured latency before and after the change, and the median dropped by forty percent, "
    "which our customers noticed within a week.",
    "Honestly, the hardest part was getting three teams to agree on one schema.",
    "I would start with a hash map, which gives constant time lookups on average, and then I "
    "would think about the memory it needs when the input is very large.",
    "Then I wrote the tests first, because the old code had none at all and nobody trusted it.",
    "My manager asked me to mentor two new engineers, and both of them were promoted within a "
    "year.",
    "The trade-off is memory: we keep every session in Redis for a week, so we sized the "
    "cluster for the busiest week of the year.",
    "If I did it again, I would talk to the customers much earlier.",
]


@dataclass
class Runs:
    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    mean_latency: list[float] = field(default_factory=list)
    max_latency: list[float] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)

    def median(self, values: list[float]) -> str:
        return f"{statistics.median(values) * 1000:.0f}"


async def run_once(scheduler: TranscriptionScheduler, clips: list[np.ndarray], runs: Runs) -> None:
    start = time.perf_counter()
    cpu = time.process_time()
    latencies: list[float] = []

    async def one(owner: int, clip: np.ndarray) -> str:
        result = await scheduler.final(owner, clip)
        latencies.append(time.perf_counter() - start)
        return result.text

    texts = await asyncio.gather(*(one(k, c) for k, c in enumerate(clips)))
    runs.wall.append(time.perf_counter() - start)
    runs.cpu.append(time.process_time() - cpu)
    runs.mean_latency.append(statistics.mean(latencies))
    runs.max_latency.append(max(latencies))
    runs.texts = list(texts)


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--sizes", default="1,2,4,8")
    args = parser.parse_args()
    models = ModelRegistry()
    asr = models.asr()
    speech = [piper_speech(models, s) for s in SENTENCES]
    sequential = TranscriptionScheduler(asr, max_batch=1)
    batched = TranscriptionScheduler(asr)
    await run_once(sequential, speech[:2], Runs())  # warm-up
    await run_once(batched, speech[:2], Runs())

    lengths = ", ".join(f"{len(c) / 16000:.1f}" for c in speech)
    windows = ", ".join(str(window_for(len(c))) for c in speech)
    print(f"clips (s): {lengths}; encoder windows (s): {windows}; repeats: {args.repeats}\n")
    print(
        "| finals | wall seq / batched | speed-up | CPU s seq / batched | CPU saved "
        "| latency mean seq / batched | latency max seq / batched "
        "| model calls seq / batched | retried alone | same text |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for n in (int(s) for s in args.sizes.split(",")):
        clips = [speech[k % len(speech)] for k in range(n)]
        seq, bat = Runs(), Runs()
        calls = (sequential.stats.final_calls, batched.stats.final_calls)
        retried = asr.batch_stats.retried
        for _ in range(args.repeats):  # alternating: both see the same background load
            await run_once(sequential, clips, seq)
            await run_once(batched, clips, bat)
        seq_calls = (sequential.stats.final_calls - calls[0]) / args.repeats
        bat_calls = (batched.stats.final_calls - calls[1]) / args.repeats
        retried = asr.batch_stats.retried - retried
        same = sum(a == b for a, b in zip(seq.texts, bat.texts, strict=True))
        wall = statistics.median(seq.wall) / statistics.median(bat.wall)
        cpu = 1 - statistics.median(bat.cpu) / statistics.median(seq.cpu)
        print(
            f"| {n} | {seq.median(seq.wall)} / {bat.median(bat.wall)} ms | {wall:.2f}x "
            f"| {statistics.median(seq.cpu):.2f} / {statistics.median(bat.cpu):.2f} | {cpu:.0%} "
            f"| {seq.median(seq.mean_latency)} / {bat.median(bat.mean_latency)} ms "
            f"| {seq.median(seq.max_latency)} / {bat.median(bat.max_latency)} ms "
            f"| {seq_calls:g} / {bat_calls:g} | {retried} | {same}/{n} |",
            flush=True,
        )
    await sequential.close()
    await batched.close()


if __name__ == "__main__":
    asyncio.run(main())
