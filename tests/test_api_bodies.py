"""Request bodies (issue 12, points 4 and 6): a body over `VIVA_MAX_BODY_BYTES` answers 413 with
the API's JSON error, whether it declares its length or streams in chunks, before it is read
whole; JSON nested too deeply, or with a number too long to convert, answers 400 `invalid_json`
and never a 500."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn

from server.app import create_app
from server.settings import Settings
from server.storage.store import Store
from server.tenants import create_tenant
from tests.api_support import Api, running_app

LIMIT = 64 * 1024


@pytest.fixture
def api(settings: Settings) -> Iterator[Api]:
    with running_app(settings.model_copy(update={"max_body_bytes": LIMIT})) as running:
        yield running


def _error(response: object) -> dict[str, object]:
    body = response.json()  # type: ignore[attr-defined]
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "fields"}, body
    return dict(body["error"])


def test_a_declared_length_over_the_cap_is_refused(api: Api) -> None:
    headers = api.tenant()
    big = {"interview_id": "behavioral-1", "cv_text": "x" * 40_000, "job_description": "y" * 30_000}
    response = api.client.post("/v1/sessions", headers=headers, json=big)
    assert response.status_code == 413
    assert _error(response)["code"] == "payload_too_large"
    # Refused before authentication (nothing is read), and on endpoints without a body too.
    assert api.client.post("/v1/sessions", json=big).status_code == 413
    fine = {"interview_id": "behavioral-1", "cv_text": "x" * 40_000}
    assert api.client.post("/v1/sessions", headers=headers, json=fine).status_code == 201


def test_a_chunked_body_over_the_cap_is_refused(api: Api) -> None:
    headers = {**api.tenant(), "Content-Type": "application/json"}

    def chunks() -> Iterator[bytes]:
        yield b'{"interview_id": "behavioral-1", "cv_text": "'
        for _ in range(40):  # 40 x 4 KiB = 160 KiB, no Content-Length
            yield b"x" * 4096
        yield b'"}'

    response = api.client.post("/v1/sessions", headers=headers, content=chunks())
    assert response.status_code == 413, response.text
    assert _error(response)["code"] == "payload_too_large"


async def _new_api_key(data_dir: Path) -> str:
    store = Store(None, data_dir)
    await store.open()
    try:
        return (await create_tenant(store.redis, "Streamer"))[1]
    finally:
        await store.close()


def _serve(settings: Settings) -> tuple[uvicorn.Server, threading.Thread, int]:
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings), host="127.0.0.1", port=0, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "server did not start"
        time.sleep(0.05)
    return server, thread, server.servers[0].sockets[0].getsockname()[1]


def test_a_streamed_body_is_cut_off_at_the_cap_over_a_real_socket(tmp_path: Path) -> None:
    """A client streams 64 MiB in chunks: the server answers 413 after the cap, not after the
    64 MiB (the client is still sending when the answer comes)."""
    api_key = asyncio.run(_new_api_key(tmp_path))
    settings = Settings(VIVA_DATA_DIR=tmp_path, REDIS_URL=None, VIVA_PRELOAD_MODELS=False)
    server, thread, port = _serve(settings.model_copy(update={"max_body_bytes": 1 << 20}))
    sent = [0]
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=30) as conn:
            conn.sendall(
                b"POST /v1/interviews HTTP/1.1\r\nHost: x\r\nX-API-Key: %s\r\n"
                b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
                % api_key.encode()
            )

            def stream() -> None:
                chunk = b"%x\r\n%s\r\n" % (65536, b" " * 65536)
                try:
                    for _ in range(1024):  # 64 MiB
                        conn.sendall(chunk)
                        sent[0] += 65536
                    conn.sendall(b"0\r\n\r\n")
                except OSError:
                    pass  # the server hung up after answering

            writer = threading.Thread(target=stream, daemon=True)
            writer.start()
            answer = b""
            while b"\r\n\r\n" not in answer:
                data = conn.recv(65536)
                if not data:
                    break
                answer += data
            sent_when_answered = sent[0]
    finally:
        server.should_exit = True
        thread.join(timeout=30)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert sent_when_answered < 32 << 20, sent_when_answered


def test_deeply_nested_json_within_the_cap_is_a_400(api: Api) -> None:
    headers = {**api.tenant(), "Content-Type": "application/json"}
    depth = 20_000  # 40 KB: under the cap, far over the parser's recursion limit
    body = b'{"interview_id": "behavioral-1", "metadata": {"k": ' + b"[" * depth + b"]" * depth
    response = api.client.post("/v1/sessions", headers=headers, content=body + b"}}")
    assert response.status_code == 400, response.text
    error = _error(response)
    assert error["code"] == "invalid_json" and "nested" in str(error["message"])


def test_a_number_too_long_to_convert_is_a_400(api: Api) -> None:
    headers = {**api.tenant(), "Content-Type": "application/json"}
    body = json.dumps({"name": "x", "max_questions": 0}).replace("0", "9" * 5000).encode()
    response = api.client.post("/v1/interviews", headers=headers, content=body)
    assert response.status_code == 400, response.text
    assert _error(response)["code"] == "invalid_json"
