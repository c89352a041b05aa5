"""The model registry: each model resolved from config, loaded once per process, shared.

Models load lazily on first use and are thread-safe to fetch; the server preloads them all in a
worker thread at start-up (`VIVA_PRELOAD_MODELS=true`), and `/readyz` answers 503 until done.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from models.asr import WhisperASR
from models.embedding import SentenceEmbedder, shared_embedder
from models.speaker import SpeakerEncoder
from models.tts import PiperTTS
from models.vad import SileroVAD

T = TypeVar("T")


@dataclass(frozen=True)
class ModelConfig:
    """Where each model comes from: empty strings mean the packaged defaults."""

    whisper: str = ""
    whisper_compute_type: str = "int8"
    whisper_threads: int = 2
    piper_voice: str = ""
    vad: str = ""
    speaker_encoder: str = ""
    embedding: str = ""


@dataclass
class _Slot(Generic[T]):
    load: Callable[[], T]
    value: T | None = None
    error: str | None = None
    load_seconds: float | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def get(self) -> T:
        if self.value is not None:
            return self.value
        with self.lock:
            if self.value is None:
                started = time.perf_counter()
                try:
                    self.value = self.load()
                except Exception as exc:
                    self.error = str(exc)
                    raise
                self.error = None
                self.load_seconds = time.perf_counter() - started
        return self.value

    def status(self) -> dict[str, Any]:
        if self.value is not None:
            source = getattr(self.value, "source", None)
            return {"ready": True, "source": source, "load_s": round(self.load_seconds or 0, 3)}
        return {"ready": False, "error": self.error}


class ModelRegistry:
    def __init__(self, config: ModelConfig | None = None) -> None:
        cfg = config or ModelConfig()
        self.config = cfg
        self._asr = _Slot(
            lambda: WhisperASR(cfg.whisper, cfg.whisper_compute_type, cfg.whisper_threads)
        )
        self._tts = _Slot(lambda: PiperTTS(cfg.piper_voice))
        self._vad = _Slot(lambda: SileroVAD(cfg.vad))
        self._speaker = _Slot(lambda: SpeakerEncoder(cfg.speaker_encoder))
        self._embedder = _Slot(lambda: shared_embedder(cfg.embedding))

    def asr(self) -> WhisperASR:
        return self._asr.get()

    def tts(self) -> PiperTTS:
        return self._tts.get()

    def vad(self) -> SileroVAD:
        return self._vad.get()

    def speaker(self) -> SpeakerEncoder:
        return self._speaker.get()

    def embedder(self) -> SentenceEmbedder:
        return self._embedder.get()

    def _slots(self) -> dict[str, _Slot[Any]]:
        return {
            "asr": self._asr,
            "tts": self._tts,
            "vad": self._vad,
            "speaker": self._speaker,
            "embedder": self._embedder,
        }

    def load_all(self) -> None:
        """Load every model; a failure is recorded in `status()` and does not stop the others."""
        for slot in self._slots().values():
            try:
                slot.get()
            except Exception:  # reported by status(); /readyz shows it
                continue

    def ready(self) -> bool:
        return all(slot.value is not None for slot in self._slots().values())

    def status(self) -> dict[str, dict[str, Any]]:
        return {name: slot.status() for name, slot in self._slots().items()}
