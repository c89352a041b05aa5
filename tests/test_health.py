from __future__ import annotations

from starlette.testclient import TestClient

from models.registry import ModelConfig, ModelRegistry
from server.app import create_app
from server.settings import Settings


def test_readyz_is_200_when_redis_and_models_are_ready(
    settings: Settings, models: ModelRegistry
) -> None:
    with TestClient(create_app(settings, models=models)) as client:
        assert client.get("/healthz").json() == {"status": "ok"}
        resp = client.get("/readyz")
        assert resp.status_code == 200, resp.text
        body = resp.json()
        assert body["redis"] == {"ready": True, "embedded": True}
        assert set(body["models"]) == {"asr", "tts", "vad", "speaker", "embedder"}
        assert all(m["ready"] for m in body["models"].values())


def test_readyz_is_503_until_models_load(settings: Settings, tmp_path) -> None:
    broken = ModelRegistry(ModelConfig(vad=str(tmp_path / "missing.onnx")))
    with TestClient(create_app(settings, models=broken)) as client:
        resp = client.get("/readyz")
        assert resp.status_code == 503
        assert resp.json()["models"]["vad"]["ready"] is False
        assert client.get("/healthz").status_code == 200


def test_metrics_are_prometheus_text(settings: Settings, models: ModelRegistry) -> None:
    with TestClient(create_app(settings, models=models)) as client:
        client.get("/readyz")
        resp = client.get("/metrics")
        assert resp.status_code == 200
        assert resp.headers["content-type"].startswith("text/plain")
        assert "viva_models_ready 1.0" in resp.text
        assert "viva_turn_eos_to_first_audio_seconds_bucket" in resp.text
