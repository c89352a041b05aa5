"""Recognition alone (pipeline/voice/recognition.py): scripted audio in, its hooks' calls out.

No turn-taking runs: the listener is a recorder of `RecognitionHooks` calls (which can claim a
start for an answer it reopens, play the interviewer, or end the answer while it is spoken), the
VAD and Whisper are tests/voice_fakes.py's scripted ones, and the audio is streamed in real time
on virtual time (tests/virtual_time.py), so the timelines are exact and run in well under a
second. What is checked is what turn-taking relies on: the order of the events, which answer the
audio goes to (new, with its preroll; the open one; one the listener reopened), the segments cut
at pauses and heard once, the words of the answer each once, in order, and the input timeline
(a gap is not silence; only a long quiet is reported).
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest

from pipeline.voice.candidate import FRAME_S, CandidateTurn
from pipeline.voice.clock import SessionClock
from pipeline.voice.committed import StreamingConfig, text_of
from pipeline.voice.config import VoiceConfig
from pipeline.voice.detector import SpeechStarted, SpeechStopped
from pipeline.voice.recognition import Recognition
from pipeline.voice.turn_policy import TurnPolicyConfig
from tests.voice_fakes import RATE, Script, ScriptedTranscriber, ScriptedVad

pytestmark = pytest.mark.virtual_time

QUIET_S = 4.0
CONFIG = VoiceConfig(
    turns=TurnPolicyConfig(input_quiet_s=QUIET_S),
    streaming=StreamingConfig(min_segment_s=2.0, max_segment_s=5.0),
)
CHUNK_S = 0.02


@dataclass
class Hooks:
    """Records every call; its answers to recognition are set by the test."""

    audible: bool = False
    claim: CandidateTurn | None = None  # the answer a start goes on in (a repair), once
    end_after_s: float | None = None  # end the open answer once this long (a time limit)
    recognition: Recognition | None = None
    calls: list[tuple[Any, ...]] = field(default_factory=list)
    frames: int = 0

    def kinds(self) -> list[str]:
        return [c[0] for c in self.calls if c[0] not in ("speaking", "partial")]

    def agent_audible(self) -> bool:
        return self.audible

    def on_frame(self, frame: np.ndarray) -> None:
        self.frames += 1
        if self.claim is not None:  # as a reply just begun keeps the audio, should it go on
            self.claim.frames.append(frame)

    async def on_speech_start(
        self, event: SpeechStarted, turn: CandidateTurn | None
    ) -> CandidateTurn | None:
        self.calls.append(("start", event, turn))
        if turn is None and self.claim is not None:
            turn, self.claim = self.claim, None
            assert self.recognition is not None
            self.recognition.turn = turn
        return turn

    async def on_speech_end(self, event: SpeechStopped) -> None:
        self.calls.append(("end", event))

    def on_pause(self) -> None:
        self.calls.append(("pause",))

    def on_speaking(self, turn: CandidateTurn) -> None:
        self.calls.append(("speaking", turn.answer_s))
        if self.end_after_s is not None and turn.answer_s >= self.end_after_s:
            assert self.recognition is not None
            self.recognition.turn = None
            self.calls.append(("ended", turn))

    async def on_partial(self, caption: str) -> None:
        self.calls.append(("partial", caption))

    def on_input_quiet(self, quiet_s: float) -> None:
        self.calls.append(("quiet", asyncio.get_running_loop().time()))


@dataclass
class Bench:
    recognition: Recognition
    hooks: Hooks
    transcriber: ScriptedTranscriber
    tasks: list[asyncio.Task[None]]

    async def stream(self, audio: np.ndarray) -> None:
        """`audio` in 20 ms chunks, each when its last sample is captured."""
        loop = asyncio.get_running_loop()
        step = int(CHUNK_S * RATE)
        started = loop.time()
        for i in range(0, len(audio), step):
            chunk = audio[i : i + step]
            await self.recognition.feed_audio(
                (np.clip(chunk, -1, 1) * 32767).astype("<i2").tobytes()
            )
            await asyncio.sleep(max(0.0, started + (i + len(chunk)) / RATE - loop.time()))

    async def settled(self) -> None:
        """Every pass and partial done, and none failed."""
        while not all(t.done() for t in self.tasks):
            await asyncio.sleep(0.05)
        for task in self.tasks:
            if not task.cancelled():
                task.result()


def bench(hooks: Hooks | None = None, transcriber: ScriptedTranscriber | None = None) -> Bench:
    hooks = hooks or Hooks()
    transcriber = transcriber or ScriptedTranscriber()
    tasks: list[asyncio.Task[None]] = []

    def spawn(coro: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task = asyncio.get_running_loop().create_task(coro)
        tasks.append(task)
        return task

    recognition = Recognition(
        config=CONFIG,
        vad=ScriptedVad(),
        transcriber=transcriber,
        clock=SessionClock(0.0, wall=asyncio.get_running_loop().time),
        hooks=hooks,
        spawn=spawn,
    )
    hooks.recognition = recognition
    return Bench(recognition, hooks, transcriber, tasks)


def voiced_run_s(ms: float) -> float:
    """The voiced frames a start needs, in seconds."""
    return math.ceil(ms / 1000 / FRAME_S - 1e-9) * FRAME_S


def silence(seconds: float) -> np.ndarray:
    return np.zeros(int(seconds * RATE), np.float32)


async def test_an_answer_with_pauses_is_one_answer_cut_into_segments_heard_once() -> None:
    b = bench()
    answer = Script().pause(1.0).say(8).pause(0.6).say(8).pause(0.6).say(3)
    await b.stream(np.concatenate([answer.audio, silence(1.0)]))
    await b.settled()

    # Three voiced runs: a start, then its end and a pause, each; the first start opens the
    # answer (the listener returned None), the later ones go on in it.
    assert b.hooks.kinds() == ["start", "end", "pause"] * 3
    starts = [c for c in b.hooks.calls if c[0] == "start"]
    turn = b.recognition.turn
    assert turn is not None
    assert starts[0][2] is None and starts[1][2] is turn and starts[2][2] is turn
    assert len(turn.spans) == 3
    # Its audio begins the preroll before the onset, and has every frame since, none twice.
    onset = starts[0][1].start_s
    assert onset == pytest.approx(1.0, abs=FRAME_S)
    assert turn.audio_start_s == pytest.approx(onset - CONFIG.vad.preroll_ms / 1000, abs=FRAME_S)
    assert turn.audio_end_s == pytest.approx(b.recognition.clock.heard_s, abs=1e-6)
    # The two pauses after 2 s of audio each closed a segment: one tentative pass each.
    passes = [s for kind, s in b.transcriber.calls if kind == "tentative final"]
    assert len(passes) == 2 and all(s <= CONFIG.streaming.max_segment_s for s in passes)
    # Captions came while it was spoken, from the start of the answer.
    captions = [c[1] for c in b.hooks.calls if c[0] == "partial"]
    assert captions and all(c.startswith("w1 ") for c in captions)

    words = await b.recognition.final_words(turn, urgent=True)
    assert text_of(words) == answer.text  # every word once, in order
    assert b.transcriber.promoted == [b.recognition]  # the session's passes became urgent
    # The final heard only the open segment (from the second pause on), not the answer again.
    (final,) = [s for kind, s in b.transcriber.calls if kind == "final"]
    assert final < 0.6 + 3 * 0.28 + 1.0
    # A start is confirmed after `min_speech_ms` of voiced frames (the first `speaking` call).
    first_speaking = next(c[1] for c in b.hooks.calls if c[0] == "speaking")
    assert first_speaking == pytest.approx(voiced_run_s(CONFIG.vad.min_speech_ms))
    # The end of speech the turn-taking measures silence from: the last voiced audio.
    last_word_end = 1.0 + (answer.audio.size / RATE - 1.0) - 0.03  # the trailing 30 ms gap
    assert b.recognition.speech_end(turn) == pytest.approx(last_word_end, abs=2 * FRAME_S)


async def test_a_start_the_listener_claims_goes_on_in_that_answer() -> None:
    """A repair: the listener reopens an answer at the start; its audio goes there, no new one
    is opened, and a frame the answer already got (the listener keeps the audio for an answer
    it may reopen, `on_frame`) is not added twice."""
    reopened = CandidateTurn(0.0, CONFIG.streaming)
    reopened.frames = [np.zeros(512, np.float32)] * 10
    reopened.spans = [[0.05, 0.3]]
    b = bench(Hooks(claim=reopened))
    await b.stream(np.concatenate([silence(0.5), Script().say(4).audio, silence(0.5)]))
    await b.settled()

    (start,) = [c for c in b.hooks.calls if c[0] == "start"]
    assert start[2] is None  # no answer was open: the listener claimed the start
    assert b.recognition.turn is reopened
    assert len(reopened.spans) == 2 and reopened.spans[1][0] == start[1].start_s
    # Every frame of the stream once, after the 10 it had: the listener's until the start, then
    # recognition's (the confirming frame, which the listener had taken, not again).
    assert len(reopened.frames) == 10 + b.hooks.frames


async def test_while_the_interviewer_is_audible_a_start_is_a_barge_in_with_its_first_word() -> None:
    b = bench(Hooks(audible=True))
    await b.stream(np.concatenate([silence(0.5), Script().say(4).audio, silence(0.5)]))
    await b.settled()

    (start,) = [c[1] for c in b.hooks.calls if c[0] == "start"]
    assert start.barge_in
    turn = b.recognition.turn
    assert turn is not None
    # Confirmed only after the barge-in's 300 ms (not 250), yet the onset is in the audio.
    first_speaking = next(c[1] for c in b.hooks.calls if c[0] == "speaking")
    assert first_speaking == pytest.approx(voiced_run_s(CONFIG.vad.barge_in_ms))
    assert voiced_run_s(CONFIG.vad.barge_in_ms) > voiced_run_s(CONFIG.vad.min_speech_ms)
    assert turn.audio_start_s <= start.start_s
    words = await b.recognition.final_words(turn, urgent=True)
    assert text_of(words) == Script().say(4).text  # "w1" kept


async def test_a_gap_in_the_input_is_not_silence_and_only_a_long_quiet_is_reported() -> None:
    """A 3 s stall mid-word, then the rest: one voiced run, no end, no quiet. Then the client
    stops for good: the quiet is reported once `input_quiet_s` has passed, not before."""
    b = bench()
    watch = asyncio.create_task(b.recognition.watch_quiet())
    speech = Script().say(12, gap_s=0.0).audio  # one run, 3 s
    half = len(speech) // 2
    await b.stream(np.concatenate([silence(0.3), speech[:half]]))
    await asyncio.sleep(3.0)  # the stall: nothing arrives
    await b.stream(np.concatenate([speech[half:], silence(0.5)]))
    stopped = b.recognition.clock.last_arrival
    assert stopped is not None
    assert b.hooks.kinds() == ["start", "end", "pause"]
    turn = b.recognition.turn
    assert turn is not None and len(turn.spans) == 1
    # The audio clock counts the audio, not the stall.
    assert b.recognition.clock.heard_s == pytest.approx(0.3 + len(speech) / RATE + 0.5, abs=0.04)

    await asyncio.sleep(QUIET_S + 1.0)
    watch.cancel()
    quiet = [c[1] for c in b.hooks.calls if c[0] == "quiet"]
    assert len(quiet) == 1
    assert QUIET_S <= quiet[0] - stopped <= QUIET_S + 2 * FRAME_S
    await b.settled()


async def test_an_answer_the_listener_ends_while_spoken_gets_no_more_audio() -> None:
    """The listener ends the answer mid-speech (the hard time limit): its audio stops there, no
    segment is cut from it, and the end of that speech is no pause to reply at."""
    b = bench(Hooks(end_after_s=1.0))
    await b.stream(np.concatenate([silence(0.2), Script().say(16, gap_s=0.0).audio, silence(0.5)]))
    await b.settled()

    (ended,) = [c[1] for c in b.hooks.calls if c[0] == "ended"]
    assert b.recognition.turn is None
    assert ended.answer_s == pytest.approx(1.0, abs=FRAME_S)
    assert ended.audio_end_s == pytest.approx(ended.last_voiced_s, abs=1e-6)
    assert ended.passes == []
    assert b.hooks.kinds() == ["start", "ended", "end"]  # no pause: nothing to reply to
    speaking_after = b.hooks.calls[b.hooks.calls.index(("ended", ended)) + 1 :]
    assert not [c for c in speaking_after if c[0] in ("speaking", "partial")]
