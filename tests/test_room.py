"""The interview room end to end in headless Chromium.

A host page on one origin (127.0.0.2) embeds the room from another (the real server on
127.0.0.1); Chromium's fake microphone plays a WAV of spoken answers made with espeak-ng. The
real stream runs the real models: VAD, Whisper, the engine, Piper.
"""

from __future__ import annotations

import asyncio
import html
import json
import shutil
import threading
import time
from collections.abc import AsyncIterator, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
import soundfile as sf

from models.registry import ModelRegistry
from server import tenants
from server.app import create_app
from server.settings import Settings
from server.storage.store import Store
from tests.conftest import ROOT, espeak
from tests.test_embed import LiveServer

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = ROOT / "test-artifacts"
HOST_IP = "127.0.0.2"  # another origin than the server's 127.0.0.1, on the same loopback
ANSWERS = (
    "I built a billing service in Python that handles two million payments a month. "
    "I designed the database and cut the error rate by half.",
    "I want to work on speech technology because I care about accessibility, "
    "and this team ships real products to millions of users.",
)
QUESTIONS = (
    {"question": "What have you built?", "time_limit_s": 60},
    {"question": "Why this role?", "time_limit_s": 60},
)
# Chromium's flags for this machine's closed network, then its fake media devices.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--use-fake-ui-for-media-stream",
    "--use-fake-device-for-media-stream",
]

HOST_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>Host</title>
<style>body{{margin:0;font:14px sans-serif}} iframe{{width:100%;height:640px;border:0}}</style>
</head><body>
<iframe id="room" allow="microphone; autoplay" src="{src}"></iframe>
<ol id="events"></ol>
<script>
  window.vivaEvents = [];
  window.addEventListener("message", (event) => {{
    if (event.origin !== {room_origin} || !event.data || event.data.source !== "viva-interview") return;
    window.vivaEvents.push(event.data);
    const item = document.createElement("li");
    item.textContent = JSON.stringify(event.data);
    document.getElementById("events").append(item);
  }});
