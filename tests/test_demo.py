"""The local demo: who gets it, its tenant kept across starts, and its routes over a real socket.
(The whole flow in Chromium from `make run`: tests/test_fresh_clone.py.)"""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

from server import demo, tenants
from server.app import create_app
from server.settings import Settings
from server.storage.store import Store
from tests.test_embed import LiveServer


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.8.9.10", True),
        ("::1", True),
        ("[::1]", True),
        ("localhost", True),
        ("0.0.0.0", False),
        ("::", False),
        ("10.0.0.5", False),
        ("example.com", False),
    ],
)
def test_loopback_hosts(host: str, loopback: bool) -> None:
    assert demo.is_loopback(host) is loopback


def test_provisioned_on_loopback_only_unless_asked() -> None:
    assert demo.wanted(Settings(), "127.0.0.1")
    assert not demo.wanted(Settings(), "0.0.0.0")
    assert demo.wanted(Settings(VIVA_DEMO="on"), "0.0.0.0")
    assert not demo.wanted(Settings(VIVA_DEMO="off"), "127.0.0.1")
    assert demo.to_provision(Settings(), "127.0.0.1")
    # The operator's own demo tenant: served, nothing to provision.
    assert demo.wanted(Settings(VIVA_DEMO_API_KEY="vv_x"), "127.0.0.1")
    assert not demo.to_provision(Settings(VIVA_DEMO_API_KEY="vv_x"), "127.0.0.1")
    assert not demo.to_provision(Settings(), "0.0.0.0")


def test_the_url_and_the_origins() -> None:
    settings = Settings()
    assert demo.page_url(settings, "127.0.0.1", 8123) == "http://127.0.0.1:8123/demo"
    assert demo.page_url(settings, "0.0.0.0", 8123) == "http://127.0.0.1:8123/demo"
    assert demo.demo_origins(settings, "127.0.0.1", 8123) == (
        "http://127.0.0.1:8123",
        "http://localhost:8123",
    )
    public = Settings(VIVA_PUBLIC_URL="https://viva.example/")
    assert demo.page_url(public, "0.0.0.0", 8000) == "https://viva.example/demo"
    assert "https://viva.example" in demo.demo_origins(public, "0.0.0.0", 8000)


async def test_the_tenant_is_kept_across_starts_and_replaced_when_revoked(tmp_path: Path) -> None:
    settings = Settings(VIVA_DATA_DIR=tmp_path, REDIS_URL=None)
    first = await demo.provision(settings, "127.0.0.1", 8000)
    again = await demo.provision(settings, "127.0.0.1", 9000)  # another port this time
    assert first.created and not again.created
    assert again.tenant_id == first.tenant_id
    assert again.api_key != first.api_key  # a new key each start; the last one stops
    store = Store(None, tmp_path)
    await store.open()
    try:
        assert await tenants.authenticate(store.redis, first.api_key) is None
        authenticated = await tenants.authenticate(store.redis, again.api_key)
        assert authenticated is not None and authenticated.id == first.tenant_id
        # Redis holds which tenant is the demo's, never its key (issue 24 #13).
        assert await store.redis.hgetall(demo.DEMO_KEY) == {"tenant_id": first.tenant_id}
        tenant = await tenants.get_tenant(store.redis, first.tenant_id)
        assert tenant is not None and tenant.name == demo.DEMO_TENANT_NAME
        assert "http://127.0.0.1:8000" in tenant.embed_origins
        assert "http://127.0.0.1:9000" in tenant.embed_origins
        await tenants.revoke_tenant_key(store.redis, first.tenant_id)
    finally:
        await store.close()
    replaced = await demo.provision(settings, "127.0.0.1", 8000)
    assert replaced.created and replaced.tenant_id != first.tenant_id


@pytest.fixture
def demo_server(tmp_path: Path) -> LiveServer:
    key = asyncio.run(demo.provision(Settings(VIVA_DATA_DIR=tmp_path), "127.0.0.1", 8000)).api_key
    settings = Settings(
        VIVA_DATA_DIR=tmp_path,
        REDIS_URL=None,
        VIVA_PRELOAD_MODELS=False,
        VIVA_DEMO_ENABLED=True,
        VIVA_DEMO_API_KEY=key,
    )
    return LiveServer(create_app(settings))


def test_the_page_offers_the_catalogue_and_creates_the_chosen_session(
    demo_server: LiveServer,
) -> None:
    with demo_server as live, httpx.Client(base_url=live.url, timeout=60) as client:
        page = client.get("/demo")
        assert page.status_code == 200 and 'id="interview"' in page.text
        catalogue = client.get("/demo/catalogue").json()
        ids = [i["id"] for t in catalogue["tracks"] for i in t["interviews"]]
        assert "behavioral-1" in ids and "system_design-1" in ids
        assert {p["id"] for p in catalogue["personas"]} >= {"maya", "alex", "leo"}

        created = client.post(
            "/demo/sessions",
            json={"interview_id": "system_design-1", "persona_id": "leo", "practice": False},
        )
        assert created.status_code == 200, created.text
        body = created.json()
        token = body["embed_url"].partition("#token=")[2]
        info = client.get(
            f"/embed/api/{body['session_id']}", headers={"Authorization": f"Bearer {token}"}
        ).json()
        assert info["persona"]["id"] == "leo" and info["practice"] is False

        k12 = next(i for t in catalogue["tracks"] for i in t["interviews"] if i["grades"])
        graded = client.post("/demo/sessions", json={"interview_id": k12["id"]})
        assert graded.status_code == 200, graded.text  # a grade is picked when none is sent

        for bad in ({"interview_id": "nope"}, {"persona_id": "nope"}):
            refused = client.post("/demo/sessions", json=bad)
            assert refused.status_code == 400, refused.text


