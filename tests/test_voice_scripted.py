"""The voice loop on scripted timelines, without models: patience, `answer_done`, spoken
closings, repair, the time limit, barge-in keeping its first word, long answers at flat cost.

Audio runs in real time on virtual time (tests/virtual_time.py: the loop's wall clock is the
event loop's, which jumps ahead whenever every task waits), on compressed timelines: patience
1 s instead of 2, words of 0.25 s.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

import numpy as np
import pytest

from pipeline.engine import InterviewPlan, Question, ScriptedEngine
from pipeline.voice.committed import StreamingConfig
from pipeline.voice.config import VoiceConfig
from pipeline.voice.loop import SessionClock, VoiceLoop
from pipeline.voice.messages import Finished
from pipeline.voice.turn_policy import TurnPolicyConfig
from tests.voice_fakes import (
    MemoryTurnLog,
    RecordingTransport,
    Script,
    ScriptedTranscriber,
    ScriptedVad,
    SilentSynthesizer,
)

pytestmark = pytest.mark.virtual_time


PATIENCE_S = 1.0
CONFIG = VoiceConfig(
    turns=TurnPolicyConfig(
        patience_s=PATIENCE_S,
        unfinished_extra_s=0.0,
        short_answer_extra_s=0.0,
        cue_silence_s=0.4,
        limit_silence_s=0.3,
        hard_limit_grace_s=2.0,
        repair_window_s=2.0,
    ),
    streaming=StreamingConfig(min_segment_s=2.0, max_segment_s=5.0),
)


def plan(*limits: int) -> InterviewPlan:
    return InterviewPlan(
        questions=tuple(
            Question(f"q{i}", f"Question {i}?", time_limit_s=t) for i, t in enumerate(limits)
        ),
        persona_id="alex",  # patience scale 1
    )


CHUNK_S = 0.064


class Microphone:
    """Streams in real time, silence when there is nothing to say, as a client does."""

    def __init__(self, feed: Callable[[bytes], Awaitable[None]]) -> None:
        self.feed = feed
        self.pending = np.zeros(0, np.float32)
        self.drained = asyncio.Event()
        self.task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        step = int(CHUNK_S * 16000)
        started = asyncio.get_running_loop().time()
        sent = 0
        while True:
            chunk, self.pending = self.pending[:step], self.pending[step:]
            if len(chunk) < step:
                chunk = np.concatenate([chunk, np.zeros(step - len(chunk), np.float32)])
            if not len(self.pending):
                self.drained.set()
            await self.feed((np.clip(chunk, -1, 1) * 32767).astype("<i2").tobytes())
            sent += 1
            delay = started + sent * CHUNK_S - asyncio.get_running_loop().time()
            await asyncio.sleep(max(0.0, delay))

    async def say(self, audio: np.ndarray) -> float:
        """Returns (loop time) when the last of it was sent."""
        self.drained.clear()
        self.pending = np.concatenate([self.pending, audio])
        await self.drained.wait()
        return asyncio.get_running_loop().time() + CHUNK_S


@dataclass
class Harness:
    loop: VoiceLoop
    transport: RecordingTransport
    log: MemoryTurnLog
    transcriber: ScriptedTranscriber
    mic: Microphone

    async def say(self, audio: np.ndarray) -> float:
        return await self.mic.say(audio)

    def finals(self) -> list[dict[str, object]]:
        return [m for m in self.transport.of("transcript") if m["final"]]

    def candidate_turns(self) -> list[str]:
        return [t.text for t in self.log.turns if t.role == "candidate"]


@contextlib.asynccontextmanager
async def running(
    interview: InterviewPlan,
    config: VoiceConfig = CONFIG,
    transcriber: ScriptedTranscriber | None = None,
) -> AsyncIterator[Harness]:
    transport = RecordingTransport()
    log = MemoryTurnLog()
    transcriber = transcriber or ScriptedTranscriber()

    async def finisher(ended_early: bool) -> Finished:
        return Finished("partial" if ended_early else "completed", None, "/report")

    loop = VoiceLoop(
        session_id="s1",
        plan=interview,
        transcript=[],
        engine=ScriptedEngine(),
        transcriber=transcriber,
        synthesizer=SilentSynthesizer(),
        vad=ScriptedVad(),
        transport=transport,
        turn_log=log,
        finisher=finisher,
        clock=SessionClock(0.0, wall=asyncio.get_running_loop().time),
        config=config,
    )
    task = asyncio.create_task(loop.run())
    mic = Microphone(loop.feed_audio)
    harness = Harness(loop, transport, log, transcriber, mic)
    await transport.wait_for("agent_audio", event="end")  # the greeting and first question
    try:
        yield harness
    finally:
        for running_task in (mic.task, task):
            running_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await running_task


async def test_pauses_shorter_than_the_patience_window_do_not_end_the_answer() -> None:
    answer = Script().say(4).pause(0.8).say(3).pause(0.9).say(4)
    async with running(plan(120, 120)) as h:
        spoken_until = await h.say(answer.audio)
        await asyncio.sleep(PATIENCE_S + 0.8)
        finals = h.finals()
        assert [f["text"] for f in finals] == [answer.text]  # one turn, every word
        reply_at = h.transport.first("agent_audio", event="start", turn=2)
        assert reply_at is not None and reply_at > spoken_until  # nobody was cut off
        assert h.candidate_turns() == [answer.text]


async def test_answer_done_ends_the_answer_at_once() -> None:
    answer = Script().say(5)
    async with running(plan(120, 120)) as h:
        await h.say(answer.audio)
        await h.loop.answer_done()
        signalled = asyncio.get_running_loop().time()
        await h.transport.wait_for("metrics", timeout=3)
        (metrics,) = h.transport.of("metrics")
        assert metrics["end"] == "signal"
        assert metrics["end_to_first_audio_ms"] < 300
        assert asyncio.get_running_loop().time() - signalled < 0.5
        assert [f["text"] for f in h.finals()] == [answer.text]


async def test_answer_done_with_no_open_answer_does_nothing() -> None:
    async with running(plan(120)) as h:
        await h.loop.answer_done()
        await asyncio.sleep(0.3)
        assert h.finals() == [] and h.log.turns[-1].role == "interviewer"


async def test_a_spoken_closing_ends_the_answer_sooner_than_patience() -> None:
    answer = Script().say(4).word(900).word(901)
    async with running(plan(120, 120)) as h:
        spoken_until = await h.say(answer.audio)
        await h.transport.wait_for("metrics", timeout=3)
        reply_at = h.transport.first("agent_audio", event="start", turn=2)
        assert reply_at is not None and reply_at - spoken_until < PATIENCE_S
        assert h.transport.of("metrics")[0]["end"] == "cue"


async def test_speech_soon_after_the_reply_began_repairs_the_same_answer() -> None:
    first, more = Script().say(3), Script()
    more.next_code = 10
    more.say(3)
    async with running(plan(120, 120)) as h:
        await h.say(first.audio)
        await h.transport.wait_for("agent_audio", event="start", turn=2)
        await h.say(more.audio)  # goes on with the answer as the reply starts
        await h.transport.wait_for("interrupt", turn=2)
        await asyncio.sleep(PATIENCE_S + CONFIG.turns.repair_window_s + 1.5)
        finals = h.finals()
        assert [f["turn"] for f in finals] == [1, 1]  # the same turn, its final replaced
        assert finals[-1]["text"] == f"{first.text} {more.text}"
        assert h.candidate_turns() == [f"{first.text} {more.text}"]
        assert h.log.replaced == [1]
        # The dropped reply was neither stored nor counted as asked: the question comes again.
        interviewer = [t for t in h.log.turns if t.role == "interviewer"]
        assert [t.index for t in interviewer] == [0, 2]
        assert not interviewer[-1].interrupted


async def test_a_closing_repaired_does_not_finish_the_interview() -> None:
    first, more = Script().say(3), Script()
    more.next_code = 10
    more.say(3)
    async with running(plan(120)) as h:  # one question: the reply is the closing
        await h.say(first.audio)
        await h.transport.wait_for("agent_audio", event="start", turn=2)
        await h.say(more.audio)
        assert h.transport.of("finished") == []
        await h.transport.wait_for("finished", timeout=PATIENCE_S + 5)
        assert h.candidate_turns() == [f"{first.text} {more.text}"]


async def test_past_the_time_limit_the_next_short_pause_ends_the_answer() -> None:
    answer = Script().say(8).pause(0.5).say(2)  # 2.5 s of words, then a short pause
    async with running(plan(2, 120)) as h:
        await h.say(answer.audio)
        await h.transport.wait_for("metrics", timeout=3)
        assert h.transport.of("metrics")[0]["end"] == "limit"
        assert str(h.finals()[0]["text"]).startswith(Script().say(8).text)


async def test_a_voice_that_never_pauses_is_ended_at_the_hard_limit() -> None:
    answer = Script().say(20, gap_s=0.0)  # 5 s without a pause: one long run
    async with running(plan(2, 120)) as h:
        await h.say(answer.audio)
        await h.transport.wait_for("metrics", timeout=3)
        assert h.transport.of("metrics")[0]["end"] == "limit"


async def test_a_barge_in_keeps_its_first_word() -> None:
    first, barge = Script().say(3), Script()
    barge.next_code = 20
    barge.say(4)
    config = dataclasses.replace(
        CONFIG, turns=dataclasses.replace(CONFIG.turns, repair_window_s=0.0)
    )
    async with running(plan(120, 120), config) as h:
        await h.say(first.audio)
        await h.transport.wait_for("agent_audio", event="start", turn=2)
        await h.say(barge.audio)
        await h.transport.wait_for("interrupt", turn=2)
        await asyncio.sleep(PATIENCE_S + 0.8)
        assert h.finals()[-1]["text"] == barge.text  # "w20" included
        assert h.finals()[-1]["turn"] == 3


async def test_a_long_answer_costs_the_same_per_call_at_its_end_as_at_its_start() -> None:
    answer = Script()
    for _ in range(7):
        answer.say(5).pause(0.6)
    async with running(plan(120, 120)) as h:
        await h.say(answer.audio)  # about 14 s
        await h.loop.answer_done()
        await h.transport.wait_for("metrics", timeout=3)
        assert h.finals()[-1]["text"] == answer.text  # nothing lost or doubled at the trims
        longest = max(seconds for _, seconds in h.transcriber.calls)
        assert longest <= CONFIG.streaming.max_segment_s + 1.0
        passes = [s for kind, s in h.transcriber.calls if kind.endswith("final")]
        # Each pass at a pause covers the audio since the one before, not the 14 s answer.
        assert passes and max(passes) < 5.0


async def test_the_same_answer_is_cut_and_heard_the_same_however_busy_whisper_is() -> None:
    """The stored words depend on the audio only: segments are cut at the VAD's pauses, not
    where partial hypotheses happened to agree, so a slow, shared Whisper (fewer partials, later
    passes) stores the same words from the same passes."""
    answer = Script()
    for words in (6, 9, 4, 8):
        answer.say(words).pause(0.5)
    heard = []
    for delay_s in (0.005, 1.0):
        transcriber = ScriptedTranscriber(delay_s=delay_s)
        async with running(plan(120, 120), transcriber=transcriber) as h:
            await h.say(answer.audio)
            await h.transport.wait_for("transcript", final=True, timeout=10)
            # The segments' passes (a pass over a pause too short to close a segment is only a
            # speculative reply's, and runs or not with the load).
            minimum = CONFIG.streaming.min_segment_s
            passes = sorted(
                round(s, 3)
                for kind, s in transcriber.calls
                if kind.endswith("final") and s >= minimum
            )
            partials = sum(kind == "partial" for kind, _ in transcriber.calls)
            heard.append((h.finals()[-1]["text"], passes, partials))
    (fast_text, fast_passes, fast_partials), (slow_text, slow_passes, slow_partials) = heard
    assert fast_text == slow_text == answer.text
    assert fast_passes == slow_passes and len(fast_passes) >= 3, heard
    assert slow_partials < fast_partials  # the load did change what ran for captions
