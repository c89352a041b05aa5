"""One session's voice loop: candidate audio in, interviewer turns out, with barge-in.

Stages, in order: `audio.input.AudioInput` (decode, 16 kHz, 512-sample frames) -> Silero
probability -> `SpeechDetector` (start/stop) -> the open candidate turn (audio, partials via the
shared `TranscriptionScheduler`) -> on a stop, a speculative reply: final transcript, engine,
first sentence's audio, all while the endpoint silence runs -> at the endpoint, commit the turn
and speak the reply paced at real time. New speech before the commit cancels the speculation and
extends the same turn; speech during the interviewer's audio is a barge-in.

Everything the loop keeps between turns is the stored transcript, so a new loop over the same
session (a reconnect, another process) picks up where the last one stopped.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from audio.input import PIPELINE_RATE, AudioInput
from audio.pcm import BYTES_PER_SAMPLE, encode_s16le
from models.vad import FRAME_SAMPLES, SileroStream
from pipeline.engine import InterviewPlan, Reply, Turn, TurnEngine, asked_questions
from pipeline.voice.agreement import LocalAgreement
from pipeline.voice.config import FRAME_MS, VoiceConfig
from pipeline.voice.detector import SpeechDetector, SpeechStarted, SpeechStopped
from pipeline.voice.endpoint import required_silence_s
from pipeline.voice.messages import (
    AgentAudio,
    AgentText,
    FeedbackMessage,
    Finished,
    Interrupt,
    Progress,
    Ready,
    ServerMessage,
    TranscriptText,
    TurnMetrics,
    Vad,
)
from pipeline.voice.sink import CandidateSegment, InterviewerSpeech, NullSink, SegmentSink
from pipeline.voice.synthesizer import Synthesizer
from pipeline.voice.transcriber import TranscriptionScheduler


class Transport(Protocol):
    async def send_message(self, message: ServerMessage) -> None: ...

    async def send_audio(self, pcm: bytes) -> None: ...


class TurnLog(Protocol):
    async def append(self, turn: Turn) -> bool:
        """Store a completed turn once (by index); False when that index is already stored."""
        ...


Finisher = Callable[[bool], Awaitable[Finished]]  # ended_early -> the finished message


@dataclass(frozen=True)
class FilteredAnswer:
    """A spoken answer as scoring should see it: `text` without other voices, `meta` for the
    stored turn (what was left out, and when)."""

    text: str
    meta: dict[str, object]


# (turn index, words as `[word, start_s, end_s]` on the session clock, session time the question
# ended) -> the answer to store. Runs after the turn's audio went to the sink.
AnswerFilter = Callable[[int, list[list[object]], float | None], Awaitable[FilteredAnswer]]


class SessionClock:
    """Session-relative seconds: `offset_s` at the moment this connection started."""

    def __init__(self, offset_s: float) -> None:
        self.offset_s = offset_s
        self._origin = time.monotonic()

    def now_s(self) -> float:
        return self.offset_s + time.monotonic() - self._origin

    def to_monotonic(self, session_s: float) -> float:
        return self._origin + session_s - self.offset_s


# Voiced spans closer than this are published as one segment (pause included): the speaker
# checks embed 1.6 s windows, and a voice cut into short spans at every comma would give each
# span too few of them to be told apart.
SEGMENT_JOIN_S = 0.5


def joined_spans(spans: list[list[float]], gap_s: float) -> list[tuple[float, float]]:
    joined: list[tuple[float, float]] = []
    for start_s, end_s in spans:
        if joined and start_s - joined[-1][1] < gap_s:
            joined[-1] = (joined[-1][0], end_s)
        else:
            joined.append((start_s, end_s))
    return joined


@dataclass
class CandidateTurn:
    """The candidate turn being spoken or typed, not yet stored."""

    audio_start_s: float
    frames: list[np.ndarray] = field(default_factory=list)
    spans: list[list[float]] = field(default_factory=list)  # voiced [start_s, end_s]
    typed: list[str] = field(default_factory=list)
    last_voiced_s: float = 0.0
    partial_mark: int = 0  # samples transcribed by the last partial request
    latest_text: str = ""
    agreement: LocalAgreement = field(default_factory=LocalAgreement)

    @property
    def samples(self) -> int:
        return len(self.frames) * FRAME_SAMPLES

    def audio(self) -> np.ndarray:
        return np.concatenate(self.frames) if self.frames else np.zeros(0, np.float32)

    def span_audio(self, start_s: float, end_s: float) -> np.ndarray:
        first = max(0, round((start_s - self.audio_start_s) * PIPELINE_RATE))
        last = max(first, round((end_s - self.audio_start_s) * PIPELINE_RATE))
        return self.audio()[first:last]


@dataclass
class AgentTurn:
    """The interviewer turn being spoken."""

    index: int
    reply: Reply
    repeat: bool  # a resumed session re-asking a stored turn: not stored again
    started_s: float
    task: asyncio.Task[None] | None = None
    sentences: list[str] = field(default_factory=list)
    audio: list[np.ndarray] = field(default_factory=list)
    play_cursor: float = 0.0  # monotonic time the client finishes playing what was sent


@dataclass
class ReplyTiming:
    """What a reply to a spoken answer cost, for the `metrics` message."""

    eos_monotonic: float
    asr_final_ms: float
    engine_ms: float
    tts_started: float = 0.0
    tts_done: float = 0.0  # the first sentence's audio exists (it may wait for the endpoint)

    def first_audio_ready(self, _: object) -> None:
        self.tts_done = time.perf_counter()


class VoiceLoop:
    def __init__(
        self,
        *,
        session_id: str,
        plan: InterviewPlan,
        transcript: list[Turn],
        engine: TurnEngine,
        transcriber: TranscriptionScheduler,
        synthesizer: Synthesizer,
        vad: SileroStream,
        transport: Transport,
        turn_log: TurnLog,
        finisher: Finisher,
        clock: SessionClock,
        config: VoiceConfig | None = None,
        sink: SegmentSink | None = None,
        answer_filter: AnswerFilter | None = None,
    ) -> None:
        self.session_id = session_id
        self.plan = plan
        self.transcript = list(transcript)
        self.engine = engine
        self.transcriber = transcriber
        self.synthesizer = synthesizer
        self.vad = vad
        self.transport = transport
        self.turn_log = turn_log
        self.finisher = finisher
        self.clock = clock
        self.config = config or VoiceConfig()
        self.sink: SegmentSink = sink or NullSink()
        self.answer_filter = answer_filter
        self.speak_audio = True
        self.detector = SpeechDetector(self.config.vad)
        self._input: AudioInput | None = None
        self._audio_origin_s: float | None = None  # session time of the first input sample
        self._input_s = 0.0  # seconds of input audio received
        self._frames_in = 0
        preroll_frames = int(self.config.vad.preroll_ms / 1000 * PIPELINE_RATE / FRAME_SAMPLES) + 1
        self._preroll: deque[np.ndarray] = deque(maxlen=preroll_frames)
        self._candidate: CandidateTurn | None = None
        self._responder: asyncio.Task[None] | None = None
        self._agent: AgentTurn | None = None
        self._playing_until = 0.0
        self._tasks: set[asyncio.Task[Any]] = set()
        self._done: asyncio.Future[None] | None = None
        self._finishing = False
        self._pending_store: asyncio.Task[None] | None = None  # a committed answer being filtered

    # -- inputs ------------------------------------------------------------------------------

    def set_input_rate(self, rate: int) -> None:
        """Before any audio only (the protocol's `hello`); raises UnsupportedRate."""
        self._input = AudioInput(rate, FRAME_SAMPLES)

    async def feed_audio(self, pcm: bytes) -> None:
        if self._finishing:
            return
        if self._input is None:
            self._input = AudioInput(PIPELINE_RATE, FRAME_SAMPLES)
        self._input_s += len(pcm) / BYTES_PER_SAMPLE / self._input.in_rate
        # Audio cannot arrive before it was captured, so the earliest "arrival minus duration"
        # seen is the best anchor: frames queued while the server was busy (a backlog read in
        # one burst) must not push the timeline ahead of the wall clock.
        origin = self.clock.now_s() - self._input_s
        if self._audio_origin_s is None or origin < self._audio_origin_s:
            self._audio_origin_s = origin
        for frame in self._input.push(pcm):
            self._frames_in += 1
            end_s = self._audio_origin_s + self._frames_in * FRAME_SAMPLES / PIPELINE_RATE
            await self._on_frame(frame, end_s)

    async def answer_text(self, text: str) -> None:
        """A typed answer: one complete candidate turn, or the end of the open one."""
        if self._finishing or not text.strip():
            return
        await self._interrupt_agent()
        if self._candidate is None:
            self._candidate = CandidateTurn(audio_start_s=self.clock.now_s())
        self._candidate.typed.append(text.strip())
        self._start_responder(typed=True)

    def playback_finished(self, turn: int) -> None:
        if self._agent is None or self._agent.index != turn:
            self._playing_until = 0.0

    async def end(self) -> None:
        """The candidate ends the interview now; what they were saying is their last answer."""
        self._cancel_responder()
        if self._agent is not None and self._agent.task is not None:
            self._agent.task.cancel()
        await self._finish(ended_early=True)

    async def _store_unfinished(self, candidate: CandidateTurn) -> None:
        """An answer cut by `end`: what was said so far, transcribed and stored."""
        spoken_text = ""
        words: list[list[object]] = []
        if candidate.spans:
            candidate.last_voiced_s = candidate.spans[-1][1]
            result = await self.transcriber.final(self, candidate.audio())
            spoken_text = result.text
            start = candidate.audio_start_s
            words = [[w, round(start + s, 3), round(start + e, 3)] for w, s, e in result.words]
        text = " ".join([spoken_text, *candidate.typed]).strip()
        if not text:
            return
        await self._settle()
        turn = self._candidate_turn(candidate, text, words)
        await self.transport.send_message(TranscriptText(text=text, final=True, turn=turn.index))
        self._commit_candidate(candidate, turn, spoken_text)

    # -- running -----------------------------------------------------------------------------

    async def run(self, opening_after: Callable[[], Awaitable[None]] | None = None) -> None:
        """Send `ready`, speak first, then serve until the interview finishes or a stage fails.

        `opening_after`, when given, is awaited before the first words are spoken (the server waits
        there for a `hello` that may switch audio off)."""
        self._done = asyncio.get_running_loop().create_future()
        last = self.transcript[-1] if self.transcript else None
        await self.transport.send_message(
            Ready(
                session_id=self.session_id,
                audio_out={"encoding": "pcm_s16le", "sample_rate": self.synthesizer.sample_rate},
                resumed=bool(self.transcript),
                progress=dataclasses.asdict(self._progress(is_complete=False)),
            )
        )
        if last is not None and last.role == "interviewer" and last.kind == "closing":
            await self._finish(ended_early=False)  # the closing was spoken; only finishing was lost
        else:
            self._spawn(self._open(opening_after))
        try:
            await self._done
        finally:
            for task in list(self._tasks):
                if task is not self._pending_store:
                    task.cancel()
            # A committed answer is stored even if the socket goes: its reply was already sent.
            await self._settle()

    async def _open(self, opening_after: Callable[[], Awaitable[None]] | None) -> None:
        repeat = bool(self.transcript) and self.transcript[-1].role == "interviewer"
        reply = await self.engine.next_reply(self.plan, self.transcript)
        if opening_after is not None:
            await opening_after()
        index = len(self.transcript) - 1 if repeat else len(self.transcript)
        sentences = reply.sentences()
        first = await anext(sentences, None)
        audio = self._synthesize_ahead(first)
        await self._start_agent(reply, first, audio, index=index, repeat=repeat, timing=None)

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if task.cancelled() or self._done is None or self._done.done():
            return
        exc = task.exception()
        if exc is not None:
            self._done.set_exception(exc)

    # -- the candidate -----------------------------------------------------------------------

    def _agent_audible(self) -> bool:
        return self._agent is not None or time.monotonic() < self._playing_until

    async def _on_frame(self, frame: np.ndarray, end_s: float) -> None:
        probability = self.vad.probability(frame)
        self._preroll.append(frame)
        event = self.detector.update(probability, end_s, agent_speaking=self._agent_audible())
        candidate = self._candidate
        if isinstance(event, SpeechStarted):
            await self.transport.send_message(Vad(speaking=True))
            if event.barge_in:
                await self._interrupt_agent()
            if candidate is None:
                frames = list(self._preroll)
                candidate = CandidateTurn(end_s - len(frames) * FRAME_SAMPLES / PIPELINE_RATE)
                candidate.frames = frames
                self._candidate = candidate
            else:
                candidate.frames.append(frame)
                self._cancel_responder()  # speaking again before the reply: the same turn goes on
            candidate.spans.append([event.start_s, end_s])
        elif candidate is not None:
            candidate.frames.append(frame)
            if isinstance(event, SpeechStopped):
                candidate.spans[-1][1] = event.end_s
                candidate.last_voiced_s = event.end_s
                await self.transport.send_message(Vad(speaking=False))
                self._start_responder(typed=False)
        if candidate is not None and self.detector.speaking:
            candidate.spans[-1][1] = self.detector.last_voiced_end_s
            # Not on a quiet frame: it may be the end of the turn, and a partial started now
            # would hold the shared Whisper just when the final needs it.
            if probability >= self.config.vad.start_threshold:
                self._maybe_partial(candidate)

    def _maybe_partial(self, candidate: CandidateTurn) -> None:
        every = int(self.config.asr.partial_every_ms / 1000 * PIPELINE_RATE)
        if candidate.samples - candidate.partial_mark < every or self.transcriber.busy(self):
            return
        candidate.partial_mark = candidate.samples
        self._spawn(self._partial(candidate, candidate.audio()))

    async def _partial(self, candidate: CandidateTurn, audio: np.ndarray) -> None:
        result = await self.transcriber.partial(self, audio)
        if result is None or candidate is not self._candidate:
            return
        candidate.latest_text = result.text
        stable = candidate.agreement.update(result.text)
        if stable:
            turn = len(self.transcript)
            await self.transport.send_message(TranscriptText(text=stable, final=False, turn=turn))

    def _start_responder(self, *, typed: bool) -> None:
        self._cancel_responder()
        candidate = self._candidate
        if candidate is not None:
            self._responder = self._spawn(self._respond(candidate, typed=typed))

    def _cancel_responder(self) -> None:
        if self._responder is not None:
            self._responder.cancel()
            self._responder = None

    async def _respond(self, candidate: CandidateTurn, *, typed: bool) -> None:
        """Transcribe, ask the engine and synthesize the first sentence while the endpoint
        silence runs; at the endpoint commit the turn and speak. Cancelled by new speech."""
        eos_monotonic = self.clock.to_monotonic(candidate.last_voiced_s)
        started = time.perf_counter()
        spoken_text = ""
        words: list[list[object]] = []
        if candidate.spans:
            result = await self.transcriber.final(self, candidate.audio())
            spoken_text = result.text
            words = [
                [w, round(candidate.audio_start_s + s, 3), round(candidate.audio_start_s + e, 3)]
                for w, s, e in result.words
            ]
        asr_ms = (time.perf_counter() - started) * 1000
        text = " ".join([spoken_text, *candidate.typed]).strip()
        if not text:
            if self._candidate is candidate and not self.detector.speaking:
                self._candidate = None  # voiced but wordless (a breath, a noise): no turn
            return
        await self._settle()
        turn = self._candidate_turn(candidate, text, words)
        engine_started = time.perf_counter()
        reply = await self.engine.next_reply(self.plan, [*self.transcript, turn])
        sentences = reply.sentences()
        first = await anext(sentences, None)
        engine_ms = (time.perf_counter() - engine_started) * 1000
        timing = ReplyTiming(eos_monotonic, asr_ms, engine_ms, tts_started=time.perf_counter())
        audio = self._synthesize_ahead(first)
        if audio is not None:
            audio.add_done_callback(timing.first_audio_ready)
        if not typed:
            wait = eos_monotonic + required_silence_s(text, self.config.endpoint) - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            # Voiced frames not yet confirmed as speech may be the answer going on after a
            # pause: wait for the detector's verdict (a start cancels this reply) before ending
            # the turn, bounded in case the audio stops arriving.
            deadline = time.monotonic() + self.config.vad.barge_in_ms / 1000
            while self.detector.onset_pending and time.monotonic() < deadline:
                await asyncio.sleep(FRAME_MS / 1000)
        # The commit: from here new speech is a new turn (or a barge-in), not this one.
        if self._responder is asyncio.current_task():
            self._responder = None
        self._candidate = None
        await self.transport.send_message(TranscriptText(text=text, final=True, turn=turn.index))
        self._commit_candidate(candidate, turn, spoken_text)
        if reply.feedback is not None:
            fb = reply.feedback
            await self.transport.send_message(
                FeedbackMessage(turn.index, list(fb.strengths), list(fb.improvements), fb.score)
            )
        await self._start_agent(
            reply,
            first,
            audio,
            index=len(self.transcript),
            repeat=False,
            timing=None if typed and not candidate.spans else timing,
            rest=sentences,
        )

    def _commit_candidate(self, candidate: CandidateTurn, turn: Turn, spoken_text: str) -> None:
        """Publish the turn's audio to the observers, then store the turn as the answer filter
        returns it. The filter waits for the observers, so it runs beside the reply's first
        audio, not before it; the turn counts in the transcript at once."""
        for start_s, end_s in joined_spans(candidate.spans, SEGMENT_JOIN_S):
            self.sink.candidate_speech(
                CandidateSegment(
                    self.session_id,
                    turn.index,
                    candidate.span_audio(start_s, end_s),
                    start_s,
                    end_s,
                )
            )
        self.transcript.append(turn)
        self._pending_store = self._spawn(
            self._store_candidate(turn, spoken_text, list(candidate.typed))
        )

    async def _store_candidate(self, turn: Turn, spoken_text: str, typed: list[str]) -> None:
        words = turn.meta.get("words")
        if self.answer_filter is not None and isinstance(words, list) and words:
            question_end_s = next(
                (
                    t.ended_at
                    for t in reversed(self.transcript[: turn.index])
                    if t.role == "interviewer"
                ),
                None,
            )
            answer = await self.answer_filter(turn.index, words, question_end_s)
            turn = dataclasses.replace(
                turn,
                text=" ".join([answer.text, *typed]).strip(),
                meta={**turn.meta, "asr_text": spoken_text, **answer.meta},
            )
        await self.turn_log.append(turn)
        self.transcript[turn.index] = turn

    async def _settle(self) -> None:
        """Wait for the committed answer still being filtered to be stored: turns are stored in
        order, and the engine should see the answer as stored."""
        pending = self._pending_store
        if pending is not None and pending is not asyncio.current_task():
            await asyncio.shield(pending)

    def _candidate_turn(
        self, candidate: CandidateTurn, text: str, words: list[list[object]]
    ) -> Turn:
        open_question = next(
            (t.question_index for t in reversed(self.transcript) if t.role == "interviewer"),
            None,
        )
        started = candidate.spans[0][0] if candidate.spans else candidate.audio_start_s
        ended = candidate.last_voiced_s if candidate.spans else self.clock.now_s()
        return Turn(
            index=len(self.transcript),
            role="candidate",
            text=text,
            question_index=open_question,
            kind="answer",
            started_at=round(started, 3),
            ended_at=round(max(started, ended), 3),
            source="voice" if candidate.spans else "text",
            meta={"words": words},
        )

    # -- the interviewer ---------------------------------------------------------------------

    def _synthesize_ahead(self, sentence: str | None) -> asyncio.Task[np.ndarray] | None:
        if sentence is None or not self.speak_audio:
            return None
        return asyncio.get_running_loop().create_task(self.synthesizer.synthesize(sentence))

    async def _start_agent(
        self,
        reply: Reply,
        first: str | None,
        audio: asyncio.Task[np.ndarray] | None,
        *,
        index: int,
        repeat: bool,
        timing: ReplyTiming | None,
        rest: AsyncIterator[str] | None = None,
    ) -> None:
        agent = AgentTurn(index, reply, repeat, started_s=self.clock.now_s())
        self._agent = agent
        sentences = rest if rest is not None else reply.sentences()
        agent.task = self._spawn(self._speak(agent, first, audio, sentences, timing))

    async def _speak(
        self,
        agent: AgentTurn,
        first: str | None,
        audio: asyncio.Task[np.ndarray] | None,
        rest: AsyncIterator[str],
        timing: ReplyTiming | None,
    ) -> None:
        move = agent.reply.move
        await self.transport.send_message(self._progress(move.is_complete, move.question_index))
        with_audio = self.speak_audio
        if with_audio:
            await self.transport.send_message(AgentAudio("start", agent.index))
        sentence, pending = first, audio
        upcoming: asyncio.Task[tuple[str | None, asyncio.Task[np.ndarray] | None]] | None = None
        try:
            while sentence is not None:
                upcoming = asyncio.get_running_loop().create_task(self._next_sentence(rest))
                samples = await pending if pending is not None else None
                await self.transport.send_message(AgentText(sentence, agent.index))
                agent.sentences.append(sentence)
                if samples is not None and self.speak_audio:
                    await self._send_paced(agent, samples, timing)
                    timing = None
                sentence, pending = await upcoming
        finally:
            for task in (pending, upcoming):
                if task is not None:
                    task.cancel()
        if with_audio:
            await self.transport.send_message(AgentAudio("end", agent.index))
        self._playing_until = agent.play_cursor
        self._agent = None
        await self._store_agent(agent, interrupted=False)
        if move.is_complete:
            await self._finish(ended_early=False)

    async def _next_sentence(
        self, rest: AsyncIterator[str]
    ) -> tuple[str | None, asyncio.Task[np.ndarray] | None]:
        sentence = await anext(rest, None)
        return sentence, self._synthesize_ahead(sentence)

    async def _send_paced(
        self, agent: AgentTurn, samples: np.ndarray, timing: ReplyTiming | None
    ) -> None:
        """Send at real time plus a small lead, so a barge-in has little to flush."""
        rate = self.synthesizer.sample_rate
        chunk = int(rate * self.config.tts.chunk_ms / 1000)
        lead_s = self.config.tts.lead_ms / 1000
        for offset in range(0, len(samples), chunk):
            part = samples[offset : offset + chunk]
            now = time.monotonic()
            agent.play_cursor = max(agent.play_cursor, now)
            if agent.play_cursor - now > lead_s:
                await asyncio.sleep(agent.play_cursor - now - lead_s)
            await self.transport.send_audio(encode_s16le(part))
            agent.audio.append(part)
            agent.play_cursor += len(part) / rate
            if timing is not None:
                await self._send_metrics(agent.index, timing)
                timing = None

    async def _send_metrics(self, turn: int, timing: ReplyTiming) -> None:
        first_audio = time.monotonic()
        await self.transport.send_message(
            TurnMetrics(
                turn=turn,
                eos_to_first_audio_ms=round((first_audio - timing.eos_monotonic) * 1000, 1),
                asr_final_ms=round(timing.asr_final_ms, 1),
                engine_ms=round(timing.engine_ms, 1),
                tts_first_chunk_ms=round(
                    ((timing.tts_done or time.perf_counter()) - timing.tts_started) * 1000, 1
                ),
            )
        )

    async def _interrupt_agent(self) -> None:
        """Barge-in: stop the interviewer, tell the client to drop queued audio, store the turn
        as interrupted with what was actually sent."""
        agent = self._agent
        if agent is None:
            if time.monotonic() < self._playing_until and self.transcript:
                self._playing_until = 0.0
                await self.transport.send_message(Interrupt(self.transcript[-1].index))
            return
        self._agent = None
        if agent.task is not None:
            agent.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await agent.task
        await self.transport.send_message(Interrupt(agent.index))
        await self._store_agent(agent, interrupted=True)
        if agent.reply.move.is_complete:
            await self._finish(ended_early=False)

    async def _store_agent(self, agent: AgentTurn, *, interrupted: bool) -> None:
        text = " ".join(agent.sentences)
        sent = np.concatenate(agent.audio) if agent.audio else np.zeros(0, np.int16)
        self.sink.interviewer_speech(
            InterviewerSpeech(
                self.session_id,
                agent.index,
                sent,
                self.synthesizer.sample_rate,
                agent.started_s,
                text,
                interrupted,
            )
        )
        if agent.repeat:
            return
        move = agent.reply.move
        await self._store(
            Turn(
                index=agent.index,
                role="interviewer",
                text=text,
                question_index=move.question_index,
                kind=move.kind,
                started_at=round(agent.started_s, 3),
                ended_at=round(self.clock.now_s(), 3),
                interrupted=interrupted,
                meta=self._interviewer_meta(agent.reply, text if interrupted else None),
            )
        )

    def _interviewer_meta(self, reply: Reply, spoken_text: str | None) -> dict[str, object]:
        """Which engine spoke and why (read after speaking: an engine may add to it while its
        sentences stream), and practice feedback in the format chat mode stores."""
        meta: dict[str, object] = {
            "engine": self.engine.name,
            "engine_version": self.engine.version,
            **reply.meta,
        }
        if reply.feedback is not None:
            meta["feedback_on_previous"] = {
                "strengths": list(reply.feedback.strengths),
                "improvements": list(reply.feedback.improvements),
                "score": reply.feedback.score,
            }
        if spoken_text is not None:
            meta["spoken_text"] = spoken_text
        return meta

    async def _store(self, turn: Turn) -> None:
        await self._settle()
        await self.turn_log.append(turn)
        # Stored or already there (a retry): either way the transcript has it now.
        self.transcript.append(turn)

    def _progress(self, is_complete: bool, question_index: int | None = None) -> Progress:
        asked = asked_questions(self.transcript)
        if question_index is not None and question_index not in asked:
            asked.append(question_index)
        return Progress(
            question_count=len(asked),
            max_questions=len(self.plan.questions),
            is_complete=is_complete,
            elapsed_s=round(self.clock.now_s(), 1),
        )

    async def _finish(self, *, ended_early: bool) -> None:
        if self._finishing:
            return
        self._finishing = True
        self._cancel_responder()
        candidate, self._candidate = self._candidate, None
        if ended_early and candidate is not None:
            await self._store_unfinished(candidate)
        await self._settle()
        finished = await self.finisher(ended_early)
        await self.transport.send_message(finished)
        if self._done is not None and not self._done.done():
            self._done.set_result(None)
