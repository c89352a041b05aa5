"""A tenant's own questions over the API: linked to the interview's skills (named, or assigned
by meaning and said so), key points and an ideal answer stored and validated, and every skill
with an answered question scored in the report."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from server.settings import Settings
from tests.api_support import Api, running_app

SKILLS = [
    {"name": "Ownership", "description": "owns problems end to end, incidents included"},
    {"name": "SQL", "description": "writes and tunes relational database queries"},
    {"name": "Negotiation", "description": "agrees prices and terms with customers"},
]


@pytest.fixture
def api(settings: Settings) -> Iterator[Api]:
    with running_app(settings) as running:
        yield running


def _create(api: Api, headers: dict[str, str], **fields: Any) -> Any:
    response = api.client.post("/v1/interviews", headers=headers, json={"name": "x", **fields})
    return response


@pytest.mark.models
def test_unnamed_questions_get_the_closest_skill_and_say_so(api: Api) -> None:
    headers = api.tenant()
    questions = [
        {
            "question": "Describe a project where something went wrong in production. What did you do?"
        },
        {"question": "How would you find out why a query with three joins got slow?"},
        {"question": "A customer asks for 30 % off a yearly plan. How do you respond?"},
        {"question": "Why do you want this job?", "skill": "ownership"},
    ]
    created = _create(api, headers, skills=SKILLS, questions=questions)
    assert created.status_code == 201, created.text
    linked = [(q["skill"], q["skill_source"]) for q in created.json()["questions"]]
    assert linked == [
        ("Ownership", "assigned"),
        ("SQL", "assigned"),
        ("Negotiation", "assigned"),
        ("Ownership", "tenant"),  # named without case, stored as the skill is spelt
    ]
    interview_id = created.json()["interview_id"]
    got = api.client.get(f"/v1/interviews/{interview_id}", headers=headers).json()
    assert [(q["skill"], q["skill_source"]) for q in got["questions"]] == linked

    # A round trip of what GET returned changes nothing; dropping a skill re-links the questions
    # the server had assigned to it, and keeps the tenant's own choice.
    same = api.client.patch(
        f"/v1/interviews/{interview_id}", headers=headers, json={"questions": got["questions"]}
    )
    assert same.status_code == 200, same.text
    assert [(q["skill"], q["skill_source"]) for q in same.json()["questions"]] == linked
    fewer = api.client.patch(
        f"/v1/interviews/{interview_id}",
        headers=headers,
        json={"skills": [SKILLS[0], SKILLS[2]]},
    )
    assert fewer.status_code == 200, fewer.text
    relinked = [(q["skill"], q["skill_source"]) for q in fewer.json()["questions"]]
    assert relinked[1][0] in ("Ownership", "Negotiation") and relinked[1][1] == "assigned"
    assert relinked[3] == ("Ownership", "tenant")


def test_a_skill_the_interview_does_not_have_is_refused_naming_the_field(api: Api) -> None:
    headers = api.tenant()
    refused = _create(
        api, headers, skills=SKILLS[:1], questions=[{"question": "Why?", "skill": "Cooking"}]
    )
    assert refused.status_code == 400, refused.text
    error = refused.json()["error"]
    assert "questions" in error["fields"] and "Cooking" in str(error["fields"])
    no_skills = _create(api, headers, questions=[{"question": "Why?", "skill": "Ownership"}])
    assert no_skills.status_code == 400
    # Without skills a question is linked to none, and nothing is refused.
    plain = _create(api, headers, questions=[{"question": "Why?"}])
    assert plain.status_code == 201
    assert plain.json()["questions"][0]["skill"] is None
    assert plain.json()["questions"][0]["skill_source"] is None


@pytest.mark.parametrize(
    ("question", "field"),
    [
        ({"question": "Why?", "key_points": ["a point"] * 9}, "questions.0.key_points"),
        ({"question": "Why?", "key_points": ["ok"]}, "questions.0.key_points.0"),
        ({"question": "Why?", "key_points": ["x" * 301]}, "questions.0.key_points.0"),
        ({"question": "Why?", "ideal_answer": "x" * 3001}, "questions.0.ideal_answer"),
    ],
)
def test_key_points_and_ideal_answers_are_bounded(
    api: Api, question: dict[str, Any], field: str
) -> None:
    refused = _create(api, api.tenant(), questions=[question])
    assert refused.status_code == 400, refused.text
    assert field in refused.json()["error"]["fields"]


def test_key_points_and_ideal_answer_are_stored_as_given(api: Api) -> None:
    headers = api.tenant()
    question = {
        "question": "How would you roll out a risky database migration?",
        "key_points": ["Test it on a copy of production data", "Have a rollback plan"],
        "ideal_answer": "I rehearse it on a snapshot. I ship it behind a flag, with a rollback.",
    }
    created = _create(api, headers, questions=[question])
    assert created.status_code == 201, created.text
    stored = created.json()["questions"][0]
    assert stored["key_points"] == question["key_points"]
    assert stored["ideal_answer"] == question["ideal_answer"]
