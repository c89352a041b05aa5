"""The room's open spoken answer (protocol v1.1), in headless Chromium: the "I'm done" button
and key, the "take your time" state during pauses, and captions through a repair.

Two ways in. The first test plays the server's side of the stream itself (Playwright's
WebSocket routing) against the real room page, so every message order the protocol allows can be
shown exactly. The second runs the real server and models, with Chromium's fake microphone
playing a spoken answer followed by silence, and presses the button in that silence.
"""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf

from models.registry import ModelRegistry
from server import tenants
from server.app import create_app
from server.settings import Settings
from server.storage.store import Store
from tests.conftest import espeak
from tests.test_embed import LiveServer
from tests.test_room import ANSWERS, ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, create_session

TAKE_YOUR_TIME = "Listening — take your time. Press I'm done when you've finished."
STREAM_URL = re.compile(r"/v1/sessions/[^/]+/stream")

# Every text frame the room sends, with the page's clock: the record that `answer_done` left.
RECORD_SENT = """
window.vivaSent = [];
const vivaSend = WebSocket.prototype.send;
WebSocket.prototype.send = function (data) {
  if (typeof data === "string") window.vivaSent.push({ at: performance.now(), data });
  return vivaSend.call(this, data);
};
"""


def need_chromium() -> None:
    if shutil.which("chromium") is None:
        pytest.fail("chromium is missing: `make setup` installs it")


async def make_key(server_settings: Settings) -> str:
    store = Store(None, server_settings.data_dir)
    await store.open()
    try:
        _, key = await tenants.create_tenant(store.redis, "Room done test")
    finally:
        await store.close()
    return key


class FakeStream:
    """The server's end of the room's stream, played by the test."""

    def __init__(self) -> None:
        self.route: Any = None
        self.received: list[dict[str, Any]] = []

    def handler(self, route: Any) -> None:
        self.route = route  # not connected to the server: every message comes from send()
        route.on_message(self._on_message)

    def _on_message(self, message: str | bytes) -> None:
        if isinstance(message, str):  # binary frames are the fake microphone's audio
            self.received.append(json.loads(message))

    def send(self, **message: Any) -> None:
        self.route.send(json.dumps(message))

    def count(self, kind: str) -> int:
        return sum(1 for m in self.received if m["type"] == kind)

    async def wait_for(self, kind: str, count: int = 1, timeout_s: float = 10) -> None:
        deadline = time.monotonic() + timeout_s
        while self.count(kind) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"{count}× {kind} not received; got {self.received}")
            await asyncio.sleep(0.05)


@pytest.fixture
def page_server(tmp_path: Path) -> Iterator[tuple[LiveServer, Settings]]:
    """The real app for the page, its session info and consent; no models (the stream is fake)."""
    settings = Settings(VIVA_DATA_DIR=tmp_path / "data", REDIS_URL=None, VIVA_PRELOAD_MODELS=False)
    with LiveServer(create_app(settings)) as live:
        yield live, settings


