"""The coding round and the whiteboard in the room (issue 25), in headless Chromium.

The room is embedded cross-origin as a tenant's page would embed it (tests/test_room.py's host
pages), on the real server with the real engine. One browser for the module. The candidate
answers by typing (chat mode): what is tested here is the workspace, not the voice loop.

- A system-design interview: boxes, arrows and a note drawn with the mouse on the canvas,
  relabelled, moved and deleted; the board the server stored (shapes and the sentence the
  interviewer reads) is read back over the API, and comes back into the room on reload.
"""

from __future__ import annotations

import asyncio
import shutil
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis

from server import tenants
from tests.stream_client import LiveServer
from tests.test_room import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, HostPages

pytestmark = [pytest.mark.models]


@pytest.fixture(scope="module")
def host(server: LiveServer) -> Iterator[HostPages]:
    pages = HostPages(base(server))
    yield pages
    pages.close()


@pytest.fixture(scope="module")
def api_key(server: LiveServer, host: HostPages) -> str:
    async def make() -> str:
        redis = aioredis.from_url(server.redis_url, decode_responses=True)
        try:
            _, key = await tenants.create_tenant(redis, "Room code test", (host.origin,))
        finally:
            await redis.aclose()
        return key

    return asyncio.run(make())


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if shutil.which("chromium") is None:
        pytest.fail("chromium is missing: `make setup` installs it")
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield launched
        launched.close()


def base(server: LiveServer) -> str:
    return f"http://127.0.0.1:{server.port}"


def api(server: LiveServer, api_key: str) -> httpx.Client:
    return httpx.Client(base_url=base(server), headers={"X-API-Key": api_key}, timeout=30)


def open_session(server: LiveServer, api_key: str, interview: dict[str, Any]) -> tuple[str, str]:
    with api(server, api_key) as client:
        created = client.post("/v1/interviews", json=interview)
        assert created.status_code == 201, created.text
        session = client.post(
            "/v1/sessions",
            json={
                "interview_id": created.json()["interview_id"],
                "persona_id": "alex",
                "mode": "chat",
            },
        )
    assert session.status_code == 201, session.text
    return session.json()["session"]["id"], session.json()["token"]


def events(page: Any) -> list[dict[str, Any]]:
    return list(page.evaluate("window.vivaEvents || []"))


def wait_for_event(page: Any, action: str, timeout_s: float = 30) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = [e for e in events(page) if e.get("action") == action]
        if found:
            return found[-1]
        page.wait_for_timeout(100)
    raise AssertionError(f"no {action} event within {timeout_s} s; got {events(page)}")


def enter_room(page: Any, host: HostPages, server: LiveServer, session_id: str, token: str) -> Any:
    """The host page with the room in it, past consent, on the interview screen."""
    room_url = f"{base(server)}/embed/{session_id}?interviewEvents=true#token={token}"
    page.goto(host.page(f"/{session_id}", room_url))
    page.evaluate("document.getElementById('room').style.height = '1150px'")  # the whole room
    wait_for_event(page, "interviewLoaded")
    room = page.frame_locator("#room")
    room.locator("#consent").check()
    room.locator("#start").click()
    room.locator('[data-screen="interview"]:not([hidden])').wait_for(timeout=30000)
    room.locator(".caption.interviewer").first.wait_for(timeout=30000)
    return room


def watched_page(browser: Any) -> tuple[Any, list[str]]:
    """A page that records script errors, CSP violations and failed requests (but the host
    page's favicon)."""
    page = browser.new_page(viewport={"width": 1400, "height": 1200})
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(str(error)))

    def console(message: Any) -> None:
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            problems.append(message.text)  # a CSP violation is reported here

    def response(answer: Any) -> None:
        if answer.status >= 400 and not answer.url.endswith("/favicon.ico"):
            problems.append(f"{answer.status} {answer.request.method} {answer.url}")

    page.on("console", console)
    page.on("response", response)
    return page, problems


# --- the whiteboard ----------------------------------------------------------------------------


def drag(page: Any, canvas: Any, start: tuple[float, float], end: tuple[float, float]) -> None:
    """A mouse drag on the canvas, in the canvas's own coordinates."""
    box = canvas.bounding_box()
    page.mouse.move(box["x"] + start[0], box["y"] + start[1])
    page.mouse.down()
    steps = 6
    for i in range(1, steps + 1):
        page.mouse.move(
            box["x"] + start[0] + (end[0] - start[0]) * i / steps,
            box["y"] + start[1] + (end[1] - start[1]) * i / steps,
        )
    page.mouse.up()


