"""Scripted stand-ins for the voice loop's models and socket, so turn-taking is tested on
timelines without Whisper, Silero or Piper (as livekit/agents tests with fake STT and VAD).

Scripted audio: silence is 0.0; a spoken word is a run of samples holding the word's code
(`code / 1000`). The fake VAD hears any non-zero frame as speech; the fake transcriber reads the
runs back as words with exact times, and garbles a word cut by the clip's end, as Whisper would.
"""

from __future__ import annotations

import asyncio
from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from models.asr import Transcript
from pipeline.engine import Turn
from pipeline.voice.messages import ServerMessage, to_wire

RATE = 16000
# Gaps between words shorter than a VAD frame (32 ms), so a sentence is one voiced run.
SPECIAL = {900: "that's", 901: "it."}


def word_text(code: int) -> str:
    return SPECIAL.get(code, f"w{code}")


@dataclass
class Script:
    """An answer as words and pauses: `say(...)` appends, `audio` is the result."""

    chunks: list[np.ndarray] = field(default_factory=list)
    codes: list[int] = field(default_factory=list)
    next_code: int = 1

    def say(self, words: int, word_s: float = 0.25, gap_s: float = 0.03) -> Script:
        for _ in range(words):
            self.word(self.next_code, word_s)
            self.next_code += 1
            self.pause(gap_s)
        return self

    def word(self, code: int, word_s: float = 0.25) -> Script:
        self.chunks.append(np.full(int(word_s * RATE), code / 1000, np.float32))
        self.codes.append(code)
        return self

    def pause(self, seconds: float) -> Script:
        self.chunks.append(np.zeros(int(seconds * RATE), np.float32))
        return self

    @property
    def audio(self) -> np.ndarray:
        return np.concatenate(self.chunks) if self.chunks else np.zeros(0, np.float32)

    @property
    def text(self) -> str:
        return " ".join(word_text(c) for c in self.codes)


def read_words(audio: np.ndarray) -> list[tuple[str, float, float]]:
    codes = np.rint(audio * 1000).astype(np.int64)
    change = np.flatnonzero(np.diff(codes)) + 1
    starts = np.concatenate([[0], change])
    ends = np.concatenate([change, [len(codes)]])
    words = []
    for start, end in zip(starts, ends, strict=True):
        code = int(codes[start])
        if code == 0:
            continue
        text = word_text(code)
        if end == len(codes):
            text = text[:2] + "~"  # cut by the clip's end: heard wrong
        words.append((text, start / RATE, end / RATE))
    return words


class ScriptedTranscriber:
    """One call at a time like the shared Whisper; records what each call covered."""

    def __init__(self, delay_s: float = 0.02) -> None:
        self.delay_s = delay_s
        self.calls: list[tuple[str, float]] = []  # (kind, seconds of audio)
        self.promoted: list[Hashable] = []
        self._busy: set[Hashable] = set()
        self._lock = asyncio.Lock()

    async def _run(self, kind: str, audio: np.ndarray, complete: bool) -> Transcript:
        async with self._lock:
            await asyncio.sleep(self.delay_s)
        self.calls.append((kind, len(audio) / RATE))
        words = read_words(np.concatenate([audio, np.zeros(1, np.float32)]) if complete else audio)
        return Transcript(" ".join(w for w, _, _ in words), tuple(words))

    async def final(self, owner: Hashable, audio: np.ndarray, *, urgent: bool = True) -> Transcript:
        return await self._run("final" if urgent else "tentative final", audio, complete=True)

    def promote(self, owner: Hashable) -> None:
        self.promoted.append(owner)

    async def partial(self, owner: Hashable, audio: np.ndarray) -> Transcript | None:
        if owner in self._busy:
            return None
        self._busy.add(owner)
        try:
            return await self._run("partial", audio, complete=False)
        finally:
            self._busy.discard(owner)

    def busy(self, owner: Hashable) -> bool:
        return owner in self._busy


class ScriptedVad:
    def probability(self, frame: np.ndarray) -> float:
        return 0.95 if np.any(frame != 0) else 0.02


class SilentSynthesizer:
    """`seconds` of audio a sentence (half a second unless told), at once."""

    sample_rate = RATE

    def __init__(self, seconds: float = 0.5) -> None:
        self.samples = int(seconds * RATE)

    async def synthesize(self, text: str) -> np.ndarray:
        return np.zeros(self.samples, np.int16)


def _now() -> float:
    """The event loop's clock: `time.monotonic()` on a normal loop, virtual time on
    tests/virtual_time.py's."""
    return asyncio.get_running_loop().time()


class RecordingTransport:
    def __init__(self) -> None:
        self.messages: list[tuple[float, dict[str, Any]]] = []
        self.audio_frames: list[float] = []
        self.changed = asyncio.Event()

    async def send_message(self, message: ServerMessage) -> None:
        self.messages.append((_now(), to_wire(message)))
        self.changed.set()

    async def send_audio(self, pcm: bytes) -> None:
        self.audio_frames.append(_now())

    def of(self, kind: str) -> list[dict[str, Any]]:
        return [m for _, m in self.messages if m["type"] == kind]

    def first(self, kind: str, after: float = 0.0, **fields: Any) -> float | None:
        for at, m in self.messages:
            if at >= after and m["type"] == kind and all(m.get(k) == v for k, v in fields.items()):
                return at
        return None

    async def wait_for(self, kind: str, timeout: float = 10.0, **fields: Any) -> dict[str, Any]:
        deadline = _now() + timeout
        seen = 0
        while True:
            for _, m in self.messages[seen:]:
                if m["type"] == kind and all(m.get(k) == v for k, v in fields.items()):
                    return m
            seen = len(self.messages)
            remaining = deadline - _now()
            if remaining <= 0:
                raise TimeoutError(f"no {kind} {fields} in {timeout} s")
            self.changed.clear()
            with_timeout = asyncio.wait_for(self.changed.wait(), remaining)
            try:
                await with_timeout
            except TimeoutError:
                continue


class MemoryTurnLog:
    def __init__(self) -> None:
        self.turns: list[Turn] = []
        self.replaced: list[int] = []

    async def append(self, turn: Turn) -> bool:
        if turn.index != len(self.turns):
            return False
        self.turns.append(turn)
        return True

    async def replace(self, turn: Turn) -> bool:
        if turn.index != len(self.turns) - 1:
            return False
        self.turns[turn.index] = turn
        self.replaced.append(turn.index)
        return True
