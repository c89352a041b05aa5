"""`round`, `company_context` and the K-12 `grade` reach the plan from wherever they are stored
(issue 14's native fields, issue 15 point 5): a tenant's interview, a catalogue K-12 interview's
session, Liya's `interview_context`. Through the real app; the first question shows the plan."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.api_support import Api, bearer
from tests.chat_support import open_chat
from tests.compat_support import module_app

STRIPE = "Stripe is a payments infrastructure company..."


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    with module_app(tmp_path_factory) as running:
        yield running


def _opening(api: Api, headers: dict[str, str], body: dict[str, Any]) -> str:
    session_id, token = open_chat(api, headers, body)
    response = api.client.post(f"/v1/sessions/{session_id}/start", headers=bearer(token))
    assert response.status_code == 200, response.text
    return str(response.json()["message"])


def test_a_tenants_round_and_company_context_change_the_plan(api: Api) -> None:
    headers = api.tenant()

    def interview(**fields: Any) -> str:
        body = {"name": "Payments engineer", "type": "technical", "track": "backend", **fields}
        created = api.client.post("/v1/interviews", headers=headers, json=body)
        assert created.status_code == 201, created.text
        return str(created.json()["interview_id"])

    screen = interview(round="phone_screen", company_context=STRIPE)
    opening = _opening(api, headers, {"interview_id": screen})
    assert "Why do you want to work at Stripe?" in opening
    assert "payments infrastructure" in opening
    stored = api.client.get(f"/v1/interviews/{screen}", headers=headers).json()
    assert stored["round"] == "phone_screen" and stored["company_context"] == STRIPE

    plain = _opening(api, headers, {"interview_id": interview()})
    assert "Stripe" not in plain and "Why do you want" not in plain


def test_a_k12_sessions_grade_changes_the_questions(api: Api) -> None:
    headers = api.tenant()
    openings = {
        grade: _opening(api, headers, {"interview_id": "k12_math-1", "grade": grade})
        for grade in ("Grade 6", "Grade 12")
    }
    assert "3x + 7 = 22" in openings["Grade 6"]
    assert "correlation and causation" in openings["Grade 12"]


def test_liyas_round_and_company_research_change_the_plan(api: Api) -> None:
    key = api.tenant()["X-API-Key"]
    response = api.client.post(
        "/v1/hiring/mock-interview",
        headers={"x-api-key": key},
        json={
            "input": {
                "user_id": "usr_1",
                "interview_context": {
                    "interview_type": "behavioral",
                    "interview_round": "phone_screen",
                    "company_research": STRIPE,
                },
            }
        },
    )
    assert response.status_code == 200, response.text
    message = response.json()["data"]["output"]["message"]
    assert "Why do you want to work at Stripe?" in message
