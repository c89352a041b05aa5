"""OneCompiler's room in headless Chromium: a host page on another origin frames the seed's
iFrame src (`/embed/ai-interviewer/{id}?userApiToken=<the user's token>&interviewEvents=true`)
and hears the room's events with `source: "oc-interview"`, as OneCompiler's page listens for
them; a finished session says so (`interviewAlreadyCompleted`)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from server import tenants
from server.app import create_app
from server.settings import Settings
from server.storage.store import Store
from tests import test_room
from tests.compat_schemas import onecompiler as schema
from tests.test_embed import LiveServer
from tests.test_room import CHROMIUM, CHROMIUM_ARGS, HostPages, wait_for_event


@pytest.fixture
def server(tmp_path: Path) -> Iterator[LiveServer]:
    settings = Settings(VIVA_DATA_DIR=tmp_path / "data", REDIS_URL=None, VIVA_PRELOAD_MODELS=False)
    with LiveServer(create_app(settings)) as live:
        yield live


@pytest.fixture
def host(server: LiveServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[HostPages]:
    # The host page listens as OneCompiler's does: only for its own source.
    page = test_room.HOST_PAGE.replace('"viva-interview"', '"oc-interview"')
    monkeypatch.setattr(test_room, "HOST_PAGE", page)
    pages = HostPages(server.url)
    yield pages
    pages.close()


async def _api_key(tmp_path: Path, origin: str) -> str:
    store = Store(None, tmp_path / "data")
    await store.open()
    try:
        _, key = await tenants.create_tenant(store.redis, "OneCompiler room", (origin,))
    finally:
        await store.close()
    return key


@pytest.mark.slow
@pytest.mark.timeout(180)
async def test_the_seed_iframe_posts_oc_interview_events(
    server: LiveServer, host: HostPages, tmp_path: Path
) -> None:
    if shutil.which("chromium") is None:
        pytest.fail("chromium is missing: `make setup` installs it")
    from playwright.async_api import async_playwright

    key = await _api_key(tmp_path, host.origin)
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
        user = (await client.post("/v1/users", headers={"X-API-Key": key}, json={})).json()
        token = user["user"]["api"]["token"]
        headers = {"X-API-Key": key, "X-User-Token": token}
        sessions: list[dict[str, Any]] = []
        for mode in ("voice", "chat"):
            body = {"interviewId": "behavioral-1", "personaId": "maya", "mode": mode}
            created = await client.post("/v1/ai-interviewer/sessions", headers=headers, json=body)
            assert created.status_code == 200, created.text
            sessions.append(schema.SessionCreated.model_validate(created.json()).model_dump())
        # The second one is over before the user opens it.
        finished_id = sessions[1]["session"]["id"]
        ended = await client.post(f"/v1/sessions/{finished_id}/end", headers={"X-API-Key": key})
        assert ended.status_code == 200, ended.text

    def src(session_id: str) -> str:
        return (
            schema.IFRAME_SRC.replace("https://onecompiler.com", server.url)
            .replace("44s2rmqbh", session_id)
            .replace("users_api_token", token)
        )

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            page = await browser.new_page()
            await page.goto(host.page("/oc", src(sessions[0]["session"]["id"])))
            loaded = await wait_for_event(page, "interviewLoaded", 30)
            event = schema.Event.model_validate(loaded)
            assert event.sessionId == sessions[0]["session"]["id"]
            room_url = page.frames[1].url
            assert token not in room_url and "events=oc-interview" in room_url

            done = await browser.new_page()
            await done.goto(host.page("/oc-done", src(finished_id)))
            already = await wait_for_event(done, "interviewAlreadyCompleted", 30)
            assert schema.Event.model_validate(already).sessionId == finished_id
        finally:
            await browser.close()
