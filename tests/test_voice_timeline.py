"""The voice loop on the timelines real clients produce, on virtual time (tests/virtual_time.py).

Real clients do not all stream a steady 20 ms frame every 20 ms: a partner app or a phone
bridge mutes its microphone while the interviewer speaks (half duplex), a mobile network holds
frames back for seconds and then delivers them in a burst, frames come in uneven sizes at uneven
times, and a client may stop sending altogether. The contract (docs/stream-protocol.md): a gap in
the input is not silence, late frames are the audio they are, in order, and only the wall clock's
long quiet means the client is gone. Each test drives one pattern through the loop with scripted
models and checks what the candidate would notice: the answer is one turn with every word, the
interviewer does not cut in, and `metrics` report the latency the client really saw.

The loop's wall clock is the event loop's (virtual) time, so a minute of interview runs in well
under a second, the same on a busy machine as on an idle one.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any, cast

import numpy as np

from pipeline.engine import InterviewPlan, Question, ScriptedEngine
from pipeline.voice.committed import StreamingConfig
from pipeline.voice.config import VoiceConfig
from pipeline.voice.loop import SessionClock, VoiceLoop
from pipeline.voice.messages import Finished, ServerMessage, to_wire
from pipeline.voice.ports import SpeechProbability
from pipeline.voice.sink import CandidateSegment, NullSink
from pipeline.voice.turn_policy import TurnPolicyConfig
from tests.virtual_time import run_virtual
from tests.voice_fakes import (
    RATE,
    MemoryTurnLog,
    RecordingTransport,
    Script,
    ScriptedTranscriber,
    ScriptedVad,
    SilentSynthesizer,
    word_text,
)

PATIENCE_S = 1.0
QUIET_S = 4.0  # longer than the 3 s stall the loop must survive
CONFIG = VoiceConfig(
    turns=TurnPolicyConfig(
        patience_s=PATIENCE_S,
        unfinished_extra_s=0.0,
        short_answer_extra_s=0.0,
        repair_window_s=2.0,
        input_quiet_s=QUIET_S,
    ),
    streaming=StreamingConfig(min_segment_s=2.0, max_segment_s=5.0),
)
PLAN = InterviewPlan(
    questions=tuple(Question(f"q{i}", f"Question {i}?", time_limit_s=120) for i in range(4)),
    persona_id="alex",  # patience scale 1
)
PLAYBACK_LEAD_S = 0.3  # the client plays what it received up to this long after `agent_audio` end
METRICS_TOLERANCE_MS = 100.0
THINK_S = 0.6
SENTENCE_S = (
    2.0  # each interviewer sentence: a turn of two lasts 4 s, the gap a half-duplex client leaves
)


def answer(*runs: int, pause_s: float = 0.8, first_code: int = 1) -> Script:
    """Words in runs, `pause_s` between the runs (shorter than the patience window)."""
    script = Script()
    script.next_code = first_code
    for i, words in enumerate(runs):
        if i:
            script.pause(pause_s)
        script.say(words)
    return script


# Delay before a chunk captured at `capture_end` (loop time) leaves the client.
Delay = Callable[[float], float]


def no_delay(_: float) -> float:
    return 0.0


@dataclass
class Client:
    """A client on the loop's clock: its microphone captures in real time (silence when the
    candidate says nothing) in chunks of `sizes()` samples, and each chunk is sent `delay(t)`
    after its capture, in order. Half duplex: chunks captured while the interviewer's audio
    plays are dropped, as a client muting its microphone against echo does."""

    loop: VoiceLoop
    transport: RecordingTransport
    half_duplex: bool = False
    sizes: Callable[[], int] = lambda: 320  # 20 ms
    delay: Delay = no_delay
    pending: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))
    captured: int = 0  # samples captured so far
    started: float = 0.0
    stopped_at: float | None = None  # the client stops capturing and sending for good
    sent: list[tuple[float, float]] = field(default_factory=list)  # (capture end, sent at)
    _outbox: asyncio.Queue[tuple[float, bytes]] = field(default_factory=asyncio.Queue)
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)

    def start(self) -> None:
        self.started = asyncio.get_running_loop().time()
        self._tasks = [asyncio.create_task(self._capture()), asyncio.create_task(self._send())]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def now(self) -> float:
        return asyncio.get_running_loop().time()

    def interviewer_audible(self) -> bool:
        """At the client: between `agent_audio` start and end, and the lead after the end."""
        for at, m in reversed(self.transport.messages):
            if m["type"] == "interrupt":
                return False
            if m["type"] == "agent_audio":
                return m["event"] == "start" or self.now() < at + PLAYBACK_LEAD_S
        return False

    async def _capture(self) -> None:
        last_sent_at = 0.0
        while self.stopped_at is None or self.now() < self.stopped_at:
            size = self.sizes()
            chunk, self.pending = self.pending[:size], self.pending[size:]
            chunk = np.concatenate([chunk, np.zeros(size - len(chunk), np.float32)])
            self.captured += size
            capture_end = self.started + self.captured / RATE
            await asyncio.sleep(max(0.0, capture_end - self.now()))
            if self.stopped_at is not None and capture_end > self.stopped_at:
                return
            if self.half_duplex and self.interviewer_audible():
                continue  # muted: never sent
            send_at = max(last_sent_at, capture_end + self.delay(capture_end))
            last_sent_at = send_at
            pcm = (np.clip(chunk, -1, 1) * 32767).astype("<i2").tobytes()
            self._outbox.put_nowait((send_at, pcm))
            self.sent.append((capture_end, send_at))

    async def _send(self) -> None:
        while True:
            send_at, pcm = await self._outbox.get()
            await asyncio.sleep(max(0.0, send_at - self.now()))
            await self.loop.feed_audio(pcm)

    def say(self, audio: np.ndarray) -> tuple[float, float]:
        """Queue `audio` for capture; returns the (loop) times its first sample and its last
        voiced sample are captured."""
        begins = self.started + (self.captured + len(self.pending)) / RATE
        voiced = np.flatnonzero(audio)
        voice_end = begins + (int(voiced[-1]) + 1 if len(voiced) else 0) / RATE
        self.pending = np.concatenate([self.pending, audio])
        return begins, voice_end

    async def until(self, moment: float) -> None:
        await asyncio.sleep(max(0.0, moment - self.now()))


@dataclass
class Session:
    loop: VoiceLoop
    transport: RecordingTransport
    log: MemoryTurnLog
    client: Client

    def finals(self) -> list[dict[str, object]]:
        return [m for m in self.transport.of("transcript") if m["final"]]

    async def wait_reply(self, after_turn: int, timeout: float = 30.0) -> dict[str, Any]:
        """The next interviewer turn's `metrics` (it follows its first audio frame)."""
        return await self.transport.wait_for("metrics", timeout=timeout, turn=after_turn + 1)

    def reply_started(self, turn: int) -> float | None:
        return self.transport.first("agent_audio", event="start", turn=turn)

    def first_audio_after(self, moment: float) -> float:
        return next(at for at in self.transport.audio_frames if at >= moment)


