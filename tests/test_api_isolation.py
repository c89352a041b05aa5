"""Tenants never see each other: every endpoint with an id answers 404 to another tenant, and a
session token opens only its own session's candidate endpoints."""

from __future__ import annotations

import wave
from collections.abc import Iterator
from pathlib import Path

import pytest

from server.api import ENDPOINTS
from server.compat.routes import ENDPOINTS as COMPAT_ENDPOINTS
from server.settings import Settings
from server.storage import keys
from tests.api_support import Api, bearer, running_app
from tests.test_code_api import TENANT_PROBLEM

BODIES = {
    "update_interview": {"name": "Renamed"},
    "give_consent": {"accepted": True, "version": "2026-01"},
    "post_message": {"text": "An answer."},
    "review_session": {"reviewer": "hm-7", "decision": "advance", "reason": "Checked."},
    "call_candidate": {"to": "+15551234567"},
    "record_demographics": {"sex": "female"},
}


@pytest.fixture
def api(settings: Settings) -> Iterator[Api]:
    with running_app(settings) as running:
        yield running


def _silent_wav(path: Path) -> Path:
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(16000)
        out.writeframes(b"\0\0" * 1600)
    return path


def _call(api: Api, method: str, path: str, headers: dict[str, str], name: str) -> int:
    return api.client.request(method, path, headers=headers, json=BODIES.get(name)).status_code


@pytest.mark.models
def test_another_tenants_ids_answer_404_on_every_endpoint(api: Api, tmp_path: Path) -> None:
    owner, stranger = api.tenant("Owner"), api.tenant("Stranger")
    interview_id = api.client.post("/v1/interviews", headers=owner, json={"name": "Screen"}).json()[
        "interview_id"
    ]
    session = api.client.post("/v1/sessions", headers=owner, json={"interview_id": interview_id})
    session_id = session.json()["session"]["id"]
    wav = _silent_wav(tmp_path / "full.wav")
    api.run(api.redis.hset, keys.session_recordings(session_id), "full", str(wav))
    problem = api.client.post("/v1/problems", headers=owner, json=TENANT_PROBLEM)
    assert problem.status_code == 201, problem.text
    ids = {
        "interview_id": interview_id,
        "session_id": session_id,
        "problem_id": problem.json()["problem_id"],
    }

    # The seed products' APIs authenticate their own way; their tests check isolation.
    with_ids = [e for e in ENDPOINTS if e.path_params and e not in COMPAT_ENDPOINTS]
    assert len(with_ids) >= 15
    for e in with_ids:
        path = e.path.format(**ids)
        status = _call(api, e.method, path, stranger, e.handler.__name__)
        assert status == 404, f"{e.method} {e.path} answered {status} to another tenant"

    # The stranger's lists hold none of the owner's things.
    assert api.client.get("/v1/interviews", headers=stranger).json()["items"] == []
    assert api.client.get("/v1/sessions", headers=stranger).json()["items"] == []
    assert api.client.get("/v1/catalogue", headers=stranger).json()["own_interviews"] == []

    # The owner reaches every one of them (deletions last).
    for e in sorted(with_ids, key=lambda e: e.method == "DELETE"):
        path = e.path.format(**ids)
        status = _call(api, e.method, path, owner, e.handler.__name__)
        assert status not in (401, 404), f"{e.method} {e.path} answered {status} to its owner"


def test_session_token_opens_only_its_own_candidate_endpoints(api: Api) -> None:
    headers = api.tenant()
    sessions = [
        api.client.post(
            "/v1/sessions", headers=headers, json={"interview_id": "behavioral-1"}
        ).json()
        for _ in range(2)
    ]
    (first, token), (second, _) = [(s["session"]["id"], s["token"]) for s in sessions]
    mine = bearer(token)
    assert api.client.get(f"/v1/sessions/{first}/transcript", headers=mine).status_code == 200
    as_header = {"X-Session-Token": token}
    assert api.client.get(f"/v1/sessions/{first}/consent", headers=as_header).status_code == 200
    # Another session's candidate endpoints: refused.
    assert api.client.get(f"/v1/sessions/{second}/transcript", headers=mine).status_code == 401
    # Tenant-only endpoints of its own session: refused.
    for method, path in [
        ("GET", f"/v1/sessions/{first}"),
        ("GET", f"/v1/sessions/{first}/audit"),
        ("POST", f"/v1/sessions/{first}/reinvite"),
        ("DELETE", f"/v1/sessions/{first}"),
        ("GET", "/v1/sessions"),
        ("GET", "/v1/catalogue"),
    ]:
        response = api.client.request(method, path, headers=mine)
        assert response.status_code == 401, (method, path)
        assert response.json()["error"]["code"] == "unauthorized"
    assert api.client.get("/v1/catalogue", headers={"X-API-Key": "vv_wrong"}).status_code == 401
