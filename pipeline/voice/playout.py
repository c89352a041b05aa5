"""The interviewer's voice: one turn spoken sentence by sentence, each sentence synthesized while
the one before it plays, sent at real time plus a small lead so a barge-in has little to flush."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import numpy as np

from audio.pcm import encode_s16le
from pipeline.engine import Reply
from pipeline.voice.clock import SessionClock
from pipeline.voice.config import TtsConfig
from pipeline.voice.messages import AgentAudio, AgentText, TurnMetrics
from pipeline.voice.ports import SpeechSynthesizer, Transport
from pipeline.voice.turn_policy import TurnEnd

PendingAudio = asyncio.Task[np.ndarray] | None


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
    play_cursor: float = 0.0  # wall time the client finishes playing what was sent


@dataclass
class ReplyTiming:
    """What a reply to a spoken answer cost, for the `metrics` message. Durations and moments
    on the session's wall clock; the end of speech as an audio position, mapped to the wall time
    it was captured at only when the metrics are sent (a burst still arriving then has told the
    clock when its audio was said)."""

    eos_s: float  # the last voiced audio, on the audio clock
    asr_final_ms: float
    engine_ms: float
    tts_started: float = 0.0
    tts_done: float = 0.0  # the first sentence's audio exists (it may wait for the end)
    end: TurnEnd = TurnEnd.SILENCE
    end_wall: float | None = None  # a signal's arrival; None: the turn ended at the last voice
    clock: SessionClock | None = None

    def first_audio_ready(self, _: object) -> None:
        if self.clock is not None:
            self.tts_done = self.clock.wall()


class Playout:
    def __init__(
        self,
        synthesizer: SpeechSynthesizer,
        transport: Transport,
        config: TtsConfig,
        clock: SessionClock,
    ) -> None:
        self.synthesizer = synthesizer
        self.transport = transport
        self.config = config
        self.clock = clock  # its wall clock paces the audio and times the reply
        self.with_audio = True  # off in chat mode: captions only

    def synthesize_ahead(self, sentence: str | None) -> PendingAudio:
        if sentence is None or not self.with_audio:
            return None
        return asyncio.get_running_loop().create_task(self.synthesizer.synthesize(sentence))

    async def speak(
        self,
        agent: AgentTurn,
        first: str | None,
        audio: PendingAudio,
        rest: AsyncIterator[str],
        timing: ReplyTiming | None,
    ) -> None:
        """`agent_audio` start, each sentence's `agent_text` then its audio, `agent_audio` end.
        `timing` (a reply to a spoken answer) sends `metrics` with the first audio frame."""
        with_audio = self.with_audio
        if with_audio:
            await self.transport.send_message(AgentAudio("start", agent.index))
        sentence, pending = first, audio
        upcoming: asyncio.Task[tuple[str | None, PendingAudio]] | None = None
        try:
            while sentence is not None:
                upcoming = asyncio.get_running_loop().create_task(self._next_sentence(rest))
                samples = await pending if pending is not None else None
                await self.transport.send_message(AgentText(sentence, agent.index))
                agent.sentences.append(sentence)
                if samples is not None and self.with_audio:
                    await self._send_paced(agent, samples, timing)
                    timing = None
                sentence, pending = await upcoming
        finally:
            for task in (pending, upcoming):
                if task is not None:
                    task.cancel()
        if with_audio:
            await self.transport.send_message(AgentAudio("end", agent.index))

    async def _next_sentence(self, rest: AsyncIterator[str]) -> tuple[str | None, PendingAudio]:
        sentence = await anext(rest, None)
        return sentence, self.synthesize_ahead(sentence)

    async def _send_paced(
        self, agent: AgentTurn, samples: np.ndarray, timing: ReplyTiming | None
    ) -> None:
        rate = self.synthesizer.sample_rate
        chunk = int(rate * self.config.chunk_ms / 1000)
        lead_s = self.config.lead_ms / 1000
        for offset in range(0, len(samples), chunk):
            part = samples[offset : offset + chunk]
            now = self.clock.wall()
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
        first_audio = self.clock.wall()
        eos = self.clock.wall_of(timing.eos_s)
        end = timing.end_wall if timing.end_wall is not None else eos
        await self.transport.send_message(
            TurnMetrics(
                turn=turn,
                eos_to_first_audio_ms=round((first_audio - eos) * 1000, 1),
                end=timing.end.value,
                end_to_first_audio_ms=round((first_audio - end) * 1000, 1),
                asr_final_ms=round(timing.asr_final_ms, 1),
                engine_ms=round(timing.engine_ms, 1),
                tts_first_chunk_ms=round(
                    ((timing.tts_done or first_audio) - timing.tts_started) * 1000, 1
                ),
            )
        )
