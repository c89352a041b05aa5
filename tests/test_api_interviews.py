"""Interviews: field-level 400s for every limit, paging, PATCH, DELETE; session inputs
(grade, metadata, tags); invite links."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from server.settings import Settings
from tests.api_support import Api, running_app


@pytest.fixture
def api(settings: Settings) -> Iterator[Api]:
    with running_app(settings) as running:
        yield running


def _skill(i: int) -> dict[str, str]:
    return {"name": f"Skill {i}", "description": "d"}


def _question(i: int, time_limit_s: int = 120) -> dict[str, Any]:
    return {"question": f"Question {i}?", "time_limit_s": time_limit_s}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "name"),
        ({"name": "  "}, "name"),
        ({"name": "x", "type": "pairing"}, "type"),
        ({"name": "x", "skills": [_skill(i) for i in range(11)]}, "skills"),
        ({"name": "x", "skills": [{"description": "no name"}]}, "skills.0.name"),
        ({"name": "x", "questions": [_question(i) for i in range(21)]}, "questions"),
        ({"name": "x", "questions": [_question(1, 59)]}, "questions.0.time_limit_s"),
        ({"name": "x", "questions": [_question(1, 241)]}, "questions.0.time_limit_s"),
        ({"name": "x", "questions": [{**_question(1), "answer": "video"}]}, "questions.0.answer"),
        ({"name": "x", "persona_id": "zed"}, "persona_id"),
        ({"name": "x", "track": "cooking"}, "track"),
        ({"name": "x", "max_questions": 0}, "max_questions"),
        ({"name": "x", "language": "english"}, "language"),
        ({"name": "x", "language": "de"}, "language"),  # the models are English-only
        ({"name": "x", "unknown": 1}, "unknown"),
    ],
)
def test_create_interview_limits_answer_field_level_400(
    api: Api, body: dict[str, Any], field: str
) -> None:
    response = api.client.post("/v1/interviews", headers=api.tenant(), json=body)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid_request" and field in error["fields"], error


@pytest.mark.models
def test_limits_at_their_edges_are_accepted(api: Api) -> None:
    body = {
        "name": "Full",
        "skills": [_skill(i) for i in range(10)],
        "questions": [_question(i, 60 if i % 2 else 240) for i in range(20)],
        "max_questions": 20,
    }
    assert api.client.post("/v1/interviews", headers=api.tenant(), json=body).status_code == 201


def test_bodies_that_are_not_json_objects(api: Api) -> None:
    headers = {**api.tenant(), "Content-Type": "application/json"}
    broken = api.client.post("/v1/interviews", headers=headers, content=b"{nope")
    assert broken.status_code == 400 and broken.json()["error"]["code"] == "invalid_json"
    listed = api.client.post("/v1/interviews", headers=headers, json=["name"])
    assert listed.status_code == 400


def test_list_page_patch_delete(api: Api) -> None:
    headers = api.tenant()
    ids = [
        api.client.post("/v1/interviews", headers=headers, json={"name": f"I{i}"}).json()[
            "interview_id"
        ]
        for i in range(3)
    ]
    first = api.client.get("/v1/interviews", headers=headers, params={"limit": 2}).json()
    assert [i["id"] for i in first["items"]] == ids[::-1][:2]
    assert first["total"] == 3 and first["next_offset"] == 2
    rest = api.client.get("/v1/interviews", headers=headers, params={"offset": 2}).json()
    assert [i["id"] for i in rest["items"]] == [ids[0]] and rest["next_offset"] is None
    bad_page = api.client.get("/v1/interviews", headers=headers, params={"limit": 500})
    assert bad_page.status_code == 400 and "limit" in bad_page.json()["error"]["fields"]

    patched = api.client.patch(
        f"/v1/interviews/{ids[0]}",
        headers=headers,
        json={"persona_id": "leo", "skills": [_skill(1)], "duration_minutes": 20},
    )
    assert patched.status_code == 200, patched.text
    got = api.client.get(f"/v1/interviews/{ids[0]}", headers=headers).json()
    assert (got["name"], got["persona_id"], got["duration_minutes"]) == ("I0", "leo", 20)
    assert got["skills"] == [_skill(1)]
    refused = api.client.patch(f"/v1/interviews/{ids[0]}", headers=headers, json={"name": None})
    assert refused.status_code == 400 and "name" in refused.json()["error"]["fields"]
    too_many = api.client.patch(
        f"/v1/interviews/{ids[0]}", headers=headers, json={"skills": [_skill(i) for i in range(11)]}
    )
    assert too_many.status_code == 400 and "skills" in too_many.json()["error"]["fields"]

    assert api.client.delete(f"/v1/interviews/{ids[0]}", headers=headers).status_code == 204
    assert api.client.get(f"/v1/interviews/{ids[0]}", headers=headers).status_code == 404
    assert api.client.get("/v1/interviews", headers=headers).json()["total"] == 2


def test_session_inputs_are_validated(api: Api) -> None:
    headers = api.tenant()

    def create(**body: Any) -> Any:
        return api.client.post("/v1/sessions", headers=headers, json=body)

    no_grade = create(interview_id="k12_math-1")
    assert no_grade.status_code == 400 and "grade" in no_grade.json()["error"]["fields"]
    assert create(interview_id="k12_math-1", grade="Grade 13").status_code == 400
    assert create(interview_id="k12_math-1", grade="Grade 8").status_code == 201
    assert create(interview_id="int_missing").status_code == 404
    many_keys = {f"k{i}": i for i in range(51)}
    assert "metadata" in create(interview_id="dsa-1", metadata=many_keys).json()["error"]["fields"]
    tags = [f"t{i}" for i in range(21)]
    assert "tags" in create(interview_id="dsa-1", tags=tags).json()["error"]["fields"]
    hook = create(interview_id="dsa-1", webhook_url="ftp://example.com/x")
    assert "webhook_url" in hook.json()["error"]["fields"]
    assert create(interview_id="dsa-1", mode="video").status_code == 400

    cv = "Senior engineer. Built a Kafka pipeline and led a team of five on PostgreSQL migrations."
    session = create(interview_id="backend-1", cv_text=cv, persona_id="leo", mode="chat").json()
    view = api.client.get(f"/v1/sessions/{session['session']['id']}", headers=headers).json()
    assert view["persona_id"] == "leo" and view["mode"] == "chat" and view["status"] == "created"
    assert view["progress"] == {
        "question_count": 0,
        "max_questions": view["progress"]["max_questions"],
        "is_started": False,
        "is_complete": False,
    }
    assert view["progress"]["max_questions"] >= 3 and view["report"] is None


def test_invite_link_opens_a_new_session_in_the_room(api: Api) -> None:
    """The link is opt-in (`invite_sessions`), and opens a session only on the page's POST
    (tests/test_invites.py has the limits)."""
    headers = api.tenant()
    body = {"name": "Open", "invite_sessions": 5}
    invite = api.client.post("/v1/interviews", headers=headers, json=body).json()
    link = invite["invite_url"].removeprefix("http://127.0.0.1:8000")
    assert api.client.get(link, follow_redirects=False).status_code == 200
    joined = api.client.post(link, follow_redirects=False)
    assert joined.status_code == 303
    embed, _, fragment = joined.headers["location"].partition("#token=")
    session_id = embed.rsplit("/", 1)[-1]
    view = api.client.get(f"/v1/sessions/{session_id}", headers=headers).json()
    assert view["interview_id"] == invite["interview_id"]
    assert view["metadata"] == {"source": "invite_link"}
    transcript = f"/v1/sessions/{session_id}/transcript"
    assert api.client.get(transcript, headers={"X-Session-Token": fragment}).status_code == 200
    assert api.client.get("/join/int_nope", follow_redirects=False).status_code == 404


def test_a_language_the_models_cannot_serve_is_refused_with_the_reason(api: Api) -> None:
    response = api.client.post(
        "/v1/interviews", headers=api.tenant(), json={"name": "Entrevista", "language": "es"}
    )
    assert response.status_code == 400
    assert "only English" in json.dumps(response.json()["error"]), response.text
    accepted = api.client.post(
        "/v1/interviews", headers=api.tenant(), json={"name": "UK", "language": "en-GB"}
    )
    assert accepted.status_code == 201, accepted.text
