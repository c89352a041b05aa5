"""Tunables of the voice loop, with their defaults. The server may override them from the
environment (see docs/stream-protocol.md for the variable names)."""

from __future__ import annotations

from dataclasses import dataclass, field

from pipeline.voice.committed import StreamingConfig
from pipeline.voice.turn_policy import TurnPolicyConfig

FRAME_MS = 32.0  # one Silero frame: 512 samples at 16 kHz


@dataclass(frozen=True)
class VadConfig:
    start_threshold: float = 0.5  # speech probability that counts towards a start
    stop_threshold: float = 0.35  # below this a frame is silence (hysteresis)
    min_speech_ms: float = 250.0  # voiced run needed to start a turn: coughs are shorter
    stop_silence_ms: float = 160.0  # silence that ends a voiced segment (not yet the turn)
    barge_in_ms: float = 300.0  # voiced run needed to interrupt the interviewer
    # While the interviewer's audio plays, only confident speech counts: echo that leaks
    # past the client's echo cancellation scores lower than a voice at the microphone.
    barge_in_threshold: float = 0.7
    # Audio kept from before a start's onset, so first syllables are not cut (a barge-in is
    # confirmed only after `barge_in_ms` of speech: its onset lies that far back and more).
    preroll_ms: float = 320.0
    # The end of speech, for the silence that ends a turn, is the last frame at or above this
    # probability that trails the voiced run without a break, up to `tail_max_ms` past the last
    # voiced frame: a soft last syllable (Silero hears a trailing-off word at 0.15-0.35) then
    # counts as speech instead of eating into the patience window.
    tail_threshold: float = 0.15
    tail_max_ms: float = 400.0


@dataclass(frozen=True)
class AsrConfig:
    partial_every_ms: float = 700.0  # new speech between two partial transcriptions


@dataclass(frozen=True)
class TtsConfig:
    chunk_ms: float = 100.0  # size of each binary frame sent to the client
    lead_ms: float = 250.0  # how far audio is sent ahead of real-time playback
    cache_max_words: int = 12  # sentences up to this long are cached (acknowledgements, questions)
    cache_entries: int = 256


@dataclass(frozen=True)
class VoiceConfig:
    vad: VadConfig = VadConfig()
    turns: TurnPolicyConfig = field(default_factory=TurnPolicyConfig)
    streaming: StreamingConfig = field(default_factory=StreamingConfig)
    asr: AsrConfig = AsrConfig()
    tts: TtsConfig = TtsConfig()