@contextlib.asynccontextmanager
async def session(
    transport: RecordingTransport | None = None,
    vad: SpeechProbability | None = None,
    **client: object,
) -> AsyncIterator[Session]:
    transport = transport or RecordingTransport()
    log = MemoryTurnLog()

    async def finisher(ended_early: bool) -> Finished:
        return Finished("partial" if ended_early else "completed", None, "/report")

    clock = SessionClock(0.0, wall=asyncio.get_running_loop().time)
    loop = VoiceLoop(
        session_id="s1",
        plan=PLAN,
        transcript=[],
        engine=ScriptedEngine(),
        transcriber=ScriptedTranscriber(),
        synthesizer=SilentSynthesizer(SENTENCE_S),
        vad=vad or ScriptedVad(),
        transport=transport,
        turn_log=log,
        finisher=finisher,
        clock=clock,
        config=CONFIG,
    )
    task = asyncio.create_task(loop.run())
    mic = Client(loop, transport, **client)  # type: ignore[arg-type]
    mic.start()
    await transport.wait_for("agent_audio", event="end", turn=0)
    await mic.until(transport.first("agent_audio", event="end", turn=0) + PLAYBACK_LEAD_S)  # type: ignore[operator]
    try:
        yield Session(loop, transport, log, mic)
    finally:
        await mic.stop()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def check_answer(
    s: Session, script: Script, question_turn: int, voice_end: float, metrics: dict[str, Any]
) -> None:
    """One candidate turn with every word, no reply before the voice ended, and the server's
    end-of-speech latency as the client measured it."""
    turn = question_turn + 1
    finals = [f for f in s.finals() if f["turn"] == turn]
    assert finals and all(f["text"] == script.text for f in finals), s.finals()
    assert not [f for f in s.finals() if f["turn"] == turn + 1], "split into two turns"
    reply = s.reply_started(turn + 1)
    assert reply is not None and reply > voice_end + PATIENCE_S - 0.05, "the interviewer cut in"
    true_ms = (s.first_audio_after(reply) - voice_end) * 1000
    assert abs(float(metrics["eos_to_first_audio_ms"]) - true_ms) <= METRICS_TOLERANCE_MS, (
        metrics,
        true_ms,
    )
    assert metrics["end"] == "silence"


