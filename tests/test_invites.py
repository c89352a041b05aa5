"""Invite links and the demo cannot burn a tenant's quota (issue 12, point 1): the link is off
unless the interview turns it on with its own cap, a bare GET opens nothing, sessions opened by
link are rate-limited per client address and per interview, and a revoked key closes the link."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from server import tenants
from server.app import create_app
from server.settings import Settings
from server.storage import keys
from tests.api_support import Api, running_app


@pytest.fixture
def api(settings: Settings) -> Iterator[Api]:
    with running_app(settings) as running:
        yield running


def _interview(api: Api, headers: dict[str, str], **fields: Any) -> tuple[str, str]:
    created = api.client.post("/v1/interviews", headers=headers, json={"name": "Open", **fields})
    assert created.status_code == 201, created.text
    body = created.json()
    return body["interview_id"], body["invite_url"].removeprefix("http://127.0.0.1:8000")


def _session_count(api: Api, headers: dict[str, str]) -> int:
    return int(api.run(api.redis.zcard, keys.tenant_sessions(headers["X-Tenant-Id"])))


def test_a_bare_get_opens_no_session(api: Api) -> None:
    headers = api.tenant()
    _, link = _interview(api, headers, invite_sessions=10)
    for _ in range(3):  # a link preview, a crawler, a reload
        page = api.client.get(link, follow_redirects=False)
        assert page.status_code == 200
    assert 'method="post"' in page.text and f'action="{link}"' in page.text
    assert "form-action 'self'" in page.headers["content-security-policy"]
    assert page.headers["cache-control"] == "no-store"
    assert _session_count(api, headers) == 0

    joined = api.client.post(link, follow_redirects=False)
    assert joined.status_code == 303 and "#token=" in joined.headers["location"]
    assert _session_count(api, headers) == 1


def test_the_link_is_off_unless_the_interview_turns_it_on(api: Api) -> None:
    headers = api.tenant()
    interview_id, link = _interview(api, headers)
    assert api.client.get(link).status_code == 404
    assert api.client.post(link, follow_redirects=False).status_code == 404
    patched = api.client.patch(
        f"/v1/interviews/{interview_id}", headers=headers, json={"invite_sessions": 1}
    )
    assert patched.status_code == 200 and patched.json()["invite_sessions"] == 1
    assert api.client.post(link, follow_redirects=False).status_code == 303
    assert _session_count(api, headers) == 1


def test_the_link_has_its_own_cap_and_leaves_the_quota_alone(api: Api) -> None:
    headers = api.tenant()
    interview_id, link = _interview(api, headers, invite_sessions=2)
    statuses = [api.client.post(link, follow_redirects=False).status_code for _ in range(4)]
    assert statuses == [303, 303, 403, 403]
    # The tenant's own API still creates sessions: the link used 2, not the day's quota.
    own = api.client.post("/v1/sessions", headers=headers, json={"interview_id": interview_id})
    assert own.status_code == 201
    assert _session_count(api, headers) == 3
    api.client.patch(f"/v1/interviews/{interview_id}", headers=headers, json={"invite_sessions": 3})
    assert api.client.post(link, follow_redirects=False).status_code == 303


def test_a_revoked_key_closes_the_link(api: Api) -> None:
    headers = api.tenant()
    _, link = _interview(api, headers, invite_sessions=10)
    api.run(tenants.revoke_tenant_key, api.redis, headers["X-Tenant-Id"])
    assert api.client.get(link).status_code == 404
    assert api.client.post(link, follow_redirects=False).status_code == 404
    assert _session_count(api, headers) == 0


def test_sessions_by_link_are_rate_limited_per_interview(settings: Settings) -> None:
    limited = settings.model_copy(
        update={"invite_interview_rate_limit_per_minute": 2, "invite_rate_limit_per_minute": 100}
    )
    with running_app(limited) as api:
        headers = api.tenant()
        _, busy = _interview(api, headers, invite_sessions=100)
        _, other = _interview(api, headers, invite_sessions=100)
        statuses = [api.client.post(busy, follow_redirects=False).status_code for _ in range(3)]
        assert statuses == [303, 303, 429]
        refused = api.client.post(busy, follow_redirects=False)
        assert 1 <= int(refused.headers["Retry-After"]) <= 61
        assert api.client.post(other, follow_redirects=False).status_code == 303


class _Served:
    def __init__(self, settings: Settings) -> None:
        config = uvicorn.Config(create_app(settings), host="127.0.0.1", port=0, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> str:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            assert time.monotonic() < deadline and self.thread.is_alive(), "did not start"
            time.sleep(0.05)
        return f"http://127.0.0.1:{self.server.servers[0].sockets[0].getsockname()[1]}"

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)


async def _tenant_with_interview(data_dir: Path) -> tuple[str, str]:
    """A tenant (its API key) with an invite-enabled interview, in the data dir's Valkey."""
    from models.embedding import shared_embedder
    from server import interviews
    from server.interviews import InterviewFields
    from server.storage.store import Store

    store = Store(None, data_dir)
    await store.open()
    try:
        tenant, api_key = await tenants.create_tenant(store.redis, "Demo")
        fields = InterviewFields(name="Open", invite_sessions=100)
        # No questions: nothing to link to a skill, so the embedder is never loaded.
        interview = await interviews.create(store.redis, tenant.id, fields, shared_embedder)
        return api_key, interview.id
    finally:
        await store.close()


def test_links_and_the_demo_are_rate_limited_per_client_address(tmp_path: Path) -> None:
    """Over a real socket, from two loopback addresses: one client at its limit does not stop
    another. The demo page's session button shares the limit."""
    api_key, interview_id = asyncio.run(_tenant_with_interview(tmp_path))
    settings = Settings(
        VIVA_DATA_DIR=tmp_path,
        REDIS_URL=None,
        VIVA_PRELOAD_MODELS=False,
        VIVA_DEMO_ENABLED=True,
        VIVA_DEMO_API_KEY=api_key,
        VIVA_INVITE_RATE_LIMIT_PER_MINUTE=3,
    )
    with _Served(settings) as url:
        first = httpx.Client(base_url=url, transport=httpx.HTTPTransport(local_address="127.0.0.1"))
        second = httpx.Client(
            base_url=url, transport=httpx.HTTPTransport(local_address="127.0.0.2")
        )
        with first, second:
            link = f"/join/{interview_id}"
            assert [first.post(link).status_code for _ in range(2)] == [303, 303]
            assert first.post("/demo/sessions").status_code == 200
            refused = first.post(link)
            assert refused.status_code == 429 and refused.headers["Retry-After"]
            demo_refused = first.post("/demo/sessions")
            assert demo_refused.status_code == 429
            assert demo_refused.json()["error"]["code"] == "rate_limited"
            assert second.post(link).status_code == 303
            assert second.post("/demo/sessions").status_code == 200