@pytest.mark.timeout(120)
async def test_answer_controls_follow_the_stream(
    page_server: tuple[LiveServer, Settings],
) -> None:
    need_chromium()
    from playwright.async_api import async_playwright, expect

    server, settings = page_server
    ARTIFACTS.mkdir(exist_ok=True)
    created = await create_session(server, await make_key(settings))
    room_url = f"{server.url}/embed/{created['session']['id']}#token={created['token']}"
    stream = FakeStream()
    problems: list[str] = []

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            page = await browser.new_page(viewport={"width": 420, "height": 860})
            page.on("pageerror", lambda error: problems.append(str(error)))
            page.on(
                "console",
                lambda m: problems.append(m.text) if m.type == "error" else None,
            )
            await page.route_web_socket(STREAM_URL, stream.handler)
            await page.goto(room_url)
            await page.locator("#consent").check()
            await page.locator("#start").click()
            await stream.wait_for("hello")
            stream.send(
                type="ready",
                session_id=created["session"]["id"],
                audio_out={"encoding": "pcm_s16le", "sample_rate": 22050},
                resumed=False,
                progress={"question_count": 0, "max_questions": 2, "is_complete": False},
            )
            await page.locator('[data-screen="interview"]:not([hidden])').wait_for()

            room = page.locator("#room")
            done = page.locator("#answer-done")
            status = page.locator('[data-field="answer-status"]')
            banner = page.locator('[data-field="banner"]')
            captions = page.locator("#captions")
            candidate = page.locator(".caption.candidate")
            interviewer = page.locator(".caption.interviewer")

            # The interviewer asks: no open answer, nothing to be done with.
            stream.send(type="agent_audio", event="start", turn=0)
            stream.send(type="agent_text", text="Hello, I'm Alex. What have you built?", turn=0)
            stream.send(type="agent_audio", event="end", turn=0)
            await expect(interviewer).to_have_count(1)
            await expect(done).to_be_hidden()
            await expect(room).to_have_attribute("data-answer", "none")
            await expect(status).to_have_text("")

            # The candidate speaks: the button appears, the room listens.
            stream.send(type="vad", speaking=True)
            await expect(done).to_be_visible()
            await expect(done).to_be_enabled()
            await expect(status).to_have_text("Listening…")
            named = page.get_by_role("button", name="I'm done answering")
            await expect(named).to_have_attribute("aria-keyshortcuts", "Enter")
            stream.send(
                type="transcript", role="candidate", text="I built a billing", final=False, turn=1
            )
            await expect(candidate).to_have_count(1)

            # A breath between phrases is not a pause worth a word...
            stream.send(type="vad", speaking=False)
            await asyncio.sleep(0.3)
            assert await room.get_attribute("data-answer") == "speaking"
            stream.send(type="vad", speaking=True)
            await asyncio.sleep(0.9)
            assert await room.get_attribute("data-answer") == "speaking"
            # ...a longer silence is: take your time; the button stays, nothing says a reply is
            # coming.
            stream.send(type="vad", speaking=False)
            await expect(room).to_have_attribute("data-answer", "paused")
            await expect(status).to_have_text(TAKE_YOUR_TIME)
            await expect(done).to_be_visible()
            await expect(banner).to_be_hidden()
            await page.screenshot(path=str(ARTIFACTS / "room-take-your-time-scripted.png"))

            # "I'm done": answer_done goes out once, the button goes away while it is handled.
            await done.click()
            await stream.wait_for("answer_done")
            assert stream.received[-1] == {"type": "answer_done"}
            await expect(room).to_have_attribute("data-answer", "ending")
            await expect(done).to_be_hidden()
            # A server before v1.1 answers unknown_type: no banner, and the answer is open again.
            stream.send(
                type="error",
                code="unknown_type",
                message="unknown message type 'answer_done'",
                fatal=False,
            )
            await expect(room).to_have_attribute("data-answer", "paused")
            await expect(done).to_be_visible()
            await expect(banner).to_be_hidden()

            # Enter in the answer box belongs to the typed answer; elsewhere it is "I'm done".
            await page.locator("#answer-text").focus()
            await page.keyboard.press("Enter")
            await asyncio.sleep(0.3)
            assert stream.count("answer_done") == 1 and stream.count("answer_text") == 0
            await captions.focus()
            await page.keyboard.press("Enter")
            await stream.wait_for("answer_done", count=2)
            await expect(room).to_have_attribute("data-answer", "ending")
            # Speaking again after "I'm done" reopens the answer.
            stream.send(type="vad", speaking=True)
            await expect(room).to_have_attribute("data-answer", "speaking")
            await expect(done).to_be_visible()
            await done.focus()
            await page.keyboard.press("Enter")  # the focused button itself
            await stream.wait_for("answer_done", count=3)

            # The final transcript closes the answer.
            stream.send(type="vad", speaking=False)
            first_final = "I built a billing service in Python."
            stream.send(type="transcript", role="candidate", text=first_final, final=True, turn=1)
            await expect(room).to_have_attribute("data-answer", "none")
            await expect(done).to_be_hidden()
            await expect(status).to_have_text("")
            await expect(candidate).to_have_count(1)
            await expect(candidate.first).to_have_attribute("data-final", "true")
            stream.send(type="feedback", turn=1, strengths=["clear"], improvements=[], score=60)

            # Repair: the interviewer starts to reply, the candidate goes on with the same
            # answer, the server drops the reply and sends a new final for turn 1.
            stream.send(type="agent_audio", event="start", turn=2)
            stream.send(type="agent_text", text="Thanks. What was the outcome?", turn=2)
            await expect(interviewer).to_have_count(2)
            stream.send(type="vad", speaking=True)
            await expect(done).to_be_visible()  # the answer is open again
            stream.send(type="interrupt", turn=2)
            stream.send(
                type="transcript",
                role="candidate",
                text="and I cut the error rate",
                final=False,
                turn=2,  # the continuation's partials may carry the dropped reply's index
            )
            stream.send(type="vad", speaking=False)
            repaired = "I built a billing service in Python, and I cut the error rate by half."
            stream.send(type="transcript", role="candidate", text=repaired, final=True, turn=1)
            stream.send(type="feedback", turn=1, strengths=["specific"], improvements=[], score=80)
            await expect(candidate).to_have_count(1)  # replaced, not added
            await expect(candidate.first).to_have_attribute("data-turn", "1")
            await expect(candidate.first).to_have_attribute("data-final", "true")
            await expect(candidate.first.locator(".text")).to_have_text(repaired)
            dropped = interviewer.nth(1)
            await expect(dropped).to_have_attribute("data-dropped", "true")
            await expect(dropped).to_have_class(re.compile(r"\bdropped\b"))
            await expect(dropped).to_contain_text("stopped: you were still answering")
            decoration = await dropped.locator(".text").evaluate(
                "e => getComputedStyle(e).textDecorationLine"
            )
            assert decoration == "line-through", decoration
            cards = page.locator(".feedback-card")
            await expect(cards).to_have_count(1)  # the repaired answer's feedback replaced it
            await expect(cards.first).to_contain_text("80 / 100")
            await expect(room).to_have_attribute("data-answer", "none")

            # The next reply takes the dropped reply's index: a line of its own.
            stream.send(type="agent_audio", event="start", turn=2)
            stream.send(type="agent_text", text="How did you measure that?", turn=2)
            await expect(interviewer).to_have_count(3)
            await expect(interviewer.nth(2).locator(".text")).to_have_text(
                "How did you measure that?"
            )
            # A barge-in, for contrast: the candidate's new turn comes after the reply, which
            # was interrupted, not dropped.
            stream.send(type="vad", speaking=True)
            stream.send(type="interrupt", turn=2)
            stream.send(type="transcript", role="candidate", text="We tracked", final=False, turn=3)
            stream.send(type="vad", speaking=False)
            stream.send(
                type="transcript",
                role="candidate",
                text="We tracked errors per million calls.",
                final=True,
                turn=3,
            )
            await expect(candidate).to_have_count(2)
            await expect(interviewer.nth(2)).to_have_attribute("data-interrupted", "true")
            assert await interviewer.nth(2).get_attribute("data-dropped") is None
            assert await interviewer.nth(0).get_attribute("data-interrupted") is None
            await page.screenshot(path=str(ARTIFACTS / "room-repaired-captions.png"))
            order = await page.locator(".caption").evaluate_all(
                "lines => lines.map(l => [l.dataset.role, l.dataset.turn, l.dataset.dropped || ''])"
            )
            assert order == [
                ["interviewer", "0", ""],
                ["candidate", "1", ""],
                ["interviewer", "2", "true"],
                ["interviewer", "2", ""],
                ["candidate", "3", ""],
            ], order
            await expect(banner).to_be_hidden()
        finally:
            await browser.close()
    assert not problems, problems