def test_a_half_duplex_client_is_heard_to_the_end_of_each_answer() -> None:
    """The microphone is muted while the interviewer speaks, so the input has a gap as long as
    each interviewer turn; the answers after it are not cut at their first pause, and the reply
    latency is not the gap."""

    async def scenario() -> None:
        async with session(half_duplex=True) as s:
            question = 0
            for first_code in (1, 20):
                script = answer(4, 3, 4, first_code=first_code)
                _, voice_end = s.client.say(script.audio)
                metrics = await s.wait_reply(question + 1)
                check_answer(s, script, question, voice_end, metrics)
                question += 2
                await s.transport.wait_for("agent_audio", event="end", turn=question)
                # Heard the question, then a think.
                await s.client.until(s.client.now() + PLAYBACK_LEAD_S + THINK_S)
            # The client really did leave gaps: nothing captured under the interviewer was sent.
            gaps = [b[0] - a[0] for a, b in zip(s.client.sent, s.client.sent[1:], strict=False)]
            assert max(gaps) > 2 * SENTENCE_S - 0.5

    run_virtual(scenario())


def test_a_stall_mid_answer_then_a_burst_is_the_audio_it_carries() -> None:
    """Full duplex, but the network holds 3 s of frames back from the first pause on, then
    delivers them at once: the pause and the words after it arrive late, in one burst. Neither
    the stall nor the burst is silence; the answer goes on."""

    async def scenario() -> None:
        stall: list[float] = []

        def delay(capture_end: float) -> float:
            if stall and stall[0] <= capture_end < stall[0] + 3.0:
                return stall[0] + 3.0 - capture_end
            return 0.0

        async with session(delay=delay) as s:
            script = Script().say(4)
            head = len(script.audio)
            audio = script.pause(0.8).say(3).pause(0.8).say(4).audio
            begins, _ = s.client.say(audio[:head])
            stall.append(begins + head / RATE)  # the stall starts as the pause does
            _, voice_end = s.client.say(audio[head:])
            metrics = await s.wait_reply(1)
            check_answer(s, script, 0, voice_end, metrics)
            burst = [sent for capture, sent in s.client.sent if sent == stall[0] + 3.0]
            assert len(burst) >= 140  # the 3 s really came at once

    run_virtual(scenario())


