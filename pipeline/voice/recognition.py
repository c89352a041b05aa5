"""What the candidate said, and when: the input timeline, the VAD, and the open answer's words.

`Recognition` turns the candidate's audio into what turn-taking decides on, as LiveKit agents'
`AudioRecognition` is apart from `AgentActivity`: it places each input frame on the session's
audio clock (`pipeline.voice.clock`), scores it with the VAD, runs `SpeechDetector`, keeps the
preroll, fills the open answer (`CandidateTurn`: its frames, voiced spans, segments cut at pauses
and each transcribed once, partials for captions, see `committed.py`), all on the shared
Whisper (`TranscriptionScheduler`, this object being the session's owner there). It reports to
its listener through `RecognitionHooks`, and the listener (`VoiceLoop`, the turn-taking) decides
what the events mean: which answer speech belongs to (a new one, the open one, a repair), a
barge-in, the speculative reply at a pause, the end of a turn.

The final words of a turn are pulled, not pushed (`final_words`): the reply asks for them at a
pause, speculatively, and again when the answer has ended.

Which answer is open (`turn`) is set by the listener: None between answers; recognition creates a
new one at a start the listener does not claim, and fills the open one.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Coroutine
from typing import Any, Protocol

import numpy as np

from audio.input import PIPELINE_RATE, AudioInput
from audio.pcm import BYTES_PER_SAMPLE
from models.vad import FRAME_SAMPLES
from pipeline.voice.candidate import FRAME_S, CandidateTurn
from pipeline.voice.clock import SessionClock
from pipeline.voice.committed import Word, on_turn_clock
from pipeline.voice.config import VoiceConfig
from pipeline.voice.detector import SpeechDetector, SpeechStarted, SpeechStopped
from pipeline.voice.ports import SpeechProbability, Transcriber

__all__ = ["PREROLL_BUFFER_S", "Recognition", "RecognitionHooks", "Spawn"]

# Kept from before a start's onset at most (the preroll itself is `VadConfig.preroll_ms`).
PREROLL_BUFFER_S = 1.5

# Starts a supervised task (the loop's: a failure ends the session).
Spawn = Callable[[Coroutine[Any, Any, None]], "asyncio.Task[None]"]


class RecognitionHooks(Protocol):
    """What recognition tells its listener, in the order it happens for one input frame:
    `on_frame`, then `agent_audible` (asked), then at most one of `on_speech_start` /
    `on_speech_end` (+ `on_pause` when an answer is open), then `on_speaking` while speech goes
    on in the open answer. `on_partial` comes from the caption tasks, `on_input_quiet` from the
    quiet watch."""

    def agent_audible(self) -> bool:
        """The interviewer's audio is playing: a start then needs a barge-in's confidence."""
        ...

    def on_frame(self, frame: np.ndarray) -> None:
        """Every frame, before the VAD's verdict on it (a reply just begun keeps the audio)."""
        ...

    async def on_speech_start(
        self, event: SpeechStarted, turn: CandidateTurn | None
    ) -> CandidateTurn | None:
        """Speech started; `turn` is the answer open when the frame came. Returns the answer
        the speech belongs to (the open one, or one reopened: it may have set `turn`), or None
        for a new one, which recognition then opens with the preroll."""
        ...

    async def on_speech_end(self, event: SpeechStopped) -> None:
        """Speech stopped (a pause, maybe the end of the answer)."""
        ...

    def on_pause(self) -> None:
        """Speech in an answer stopped (its segment closed when long enough): a reply to the
        open answer may start."""
        ...

    def on_speaking(self, turn: CandidateTurn) -> None:
        """A frame while the open answer is being spoken (its span brought up to date); the
        listener may end it now (it then sets `turn` to None)."""
        ...

    async def on_partial(self, caption: str) -> None:
        """The open answer's caption changed (a partial, or a segment's words)."""
        ...

    def on_input_quiet(self, quiet_s: float) -> None:
        """No audio for `quiet_s` of wall time while the input was ready for it."""
        ...


