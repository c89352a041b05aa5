"""What the voice loop needs from the models and the socket, as Protocols.

The real implementations are `pipeline.voice.transcriber.TranscriptionScheduler` (Whisper),
`pipeline.voice.synthesizer.Synthesizer` (Piper), `models.vad.SileroStream` (Silero) and the
server's socket transport; tests give the loop scripted ones, so turn-taking runs without models.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable
from typing import Protocol

import numpy as np

from models.asr import Transcript
from pipeline.engine import Turn
from pipeline.voice.messages import Finished, ServerMessage


class Transcriber(Protocol):
    async def final(self, owner: Hashable, audio: np.ndarray, *, urgent: bool = True) -> Transcript:
        """Words with times relative to the clip (16 kHz float32); never skipped. A tentative
        one (`urgent=False`: the answer may go on) waits behind every urgent one."""
        ...

    def promote(self, owner: Hashable) -> None:
        """The owner's tentative finals still waiting become urgent."""
        ...

    async def partial(self, owner: Hashable, audio: np.ndarray) -> Transcript | None:
        """A hypothesis with word times, or None when skipped under load."""
        ...

    def busy(self, owner: Hashable) -> bool:
        """This owner has a partial waiting or running."""
        ...


class SpeechSynthesizer(Protocol):
    sample_rate: int

    async def synthesize(self, text: str) -> np.ndarray:
        """int16 mono audio at `sample_rate` for one sentence."""
        ...


class SpeechProbability(Protocol):
    def probability(self, frame: np.ndarray) -> float:
        """Speech probability of one 512-sample float32 frame at 16 kHz (stateful: in order)."""
        ...


class Transport(Protocol):
    async def send_message(self, message: ServerMessage) -> None: ...

    async def send_audio(self, pcm: bytes) -> None: ...


class TurnLog(Protocol):
    async def append(self, turn: Turn) -> bool:
        """Store a completed turn once (by index); False when that index is already stored."""
        ...

    async def replace(self, turn: Turn) -> bool:
        """Store a repaired answer over the stored turn of the same index, if it is the last
        one; False otherwise."""
        ...


Finisher = Callable[[bool], Awaitable[Finished]]  # ended_early -> the finished message