def test_frames_of_uneven_size_at_uneven_times_make_one_answer() -> None:
    """Chunks of 10 to 200 ms, each sent up to 400 ms after its capture (in order): a pause is
    heard as long as it was, not as long as the network made it look."""

    async def scenario() -> None:
        rng = random.Random(5)
        sizes = (160, 320, 480, 960, 1600, 3200)
        async with session(
            sizes=lambda: rng.choice(sizes), delay=lambda _: rng.uniform(0.0, 0.4)
        ) as s:
            script = answer(4, 3, 5, 3, 4, 3, pause_s=0.85)
            _, voice_end = s.client.say(script.audio)
            metrics = await s.wait_reply(1)
            check_answer(s, script, 0, voice_end, metrics)

    run_virtual(scenario())


def test_a_client_that_stops_sending_is_answered_after_the_quiet_timeout_only() -> None:
    """The client goes away mid-pause and sends nothing more. A gap is not silence, so the
    answer does not end after the patience window; the wall clock's quiet timeout ends it."""

    async def scenario() -> None:
        async with session() as s:
            script = answer(5)
            _, voice_end = s.client.say(script.audio)
            s.client.stopped_at = voice_end + 0.3
            await s.client.until(voice_end + QUIET_S + 0.1)
            assert s.reply_started(2) is None, "a gap in the input was taken for silence"
            metrics = await s.wait_reply(1, timeout=5)
            reply = s.reply_started(2)
            assert reply is not None
            last_sent = max(sent for _, sent in s.client.sent)
            assert last_sent + QUIET_S <= reply <= last_sent + QUIET_S + 1.0
            assert [f["text"] for f in s.finals()] == [script.text]
            assert metrics["end"] == "silence"

    run_virtual(scenario())


class SlowPauseTransport(RecordingTransport):
    """The first `vad` speaking=false takes `hold_s` to send (a congested socket): the loop
    reads no input meanwhile, and the client's frames wait in the socket."""

    def __init__(self, hold_s: float) -> None:
        super().__init__()
        self.hold_s = hold_s
        self.held = False

    async def send_message(self, message: ServerMessage) -> None:
        await super().send_message(message)
        if not self.held and to_wire(message) == {"type": "vad", "speaking": False}:
            self.held = True
            await asyncio.sleep(self.hold_s)


def test_input_the_server_itself_holds_up_is_not_a_client_gone_quiet() -> None:
    """While the loop is busy with a frame for longer than the quiet timeout, the client's
    audio waits unread: the quiet watch must not take that for a client that went away."""

    async def scenario() -> None:
        async with session(SlowPauseTransport(QUIET_S + 1.0)) as s:
            script = answer(4, 3, 4)
            _, voice_end = s.client.say(script.audio)
            metrics = await s.wait_reply(1)
            assert [f["text"] for f in s.finals()] == [script.text]
            reply = s.reply_started(2)
            assert reply is not None and reply > voice_end
            assert metrics["end"] == "silence"

    run_virtual(scenario())


SOFT = 999  # a word's code that the VAD below hears faintly


class SoftTailVad(ScriptedVad):
    """Hears the SOFT word as Silero hears a trailing-off syllable: under the stop threshold
    (0.35), above the tail threshold (0.15)."""

    def probability(self, frame: np.ndarray) -> float:
        if np.any(np.rint(frame * 1000) == SOFT):
            return 0.25
        return super().probability(frame)


def test_a_soft_trailing_syllable_does_not_eat_into_the_patience_window() -> None:
    """Words, a soft last syllable (0.3 s), then a pause shorter than the patience window
    counted from that syllable (but longer counted from the last loud frame): the answer goes
    on. The silence that ends a turn is measured from speech to speech."""

    async def scenario() -> None:
        async with session(vad=SoftTailVad()) as s:
            script = Script().say(4).word(SOFT, 0.3).pause(PATIENCE_S - 0.15)
            script.next_code = 10
            script.say(4)
            _, voice_end = s.client.say(script.audio)
            metrics = await s.wait_reply(1)
            assert [f["text"] for f in s.finals()] == [script.text]
            reply = s.reply_started(2)
            assert reply is not None and reply > voice_end, "cut off after the soft syllable"
            assert metrics["end"] == "silence"

    run_virtual(scenario())


