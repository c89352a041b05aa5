"""Start-up progress: which model is loading, and how long each took.

The server preloads every model in a worker thread (`VIVA_PRELOAD_MODELS=true`); these lines go
to uvicorn's own logger, so they print beside its start-up lines at `VIVA_LOG_LEVEL=info`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from models.registry import ModelRegistry

log = logging.getLogger("uvicorn.error")


def model_steps(registry: ModelRegistry) -> list[tuple[str, str, Callable[[], Any]]]:
    """(registry name, what it is, its loader), in the registry's own order."""
    return [
        ("asr", "speech recognition (Whisper)", registry.asr),
        ("tts", "interviewer voice (Piper)", registry.tts),
        ("vad", "voice activity (Silero VAD)", registry.vad),
        ("speaker", "speaker encoder (Resemblyzer)", registry.speaker),
        ("embedder", "sentence embeddings (all-MiniLM-L6-v2)", registry.embedder),
    ]


def load_models(registry: ModelRegistry, logger: logging.Logger = log) -> None:
    """Load every model, one progress line before and after each; a failure is logged with its
    cause (and kept in `registry.status()`, which `/readyz` shows) and the others still load."""
    steps = model_steps(registry)
    total = len(steps)
    started = time.perf_counter()
    loaded = 0
    for n, (name, what, load) in enumerate(steps, 1):
        logger.info("Loading model %d/%d: %s ...", n, total, what)
        began = time.perf_counter()
        try:
            model = load()
        except Exception as exc:
            logger.error(
                "Model %d/%d %s (%s) failed after %.1f s: %s. `viva doctor` says what to fix.",
                n,
                total,
                what,
                name,
                time.perf_counter() - began,
                exc,
            )
            continue
        loaded += 1
        source = getattr(model, "source", None)
        logger.info(
            "Model %d/%d: %s loaded in %.1f s%s",
            n,
            total,
            what,
            time.perf_counter() - began,
            f" ({source})" if source else "",
        )
    logger.info(
        "Models: %d of %d loaded in %.1f s%s",
        loaded,
        total,
        time.perf_counter() - started,
        "" if loaded == total else "; /readyz says 503 until the rest load",
    )
