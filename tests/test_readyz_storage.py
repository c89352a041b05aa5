"""`/readyz` and the recordings' store (issue 26): with `VIVA_STORAGE_URL=s3://…` a process whose
object store cannot be reached says 503, naming `storage`, so a load balancer sends it no new
interview it could not record; 200 while the store answers. Against a real S3 gateway (SeaweedFS,
tests/s3_support.py), then with that gateway killed."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from models.registry import ModelRegistry
from server.app import create_app
from server.ops.health import STORAGE_CHECK_TIMEOUT_S, storage_status
from server.settings import Settings
from tests.s3_support import S3Server, seaweedfs


@pytest.fixture
def s3(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[S3Server]:
    """Its own SeaweedFS (the test kills it), and the credentials in boto3's standard chain."""
    with seaweedfs(tmp_path / "seaweedfs") as server:
        for name, value in server.env().items():
            if name.startswith("AWS_"):
                monkeypatch.setenv(name, value)
        yield server


def test_readyz_is_503_naming_storage_when_the_s3_gateway_stops(
    s3: S3Server, tmp_path: Path, models: ModelRegistry
) -> None:
    with TestClient(create_app(s3.settings(tmp_path, "ready"), models=models)) as client:
        resp = client.get("/readyz")
        assert resp.status_code == 200, resp.text
        body = resp.json()
        assert body["failing"] == []
        assert body["storage"] == {"ready": True, "kind": "s3"}
        assert "viva_storage_ready 1.0" in client.get("/metrics").text

        s3.stop()
        started = time.monotonic()
        resp = client.get("/readyz")
        took = time.monotonic() - started
        assert resp.status_code == 503, resp.text
        body = resp.json()
        assert body["ready"] is False
        assert body["failing"] == ["storage"]
        assert body["storage"]["ready"] is False
        assert body["storage"]["kind"] == "s3"
        assert "EndpointConnectionError" in body["storage"]["error"], body
        # Nothing else is blamed: Redis and the models are as they were.
        assert body["redis"]["ready"] is True
        assert all(m["ready"] for m in body["models"].values())
        # No retries with backoff: a health check answers within its own timeout.
        assert took < STORAGE_CHECK_TIMEOUT_S + 1, took
        # The address and credentials stay out of a public endpoint's answer.
        assert s3.endpoint.split("//")[1] not in resp.text
        assert s3.access_key not in resp.text
        assert client.get("/healthz").status_code == 200
        assert "viva_storage_ready 0.0" in client.get("/metrics").text


def test_a_missing_bucket_or_wrong_credentials_are_not_ready(
    s3: S3Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert asyncio.run(storage_status(s3.settings(tmp_path, "ready"))) == {
        "ready": True,
        "kind": "s3",
    }

    missing = asyncio.run(storage_status(s3.settings(tmp_path, "ready", bucket="no-such-bucket")))
    assert missing == {"ready": False, "kind": "s3", "error": "NoSuchBucket"}

    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-the-secret")
    wrong = asyncio.run(storage_status(s3.settings(tmp_path / "other", "ready")))
    assert wrong["ready"] is False, wrong
    assert wrong["error"] == "ClientError: SignatureDoesNotMatch", wrong


def test_a_writable_data_dir_is_ready(tmp_path: Path) -> None:
    settings = Settings(VIVA_DATA_DIR=tmp_path / "not-yet" / "data", REDIS_URL=None)
    assert asyncio.run(storage_status(settings)) == {"ready": True, "kind": "local"}
    (tmp_path / "file").write_text("x")
    blocked = Settings(VIVA_DATA_DIR=tmp_path / "file" / "data", REDIS_URL=None)
    answer = asyncio.run(storage_status(blocked))
    assert answer == {"ready": False, "kind": "local", "error": "StorageError"}