def draw_box(
    page: Any, room: Any, at: tuple[float, float], size: tuple[float, float], label: str
) -> None:
    room.locator('[data-tool="box"]').click()
    canvas = room.locator("#wb-canvas")
    drag(page, canvas, at, (at[0] + size[0], at[1] + size[1]))
    label_box = room.locator("#wb-label")
    assert label_box.evaluate("e => document.activeElement === e")  # ready to type its name
    page.keyboard.type(label)
    page.keyboard.press("Enter")


def wait_saved(room: Any, reading: str, timeout_s: float = 15) -> None:
    """The room's last save went through and the server's reading of it says `reading`."""
    panel = room.locator("#whiteboard-panel")
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        saved = panel.get_attribute("data-saved") or ""
        if saved.isdigit() and reading in room.locator("#wb-reading").inner_text():
            return
        time.sleep(0.1)
    raise AssertionError(
        f"not saved with {reading!r}: {panel.get_attribute('data-saved')}, "
        f"{room.locator('#wb-reading').inner_text()!r}, {room.locator('.wb-status').inner_text()!r}"
    )


@pytest.mark.timeout(180)
def test_system_design_whiteboard_drawn_stored_and_read_back(
    server: LiveServer, host: HostPages, api_key: str, browser: Any
) -> None:
    session_id, token = open_session(
        server,
        api_key,
        {
            "name": "Design round",
            "type": "system_design",
            "questions": [{"question": "Design a system that resizes uploaded images."}],
            "max_questions": 1,
        },
    )
    page, problems = watched_page(browser)
    try:
        room = enter_room(page, host, server, session_id, token)
        assert room.locator("#whiteboard-panel").is_visible()
        assert room.locator("#code-panel").is_hidden()  # no problem in this interview
        canvas = room.locator("#wb-canvas")
        canvas.wait_for()

        draw_box(page, room, (40, 60), (130, 60), "API")
        draw_box(page, room, (260, 60), (130, 60), "Queue")
        draw_box(page, room, (480, 60), (130, 60), "Workers")
        draw_box(page, room, (480, 260), (130, 60), "Temp")

        # Arrows: dragged from one box to another with the arrow tool; the second one labelled.
        room.locator('[data-tool="arrow"]').click()
        drag(page, canvas, (105, 90), (325, 90))
        room.locator("#wb-label").fill("enqueue resize jobs")
        drag(page, canvas, (325, 90), (545, 90))
        room.locator('[data-tool="arrow"]').click()
        drag(page, canvas, (545, 90), (545, 290))  # Workers -> Temp, deleted with Temp below

        # A note, with the text tool.
        room.locator('[data-tool="text"]').click()
        canvas.click(position={"x": 300, "y": 220})
        page.keyboard.type("retry 3 times")
        page.keyboard.press("Enter")

        # Select and move Queue down 100 px; select Temp and delete it (and its arrow).
        drag(page, canvas, (300, 80), (300, 180))
        canvas.click(position={"x": 545, "y": 290})
        page.keyboard.press("Delete")
        assert room.locator("#whiteboard-panel").get_attribute("data-shapes") == "4"

        wait_saved(room, "Queue sits between API and Workers")
        page.screenshot(path=str(ARTIFACTS / "room-whiteboard.png"))
        reading = room.locator("#wb-reading").inner_text()

        with api(server, api_key) as client:
            stored = client.get(f"/v1/sessions/{session_id}/whiteboard").json()
        labels = {s["label"]: s for s in stored["shapes"]}
        assert set(labels) == {"API", "Queue", "Workers", "retry 3 times"}, stored
        assert labels["retry 3 times"]["type"] == "text"
        assert labels["Queue"]["y"] == 160 and labels["API"]["y"] == 60  # moved, not redrawn
        by_id = {s["id"]: s["label"] for s in stored["shapes"]}
        assert [(by_id[a["from"]], by_id[a["to"]], a["label"]) for a in stored["arrows"]] == [
            ("API", "Queue", "enqueue resize jobs"),
            ("Queue", "Workers", ""),
        ]
        assert stored["description"] == (
            "The candidate drew 3 boxes and 2 arrows: API, Workers and Queue. "
            'Arrows go from API to Queue ("enqueue resize jobs") and Queue to Workers. '
            "Queue sits between API and Workers. "
            'Notes on the board: "retry 3 times".'
        )
        assert reading == stored["description"]  # what the room shows is what was stored
        assert stored["version"] >= 1 and stored["session_s"] is not None

        # A reload brings the stored board back into the room.
        page.reload()
        wait_for_event(page, "interviewLoaded")
        room = page.frame_locator("#room")
        room.locator("#consent").check()
        room.locator("#start").click()
        room.locator('[data-screen="interview"]:not([hidden])').wait_for(timeout=30000)
        assert room.locator("#whiteboard-panel").get_attribute("data-shapes") == "4"
        assert room.locator("#wb-reading").inner_text() == stored["description"]
    finally:
        page.close()
    assert not problems, problems