# -- the real server ----------------------------------------------------------------------

LEAD_SILENCE_S = 12.0  # the interviewer's greeting and first question come first
TAIL_SILENCE_S = 30.0
# The silence that ends a spoken answer, set long: a turn that ends within a few seconds of
# "I'm done" was ended by it, not by the silence.
PATIENCE_MS = 8000


def answer_then_silence_wav(path: Path) -> tuple[Path, float]:
    """Silence, one spoken answer, then long silence; returns the file and the answer's length."""
    rate = 16000
    answer = espeak(ANSWERS[0], rate=165) * 0.8
    parts: list[np.ndarray] = [
        np.zeros(int(rate * LEAD_SILENCE_S), np.float32),
        answer,
        np.zeros(int(rate * TAIL_SILENCE_S), np.float32),
    ]
    sf.write(path, np.concatenate(parts), rate, subtype="PCM_16")
    return path, len(answer) / rate


@pytest.fixture
def patient_server(models: ModelRegistry, tmp_path: Path) -> Iterator[tuple[LiveServer, Settings]]:
    settings = Settings(
        VIVA_DATA_DIR=tmp_path / "data",
        REDIS_URL=None,
        VIVA_PRELOAD_MODELS=False,
        VIVA_PATIENCE_MS=PATIENCE_MS,  # protocol v1.1's patience window
    )
    with LiveServer(create_app(settings, models=models)) as live:
        yield live, settings