def test_the_report_needs_the_sessions_token(demo_server: LiveServer) -> None:
    with demo_server as live, httpx.Client(base_url=live.url, timeout=60) as client:
        body = client.post("/demo/sessions").json()
        session_id, token = body["session_id"], body["embed_url"].partition("#token=")[2]
        path = f"/demo/sessions/{session_id}/report"
        assert client.get(path).status_code == 401
        wrong = client.get(path, headers={"Authorization": "Bearer vvs_wrong"})
        assert wrong.status_code == 401
        other = client.post("/demo/sessions").json()
        other_token = other["embed_url"].partition("#token=")[2]
        assert (
            client.get(path, headers={"Authorization": f"Bearer {other_token}"}).status_code == 401
        )

        shown = client.get(path, headers={"Authorization": f"Bearer {token}"})
        assert shown.status_code == 200, shown.text
        view = shown.json()
        assert view["session"]["id"] == session_id and view["session"]["report"] is None
        assert view["transcript"]["turns"] == []
        assert view["api"]["session"] == f"/v1/sessions/{session_id}"


def test_without_the_demo_the_routes_are_not_there(tmp_path: Path) -> None:
    settings = Settings(VIVA_DATA_DIR=tmp_path, REDIS_URL=None, VIVA_PRELOAD_MODELS=False)
    with LiveServer(create_app(settings)) as live, httpx.Client(base_url=live.url) as client:
        for path in ("/demo", "/demo/catalogue", "/demo/sessions/ses_x/report"):
            assert client.get(path).status_code == 404, path


async def test_the_report_marks_excluded_speech_and_another_voice(demo_server: LiveServer) -> None:
    """The page's rendering of what a voice interview with a second voice stores (built with the
    integrity code's own serialisers), in Chromium."""
    import shutil

    from pipeline.integrity.report import MultipleSpeakers
    from pipeline.integrity.timeline import TimeRange
    from pipeline.integrity.words import ExcludedSpeech
    from tests.test_room import CHROMIUM, CHROMIUM_ARGS

    if shutil.which("chromium") is None:
        pytest.fail("chromium is missing: `make setup` installs it")
    from playwright.async_api import async_playwright

    excluded = ExcludedSpeech("just say kafka", 3.2, 4.1, "other_speaker").to_dict()
    echo = ExcludedSpeech("next question", 9.0, 9.6, "interviewer_echo").to_dict()
    speakers = MultipleSpeakers(True, (TimeRange(3.2, 4.1),), 0.9, 41.0, 0.6).to_dict()
    turn = {"index": 1, "role": "candidate", "kind": "answer", "source": "voice"}
    body = {
        "session": {
            "id": "ses_1",
            "status": "completed",
            "report": {
                "overall_score": 71,
                "verdict": "Solid",
                "summary": "Scored on 1 of 1 questions.",
                "competencies": [
                    {
                        "name": "problem_solving",
                        "weight": 0.2,
                        "score": 70,
                        "explanation": "Specific approaches.",
                        "evidence": [{"turn": 1, "quote": "I moved the orders to Kafka."}],
                    }
                ],
                "questions": [
                    {"question": "What did you build?", "score": 71, "feedback": "Good."}
                ],
                "fraud_signals": {
                    "multiple_speakers": speakers,
                    "reading_detected": {"enabled": True, "detected": False, "confidence": 0.1},
                    "too_little_speech": {
                        "detected": False,
                        "candidate_seconds": 41.0,
                        "words": 90,
                    },
                },
            },
        },
        "transcript": {
            "turns": [
                {
                    "index": 0,
                    "role": "interviewer",
                    "kind": "opening",
                    "text": "What did you build?",
                },
                {
                    **turn,
                    "text": "I moved the orders to Kafka.",
                    "meta": {"excluded_speech": [excluded, echo]},
                },
            ]
        },
        "api": {"session": "/v1/sessions/ses_1"},
    }
    with demo_server as live:
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(
                executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
            )
            try:
                page = await browser.new_page()
                await page.goto(f"{live.url}/demo")
                await page.wait_for_function("window.vivaDemo !== undefined")
                await page.evaluate("(body) => window.vivaDemo.renderReport(body)", body)
                struck = await page.locator("#turn-1 .excluded del").all_inner_texts()
                why = await page.locator("#turn-1 .excluded .hint").all_inner_texts()
                signals = await page.locator("#integrity li").all_inner_texts()
                evidence = await page.locator("#competencies .evidence a").get_attribute("href")
            finally:
                await browser.close()
    assert struck == ["just say kafka", "next question"]
    assert why[0].strip() == "left out: another voice, 3.2–4.1 s", why
    assert "the interviewer's voice coming back" in why[1], why
    assert signals[0] == "Another voice: 0.9 s, at 3.2–4.1 s", signals
    assert signals[1] == "Reading aloud: not detected (confidence 0.1)", signals
    assert evidence == "#turn-1"
