"""The room's HTTP side over a real socket: headers, token handling, session info, /demo."""

from __future__ import annotations

import json
import logging
import re
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from pipeline.engine import InterviewPlan, Question
from server import cli, tenants
from server.app import create_app
from server.embed import RedactTokens
from server.sessions import SessionRecord, SessionStore, new_session_id
from server.settings import Settings, get_settings
from server.storage.store import Store


class LiveServer:
    """The real app under uvicorn on a free loopback port, in a thread of this process."""

    def __init__(self, app: Any, host: str = "127.0.0.1") -> None:
        with socket.socket() as probe:
            probe.bind((host, 0))
            self.port = probe.getsockname()[1]
        self.host = host
        config = uvicorn.Config(
            app, host=host, port=self.port, log_level="warning", ws_max_size=1 << 20
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def __enter__(self) -> LiveServer:
        self._thread.start()
        deadline = time.monotonic() + 60
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.05)
        return self

    def drop_websockets(self) -> int:
        """Cut every open WebSocket at the TCP level, as a network failure would (no close
        frame: the browser sees 1006). Returns how many were cut."""
        sockets = [
            conn
            for conn in self._server.server_state.connections
            if "websocket" in type(conn).__module__
        ]
        for conn in sockets:
            conn.loop.call_soon_threadsafe(conn.transport.abort)
        return len(sockets)

    def __exit__(self, *exc: object) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=30)


PLAN = InterviewPlan(
    questions=(Question("q1", "Tell me about yourself."), Question("q2", "Why this role?")),
    persona_id="leo",
)
HOST_ORIGIN = "http://127.0.0.2:8123"


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("embed")


@pytest.fixture(scope="module")
def server(data_dir: Path) -> Iterator[LiveServer]:
    settings = Settings(VIVA_DATA_DIR=data_dir, REDIS_URL=None, VIVA_PRELOAD_MODELS=False)
    with LiveServer(create_app(settings)) as live:
        yield live


@pytest.fixture
async def store(server: LiveServer, data_dir: Path) -> AsyncIterator[Store]:
    """A second client on the server's own embedded Valkey."""
    store = Store(None, data_dir)
    await store.open()
    yield store
    await store.close()


async def _session(store: Store, origins: tuple[str, ...]) -> tuple[str, str]:
    tenant, _ = await tenants.create_tenant(store.redis, "Acme", origins)
    session_id = new_session_id()
    record = SessionRecord(id=session_id, tenant_id=tenant.id, plan=PLAN)
    _, token = await SessionStore(store.redis).create(record)
    return session_id, token


def _config(html: str) -> dict[str, Any]:
    match = re.search(r'<script type="application/json" id="room-config">(.*?)</script>', html)
    assert match, "the room config is not injected"
    return dict(json.loads(match.group(1)))


async def test_room_headers_name_the_tenants_origins(server: LiveServer, store: Store) -> None:
    session_id, token = await _session(store, (HOST_ORIGIN, "https://jobs.example.com/"))
    async with httpx.AsyncClient(base_url=server.url) as client:
        for path in (f"/embed/{session_id}", f"/embed/ai-interviewer/{session_id}"):
            response = await client.get(path)
            assert response.status_code == 200
            csp = response.headers["content-security-policy"]
            directives = {d.split()[0]: d.split()[1:] for d in csp.split("; ")}
            assert directives["frame-ancestors"] == [
                "'self'",
                HOST_ORIGIN,
                "https://jobs.example.com",
            ]
            assert f"ws://127.0.0.1:{server.port}" in directives["connect-src"]
            assert response.headers["permissions-policy"] == "microphone=(self), autoplay=(self)"
            assert response.headers["referrer-policy"] == "no-referrer"
            assert "x-frame-options" not in response.headers  # would override frame-ancestors
            config = _config(response.text)
            assert config["sessionId"] == session_id
            assert config["parentOrigins"] == [HOST_ORIGIN, "https://jobs.example.com"]
            assert token not in response.text


async def test_tenant_without_origins_is_framed_by_this_server_only(
    server: LiveServer, store: Store
) -> None:
    session_id, _ = await _session(store, ())
    async with httpx.AsyncClient(base_url=server.url) as client:
        response = await client.get(f"/embed/{session_id}")
    assert response.status_code == 200
    assert response.headers["content-security-policy"].endswith("frame-ancestors 'self'")
    assert _config(response.text)["parentOrigins"] == []


async def test_unknown_session_is_404(server: LiveServer) -> None:
    async with httpx.AsyncClient(base_url=server.url) as client:
        for path in ("/embed/ses_nope", "/embed/ai-interviewer/ses_nope", "/embed/api/ses_nope"):
            headers = {"Authorization": "Bearer whatever"}
            assert (await client.get(path, headers=headers)).status_code == 404, path


async def test_query_token_moves_to_the_fragment(server: LiveServer, store: Store) -> None:
    session_id, token = await _session(store, (HOST_ORIGIN,))
    async with httpx.AsyncClient(base_url=server.url) as client:
        for name in ("token", "userApiToken"):
            response = await client.get(
                f"/embed/ai-interviewer/{session_id}",
                params={name: token, "interviewEvents": "true"},
            )
            assert response.status_code == 303
            location = response.headers["location"]
            path, _, fragment = location.partition("#")
            assert path == f"/embed/ai-interviewer/{session_id}?interviewEvents=true"
            assert fragment == f"token={token}"
            assert response.headers["referrer-policy"] == "no-referrer"


