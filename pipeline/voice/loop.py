"""One session's voice loop: candidate audio in, interviewer turns out, with patience and repair.

Stages, in order: `audio.input.AudioInput` (decode, 16 kHz, 512-sample frames) -> speech
probability -> `SpeechDetector` (start/stop) -> the open `CandidateTurn` (audio cut into segments
at pauses, each transcribed once, and partials for captions, see `committed.py`) -> on a stop, a
speculative reply: transcript of the open segment, engine, first sentence's audio, all while the
candidate is silent -> when `TurnPolicy` says the answer is over (patience ran out, a spoken
closing, the time limit) or the candidate sent `answer_done`, commit the turn and speak the reply
paced at real time. New speech before the commit cancels the speculation and extends the same turn;
new speech soon after the reply began is a repair (the reply is dropped and the answer goes on);
later speech during the interviewer's audio is a barge-in. An answer to an open-ended question
(the coding round's) waits for a signal (answer_done, a typed answer, a code submission) or its
time limit, not for silence, and the engine is asked only once it has ended.

Three jobs, apart: `Recognition` (recognition.py: the input timeline, the VAD, the open answer's
audio, segments and words) reports to this loop through `RecognitionHooks`; `TurnWriter`
(turn_writer.py) stores the committed turns in order; `VoiceLoop` keeps the turn-taking (policy,
patience, repair, barge-in, the replies) and supervises every task the three start.

Everything the loop keeps between turns is the stored transcript, so a new loop over the same
session (a reconnect, another process) picks up where the last one stopped.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any

import numpy as np

from pipeline.conversation import interviewer_turn
from pipeline.engine import InterviewPlan, Question, Reply, Turn, TurnEngine, asked_questions
from pipeline.personas import get_persona
from pipeline.voice.candidate import FRAME_S, CandidateTurn
from pipeline.voice.clock import SessionClock
from pipeline.voice.committed import Word, text_of
from pipeline.voice.config import VoiceConfig
from pipeline.voice.detector import SpeechStarted, SpeechStopped
from pipeline.voice.messages import (
    FeedbackMessage,
    Interrupt,
    Progress,
    Ready,
    TranscriptText,
    Vad,
)
from pipeline.voice.playout import AgentTurn, PendingAudio, Playout, ReplyTiming
from pipeline.voice.ports import (
    Finisher,
    SpeechProbability,
    SpeechSynthesizer,
    Transcriber,
    Transport,
    TurnLog,
)
from pipeline.voice.recognition import Recognition
from pipeline.voice.sink import CandidateSegment, InterviewerSpeech, NullSink, SegmentSink
from pipeline.voice.turn_policy import TurnEnd, TurnPolicy
from pipeline.voice.turn_writer import AnswerFilter, FilteredAnswer, TurnWriter

log = logging.getLogger(__name__)

__all__ = ["AnswerFilter", "FilteredAnswer", "SessionClock", "VoiceLoop"]


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
class Repairable:
    """A committed answer whose reply has just begun: speech now continues the answer."""

    candidate: CandidateTurn
    turn: Turn
    reply_started: float  # wall clock


class VoiceLoop:
    """The turn-taking of one session (and the `RecognitionHooks` its recognition reports to)."""

    def __init__(
        self,
        *,
        session_id: str,
        plan: InterviewPlan,
        transcript: list[Turn],
        engine: TurnEngine,
        transcriber: Transcriber,
        synthesizer: SpeechSynthesizer,
        vad: SpeechProbability,
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
        self.engine = engine
        self.synthesizer = synthesizer
        self.transport = transport
        self.finisher = finisher
        self.clock = clock
        self.config = config or VoiceConfig()
        self.policy = TurnPolicy(self.config.turns, get_persona(plan.persona_id).patience)
        self.sink: SegmentSink = sink or NullSink()
        self.playout = Playout(synthesizer, transport, self.config.tts, clock)
        self.recognition = Recognition(
            config=self.config,
            vad=vad,
            transcriber=transcriber,
            clock=clock,
            hooks=self,
            spawn=self._spawn,
        )
        self.writer = TurnWriter(turn_log, list(transcript), self._spawn, answer_filter)
        self.transcript = self.writer.transcript  # one list: committed turns count at once
        self._repairable: Repairable | None = None
        self._responder: asyncio.Task[None] | None = None
        self._agent: AgentTurn | None = None
        self._playing_until = 0.0
        self._close_after_answer = False  # the closing was interrupted: finish after the answer
        self._tasks: set[asyncio.Task[Any]] = set()
        self._done: asyncio.Future[None] | None = None
        self._finishing = False

    @property
    def _candidate(self) -> CandidateTurn | None:
        """The open answer: the one recognition fills."""
        return self.recognition.turn

    @_candidate.setter
    def _candidate(self, turn: CandidateTurn | None) -> None:
        self.recognition.turn = turn

    @property
    def speak_audio(self) -> bool:
        return self.playout.with_audio

    @speak_audio.setter
    def speak_audio(self, on: bool) -> None:
        self.playout.with_audio = on

    # -- inputs ------------------------------------------------------------------------------

    def set_input_rate(self, rate: int) -> None:
        """Before any audio only (the protocol's `hello`); raises UnsupportedRate."""
        self.recognition.set_input_rate(rate)

    async def feed_audio(self, pcm: bytes) -> None:
        if self._finishing:
            return
        await self.recognition.feed_audio(pcm)

    async def answer_text(self, text: str) -> None:
        """A typed answer: one complete candidate turn, or the end of the open one."""
        if self._finishing or not text.strip():
            return
        await self._interrupt_agent()
        if self._candidate is None:
            self._candidate = CandidateTurn(self.clock.heard_s, self.config.streaming)
        self._candidate.typed.append(text.strip())
        self._start_responder(typed=True)

    async def answer_done(self) -> None:
        """The candidate says the spoken answer is complete (protocol v1.1): end the open turn
        now. With no open spoken turn it does nothing."""
        candidate = self._candidate
        if self._finishing or candidate is None or not candidate.spans:
            return
        self._end_now(candidate, TurnEnd.SIGNAL)

    async def answer_submitted(self) -> None:
        """The candidate submitted their code: on an open-ended question (the coding round's,
        whose spoken answer silence does not end) that is the answer handed in, so the open
        spoken turn ends as on `answer_done`. On any other question it ends nothing."""
        question = self._open_question()
        if question is not None and question.open_ended:
            await self.answer_done()

    def _end_now(self, candidate: CandidateTurn, reason: TurnEnd) -> None:
        """End the open turn without waiting for silence; later speech is a new turn."""
        self._candidate = None
        if self.recognition.speaking:
            candidate.spans[-1][1] = self.recognition.last_voiced_end_s
        candidate.last_voiced_s = candidate.spans[-1][1]
        candidate.signal_end(reason, self.clock.wall())
        self.recognition.promote()  # the passes over its segments: somebody waits now
        if self._responder is None or self._responder.done():
            self._responder = self._spawn(self._respond(candidate, typed=False))

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
        words: list[Word] = []
        if candidate.spans:
            candidate.last_voiced_s = candidate.spans[-1][1]
            words = await self.recognition.final_words(candidate, urgent=True)
        spoken_text = text_of(words)
        text = " ".join([spoken_text, *candidate.typed]).strip()
        if not text:
            return
        await self.writer.settle()
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
        self._spawn(self.recognition.watch_quiet())
        try:
            await self._done
        finally:
            for task in list(self._tasks):
                if not self.writer.writing(task):
                    task.cancel()
            # A committed turn is stored even if the socket goes: its reply was already sent.
            await self.writer.settle()

    async def _open(self, opening_after: Callable[[], Awaitable[None]] | None) -> None:
        repeat = bool(self.transcript) and self.transcript[-1].role == "interviewer"
        reply = await self.engine.next_reply(self.plan, self.transcript)
        if opening_after is not None:
            await opening_after()
        index = len(self.transcript) - 1 if repeat else len(self.transcript)
        sentences = reply.sentences()
        first = await anext(sentences, None)
        audio = self.playout.synthesize_ahead(first)
        await self._start_agent(reply, first, audio, index=index, repeat=repeat, timing=None)

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if task.cancelled():
            return
        exc = task.exception()  # retrieved here, or asyncio logs it as never retrieved
        if exc is None:
            return
        if self._done is not None and not self._done.done():
            self._done.set_exception(exc)
        else:
            # The loop has ended already (the socket went while this task was sending, say):
            # its outcome is decided, this failure changes nothing.
            log.info("session %s: a task failed after the loop ended: %r", self.session_id, exc)

    # -- what recognition reports (`RecognitionHooks`) ------------------------------------------

    def agent_audible(self) -> bool:
        return self._agent is not None or self.clock.wall() < self._playing_until

    def on_frame(self, frame: np.ndarray) -> None:
        repairable = self._repairable
        if repairable is not None:
            # On arrival, as the reply is timed: a client sending faster than real time (the
            # test client sends 0.1 s blocks every 0.08 s) drags capture-time estimates back,
            # and a barge-in 3 s in would look like a repair.
            if self.policy.is_repair(self.clock.wall() - repairable.reply_started):
                repairable.candidate.frames.append(frame)  # contiguous, should it go on
            else:
                self._repairable = None

    async def on_speech_start(
        self, event: SpeechStarted, turn: CandidateTurn | None
    ) -> CandidateTurn | None:
        await self.transport.send_message(Vad(speaking=True))
        if turn is None and self._repairable is not None:
            turn = await self._repair()
        if turn is None:
            if event.barge_in:
                await self._interrupt_agent()
        elif turn is self._candidate:
            self._cancel_responder()  # speaking again before the reply: the same turn goes on
        return turn

    async def on_speech_end(self, event: SpeechStopped) -> None:
        await self.transport.send_message(Vad(speaking=False))

    def on_pause(self) -> None:
        self._start_responder(typed=False)

    def on_speaking(self, turn: CandidateTurn) -> None:
        if self.policy.over_hard_limit(turn.answer_s, self._open_question_limit()):
            self._end_now(turn, TurnEnd.LIMIT)

    async def on_partial(self, caption: str) -> None:
        await self.transport.send_message(
            TranscriptText(text=caption, final=False, turn=len(self.transcript))
        )

    def on_input_quiet(self, quiet_s: float) -> None:
        """A client that has sent no audio for `input_quiet_s` has gone (or muted itself for
        good): its open answer ends, as after silence."""
        candidate = self._candidate
        if self._open_ended():
            return  # a candidate coding in silence may mute the microphone: not an end either
        if candidate is not None and candidate.spans and candidate.end_reason is None:
            log.info("session %s: no audio for %.0f s, the answer ends", self.session_id, quiet_s)
            self._end_now(candidate, TurnEnd.SILENCE)

    # -- the candidate -----------------------------------------------------------------------

    def _open_question(self) -> Question | None:
        """The plan's question the interviewer last asked (or followed up on)."""
        index = next(
            (t.question_index for t in reversed(self.transcript) if t.role == "interviewer"),
            None,
        )
        if index is None or not 0 <= index < len(self.plan.questions):
            return None
        return self.plan.questions[index]

    def _open_question_limit(self) -> float | None:
        question = self._open_question()
        return None if question is None else float(question.time_limit_s)

    def _open_ended(self) -> bool:
        """The open question's answers end by a signal or the time limit, not by silence."""
        question = self._open_question()
        return question is not None and question.open_ended

    async def _repair(self) -> CandidateTurn | None:
        """The candidate went on with the answer just committed: drop the reply (not stored,
        not asked) and reopen the answer. None when the reply was already stored."""
        repairable, self._repairable = self._repairable, None
        agent = self._agent
        if repairable is None or not self.transcript:
            return None
        if self.transcript[-1].index != repairable.turn.index:
            return None  # the reply is stored: too late, this is a new turn
        if agent is not None:
            await self._stop_agent(agent)
            self._publish_agent(agent, interrupted=True)  # heard, so echo is still recognised
        self._playing_until = 0.0
        self._close_after_answer = False
        await self.writer.settle()
        self.transcript.pop()
        candidate = repairable.candidate
        candidate.stored_index = repairable.turn.index
        candidate.reopen()
        self._candidate = candidate
        return candidate

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
        """Transcribe, ask the engine and synthesize the first sentence while the candidate is
        silent; when the answer is over commit the turn and speak. Cancelled by new speech."""
        wall = self.clock.wall
        started = wall()
        # Started at a pause, the pass is tentative: the answer may go on.
        urgent = typed or candidate.end_reason is not None
        words = (
            await self.recognition.final_words(candidate, urgent=urgent) if candidate.spans else []
        )
        spoken_text = text_of(words)
        asr_ms = (wall() - started) * 1000
        text = " ".join([spoken_text, *candidate.typed]).strip()
        if not text:
            if self._candidate is candidate and not self.recognition.speaking:
                self._candidate = None  # voiced but wordless (a breath, a noise): no turn
            if self._close_after_answer and self._candidate is None:
                await self._finish(ended_early=False)
            return
        await self.writer.settle()
        turn = self._candidate_turn(candidate, text, words)
        engine_started = wall()
        reply: Reply | None = None
        first: str | None = None
        sentences: AsyncIterator[str] | None = None
        audio: PendingAudio = None
        timing = ReplyTiming(candidate.last_voiced_s, asr_ms, 0.0, clock=self.clock)
        # An open-ended answer (the coding round's) may go on for minutes after this pause: the
        # engine is asked only once it has ended, not at every pause while the candidate codes,
        # and its reply then sees what ended it (a submission, stored before its signal).
        ended_first = not typed and self._open_ended()
        if ended_first:
            await self._end_of(candidate, text, timing)
            await self.writer.settle()
            turn = self._candidate_turn(candidate, text, words)  # after any turn stored meanwhile
            engine_started = wall()
        if not self._close_after_answer:
            reply = await self.engine.next_reply(self.plan, [*self.transcript, turn])
            sentences = reply.sentences()
            first = await anext(sentences, None)
            timing.engine_ms = (wall() - engine_started) * 1000
            timing.tts_started = wall()
            audio = self.playout.synthesize_ahead(first)
            if audio is not None:
                audio.add_done_callback(timing.first_audio_ready)
        if typed:
            timing.end, timing.end_wall = TurnEnd.SIGNAL, wall()
        elif not ended_first:
            await self._end_of(candidate, text, timing)
        # The commit: from here new speech is a repair, a new turn or a barge-in.
        if self._responder is asyncio.current_task():
            self._responder = None
        if self._candidate is candidate:
            self._candidate = None
        turn = dataclasses.replace(turn, meta={**turn.meta, "end": timing.end.value})
        await self.transport.send_message(TranscriptText(text=text, final=True, turn=turn.index))
        self._commit_candidate(candidate, turn, spoken_text)
        if reply is None:
            await self._finish(ended_early=False)  # the closing was interrupted by this answer
            return
        if candidate.spans:
            self._repairable = Repairable(candidate, turn, reply_started=wall())
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

    async def _end_of(self, candidate: CandidateTurn, text: str, timing: ReplyTiming) -> None:
        """Wait for the end of the spoken answer and note it in the reply's timing."""
        timing.end = await self._await_end(candidate, text)
        # The end of speech the silence was measured from: a soft last syllable included, as a
        # client hears it.
        timing.eos_s = self.recognition.speech_end(candidate)
        if candidate.end_reason is not None:
            timing.end_wall = candidate.end_wall

    async def _await_end(self, candidate: CandidateTurn, text: str) -> TurnEnd:
        """Wait until the answer is over: the policy's silence heard on the audio clock, or a
        signal sooner. New speech cancels this wait (and the reply with it)."""
        rule = self.policy.end_after(
            text, candidate.answer_s, self._open_question_limit(), open_ended=self._open_ended()
        )
        # Silence counts from the end of speech with the VAD's hangover: a soft trailing
        # syllable heard as silence must not eat into the patience window.
        while candidate.end_reason is None:
            due = self.recognition.speech_end(candidate) + rule.silence_s
            if self.clock.heard_s + 1e-6 >= due:
                break
            await self._until_heard(candidate, due)
        # Voiced frames not yet confirmed as speech may be the answer going on after a pause:
        # wait for the detector's verdict (a start cancels this reply) before ending the turn.
        limit = self.clock.heard_s + self.config.vad.barge_in_ms / 1000
        while (
            candidate.end_reason is None
            and self.recognition.onset_pending
            and self.clock.heard_s < limit
        ):
            await self._until_heard(candidate, self.clock.heard_s + FRAME_S / 2)
        return candidate.end_reason or rule.reason

    async def _until_heard(self, candidate: CandidateTurn, position_s: float) -> None:
        """Until the audio clock reaches `position_s`, or the turn is ended by a signal (or by
        the quiet watch: a client that stopped sending)."""
        heard = asyncio.ensure_future(self.clock.until_heard(position_s))
        ended = asyncio.ensure_future(candidate.ended.wait())
        try:
            await asyncio.wait({heard, ended}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (heard, ended):
                task.cancel()

    def _commit_candidate(self, candidate: CandidateTurn, turn: Turn, spoken_text: str) -> None:
        """Publish the turn's new audio to the observers, then store the turn as the answer
        filter returns it. The filter waits for the observers, so it runs beside the reply's
        first audio, not before it; the turn counts in the transcript at once."""
        for start_s, end_s in joined_spans(candidate.spans, SEGMENT_JOIN_S):
            if start_s < candidate.published_until_s:
                continue  # published before a repair reopened the turn
            self.sink.candidate_speech(
                CandidateSegment(
                    self.session_id,
                    turn.index,
                    candidate.span_audio(start_s, end_s),
                    candidate.place(start_s, self.clock.session_of),
                    candidate.place(end_s, self.clock.session_of),
                )
            )
            candidate.published_until_s = end_s
        self.transcript.append(turn)
        replace = candidate.stored_index == turn.index
        candidate.stored_index = turn.index
        self.writer.store_answer(turn, spoken_text, candidate.typed, replace=replace)

    def _candidate_turn(self, candidate: CandidateTurn, text: str, words: list[Word]) -> Turn:
        open_question = next(
            (t.question_index for t in reversed(self.transcript) if t.role == "interviewer"),
            None,
        )
        # Spoken parts are on the audio clock, placed on the session's timeline as captured, by
        # one estimate for the whole turn: the segments published for the integrity checks use
        # the same (`CandidateTurn.place`), so a word and the audio it was said in line up even
        # when the estimate moves on before the commit (a client sending faster than real time,
        # a backlog flushed).
        session_of = functools.partial(candidate.place, session_of=self.clock.session_of)
        now = self.clock.now_s()
        started = session_of(candidate.spans[0][0]) if candidate.spans else now
        ended = session_of(candidate.last_voiced_s) if candidate.spans else now
        origin = candidate.audio_start_s
        return Turn(
            index=len(self.transcript),
            role="candidate",
            text=text,
            question_index=open_question,
            kind="answer",
            started_at=round(started, 3),
            ended_at=round(max(started, ended), 3),
            source="voice" if candidate.spans else "text",
            meta={
                "words": [
                    [
                        w.text,
                        round(session_of(origin + w.start_s), 3),
                        round(session_of(origin + w.end_s), 3),
                    ]
                    for w in words
                ]
            },
        )

    # -- the interviewer ---------------------------------------------------------------------

    async def _start_agent(
        self,
        reply: Reply,
        first: str | None,
        audio: PendingAudio,
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
        audio: PendingAudio,
        rest: AsyncIterator[str],
        timing: ReplyTiming | None,
    ) -> None:
        move = agent.reply.move
        await self.transport.send_message(self._progress(move.is_complete, move.question_index))
        await self.playout.speak(agent, first, audio, rest, timing)
        # A reply shorter than the repair window is kept open as long: the candidate may yet go
        # on with the answer, which drops it (and a closing must not end the interview then).
        repairable = self._repairable
        if repairable is not None and repairable.turn.index == agent.index - 1:
            remaining = repairable.reply_started + self.config.turns.repair_window_s
            await asyncio.sleep(max(0.0, remaining - self.clock.wall()))
        self._repairable = None
        self._playing_until = agent.play_cursor
        self._agent = None
        await self._store_agent(agent, interrupted=False)
        if move.is_complete:
            if self._candidate is not None:
                self._close_after_answer = True  # they are speaking: finish after the answer
            else:
                await self._finish(ended_early=False)

    async def _interrupt_agent(self) -> None:
        """Barge-in: stop the interviewer, tell the client to drop queued audio, store the turn
        as interrupted with what was actually sent."""
        agent = self._agent
        if agent is None:
            if self.clock.wall() < self._playing_until and self.transcript:
                self._playing_until = 0.0
                await self.transport.send_message(Interrupt(self.transcript[-1].index))
            return
        await self._stop_agent(agent)
        await self._store_agent(agent, interrupted=True)
        if agent.reply.move.is_complete:
            self._close_after_answer = True  # the answer they are giving is stored first

    async def _stop_agent(self, agent: AgentTurn) -> None:
        """Stop speaking now and tell the client to drop the audio it has queued."""
        self._agent = None
        if agent.task is not None:
            agent.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await agent.task
        await self.transport.send_message(Interrupt(agent.index))

    def _publish_agent(self, agent: AgentTurn, *, interrupted: bool) -> None:
        """The interviewer audio the client heard, for the echo checks and the recording."""
        sent = np.concatenate(agent.audio) if agent.audio else np.zeros(0, np.int16)
        self.sink.interviewer_speech(
            InterviewerSpeech(
                self.session_id,
                agent.index,
                sent,
                self.synthesizer.sample_rate,
                agent.started_s,
                " ".join(agent.sentences),
                interrupted,
            )
        )

    async def _store_agent(self, agent: AgentTurn, *, interrupted: bool) -> None:
        self._publish_agent(agent, interrupted=interrupted)
        if agent.repeat:
            return
        await self.writer.store(
            interviewer_turn(
                self.engine,
                agent.reply,
                index=agent.index,
                text=" ".join(agent.sentences),
                started_at=agent.started_s,
                ended_at=self.clock.now_s(),
                interrupted=interrupted,
            )
        )

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
        await self.writer.settle()
        finished = await self.finisher(ended_early)
        await self.transport.send_message(finished)
        if self._done is not None and not self._done.done():
            self._done.set_result(None)
