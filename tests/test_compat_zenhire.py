"""ZenHire's result shape (seed 003) at the native report's URL (`?format=zenhire`) and in the
tenant's webhooks when it picks that format: a voice session heard with a second voice, a chat
session, a low-confidence one and one still running."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import pytest

from server.settings import Settings
from server.storage import keys
from tests.api_support import Api, bearer, running_app
from tests.compat_schemas import zenhire as schema
from tests.test_finish_paths import ANSWERS, saved_evidence
from tests.webhook_receivers import Receiver, receiving, wait_until


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    settings = Settings(
        VIVA_DATA_DIR=tmp_path_factory.mktemp("zenhire") / "data",
        REDIS_URL=None,
        VIVA_PRELOAD_MODELS=False,
        VIVA_WEBHOOK_ALLOW_NETWORKS="127.0.0.1",
    )
    with running_app(settings) as running:
        yield running


def _session(api: Api, headers: dict[str, str], mode: str, **extra: Any) -> tuple[str, str]:
    body = {"interview_id": "behavioral-1", "mode": mode, **extra}
    created = api.client.post("/v1/sessions", headers=headers, json=body)
    assert created.status_code == 201, created.text
    session_id, token = created.json()["session"]["id"], created.json()["token"]
    consent = {"accepted": True, "version": "2026-01"}
    candidate = bearer(token)
    assert api.client.post(
        f"/v1/sessions/{session_id}/consent", headers=candidate, json=consent
    ).is_success
    assert api.client.post(f"/v1/sessions/{session_id}/start", headers=candidate).is_success
    return session_id, token


def _answer(api: Api, session_id: str, token: str, answers: list[str]) -> None:
    for answer in answers:
        reply = api.client.post(
            f"/v1/sessions/{session_id}/messages", headers=bearer(token), json={"text": answer}
        )
        assert reply.is_success, reply.text


def _zenhire(api: Api, headers: dict[str, str], session_id: str) -> dict[str, Any]:
    response = api.client.get(f"/v1/sessions/{session_id}?format=zenhire", headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_the_seed_example_fits_the_schema_the_view_is_checked_against() -> None:
    schema.Result.model_validate_json(schema.EXAMPLE_RESULT)


@pytest.mark.models
def test_a_voice_session_heard_with_a_second_voice(api: Api) -> None:
    headers = api.tenant()
    session_id, token = _session(
        api, headers, "voice", candidate={"external_id": "c-9"}, tags=["zh"]
    )
    _answer(api, session_id, token, ANSWERS)
    blob = base64.b64encode(saved_evidence()).decode("ascii")
    api.run(api.redis.rpush, keys.session_integrity(session_id), blob)
    assert api.client.post(f"/v1/sessions/{session_id}/end", headers=headers).is_success

    result = _zenhire(api, headers, session_id)
    parsed = schema.Result.model_validate(result)
    native = api.client.get(f"/v1/sessions/{session_id}", headers=headers).json()["report"]
    assert parsed.interview_id == session_id and parsed.channel == "browser"
    assert parsed.status == "partial" and parsed.overall_score == native["overall_score"]
    assert parsed.competencies == {c["name"]: c["score"] for c in native["competencies"]}
    assert parsed.language.cefr == native["language"]["cefr_estimate"]
    assert parsed.language.fluency == native["language"]["fluency"]
    assert parsed.fraud_signals.multiple_speakers is True
    assert (
        parsed.fraud_signals.reading_detected
        is native["fraud_signals"]["reading_detected"]["detected"]
    )
    assert result["fraud_signals_detail"] == native["fraud_signals"]  # the detail, beside
    assert result["explanations"] == {c["name"]: c["explanation"] for c in native["competencies"]}
    assert result["external_id"] == "c-9" and result["tags"] == ["zh"]
    assert result["report_url"].endswith(f"/v1/sessions/{session_id}")

    # The native view is untouched without the parameter, and another tenant still gets 404.
    assert "report" in api.client.get(f"/v1/sessions/{session_id}", headers=headers).json()
    other = api.client.get(f"/v1/sessions/{session_id}?format=zenhire", headers=api.tenant("B"))
    assert other.status_code == 404


@pytest.mark.models
def test_a_chat_session_a_low_confidence_one_and_one_still_running(api: Api) -> None:
    headers = api.tenant()
    chat_id, chat_token = _session(api, headers, "chat")
    _answer(api, chat_id, chat_token, ANSWERS)
    assert api.client.post(f"/v1/sessions/{chat_id}/end", headers=headers).is_success
    chat = _zenhire(api, headers, chat_id)
    parsed = schema.Result.model_validate(chat)
    assert parsed.channel == "browser" and chat["mode"] == "chat"
    assert parsed.fraud_signals.multiple_speakers is False and chat["fraud_signals_detail"] is None
    assert parsed.language.cefr is None and "typed" in chat["language"]["reason"]

    quiet_id, quiet_token = _session(api, headers, "chat")
    _answer(api, quiet_id, quiet_token, ["Yes."])
    assert api.client.post(f"/v1/sessions/{quiet_id}/end", headers=headers).is_success
    quiet = schema.Result.model_validate(_zenhire(api, headers, quiet_id))
    assert quiet.status == "low-confidence" and quiet.overall_score is None  # never made up

    running_id, _ = _session(api, headers, "chat")
    pending = _zenhire(api, headers, running_id)
    assert pending["status"] == "pending" and pending["overall_score"] is None
    assert pending["competencies"] == {}


@pytest.mark.models
def test_webhooks_in_zenhire_shape_when_the_tenant_picks_it(api: Api) -> None:
    headers = api.tenant()
    assert api.client.get("/v1/webhook-format", headers=headers).json() == {"format": "native"}
    bad = api.client.put("/v1/webhook-format", headers=headers, json={"format": "xml"})
    assert bad.status_code == 400 and "format" in bad.json()["error"]["fields"]
    picked = api.client.put("/v1/webhook-format", headers=headers, json={"format": "zenhire"})
    assert picked.status_code == 200 and picked.json() == {"format": "zenhire"}
    assert api.client.get("/v1/webhook-format", headers=headers).json() == {"format": "zenhire"}

    with receiving(Receiver("ok")) as receiver:
        session_id, token = _session(api, headers, "chat", webhook_url=receiver.url)
        _answer(api, session_id, token, ANSWERS)
        assert api.client.post(f"/v1/sessions/{session_id}/end", headers=headers).is_success
        wait_until(lambda: bool(receiver.hits), 30)
    envelope = json.loads(receiver.hits[0].body)
    assert envelope["type"] == "session.partial"  # the envelope and signature stay native
    assert (receiver.hits[0].header("X-Viva-Signature") or "").startswith("sha256=")
    data = schema.Result.model_validate(envelope["data"])
    assert data.interview_id == session_id and data.status == "partial"
    assert envelope["data"] == _zenhire(api, headers, session_id)

    # Other tenants keep the native shape.
    native = api.tenant()
    with receiving(Receiver("ok")) as receiver:
        session_id, token = _session(api, native, "chat", webhook_url=receiver.url)
        _answer(api, session_id, token, ANSWERS)
        assert api.client.post(f"/v1/sessions/{session_id}/end", headers=native).is_success
        wait_until(lambda: bool(receiver.hits), 30)
    assert json.loads(receiver.hits[0].body)["data"]["session_id"] == session_id