async def test_session_info_needs_the_session_token(server: LiveServer, store: Store) -> None:
    session_id, token = await _session(store, ())
    other_id, other_token = await _session(store, ())
    path = f"/embed/api/{session_id}"
    async with httpx.AsyncClient(base_url=server.url) as client:
        assert (await client.get(path)).status_code == 401
        wrong = await client.get(path, headers={"Authorization": f"Bearer {other_token}"})
        assert wrong.status_code == 401
        assert wrong.json()["error"]["code"] == "invalid_token"
        info = await client.get(path, headers={"Authorization": f"Bearer {token}"})
    assert info.status_code == 200
    body = info.json()
    assert body["session_id"] == session_id and body["finished"] is False
    assert body["persona"]["name"] == "Leo" and body["question_count"] == 2
    assert other_id != session_id


async def test_finished_session_says_so(server: LiveServer, store: Store) -> None:
    session_id, token = await _session(store, ())
    await SessionStore(store.redis).set_status(session_id, "completed")
    async with httpx.AsyncClient(base_url=server.url) as client:
        info = await client.get(
            f"/embed/api/{session_id}", headers={"Authorization": f"Bearer {token}"}
        )
    assert info.json()["finished"] is True and info.json()["status"] == "completed"


async def test_room_assets_are_served(server: LiveServer) -> None:
    async with httpx.AsyncClient(base_url=server.url) as client:
        for name in ("room.js", "audio.js", "capture-processor.js", "playback-processor.js"):
            response = await client.get(f"/embed/static/{name}")
            assert response.status_code == 200, name
            assert "javascript" in response.headers["content-type"], name
        css = await client.get("/embed/static/room.css")
        assert css.status_code == 200 and "text/css" in css.headers["content-type"]


async def test_demo_is_off_by_default(server: LiveServer) -> None:
    assert Settings().demo_enabled is False
    async with httpx.AsyncClient(base_url=server.url) as client:
        assert (await client.get("/demo")).status_code == 404
        assert (await client.post("/demo/sessions")).status_code == 404


def test_demo_when_enabled_needs_a_key(tmp_path: Path) -> None:
    settings = Settings(
        VIVA_DATA_DIR=tmp_path, REDIS_URL=None, VIVA_PRELOAD_MODELS=False, VIVA_DEMO_ENABLED=True
    )
    with LiveServer(create_app(settings)) as live:
        page = httpx.get(f"{live.url}/demo")
        assert page.status_code == 200 and "<iframe" in page.text
        assert "frame-src 'self'" in page.headers["content-security-policy"]
        created = httpx.post(f"{live.url}/demo/sessions")
        assert created.status_code == 503
        assert created.json()["error"]["code"] == "demo_not_configured"


async def test_demo_creates_a_session_server_side(tmp_path: Path) -> None:
    store = Store(None, tmp_path)
    await store.open()
    _, api_key = await tenants.create_tenant(store.redis, "Demo")
    await store.close()
    settings = Settings(
        VIVA_DATA_DIR=tmp_path,
        REDIS_URL=None,
        VIVA_PRELOAD_MODELS=False,
        VIVA_DEMO_ENABLED=True,
        VIVA_DEMO_API_KEY=api_key,
    )
    with LiveServer(create_app(settings)) as live:
        async with httpx.AsyncClient(base_url=live.url, timeout=60) as client:
            created = await client.post("/demo/sessions")
            assert created.status_code == 200, created.text
            body = created.json()
            assert api_key not in created.text
            path, _, fragment = body["embed_url"].partition("#")
            assert path == f"/embed/{body['session_id']}?interviewEvents=true"
            token = fragment.removeprefix("token=")
            info = await client.get(
                f"/embed/api/{body['session_id']}", headers={"Authorization": f"Bearer {token}"}
            )
    assert info.status_code == 200 and info.json()["persona"]["id"] == "maya"


def test_origins_are_normalised_and_checked() -> None:
    assert tenants.normalize_origin("https://Jobs.Example.com:443/") == "https://jobs.example.com"
    assert tenants.normalize_origin("http://127.0.0.2:8123") == "http://127.0.0.2:8123"
    for bad in ("jobs.example.com", "ftp://x.example", "https://x.example/path", "*"):
        with pytest.raises(ValueError):
            tenants.normalize_origin(bad)


def test_cli_sets_embed_origins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import asyncio

    monkeypatch.setenv("VIVA_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("REDIS_URL", raising=False)
    get_settings.cache_clear()
    try:
        argv = ["keys", "create", "Acme", "--embed-origin", "https://a.example/"]
        assert cli.main([*argv, "--embed-origin", "http://b.example:8080"]) == 0
        api_key = capsys.readouterr().out.strip()
        assert cli.main(["keys", "create", "Bad", "--embed-origin", "a.example"]) == 2
        assert "embed origin" in capsys.readouterr().err

        async def lookup() -> tenants.Tenant | None:
            store = Store(None, tmp_path)
            await store.open()
            try:
                return await tenants.authenticate(store.redis, api_key)
            finally:
                await store.close()

        tenant = asyncio.run(lookup())
        assert tenant is not None
        assert tenant.embed_origins == ("https://a.example", "http://b.example:8080")
    finally:
        get_settings.cache_clear()


def test_tokens_are_redacted_from_logged_paths() -> None:
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "GET", "/embed/s1?userApiToken=SECRET&interviewEvents=true", "1.1", 303),
        None,
    )
    assert RedactTokens().filter(record)
    message = record.getMessage()
    assert "SECRET" not in message
    assert "userApiToken=[redacted]&interviewEvents=true" in message
