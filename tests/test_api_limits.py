"""Rate limits and quotas (429 + Retry-After), reinvite revoking the old token, and deletion
erasing every key of a session."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from server.security import ratelimit
from server.settings import Settings
from server.storage import keys
from tests.api_support import Api, bearer, running_app


@pytest.fixture
def api(settings: Settings) -> Iterator[Api]:
    with running_app(settings) as running:
        yield running


def _limit(api: Api, headers: dict[str, str], *, per_minute: int, daily: int) -> None:
    async def apply() -> None:
        await ratelimit.set_tenant_limits(
            api.redis, headers["X-Tenant-Id"], requests_per_minute=per_minute, daily_sessions=daily
        )

    api.run(apply)


def test_request_rate_limit_answers_429_with_retry_after(api: Api) -> None:
    limited, other = api.tenant("Limited"), api.tenant("Other")
    _limit(api, limited, per_minute=3, daily=100)
    statuses = [api.client.get("/v1/catalogue", headers=limited).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    refused = api.client.get("/v1/catalogue", headers=limited)
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["Retry-After"]) <= 61
    assert refused.json()["error"]["code"] == "rate_limited"
    # Per tenant: another tenant is not slowed down.
    assert api.client.get("/v1/catalogue", headers=other).status_code == 200


def test_daily_session_quota_answers_429_until_tomorrow(api: Api) -> None:
    headers = api.tenant()
    _limit(api, headers, per_minute=100, daily=2)
    body = {"interview_id": "behavioral-1"}
    created = [api.client.post("/v1/sessions", headers=headers, json=body) for _ in range(2)]
    assert [r.status_code for r in created] == [201, 201]
    refused = api.client.post("/v1/sessions", headers=headers, json=body)
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "quota_exceeded"
    assert 1 <= int(refused.headers["Retry-After"]) <= 86_401
    # A refused create uses no quota: raising the quota by one allows exactly one more.
    _limit(api, headers, per_minute=100, daily=3)
    assert api.client.post("/v1/sessions", headers=headers, json=body).status_code == 201
    assert api.client.post("/v1/sessions", headers=headers, json=body).status_code == 429


def test_session_token_rate_limit(settings: Settings) -> None:
    limited = settings.model_copy(update={"session_rate_limit_per_minute": 2})
    with running_app(limited) as api:
        headers = api.tenant()
        access = api.client.post(
            "/v1/sessions", headers=headers, json={"interview_id": "behavioral-1"}
        ).json()
        path = f"/v1/sessions/{access['session']['id']}/transcript"
        statuses = [
            api.client.get(path, headers=bearer(access["token"])).status_code for _ in range(3)
        ]
        assert statuses == [200, 200, 429]


def test_reinvite_revokes_the_old_token_at_once(api: Api) -> None:
    headers = api.tenant()
    access = api.client.post(
        "/v1/sessions", headers=headers, json={"interview_id": "behavioral-1"}
    ).json()
    session_id, old = access["session"]["id"], access["token"]
    transcript = f"/v1/sessions/{session_id}/transcript"
    assert api.client.get(transcript, headers=bearer(old)).status_code == 200

    renewed = api.client.post(f"/v1/sessions/{session_id}/reinvite", headers=headers)
    assert renewed.status_code == 200
    new = renewed.json()["token"]
    assert new != old and renewed.json()["embed_url"].endswith(f"#token={new}")
    assert api.client.get(transcript, headers=bearer(old)).status_code == 401
    assert api.client.get(transcript, headers=bearer(new)).status_code == 200
    actions = [
        e["action"]
        for e in api.client.get(f"/v1/sessions/{session_id}/audit", headers=headers).json()[
            "entries"
        ]
    ]
    assert actions == ["created", "reinvited"]


@pytest.mark.models
def test_delete_erases_every_key_of_the_session(settings: Settings, tmp_path: Path) -> None:
    # The webhook goes to a closed local port: allowed explicitly (local addresses are refused).
    with running_app(settings.model_copy(update={"webhook_allow_networks": "127.0.0.1"})) as api:
        _delete_erases_every_key(api, tmp_path)


def _delete_erases_every_key(api: Api, tmp_path: Path) -> None:
    headers = api.tenant()
    access = api.client.post(
        "/v1/sessions",
        headers=headers,
        json={
            "interview_id": "behavioral-1",
            "mode": "chat",
            "tags": ["t"],
            "webhook_url": "http://127.0.0.1:9/hook",
        },
    ).json()
    session_id, token = access["session"]["id"], access["token"]
    candidate = bearer(token)
    api.client.post(
        f"/v1/sessions/{session_id}/consent",
        headers=candidate,
        json={"accepted": True, "version": "2026-01"},
    )
    api.client.post(f"/v1/sessions/{session_id}/start", headers=candidate)
    api.client.post(
        f"/v1/sessions/{session_id}/messages", headers=candidate, json={"text": "I build things."}
    )
    recording = tmp_path / "candidate.wav"
    recording.write_bytes(b"RIFF")
    api.run(api.redis.hset, keys.session_recordings(session_id), "candidate", str(recording))
    ended = api.client.post(f"/v1/sessions/{session_id}/end", headers=candidate)
    assert ended.status_code == 200 and ended.json()["status"] in ("partial", "low_confidence")
    assert len(api.scan(f"*{session_id}*")) >= 5  # record, turns, report, audit, clock, ...

    assert api.client.delete(f"/v1/sessions/{session_id}", headers=headers).status_code == 204
    # Only the deletion marker stays (content-free, expiring): writers still running check it.
    marker = keys.session_deleted(session_id)
    assert api.scan(f"*{session_id}*") == [marker]
    assert 0 < api.run(api.redis.ttl, marker) <= 24 * 3600
    assert not recording.exists()
    assert (
        api.run(api.redis.zscore, keys.tenant_sessions(headers["X-Tenant-Id"]), session_id) is None
    )
    # The token key (named by the token's hash) is gone too, and no queued webhook names it.
    assert (
        api.client.get(f"/v1/sessions/{session_id}/transcript", headers=candidate).status_code
        == 401
    )
    queued = api.run(api.redis.xrange, keys.WEBHOOKS)
    retries = api.run(api.redis.zrange, keys.WEBHOOK_RETRIES, 0, -1)
    assert session_id not in repr(queued) + repr(retries)
    assert api.client.get(f"/v1/sessions/{session_id}", headers=headers).status_code == 404
    assert api.client.delete(f"/v1/sessions/{session_id}", headers=headers).status_code == 404


@pytest.mark.models
def test_reinvite_reopens_an_unfinished_session_but_not_a_completed_one(api: Api) -> None:
    headers = api.tenant()
    access = api.client.post(
        "/v1/sessions", headers=headers, json={"interview_id": "behavioral-1"}
    ).json()
    session_id = access["session"]["id"]
    ended = api.client.post(f"/v1/sessions/{session_id}/end", headers=headers).json()
    assert ended["status"] in ("partial", "low_confidence")
    assert api.client.get(f"/v1/sessions/{session_id}", headers=headers).json()["report"]

    reopened = api.client.post(f"/v1/sessions/{session_id}/reinvite", headers=headers)
    assert reopened.json()["session"]["status"] == "active"
    view = api.client.get(f"/v1/sessions/{session_id}", headers=headers).json()
    assert view["status"] == "active" and view["report"] is None and view["finished_at"] is None
    # It can be finished again, and scored again.
    again = api.client.post(
        f"/v1/sessions/{session_id}/end", headers=bearer(reopened.json()["token"])
    )
    assert again.status_code == 200 and again.json()["status"] == ended["status"]

    api.run(api.redis.hset, keys.session(session_id), "status", "completed")
    refused = api.client.post(f"/v1/sessions/{session_id}/reinvite", headers=headers)
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "session_finished"
