"""Consent and answers belong to the candidate (issue 12, point 8): the tenant's API key may read
the disclosure and the transcript, and end a session, but never consent, start or answer for the
candidate. Real app, real (embedded) Valkey."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from server.settings import Settings
from tests.api_support import Api, bearer, running_app

CONSENT = {"accepted": True, "version": "2026-01"}


@pytest.fixture
def api(settings: Settings) -> Iterator[Api]:
    with running_app(settings) as running:
        yield running


def _session(api: Api, headers: dict[str, str]) -> tuple[str, str]:
    created = api.client.post(
        "/v1/sessions", headers=headers, json={"interview_id": "behavioral-1", "mode": "chat"}
    )
    assert created.status_code == 201, created.text
    return str(created.json()["session"]["id"]), str(created.json()["token"])


@pytest.mark.models
def test_the_tenants_key_cannot_consent_or_answer_for_the_candidate(api: Api) -> None:
    headers = api.tenant()
    session_id, token = _session(api, headers)
    base = f"/v1/sessions/{session_id}"

    refused = api.client.post(f"{base}/consent", headers=headers, json=CONSENT)
    assert refused.status_code == 403, refused.text
    assert refused.json()["error"]["code"] == "candidate_only"
    # Nothing was recorded: the candidate has still not consented.
    state = api.client.get(f"{base}/consent", headers=headers).json()
    assert state["consented"] is False

    candidate = bearer(token)
    assert api.client.post(f"{base}/consent", headers=candidate, json=CONSENT).status_code == 200
    for path, body in [("start", None), ("messages", None), ("messages", {"text": "I did it."})]:
        response = api.client.post(f"{base}/{path}", headers=headers, json=body)
        assert response.status_code == 403, (path, response.text)
        assert response.json()["error"]["code"] == "candidate_only"
    transcript = api.client.get(f"{base}/transcript", headers=headers).json()
    assert transcript["turns"] == []  # the tenant's attempts stored nothing

    # The candidate's token does all of it; the audit log says the candidate did.
    opening = api.client.post(f"{base}/start", headers=candidate)
    assert opening.status_code == 200, opening.text
    answer = {"text": "I led the billing migration and cut incidents by forty percent."}
    assert api.client.post(f"{base}/messages", headers=candidate, json=answer).status_code == 200
    actions = {
        (e["action"], e["actor"])
        for e in api.client.get(f"{base}/audit", headers=headers).json()["entries"]
    }
    assert ("consented", "candidate") in actions and ("started", "candidate") in actions

    # The tenant may still end it.
    assert api.client.post(f"{base}/end", headers=headers).status_code == 200


def test_another_tenant_still_gets_404_not_403(api: Api) -> None:
    owner, stranger = api.tenant("Owner"), api.tenant("Stranger")
    session_id, _ = _session(api, owner)
    for path, body in [("consent", CONSENT), ("start", None), ("messages", {"text": "x"})]:
        response = api.client.post(f"/v1/sessions/{session_id}/{path}", headers=stranger, json=body)
        assert response.status_code == 404, (path, response.text)