</script>
</body></html>
"""


class HostPages:
    """A tiny web server on another origin, serving one host page per embed URL."""

    def __init__(self, room_origin: str) -> None:
        room = json.dumps(room_origin)

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                src = self.server.pages.get(self.path)  # type: ignore[attr-defined]
                if src is None:
                    self.send_error(404)
                    return
                body = HOST_PAGE.format(src=html.escape(src), room_origin=room).encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer((HOST_IP, 0), Handler)
        self._server.pages = {}  # type: ignore[attr-defined]
        self.origin = f"http://{HOST_IP}:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def page(self, path: str, iframe_src: str) -> str:
        self._server.pages[path] = iframe_src  # type: ignore[attr-defined]
        return self.origin + path

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def answers_wav(path: Path) -> Path:
    """Silence, then an answer, over and over: Chromium loops the file, so whatever the
    interviewer asks (a question or a follow-up), an answer comes about every 15 s."""
    rate = 16000
    silence = np.zeros(int(rate * 8.0), dtype=np.float32)
    parts: list[np.ndarray] = []
    for answer in ANSWERS:
        parts += [silence, espeak(answer, rate=165) * 0.8]
    sf.write(path, np.concatenate(parts), rate, subtype="PCM_16")
    return path


@pytest.fixture
def server(models: ModelRegistry, tmp_path: Path) -> Iterator[LiveServer]:
    settings = Settings(VIVA_DATA_DIR=tmp_path / "data", REDIS_URL=None, VIVA_PRELOAD_MODELS=False)
    with LiveServer(create_app(settings, models=models)) as live:
        yield live


@pytest.fixture
def host(server: LiveServer) -> Iterator[HostPages]:
    pages = HostPages(server.url)
    yield pages
    pages.close()


@pytest.fixture
async def api_key(server: LiveServer, host: HostPages, tmp_path: Path) -> AsyncIterator[str]:
    store = Store(None, tmp_path / "data")
    await store.open()
    try:
        _, key = await tenants.create_tenant(store.redis, "Room test", (host.origin,))
    finally:
        await store.close()
    yield key


async def create_session(server: LiveServer, api_key: str) -> dict[str, Any]:
    """An interview of two short questions and a session of it, through the public API."""
    headers = {"X-API-Key": api_key}
    async with httpx.AsyncClient(base_url=server.url, headers=headers, timeout=30) as client:
        interview = await client.post(
            "/v1/interviews",
            json={"name": "Room test", "questions": list(QUESTIONS), "max_questions": 2},
        )
        assert interview.status_code == 201, interview.text
        interview_id = interview.json()["interview_id"]
        session = await client.post(
            "/v1/sessions", json={"interview_id": interview_id, "persona_id": "alex"}
        )
    assert session.status_code == 201, session.text
    return dict(session.json())


async def wait_for_event(page: Any, action: str, timeout_s: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        events = await page.evaluate("window.vivaEvents || []")
        for event in events:
            if event.get("action") == action:
                return dict(event)
        await asyncio.sleep(0.2)
    events = await page.evaluate("window.vivaEvents || []")
    raise AssertionError(f"no {action} event within {timeout_s} s; got {events}")


@pytest.mark.slow
@pytest.mark.timeout(180)
async def test_room_runs_an_interview_in_a_cross_origin_iframe(
    server: LiveServer, host: HostPages, api_key: str, tmp_path: Path
) -> None:
    if shutil.which("chromium") is None:
        pytest.fail("chromium is missing: `make setup` installs it")
    from playwright.async_api import async_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    wav = answers_wav(tmp_path / "answers.wav")
    created = await create_session(server, api_key)
    session_id = created["session"]["id"]
    token = created["token"]
    room_url = f"{server.url}/embed/ai-interviewer/{session_id}?interviewEvents=true#token={token}"

    sent: list[str] = []
    readies: list[dict[str, Any]] = []
    received_audio_bytes = 0

    def watch_socket(socket: Any) -> None:
        def on_sent(payload: str | bytes) -> None:
            if isinstance(payload, str):
                sent.append(payload)

        def on_received(payload: str | bytes) -> None:
            nonlocal received_audio_bytes
            if isinstance(payload, bytes):
                received_audio_bytes += len(payload)
            elif '"ready"' in payload:
                readies.append(json.loads(payload))

        socket.on("framesent", on_sent)
        socket.on("framereceived", on_received)

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[*CHROMIUM_ARGS, f"--use-file-for-fake-audio-capture={wav}"],
        )
        try:
            page = await browser.new_page(viewport={"width": 420, "height": 860})
            page.on("websocket", watch_socket)
            await page.goto(host.page("/first", room_url))
            loaded = await wait_for_event(page, "interviewLoaded", 30)
            assert loaded == {
                "source": "viva-interview",
                "action": "interviewLoaded",
                "sessionId": session_id,
            }
            room = page.frame_locator("#room")
            await room.locator("text=You are talking to an AI interviewer").wait_for()
            await page.screenshot(path=str(ARTIFACTS / "room-start.png"))
            # The token left the room's address bar (and its history entry).
            room_frame = next(f for f in page.frames if f.url.startswith(server.url))
            assert token not in room_frame.url, room_frame.url

            await room.locator("#consent").check()
            await room.locator("#start").click()
            await room.locator('[data-screen="interview"]:not([hidden])').wait_for(timeout=30000)

            # The candidate's spoken words come back as a final caption.
            final = room.locator('.caption.candidate[data-final="true"]')
            await final.first.wait_for(timeout=60000)
            first_answer = (await final.first.inner_text()).lower()
            assert any(w in first_answer for w in ("billing", "python", "payments")), first_answer
            await page.screenshot(path=str(ARTIFACTS / "room-mid-interview.png"))

            # A dropped connection: the room says so, reconnects and the interview resumes.
            assert server.drop_websockets() == 1
            await room.locator('[data-screen="reconnecting"]:not([hidden])').wait_for(timeout=15000)
            await room.locator('[data-screen="interview"]:not([hidden])').wait_for(timeout=30000)

            finished = await wait_for_event(page, "interviewFinished", 90)
            await room.locator('[data-screen="finished"]:not([hidden])').wait_for()
            await page.screenshot(path=str(ARTIFACTS / "room-finished.png"))
            verdict = room.locator('[data-field="verdict"]', has_text="Verdict:")
            await verdict.wait_for(timeout=10000)
            verdict_shown = await verdict.inner_text()
            played_ms = int(await room.locator("#room").get_attribute("data-played-ms") or 0)
            interviewer = await room.locator(".caption.interviewer").all_inner_texts()
            candidate = await room.locator(".caption.candidate").all_inner_texts()

            # Second load, token in the query this time: already completed.
            second = await browser.new_page()
            second_url = (
                f"{server.url}/embed/{session_id}?userApiToken={token}&interviewEvents=true"
            )
            await second.goto(host.page("/second", second_url))
            again = await wait_for_event(second, "interviewAlreadyCompleted", 30)
            await (
                second.frame_locator("#room")
                .locator('[data-screen="already-completed"]:not([hidden])')
                .wait_for()
            )
            await second.screenshot(path=str(ARTIFACTS / "room-already-completed.png"))
        finally:
            await browser.close()

    async with httpx.AsyncClient(base_url=server.url) as client:
        stored = await client.get(f"/v1/sessions/{session_id}", headers={"X-API-Key": api_key})
    assert stored.status_code == 200, stored.text
    session = stored.json()

    # interviewFinished carries what the server decided: the stored status and the score.
    assert finished["sessionId"] == session_id
    assert finished["status"] == session["status"]
    report = session["report"]
    assert report is not None and isinstance(report["overall_score"], int), report
    # One voice through Chromium's capture and a reconnect: never taken for two people.
    assert report["fraud_signals"]["multiple_speakers"]["detected"] is False, report
    assert finished["score"] == report["overall_score"], (finished, report)
    assert verdict_shown == f"Verdict: {report['verdict']}", verdict_shown
    assert session["consent"] is not None  # the room recorded consent before starting
    assert again["sessionId"] == session_id
    # The interviewer was heard: audio arrived, the worklet played it out, and said so.
    assert received_audio_bytes > 22050 * 2 * 2, received_audio_bytes
    assert played_ms > 2000, played_ms
    playback_done = [json.loads(m) for m in sent if '"playback"' in m]
    assert playback_done and all(m["event"] == "finished" for m in playback_done)
    assert any("what have you built" in line.lower() for line in interviewer), interviewer
    assert len(candidate) >= 2, candidate
    # Two connections: the second resumed the same interview.
    assert [r["resumed"] for r in readies] == [False, True], readies
    # Text frames start with hello; the token never appears in what the room sent.
    assert json.loads(sent[0])["type"] == "hello"
    assert not any(token in m for m in sent)


@pytest.mark.slow
@pytest.mark.timeout(180)
async def test_a_denied_microphone_falls_back_to_typed_answers(
    server: LiveServer, host: HostPages, api_key: str
) -> None:
    """No fake-UI flag: Chromium refuses the microphone, as a candidate clicking "Block" would."""
    if shutil.which("chromium") is None:
        pytest.fail("chromium is missing: `make setup` installs it")
    from playwright.async_api import async_playwright

    created = await create_session(server, api_key)
    session_id = created["session"]["id"]
    room_url = f"{server.url}/embed/{session_id}?interviewEvents=true#token={created['token']}"
    denied_args = [a for a in CHROMIUM_ARGS if a != "--use-fake-ui-for-media-stream"]
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=denied_args
        )
        try:
            page = await browser.new_page(viewport={"width": 420, "height": 860})
            await page.goto(host.page("/denied", room_url))
            await wait_for_event(page, "interviewLoaded", 30)
            room = page.frame_locator("#room")
            await room.locator("#consent").check()
            await room.locator("#start").click()
            denied = room.locator('[data-screen="mic-denied"]:not([hidden])')
            await denied.wait_for(timeout=15000)
            error = await wait_for_event(page, "interviewError", 10)
            assert error["code"] == "microphone_denied", error
            await page.screenshot(path=str(ARTIFACTS / "room-mic-denied.png"))

            await denied.locator('[data-action="type-instead"]').click()
            await room.locator("#start").click()
            await room.locator('[data-screen="interview"]:not([hidden])').wait_for(timeout=30000)
            interviewer = room.locator(".caption.interviewer")
            for answered in range(6):  # two questions, and any follow-ups the engine asks
                finished_events = await page.evaluate(
                    "(window.vivaEvents || []).filter(e => e.action === 'interviewFinished')"
                )
                if finished_events:
                    break
                await interviewer.nth(answered).wait_for(timeout=30000)
                # `progress` comes before the interviewer's words: closing, the box is shut.
                if await room.locator('#answer-form[data-closed="true"]').count():
                    break
                await asyncio.sleep(0.5)
                await room.locator("#answer-text").fill(ANSWERS[min(answered, 1)])
                await room.locator("#answer-form button[type=submit]").click()
                # The server's record of the typed answer: the caption takes its turn number.
                stored_answer = f'.caption.candidate[data-turn="{2 * answered + 1}"]'
                await room.locator(stored_answer).wait_for(timeout=30000)
                await asyncio.sleep(1.0)
            assert await room.locator("#answer-text").is_disabled()  # closing: no more answers
            finished = await wait_for_event(page, "interviewFinished", 60)
            await room.locator('[data-screen="finished"]:not([hidden])').wait_for()
            await page.screenshot(path=str(ARTIFACTS / "room-typed-fallback-finished.png"))
        finally:
            await browser.close()

    headers = {"X-API-Key": api_key}
    async with httpx.AsyncClient(base_url=server.url, headers=headers) as client:
        session = (await client.get(f"/v1/sessions/{session_id}")).json()
        turns = (await client.get(f"/v1/sessions/{session_id}/transcript")).json()["turns"]
    assert finished["status"] == session["status"] and session["report"] is not None
    answers = [t for t in turns if t["role"] == "candidate"]
    assert answers and {t["source"] for t in answers} == {"text"}, answers
    assert "billing service" in answers[0]["text"]