def test_an_answer_repaired_after_answer_done_waits_for_silence_again() -> None:
    """`answer_done`, then the candidate goes on at once (a repair): the answer is open again,
    and its next short pause must not end it as the earlier signal did."""

    async def scenario() -> None:
        async with session() as s:
            first = answer(4)
            _, first_end = s.client.say(first.audio)
            await s.client.until(first_end + 0.1)
            await s.loop.answer_done()
            await s.transport.wait_for("agent_audio", event="start", turn=2)
            more = answer(3, 3, 3, first_code=10)  # pauses shorter than patience inside
            _, voice_end = s.client.say(more.audio)
            await s.transport.wait_for("interrupt", turn=2)
            # The reply to the repaired answer: a second `metrics` for turn 2.
            for _ in range(300):
                if len([m for m in s.transport.of("metrics") if m["turn"] == 2]) >= 2:
                    break
                await asyncio.sleep(0.1)
            finals = [f for f in s.finals() if f["turn"] == 1]
            assert finals[-1]["text"] == f"{first.text} {more.text}"
            replies = [
                at
                for at, m in s.transport.messages
                if m == {"type": "agent_audio", "event": "start", "turn": 2}
            ]
            # The reply dropped by the repair, then one reply after the whole answer.
            assert len(replies) == 2 and replies[-1] > voice_end, (
                "the repaired answer was ended at its first pause"
            )

    run_virtual(scenario())


class SegmentRecorder(NullSink):
    """The integrity observers' view: the candidate segments the loop publishes."""

    def __init__(self) -> None:
        self.segments: list[CandidateSegment] = []

    def candidate_speech(self, segment: CandidateSegment) -> None:
        self.segments.append(segment)


def test_stored_word_times_point_at_their_audio_in_the_published_segments() -> None:
    """The network holds every frame back 0.45 s until just after the answer, then delivers the
    backlog at once: the capture-time estimate moves 0.45 s earlier between the answer's first
    pause (the stored turn is built) and its commit (its segments go to the integrity checks).
    The words and the segments must still be on one clock, as the speaker ranges found in the
    segments decide which words are scored: each stored word's time falls on its own audio."""

    lag_s = 0.45

    async def scenario() -> None:
        flush: list[float] = []

        def delay(capture_end: float) -> float:
            return 0.0 if flush and capture_end > flush[0] else lag_s

        async with session(delay=delay) as s:
            sink = SegmentRecorder()
            s.loop.sink = sink
            script = answer(4, 3, 4)
            begins, voice_end = s.client.say(script.audio)
            flush.append(voice_end + 0.5)  # after the first pause is heard, before the commit
            await s.wait_reply(1)
            while len(s.log.turns) < 2:  # stored beside the reply
                await asyncio.sleep(0.1)
            turn = s.log.turns[1]
            words = cast(list[tuple[str, float, float]], turn.meta["words"])
            assert [w[0] for w in words] == script.text.split()
            assert sink.segments and all(g.turn_index == 1 for g in sink.segments)
            assert abs(sink.segments[0].start_s - turn.started_at) < 1e-3  # stored rounded
            for text, start_s, end_s in words:
                segment = next(g for g in sink.segments if g.start_s <= start_s < g.end_s)
                middle = round(((start_s + end_s) / 2 - segment.start_s) * RATE)
                code = round(float(segment.audio[middle]) * 1000)
                assert word_text(code) == text, (text, start_s, segment.start_s)
            # Placed by the capture-time estimate of the first pause: the lag at most.
            origin = s.loop.clock.wall() - s.loop.clock.now_s()
            assert begins - origin - 0.05 <= turn.started_at <= begins - origin + lag_s + 0.05

    run_virtual(scenario())
