"""The candidate turn being spoken or typed: its audio, voiced spans and streaming transcript."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from audio.input import PIPELINE_RATE
from models.vad import FRAME_SAMPLES
from pipeline.voice.committed import CommittedTranscript, StreamingConfig
from pipeline.voice.turn_policy import TurnEnd

FRAME_S = FRAME_SAMPLES / PIPELINE_RATE
# A segment cut before speech that follows a long quiet keeps this much of the quiet (the soft
# onset before the detector's start).
SILENCE_LEAD_S = 0.5
# Audio more than `QUIET_KEPT_S` after the last voiced audio of an open answer (the coding
# round's may go on through minutes of quiet) is kept as one shared silent frame, not as heard:
# 30 minutes of room noise would hold 115 MB. The last `QUIET_RECENT_S` stay as heard, so a voice
# that resumes keeps its soft onset.
QUIET_KEPT_S = 5.0
QUIET_RECENT_S = 1.0
SILENT_FRAME = np.zeros(FRAME_SAMPLES, np.float32)
SILENT_FRAME.setflags(write=False)


@dataclass
class CandidateTurn:
    """Times are on the audio clock (`pipeline.voice.clock`: seconds of audio received), so
    `frames` are contiguous from `audio_start_s` whatever gaps the input had."""

    audio_start_s: float
    streaming: StreamingConfig = field(default_factory=StreamingConfig)
    frames: list[np.ndarray] = field(default_factory=list)
    spans: list[list[float]] = field(default_factory=list)  # voiced [start_s, end_s]
    typed: list[str] = field(default_factory=list)
    last_voiced_s: float = 0.0
    partial_mark: int = 0  # samples when the last partial was requested
    transcript: CommittedTranscript = field(init=False)
    # Set when the end is decided without more silence: `answer_done`, or the hard time limit.
    ended: asyncio.Event = field(default_factory=asyncio.Event)
    end_reason: TurnEnd | None = None
    end_wall: float = 0.0  # when that signal arrived (wall clock)
    stored_index: int | None = None  # stored already (a repaired answer replaces it)
    published_until_s: float = 0.0  # voiced audio already given to the observers
    # Where the first voiced sample sits on the session's timeline, estimated once, when the turn
    # is first placed there (`place`): every time of the turn (its words, its segments for the
    # integrity checks and the recording, its start and end) is that plus seconds of audio, so
    # they stay on one clock while the capture-time estimate moves on.
    placed_s: float | None = None
    # The closed segments' passes, in order; each commits its words (see `committed.py`).
    passes: list[asyncio.Task[None]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.transcript = CommittedTranscript()

    @property
    def samples(self) -> int:
        return len(self.frames) * FRAME_SAMPLES

    @property
    def audio_end_s(self) -> float:
        return self.audio_start_s + len(self.frames) * FRAME_S

    @property
    def answer_s(self) -> float:
        """First voiced audio to the last."""
        return self.last_voiced_s - self.spans[0][0] if self.spans else 0.0

    def signal_end(self, reason: TurnEnd, at_wall: float) -> None:
        if self.end_reason is None:
            self.end_reason = reason
            self.end_wall = at_wall
        self.ended.set()

    def place(self, position_s: float, session_of: Callable[[float], float]) -> float:
        """Audio position -> session seconds, on the mapping (`session_of`, the clock's estimate)
        fixed the first time this turn was placed. Needs a voiced span."""
        reference = self.spans[0][0]
        if self.placed_s is None:
            self.placed_s = session_of(reference)
        return self.placed_s + position_s - reference

    def reopen(self) -> None:
        """The answer goes on after it was ended (a repair): its end is decided anew. An end
        signalled before (`answer_done`, a client gone quiet) would otherwise end it again at its
        very next pause."""
        self.end_reason = None
        self.end_wall = 0.0
        self.ended = asyncio.Event()

    def audio(self) -> np.ndarray:
        return np.concatenate(self.frames) if self.frames else np.zeros(0, np.float32)

    def audio_since(self, turn_s: float) -> np.ndarray:
        """The audio from `turn_s` seconds into the turn to its end."""
        sample = max(0, round(turn_s * PIPELINE_RATE))
        first = sample // FRAME_SAMPLES
        tail = self.frames[first:]
        audio = np.concatenate(tail) if tail else np.zeros(0, np.float32)
        return audio[sample - first * FRAME_SAMPLES :]

    def span_audio(self, start_s: float, end_s: float) -> np.ndarray:
        """The audio between two session times: only the frames under the span are joined (a
        turn's spans are published one by one, and a long answer has dozens)."""
        first = max(0, round((start_s - self.audio_start_s) * PIPELINE_RATE))
        last = max(first, round((end_s - self.audio_start_s) * PIPELINE_RATE))
        frames = self.frames[first // FRAME_SAMPLES : -(-last // FRAME_SAMPLES)]
        if not frames:
            return np.zeros(0, np.float32)
        offset = (first // FRAME_SAMPLES) * FRAME_SAMPLES
        return np.concatenate(frames)[first - offset : last - offset]

    def spoken_after(self, turn_s: float) -> bool:
        """Voiced audio after `turn_s` (turn clock), by more than rounding: the session and
        turn clocks add up frames in different orders."""
        return self.last_voiced_s - self.audio_start_s > turn_s + FRAME_S / 2

    @property
    def turn_end_s(self) -> float:
        """The end of the audio so far, on the turn's clock."""
        return len(self.frames) * FRAME_S

    @property
    def open_segment_s(self) -> float:
        """Audio in the open segment, not yet given to a pass."""
        return self.turn_end_s - self.transcript.segment_start_s

    def segment_closes_at_pause(self) -> bool:
        return self.open_segment_s >= self.streaming.min_segment_s

    def segment_too_long(self) -> bool:
        """The open segment must be cut even without a pause (a voice that never pauses)."""
        return self.open_segment_s >= self.streaming.max_segment_s

    @property
    def passes_pending(self) -> bool:
        return any(not task.done() for task in self.passes)

    def segment_audio(self, start_s: float, end_s: float) -> np.ndarray:
        """The audio between two times of the turn's clock."""
        return self.audio_since(start_s)[: max(0, round((end_s - start_s) * PIPELINE_RATE))]

    def long_segment_cut(self) -> float:
        """Where to cut an open segment that grew too long without a pause long enough to
        close it: in its latest pause, else (a voice that never pauses) at the end."""
        start = self.transcript.segment_start_s
        for gap_start, gap_end in reversed(self.pauses()):
            if gap_start > start:
                return (gap_start + gap_end) / 2
            if gap_end - SILENCE_LEAD_S > start:
                # The segment opens in a pause longer than itself (an answer that goes on after
                # a long quiet, the coding round's): cut just before the voice, not in a word;
                # what is cut off is silence (`voiced_in`).
                return gap_end - SILENCE_LEAD_S
        return self.turn_end_s

    def forget_old_quiet(self) -> None:
        """After each frame: the frame `QUIET_RECENT_S` back becomes silence when it lies more
        than `QUIET_KEPT_S` after the last voiced audio."""
        index = len(self.frames) - 1 - round(QUIET_RECENT_S / FRAME_S)
        if index >= 0 and self.audio_start_s + index * FRAME_S >= self.last_voiced_s + QUIET_KEPT_S:
            self.frames[index] = SILENT_FRAME

    def voiced_in(self, start_s: float, end_s: float) -> bool:
        """Voiced audio between two times of the turn's clock."""
        origin = self.audio_start_s
        return any(s - origin < end_s and e - origin > start_s for s, e in self.spans)

    def pauses(self) -> list[tuple[float, float]]:
        """Silences between voiced spans, on the turn's clock (0 = `audio_start_s`)."""
        origin = self.audio_start_s
        return [
            (before[1] - origin, after[0] - origin)
            for before, after in zip(self.spans, self.spans[1:], strict=False)
        ]
