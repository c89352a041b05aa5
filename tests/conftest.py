"""Shared fixtures: real embedded Valkey, the real packaged models, real speech."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
import redis.asyncio as aioredis
import soundfile as sf
import soxr
from piper import SynthesisConfig

from models.embedding import SentenceEmbedder, shared_embedder
from models.registry import ModelRegistry, _Slot
from server.settings import Settings
from server.storage.store import EmbeddedValkey, Redis
from tests.stream_client import LiveServer, live_server
from tests.virtual_time import VirtualTimeLoop

ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = ROOT.parent / "shared" / "data"


def pytest_asyncio_loop_factories(
    config: pytest.Config, item: pytest.Item
) -> dict[str, Callable[[], asyncio.AbstractEventLoop]]:
    """Tests marked `virtual_time` run on tests/virtual_time.py's loop (time jumps ahead
    whenever every task waits); the others on asyncio's own. pytest-asyncio refuses None here
    (a UsageError for every other async test), so the default loop is named too."""
    if item.get_closest_marker("virtual_time") is not None:
        return {"virtual": VirtualTimeLoop}
    return {"asyncio": asyncio.new_event_loop}


# Tests that load a model (Whisper, Piper, Silero, the speaker encoder, the sentence embedder)
# are marked `models`: through these fixtures, by this hook; otherwise by their module. `make
# test-fast` deselects them and sets VIVA_TEST_NO_MODELS, under which loading any model fails the
# test that did it, so an unmarked one shows at once.
# (`item.fixturenames` is the whole closure: the shared `redis` client needs `server`.)
_MODEL_FIXTURES = frozenset({"models", "embedder", "server"})
NO_MODELS = os.environ.get("VIVA_TEST_NO_MODELS") == "1"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if _MODEL_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.models)


@pytest.fixture(autouse=True)
def _no_models_in_fast_tests(monkeypatch: pytest.MonkeyPatch) -> None:
    if not NO_MODELS:
        return

    def refuse(*_: object, **__: object) -> None:
        raise RuntimeError(
            "a model was loaded in a test not marked `models` (make test-fast loads none): "
            "mark the test or its module with pytest.mark.models"
        )

    monkeypatch.setattr(_Slot, "get", refuse)
    monkeypatch.setattr(SentenceEmbedder, "__init__", refuse)


@pytest.fixture(scope="session")
def models() -> ModelRegistry:
    """One registry, loaded once for the whole run, as the server does per process."""
    registry = ModelRegistry()
    registry.load_all()
    assert registry.ready(), registry.status()
    return registry


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(VIVA_DATA_DIR=tmp_path / "data", REDIS_URL=None, VIVA_PRELOAD_MODELS=False)


def espeak(text: str, voice: str = "en-us", rate: int = 160) -> np.ndarray:
    """Speech from espeak-ng as 16 kHz float32."""
    if shutil.which("espeak-ng") is None:
        pytest.fail("espeak-ng is missing: `make setup` installs it")
    wav = subprocess.run(
        ["espeak-ng", "-v", voice, "-s", str(rate), "--stdout", text],
        check=True,
        capture_output=True,
    ).stdout
    import io

    audio, rate_in = sf.read(io.BytesIO(wav), dtype="float32")
    return soxr.resample(audio, rate_in, 16000).astype(np.float32)


# Piper draws random noise for timbre and phoneme lengths on every call: test speech without it
# is the same in every run, so a test that passes once passes every time.
REPEATABLE = SynthesisConfig(noise_scale=0.0, noise_w_scale=0.0)


def piper_speech(models: ModelRegistry, text: str) -> np.ndarray:
    """Speech from the packaged Piper voice as 16 kHz float32, the same in every run."""
    tts = models.tts()
    chunks = [c.audio_int16_array for c in tts.voice.synthesize(text, syn_config=REPEATABLE)]
    audio = np.concatenate(chunks).astype(np.float32) / 32768.0
    return soxr.resample(audio, tts.sample_rate, 16000).astype(np.float32)


@pytest.fixture
def shared_data() -> Iterator[Path]:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"{SHARED_DATA} is absent: the real recordings live in ../shared/data")
    yield SHARED_DATA


@pytest.fixture(scope="session")
def embedder() -> SentenceEmbedder:
    """The packaged sentence-embedding model, shared as the server shares it."""
    return shared_embedder()


# -- a live server for the stream tests (modules needing another kind define their own) -------


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, models: ModelRegistry) -> Iterator[LiveServer]:
    """uvicorn on a free port with its own embedded Valkey, shared by one test module."""
    with live_server(Path(tmp_path_factory.mktemp("live")), models) as live:
        yield live


@pytest.fixture(scope="module")
def valkey_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """An embedded Valkey of the module's own, with no server and no model."""
    valkey = EmbeddedValkey(Path(tmp_path_factory.mktemp("valkey")))
    try:
        yield valkey.start()
    finally:
        valkey.stop()


@pytest.fixture
async def valkey(valkey_url: str) -> AsyncIterator[Redis]:
    client = aioredis.from_url(valkey_url, decode_responses=True)
    yield client
    await client.aclose()


@pytest.fixture
async def redis(server: LiveServer) -> AsyncIterator[Redis]:
    client = aioredis.from_url(server.redis_url, decode_responses=True)
    yield client
    await client.aclose()