@pytest.fixture
async def patient_key(patient_server: tuple[LiveServer, Settings]) -> AsyncIterator[str]:
    yield await make_key(patient_server[1])


@pytest.mark.slow
@pytest.mark.timeout(180)
async def test_im_done_ends_a_spoken_answer_in_the_silence_after_it(
    patient_server: tuple[LiveServer, Settings], patient_key: str, tmp_path: Path
) -> None:
    need_chromium()
    from playwright.async_api import async_playwright, expect

    server, _ = patient_server
    ARTIFACTS.mkdir(exist_ok=True)
    wav, answer_s = answer_then_silence_wav(tmp_path / "answer.wav")
    created = await create_session(server, patient_key)
    room_url = f"{server.url}/embed/{created['session']['id']}#token={created['token']}"
    received: list[tuple[float, dict[str, Any]]] = []  # (monotonic time, message)

    def watch(socket: Any) -> None:
        def on_received(payload: str | bytes) -> None:
            if isinstance(payload, str):
                received.append((time.monotonic(), json.loads(payload)))

        socket.on("framereceived", on_received)

    def finals() -> list[tuple[float, dict[str, Any]]]:
        return [
            (at, m)
            for at, m in received
            if m["type"] == "transcript" and m.get("final") and m.get("role") == "candidate"
        ]

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[*CHROMIUM_ARGS, f"--use-file-for-fake-audio-capture={wav}"],
        )
        try:
            page = await browser.new_page(viewport={"width": 420, "height": 860})
            await page.add_init_script(RECORD_SENT)
            page.on("websocket", watch)
            await page.goto(room_url)
            await page.locator("#consent").check()
            await page.locator("#start").click()
            await page.locator('[data-screen="interview"]:not([hidden])').wait_for(timeout=30000)
            room = page.locator("#room")
            done = page.locator("#answer-done")
            status = page.locator('[data-field="answer-status"]')
            await expect(done).to_be_hidden()  # the interviewer speaks first

            # The answer starts: the button appears.
            await done.wait_for(state="visible", timeout=60000)
            heard_at = time.monotonic()
            assert await room.get_attribute("data-answer") in ("speaking", "paused")
            assert not finals()

            # Wait for the silence after the whole answer (the status also reads "take your
            # time" in the pauses inside it), then press the button.
            while True:
                assert not finals(), "the turn ended before I'm done could be pressed"
                elapsed = time.monotonic() - heard_at
                assert elapsed < answer_s + 6, "no pause seen after the answer"
                if elapsed > answer_s - 0.5 and await room.get_attribute("data-answer") == "paused":
                    break
                await asyncio.sleep(0.1)
            await expect(status).to_have_text(TAKE_YOUR_TIME)
            await page.screenshot(path=str(ARTIFACTS / "room-take-your-time.png"))
            clicked_at = time.monotonic()
            await done.click()

            # answer_done left the page...
            sent = await page.evaluate("window.vivaSent.map(s => s.data)")
            assert sum(json.loads(s)["type"] == "answer_done" for s in sent) == 1, sent
            # ...and the turn ends: the final transcript shows.
            final = page.locator('.caption.candidate[data-final="true"]')
            await final.first.wait_for(timeout=(PATIENCE_MS + 15000))
            ended_in_s = finals()[0][0] - clicked_at
            text = (await final.first.inner_text()).lower()
            assert any(w in text for w in ("billing", "python", "payments")), text
            await expect(room).to_have_attribute("data-answer", "none")
            await expect(done).to_be_hidden()
            await expect(page.locator('[data-field="banner"]')).to_be_hidden()

            assert not [m for _, m in received if m["type"] == "error"], received
            # The reply's metrics say what ended the turn.
            deadline = time.monotonic() + 30
            while not any(m["type"] == "metrics" for _, m in received):
                assert time.monotonic() < deadline, "no metrics after the reply"
                await asyncio.sleep(0.2)
        finally:
            await browser.close()

    # "I'm done" ended the turn, not the silence: the metrics say so (`end: signal`). How soon
    # is a speed figure (the realspeech section of `make bench`), not a timed assertion here.
    print(f"I'm done -> final transcript: {ended_in_s:.2f} s (patience {PATIENCE_MS} ms)")
    metrics = next(m for _, m in received if m["type"] == "metrics")
    assert metrics.get("end") == "signal", metrics
