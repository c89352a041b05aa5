"""Issue 24 #2: the demo tenant is not public behind a reverse proxy, one tenant cannot hold every
voice slot by default, and `/demo/sessions` bounds its body before reading it."""

from __future__ import annotations

import asyncio
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import httpx
import pytest

from server import demo
from server.app import create_app
from server.runtime import VoiceRuntime
from server.settings import Settings
from tests.test_embed import LiveServer


def test_auto_wants_a_loopback_public_url_too() -> None:
    # The usual deployment: bound to loopback, a public proxy in front, VIVA_PUBLIC_URL public.
    behind_proxy = Settings(VIVA_PUBLIC_URL="https://viva.example")
    assert not demo.wanted(behind_proxy, "127.0.0.1")
    assert not demo.to_provision(behind_proxy, "127.0.0.1")
    assert demo.wanted(Settings(VIVA_PUBLIC_URL="http://127.0.0.1:8000/"), "127.0.0.1")
    assert demo.wanted(Settings(VIVA_PUBLIC_URL="http://[::1]:8000"), "::1")
    assert demo.wanted(Settings(), "127.0.0.1")
    # Asked for explicitly, the operator gets it anywhere.
    assert demo.wanted(Settings(VIVA_PUBLIC_URL="https://viva.example", VIVA_DEMO="on"), "0.0.0.0")


def _demo_app(tmp_path: Path, **extra: Any) -> LiveServer:
    key = asyncio.run(demo.provision(Settings(VIVA_DATA_DIR=tmp_path), "127.0.0.1", 8000)).api_key
    settings = Settings(
        VIVA_DATA_DIR=tmp_path,
        REDIS_URL=None,
        VIVA_PRELOAD_MODELS=False,
        VIVA_DEMO_ENABLED=True,
        VIVA_DEMO_API_KEY=key,
        **extra,
    )
    return LiveServer(create_app(settings))


PROXIED = (
    {"X-Forwarded-For": "203.0.113.7"},
    {"Forwarded": "for=203.0.113.7;proto=https"},
    {"X-Real-IP": "203.0.113.7"},
    {"X-Forwarded-Host": "viva.example"},
    {"Via": "1.1 proxy"},
)


def test_a_request_through_a_proxy_gets_no_demo(tmp_path: Path) -> None:
    with _demo_app(tmp_path) as live, httpx.Client(base_url=live.url, timeout=60) as client:
        assert client.get("/demo").status_code == 200
        assert client.get("/demo/catalogue").status_code == 200
        for headers in PROXIED:
            assert client.get("/demo", headers=headers).status_code == 404, headers
            assert client.get("/demo/catalogue", headers=headers).status_code == 404, headers
            made = client.post("/demo/sessions", headers=headers, json={})
            assert made.status_code == 404, headers


def test_with_viva_demo_on_a_proxied_request_gets_the_demo(tmp_path: Path) -> None:
    with (
        _demo_app(tmp_path, VIVA_DEMO="on") as live,
        httpx.Client(base_url=live.url, timeout=60) as client,
    ):
        assert client.get("/demo", headers=PROXIED[0]).status_code == 200


def test_demo_sessions_bounds_the_body_before_reading_it(tmp_path: Path) -> None:
    big = b'{"interview_id": "behavioral-1", "pad": "' + b"x" * (2 << 20) + b'"}'

    def chunks() -> Any:  # no Content-Length: refused as it grows, not read whole
        for start in range(0, len(big), 65536):
            yield big[start : start + 65536]

    with _demo_app(tmp_path) as live, httpx.Client(base_url=live.url, timeout=60) as client:
        declared = client.post("/demo/sessions", content=big)
        assert declared.status_code == 413, declared.text
        assert declared.json()["error"]["code"] == "payload_too_large"
        streamed = client.post("/demo/sessions", content=chunks())
        assert streamed.status_code == 413, streamed.text
        # A body just over the bound, and one under it that is not JSON.
        over = client.post("/demo/sessions", content=b" " * (demo.MAX_CHOICE_BYTES + 1))
        assert over.status_code == 413
        assert client.post("/demo/sessions", content=b"{nope").status_code == 400


def test_one_tenant_holds_half_the_streams_by_default() -> None:
    settings = Settings()
    assert settings.max_streams == 8 and settings.max_streams_per_tenant == 4
    assert Settings(VIVA_MAX_STREAMS=1).max_streams_per_tenant == 1
    assert Settings(VIVA_MAX_STREAMS_PER_TENANT=0).max_streams_per_tenant == 0  # no cap, asked

    # What the runtime admits (its refusal of a tenant at its share is tested over real
    # sockets in test_stream_capacity): 4 of 8 by default, all 8 when asked for no cap.
    runtime = VoiceRuntime(cast(Any, SimpleNamespace(settings=settings)))
    assert (runtime.capacity, runtime.tenant_capacity) == (8, 4)
    uncapped = Settings(VIVA_MAX_STREAMS_PER_TENANT=0)
    assert VoiceRuntime(cast(Any, SimpleNamespace(settings=uncapped))).tenant_capacity == 8


@pytest.mark.parametrize("value", ["0", "3"])
def test_an_explicit_cap_is_kept(value: str) -> None:
    assert Settings(VIVA_MAX_STREAMS_PER_TENANT=value).max_streams_per_tenant == int(value)
