"""Piper TTS off the event loop, one sentence at a time, with a cache of short sentences.

Acknowledgements ("Thank you.") and plan questions repeat across turns and sessions; their
audio is cached so the first sentence of most replies costs nothing.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from models.tts import PiperTTS
from pipeline.voice.config import TtsConfig


class Synthesizer:
    def __init__(self, tts: PiperTTS, config: TtsConfig) -> None:
        self.tts = tts
        self.config = config
        self.sample_rate = tts.sample_rate
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="tts")
        self.busy_s = 0.0

    def _cacheable(self, text: str) -> bool:
        return len(text.split()) <= self.config.cache_max_words

    def cached(self, text: str) -> np.ndarray | None:
        audio = self._cache.get(text)
        if audio is not None:
            self._cache.move_to_end(text)
        return audio

    async def synthesize(self, text: str) -> np.ndarray:
        """int16 mono audio at `sample_rate` for one sentence."""
        hit = self.cached(text)
        if hit is not None:
            return hit
        audio = await asyncio.get_running_loop().run_in_executor(self._thread, self._run, text)
        if self._cacheable(text):
            self._cache[text] = audio
            while len(self._cache) > self.config.cache_entries:
                self._cache.popitem(last=False)
        return audio

    def _run(self, text: str) -> np.ndarray:
        started = time.perf_counter()
        chunks = list(self.tts.synthesize(text))
        self.busy_s += time.perf_counter() - started
        if not chunks:
            return np.zeros(0, dtype=np.int16)
        return np.concatenate(chunks).astype(np.int16, copy=False)

    def close(self) -> None:
        self._thread.shutdown(wait=False, cancel_futures=True)