class Recognition:
    def __init__(
        self,
        *,
        config: VoiceConfig,
        vad: SpeechProbability,
        transcriber: Transcriber,
        clock: SessionClock,
        hooks: RecognitionHooks,
        spawn: Spawn,
    ) -> None:
        self.config = config
        self.vad = vad
        self.transcriber = transcriber
        self.clock = clock
        self.hooks = hooks
        self._spawn = spawn
        self.detector = SpeechDetector(config.vad)
        self.turn: CandidateTurn | None = None  # the open answer (set by the listener too)
        self._input: AudioInput | None = None
        self._frames_in = 0
        self._busy = False  # a chunk of audio is being processed (see `watch_quiet`)
        self._recent: deque[tuple[np.ndarray, float]] = deque(
            maxlen=int(PREROLL_BUFFER_S / FRAME_S) + 1
        )  # (frame, end_s): the preroll of the next turn

    # -- the input timeline --------------------------------------------------------------------

    def set_input_rate(self, rate: int) -> None:
        """Before any audio only; raises UnsupportedRate."""
        self._input = AudioInput(rate, FRAME_SAMPLES)

    async def feed_audio(self, pcm: bytes) -> None:
        if self._input is None:
            self._input = AudioInput(PIPELINE_RATE, FRAME_SAMPLES)
        # Frames are placed on the audio clock by the samples before them, whenever they
        # arrive: a gap in the input adds no time, a late burst is the audio it carries.
        self.clock.audio_arrived(len(pcm) / BYTES_PER_SAMPLE / self._input.in_rate)
        self._busy = True
        try:
            for frame in self._input.push(pcm):
                self._frames_in += 1
                end_s = self._frames_in * FRAME_SAMPLES / PIPELINE_RATE
                await self._on_frame(frame, end_s)
                self.clock.heard(end_s)
        finally:
            self._busy = False
            self.clock.input_done()

    async def watch_quiet(self) -> None:
        """Wall time where wall time is meant: a client that has sent no audio for
        `input_quiet_s` has gone (or muted itself for good), and the listener hears of it. A
        shorter gap is nothing; the late frames are heard when they come. Quiet is counted only
        while waiting for input: audio held up by the loop itself (a frame still being
        processed) is not the client's silence."""
        quiet_s = self.config.turns.input_quiet_s
        while True:
            left = quiet_s - self.clock.quiet_s()
            if left > 0 or self._busy:
                await asyncio.sleep(max(left, FRAME_S))
                continue
            self.hooks.on_input_quiet(quiet_s)
            await asyncio.sleep(quiet_s)

    # -- the VAD -------------------------------------------------------------------------------

    @property
    def speaking(self) -> bool:
        return self.detector.speaking

    @property
    def onset_pending(self) -> bool:
        """Voiced frames not yet confirmed as speech (see `SpeechDetector.onset_pending`)."""
        return self.detector.onset_pending

    @property
    def last_voiced_end_s(self) -> float:
        return self.detector.last_voiced_end_s

    def speech_end(self, turn: CandidateTurn) -> float:
        """The end of the answer's speech, with the VAD's soft tail: what the silence that ends
        a turn is measured from."""
        return max(turn.last_voiced_s, self.detector.speech_end_s)

    def _preroll(self, onset_s: float) -> list[np.ndarray]:
        """Frames from `preroll_ms` before the onset: the audio that decided the start (a
        barge-in's first syllables) belongs to the turn."""
        since = onset_s - self.config.vad.preroll_ms / 1000
        # Half a frame of margin: frame ends and the onset lie on one grid, and a frame ending
        # exactly at `since` fell on either side by float rounding (about 1 start in 10), so
        # the same answer's first segment began a frame apart and Whisper heard it differently.
        return [frame for frame, end_s in self._recent if end_s > since + FRAME_S / 2]

    def _frame_taken(self, turn: CandidateTurn) -> bool:
        """A reopened answer already got this frame (`on_frame`, while it was repairable)."""
        return bool(turn.frames) and turn.frames[-1] is self._recent[-1][0]

    async def _on_frame(self, frame: np.ndarray, end_s: float) -> None:
        probability = self.vad.probability(frame)
        self._recent.append((frame, end_s))
        self.hooks.on_frame(frame)
        event = self.detector.update(probability, end_s, agent_speaking=self.hooks.agent_audible())
        turn = self.turn
        if isinstance(event, SpeechStarted):
            turn = await self.hooks.on_speech_start(event, turn)
            if turn is None:
                frames = self._preroll(event.start_s)
                turn = CandidateTurn(end_s - len(frames) * FRAME_S, self.config.streaming)
                turn.frames = frames
                self.turn = turn
            elif turn is self.turn and not self._frame_taken(turn):
                turn.frames.append(frame)
            turn.spans.append([event.start_s, end_s])
        elif turn is not None:
            turn.frames.append(frame)
            turn.forget_old_quiet()
            if isinstance(event, SpeechStopped):
                turn.spans[-1][1] = event.end_s
                turn.last_voiced_s = event.end_s
                await self.hooks.on_speech_end(event)
                if turn is self.turn and turn.segment_closes_at_pause():
                    self._close_segment(turn, turn.turn_end_s)
                self.hooks.on_pause()
        elif isinstance(event, SpeechStopped):
            await self.hooks.on_speech_end(event)
        if turn is not None and self.detector.speaking and turn is self.turn:
            turn.spans[-1][1] = self.detector.last_voiced_end_s
            turn.last_voiced_s = self.detector.last_voiced_end_s
            self.hooks.on_speaking(turn)
            if turn is not self.turn:
                return  # ended now (the time limit)
            if turn.segment_too_long():
                cut = turn.long_segment_cut()
                if turn.voiced_in(turn.transcript.segment_start_s, cut):
                    self._close_segment(turn, cut)
                else:  # a long quiet inside the answer: nothing in it to hear
                    turn.transcript.close_segment(cut)
            # Not on a quiet frame: it may be the end of the turn, and a partial started now
            # would hold the shared Whisper just when the final needs it.
            if probability >= self.config.vad.start_threshold:
                self._maybe_partial(turn)

    # -- the words -----------------------------------------------------------------------------

    def promote(self) -> None:
        """Somebody waits for this session's passes now (the answer ended)."""
        self.transcriber.promote(self)

    def _maybe_partial(self, turn: CandidateTurn) -> None:
        every = int(self.config.asr.partial_every_ms / 1000 * PIPELINE_RATE)
        if turn.samples - turn.partial_mark < every or self.transcriber.busy(self):
            return
        turn.partial_mark = turn.samples
        self._spawn(self._partial(turn))

    async def _partial(self, turn: CandidateTurn) -> None:
        """A caption of the open segment: shown, never stored (the segment's pass is)."""
        stream = turn.transcript
        origin = stream.segment_start_s
        result = await self.transcriber.partial(self, turn.audio_since(origin))
        if result is None or turn is not self.turn:
            return
        if stream.add_hypothesis(origin, on_turn_clock(result.words, origin)):
            await self._send_caption(turn)

    async def _send_caption(self, turn: CandidateTurn) -> None:
        if turn is self.turn and turn.transcript.caption:
            await self.hooks.on_partial(turn.transcript.caption)

    def _close_segment(self, turn: CandidateTurn, cut_s: float) -> None:
        """Cut the open segment at `cut_s` (turn clock) and transcribe it once, after every
        ended turn's final (the answer goes on: nobody waits for it yet)."""
        start, end = turn.transcript.close_segment(cut_s)
        audio = turn.segment_audio(start, end)
        before = turn.passes[-1] if turn.passes else None
        turn.passes.append(self._spawn(self._run_pass(turn, start, audio, before)))

    async def _run_pass(
        self,
        turn: CandidateTurn,
        origin_s: float,
        audio: np.ndarray,
        before: asyncio.Task[None] | None,
    ) -> None:
        result = await self.transcriber.final(self, audio, urgent=False)
        if before is not None:
            await asyncio.shield(before)  # segments commit in order
        turn.transcript.commit(on_turn_clock(result.words, origin_s))
        await self._send_caption(turn)

    async def final_words(self, turn: CandidateTurn, *, urgent: bool) -> list[Word]:
        """Every word of the turn: the closed segments' (their passes are awaited, not
        repeated) and a pass over the open segment, when anything was said in it."""
        if urgent:
            self.promote()
        stream = turn.transcript
        origin = stream.segment_start_s
        # Queued now, beside the passes still waiting: short clips share an encoder window, so
        # the scheduler decodes them in one call.
        tail = (
            asyncio.ensure_future(
                self.transcriber.final(self, turn.audio_since(origin), urgent=urgent)
            )
            if turn.spoken_after(origin)
            else None
        )
        try:
            while turn.passes_pending:
                # Shielded: a reply cancelled by new speech leaves the passes running.
                await asyncio.shield(asyncio.gather(*turn.passes))
            for task in turn.passes:
                task.result()  # a failed pass fails the reply too
            if tail is None:
                return stream.final([])
            result = await tail
        finally:
            if tail is not None and not tail.done():
                tail.cancel()
            elif tail is not None and not tail.cancelled():
                tail.exception()  # retrieved: a failed pass may have cut this short
        return stream.final(on_turn_clock(result.words, origin))
