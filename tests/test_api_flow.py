"""A whole chat-mode interview through REST alone: catalogue, interview, session, consent,
answers, report, transcript, audit."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from server.settings import Settings
from tests.api_support import Api, bearer, running_app

ANSWERS = [
    "In my last role I led the migration of our billing service to an event-driven design. "
    "I planned the rollout in stages, wrote the runbooks and we cut incidents by forty percent.",
    "I disagreed with a product manager about a launch date. I gathered data on the open bugs, "
    "we met, agreed on a smaller scope and shipped on time with fewer defects than planned.",
    "I prioritise by impact and urgency: I list the work, estimate it with the team, and review "
    "the plan every week so that we can adjust when customers tell us something new.",
]


@pytest.fixture
def api(settings: Settings) -> Iterator[Api]:
    with running_app(settings) as running:
        yield running


@pytest.mark.models
def test_chat_interview_from_catalogue_to_report(api: Api) -> None:
    client, headers = api.client, api.tenant()

    catalogue = client.get("/v1/catalogue", headers=headers).json()
    assert {p["id"] for p in catalogue["personas"]} == {"maya", "alex", "leo"}
    assert "k12_math" in {t["id"] for t in catalogue["tracks"]}
    assert catalogue["interviews"]["k12_math"][0]["grades"][0] == "Grade 6"

    created = client.post(
        "/v1/interviews",
        headers=headers,
        json={
            "name": "Backend engineer screen",
            "type": "behavioral",
            "persona_id": "alex",
            "max_questions": 3,
            "skills": [{"name": "Ownership", "description": "drives work to done"}],
            "questions": [
                {"question": "Tell me about a project you led.", "time_limit_s": 120},
                {"question": "Tell me about a disagreement at work.", "time_limit_s": 90},
            ],
        },
    )
    assert created.status_code == 201, created.text
    interview_id = created.json()["interview_id"]
    assert created.json()["invite_url"].endswith(f"/join/{interview_id}")
    own = client.get("/v1/catalogue", headers=headers).json()["own_interviews"]
    assert [i["id"] for i in own] == [interview_id]

    session = client.post(
        "/v1/sessions",
        headers=headers,
        json={
            "interview_id": interview_id,
            "mode": "chat",
            "practice": True,
            "candidate": {"external_id": "cand-42", "name": "Ada Lovelace"},
            "metadata": {"req": "R-1"},
            "tags": ["backend"],
        },
    )
    assert session.status_code == 201, session.text
    access = session.json()
    session_id, token = access["session"]["id"], access["token"]
    assert access["session"]["status"] == "created"
    assert access["embed_url"].endswith(f"/embed/{session_id}#token={token}")
    assert access["stream_url"] == f"ws://127.0.0.1:8000/v1/sessions/{session_id}/stream"
    candidate = bearer(token)

    # Nothing is processed before consent.
    refused = client.post(f"/v1/sessions/{session_id}/start", headers=candidate)
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "consent_required"
    disclosure = client.get(f"/v1/sessions/{session_id}/consent", headers=candidate).json()
    consent = client.post(
        f"/v1/sessions/{session_id}/consent",
        headers=candidate,
        json={"accepted": True, "version": disclosure["disclosure"]["version"]},
    )
    assert consent.json()["consented"] is True

    opening = client.post(f"/v1/sessions/{session_id}/messages", headers=candidate).json()
    assert opening["kind"] == "opening" and opening["turn"] == 0
    assert "Ada" in opening["message"] and "project you led" in opening["message"]
    assert opening["progress"] == {
        "question_count": 1,
        "max_questions": 3,
        "is_started": True,
        "is_complete": False,
    }
    # Asking again without an answer gives the same open question, stores nothing new.
    again = client.post(f"/v1/sessions/{session_id}/start", headers=candidate).json()
    assert again["turn"] == 0 and again["message"] == opening["message"]

    empty = client.post(
        f"/v1/sessions/{session_id}/messages", headers=candidate, json={"text": " "}
    )
    assert empty.status_code == 400
    assert empty.json()["error"]["message"] == "Answer cannot be empty."

    # The engine may follow up; answer until it closes, within a bound.
    reply = opening
    answered: list[str] = []
    while not reply["is_complete"] and len(answered) < 12:
        answer = ANSWERS[len(answered) % len(ANSWERS)]
        response = client.post(
            f"/v1/sessions/{session_id}/messages", headers=candidate, json={"text": answer}
        )
        assert response.status_code == 200, response.text
        reply = response.json()
        answered.append(answer)
        if reply["feedback_on_previous"] is not None:  # practice mode: feedback per answer
            assert 0 <= reply["feedback_on_previous"]["score"] <= 100
    assert reply["is_complete"] and reply["kind"] == "closing"
    assert reply["status"] in ("completed", "low_confidence")
    assert reply["report_url"].endswith(f"/v1/sessions/{session_id}")

    view = client.get(f"/v1/sessions/{session_id}", headers=headers).json()
    assert view["status"] == reply["status"]
    assert view["progress"]["is_complete"] and view["progress"]["question_count"] == 3
    assert view["consent"]["version"] == disclosure["disclosure"]["version"]
    report = view["report"]
    assert report["status"] == view["status"]
    assert len(report["questions"]) == 3 and report["rubric_version"]

    transcript = client.get(f"/v1/sessions/{session_id}/transcript", headers=candidate).json()
    roles = [t["role"] for t in transcript["turns"]]
    assert roles == ["interviewer", "candidate"] * len(answered) + ["interviewer"]
    assert (
        transcript["turns"][1]["text"] == ANSWERS[0] and transcript["turns"][1]["source"] == "text"
    )

    # The candidate's token is over once the interview is: no more answers.
    late = client.post(f"/v1/sessions/{session_id}/messages", headers=candidate, json={"text": "x"})
    assert late.status_code == 409

    actions = [
        e["action"]
        for e in client.get(f"/v1/sessions/{session_id}/audit", headers=headers).json()["entries"]
    ]
    assert actions == ["created", "consented", "started", "scored"]
    scored = client.get(f"/v1/sessions/{session_id}/audit", headers=headers).json()["entries"][-1]
    review = {"reviewer": "hm-7", "decision": "advance", "reason": "Clear ownership."}
    reviewed = client.post(f"/v1/sessions/{session_id}/review", headers=headers, json=review)
    assert reviewed.status_code == 201, reviewed.text
    assert {k: reviewed.json()[k] for k in review} == review  # overrides: tests/test_reviews.py
    bad = client.post(f"/v1/sessions/{session_id}/review", headers=headers, json={"decision": "x"})
    fields = set(bad.json()["error"]["fields"])
    assert bad.status_code == 400 and fields >= {"reviewer", "reason", "decision"}
    assert (
        scored["detail"]["engine"]
        and scored["detail"]["rubric_version"] == report["rubric_version"]
    )

    listed = client.get("/v1/sessions", headers=headers, params={"external_id": "cand-42"}).json()
    assert [s["id"] for s in listed["items"]] == [session_id]
    assert client.get("/v1/sessions", headers=headers, params={"tag": "nope"}).json()["items"] == []
    by_meta = client.get(
        "/v1/sessions", headers=headers, params={"metadata_key": "req", "metadata_value": "R-1"}
    )
    assert [s["id"] for s in by_meta.json()["items"]] == [session_id]
