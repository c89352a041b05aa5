"""Liya Engine's mock interview (seed 002) on native practice chat sessions: its two example turns
replayed verbatim, then the interview run turn by turn to its summary."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.api_support import Api
from tests.compat_schemas import liya as schema
from tests.compat_support import module_app, parse_curl, replay

MISSING = "ses_" + "0" * 20  # well formed, never made

ANSWERS = [
    "I led the move of our notification service to a message queue. I wrote a one page "
    "proposal with the failure cases, we ran a load test together and the queue cut lost "
    "notifications to zero, so my colleague agreed.",
    "In hindsight I would have involved the on-call team earlier. We met every week, agreed on "
    "the metrics first and then the decision was easy, which I now do for every design choice.",
    "I listen first, restate the other view until they agree I have it right, then we compare "
    "the options against the goal and the data. I document the decision and the trade-offs.",
]


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    with module_app(tmp_path_factory) as running:
        yield running


def _turn(api: Api, key: str, body: dict[str, Any]) -> dict[str, Any]:
    response = api.client.post("/v1/hiring/mock-interview", headers={"x-api-key": key}, json=body)
    assert response.status_code == 200, response.text
    parsed: dict[str, Any] = response.json()
    schema.Response.model_validate(parsed)
    return parsed


def _error(response: Any, status: int) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["success"] is False and set(body["error"]) == {"code", "message"}
    return str(body["error"]["message"])


@pytest.mark.models
def test_the_seed_turns_verbatim_then_the_interview_to_its_summary(api: Api) -> None:
    # Verbatim, the placeholder key opens nothing: Liya's envelope, success false.
    _error(replay(api.client, parse_curl(schema.TURN_1)), 401)

    key = api.tenant("Liya customer")["X-API-Key"]
    first = replay(api.client, parse_curl(schema.TURN_1, {"$LIYA_API_KEY": key}))
    assert first.status_code == 200, first.text
    opening = schema.Response.model_validate(first.json())
    assert first.json()["success"] is True
    assert opening.data.output.turn == 1 and opening.data.output.feedback_on_previous is None
    assert "Tell me about" in opening.data.output.message
    session_id = opening.data.session_id

    # The native interview and session behind it.
    native_key = {"X-API-Key": key}
    session = api.client.get(f"/v1/sessions/{session_id}", headers=native_key).json()
    assert session["mode"] == "chat" and session["practice"] is True
    assert session["candidate"]["external_id"] == "usr_123"
    interview = api.client.get(
        f"/v1/interviews/{session['interview_id']}", headers=native_key
    ).json()
    assert interview["type"] == "behavioral" and interview["round"] == "first_round"
    assert interview["level"] == "senior"
    assert interview["metadata"]["liya.profile.title"] == "Senior Engineer"
    assert interview["metadata"]["liya.profile.years_of_experience"] == 8

    head = schema.TURN_1.split("-d '")[0]
    second = replay(
        api.client,
        parse_curl(
            head + schema.TURN_2_DATA, {"$LIYA_API_KEY": key, "ses_interview_abc": session_id}
        ),
    )
    assert second.status_code == 200, second.text
    reply = schema.Response.model_validate(second.json())
    assert reply.data.session_id == session_id and reply.data.output.turn == 2
    assert reply.data.output.feedback_on_previous is not None  # feedback on every answer

    body: dict[str, Any] = {}
    turns = 2
    while not second.json()["data"]["output"]["is_complete"] and turns < 30:
        body = _turn(
            api,
            key,
            {
                "input": {"user_id": "usr_123", "message": ANSWERS[turns % len(ANSWERS)]},
                "session_id": session_id,
            },
        )
        output = body["data"]["output"]
        turns += 1
        assert output["turn"] == turns and output["feedback_on_previous"] is not None
        if output["is_complete"]:
            break
        assert output["summary"] is None
    summary = body["data"]["output"]["summary"]
    # Three full answers, well over the words the report needs to score: a score, not
    # low_confidence (which would carry none).
    assert summary["status"] == "completed", summary
    assert isinstance(summary["score"], int) and 0 <= summary["score"] <= 100, summary
    assert summary["verdict"] and summary["competencies"]
    report = api.client.get(f"/v1/sessions/{session_id}", headers=native_key).json()["report"]
    assert summary["score"] == report["overall_score"] and summary["summary"] == report["summary"]

    over = api.client.post(
        "/v1/hiring/mock-interview",
        headers={"x-api-key": key},
        json={"input": {"user_id": "usr_123", "message": "one more"}, "session_id": session_id},
    )
    assert "over" in _error(over, 409)


def test_the_whole_interview_context_resume_and_job_description_reach_the_native_model(
    api: Api,
) -> None:
    key = api.tenant()["X-API-Key"]
    body = _turn(
        api,
        key,
        {
            "input": {
                "user_id": "usr_9",
                "profile": {"title": "Engineer", "years_of_experience": 2},
                "resume": {"summary": "Built a Kafka pipeline", "skills": ["Go", "Kafka"]},
                "job_description": "Backend engineer: Kafka, PostgreSQL.",
                "interview_context": {**schema.INTERVIEW_CONTEXT, "interview_type": "technical"},
            }
        },
    )
    session_id = body["data"]["session_id"]
    session = api.client.get(f"/v1/sessions/{session_id}", headers={"X-API-Key": key}).json()
    interview = api.client.get(
        f"/v1/interviews/{session['interview_id']}", headers={"X-API-Key": key}
    ).json()
    assert interview["focus_areas"] == ["leadership", "conflict resolution"]
    assert interview["duration_minutes"] == 45 and interview["level"] == "junior"
    assert interview["company_context"].startswith("Stripe is a payments")
    assert interview["job_description"] == "Backend engineer: Kafka, PostgreSQL."
    audit = api.client.get(f"/v1/sessions/{session_id}/audit", headers={"X-API-Key": key}).json()
    consented = next(e for e in audit["entries"] if e["action"] == "consented")
    assert consented["detail"]["attested_by"].startswith("tenant:")


@pytest.mark.parametrize(
    ("body", "status", "says"),
    [
        ({"input": {}}, 400, "user_id"),
        ({"input": {"user_id": "u", "interview_context": {"interview_type": "x"}}}, 400, "type"),
        ({"input": {"user_id": "u", "message": "hi"}, "session_id": MISSING}, 404, MISSING),
        ({"input": {"user_id": "u", "message": "hi"}, "session_id": "ses_nope"}, 400, "session_id"),
        ("not json", 400, "JSON"),
    ],
)
def test_errors_come_in_liyas_envelope(
    api: Api, body: dict[str, Any] | str, status: int, says: str
) -> None:
    key = api.tenant()["X-API-Key"]
    content = body if isinstance(body, str) else json.dumps(body)
    response = api.client.post(
        "/v1/hiring/mock-interview",
        headers={"x-api-key": key, "Content-Type": "application/json"},
        content=content,
    )
    assert says in _error(response, status)


def test_a_session_answers_only_its_own_user_and_tenant(api: Api) -> None:
    key, other = api.tenant()["X-API-Key"], api.tenant()["X-API-Key"]
    first = _turn(api, key, {"input": {"user_id": "usr_1"}})
    session_id = first["data"]["session_id"]
    for who, user in ((key, "usr_2"), (other, "usr_1")):
        response = api.client.post(
            "/v1/hiring/mock-interview",
            headers={"x-api-key": who},
            json={"input": {"user_id": user, "message": "hello"}, "session_id": session_id},
        )
        _error(response, 404)
    empty = api.client.post(
        "/v1/hiring/mock-interview",
        headers={"x-api-key": key},
        json={"input": {"user_id": "usr_1", "message": "  "}, "session_id": session_id},
    )
    assert _error(empty, 400) == "Answer cannot be empty. Send the answer as input.message."


@pytest.mark.models
def test_an_answer_the_tenant_relays_is_recorded_as_entered_by_the_tenant(api: Api) -> None:
    """Issue 24 #10: the tenant's key answers for its user; the answer is stored and audited as
    the tenant's, visible in the tenant's transcript, never passed off as the candidate's own."""
    from server.storage import audit_trail

    headers = api.tenant()
    key = headers["X-API-Key"]
    first = _turn(api, key, {"input": {"user_id": "usr_relay"}})
    session_id = first["data"]["session_id"]
    _turn(
        api,
        key,
        {"input": {"user_id": "usr_relay", "message": ANSWERS[0]}, "session_id": session_id},
    )
    transcript = api.client.get(f"/v1/sessions/{session_id}/transcript", headers=headers)
    assert transcript.status_code == 200, transcript.text
    answers = [t for t in transcript.json()["turns"] if t["role"] == "candidate"]
    assert len(answers) == 1 and answers[0]["text"] == ANSWERS[0]
    actor = f"tenant:{headers['X-Tenant-Id']}"
    assert answers[0]["meta"]["entered_by"] == actor
    entries = api.run(audit_trail.entries, api.redis, session_id)
    entered = [e for e in entries if e.action == "answer_entered"]
    assert [(e.actor, e.detail["turn"]) for e in entered] == [(actor, answers[0]["index"])]
