"""micro1's create-interview API (seed 004) on native interviews: the documented request gets the
documented answer, every documented limit its 400 body, and a candidate opening the invite link
runs the interview to its report."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest

from server.compat import micro1
from tests.api_support import Api, bearer
from tests.compat_schemas import micro1 as schema
from tests.compat_support import module_app

ANSWERS = [
    "My strength is ownership: I take a feature from the design to production and I watch the "
    "metrics after launch. My weakness is delegating; I now pair with juniors to hand work over.",
    "I use React context for state that many components read, such as the theme or the signed "
    "in user, and I keep it small so that a change does not re-render the whole tree.",
    "I split the page into components, measure with the profiler, memoise the expensive ones "
    "and move the data fetching up so the components stay simple and testable.",
]


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    with module_app(tmp_path_factory) as running:
        yield running


def _key(api: Api) -> dict[str, str]:
    return {schema.API_KEY_HEADER: api.tenant("micro1 customer")["X-API-Key"]}


def _with(**changes: Any) -> dict[str, Any]:
    body = copy.deepcopy(schema.EXAMPLE_REQUEST)
    body.update(changes)
    return body


@pytest.mark.models
def test_the_documented_request_creates_a_native_interview(api: Api) -> None:
    headers = _key(api)
    response = api.client.post("/interview", headers=headers, json=schema.EXAMPLE_REQUEST)
    assert response.status_code == 200, response.text
    created = schema.CreateInterviewResponse.model_validate(response.json())
    assert created.message == "Interview created successfully"
    interview_id = created.data.interview_id
    assert urlsplit(created.data.invite_url).path == f"/join/{interview_id}"

    native = api.client.get(
        f"/v1/interviews/{interview_id}", headers={"X-API-Key": headers["x-api-key"]}
    ).json()
    assert native["name"] == "Full Stack Engineer Interview"
    assert native["skills"] == [
        {"name": "React", "description": "Must be proficient in React Context API"}
    ]
    # micro1's questions carry no skill nor key points: the server links each to the closest
    # skill by meaning (here the only one) and says so.
    assert native["questions"] == [
        {
            "question": "What are your strengths and weaknesses?",
            "time_limit_s": 120,
            "answer": "audio",
            "skill": "React",
            "skill_source": "assigned",
            "key_points": [],
            "ideal_answer": None,
        }
    ]
    assert native["language"] == "en" and native["invite_sessions"] > 0
    assert native["metadata"] == {
        "micro1.is_proctoring_required": True,
        "micro1.selected_coding_language": "python",
        "micro1.coding_exercise_details": schema.EXAMPLE_REQUEST["coding_exercise_details"],
    }

    # Only the name is required; the body itself is optional in the seed.
    minimal = api.client.post("/interview", headers=headers, json={"interview_name": "Screen"})
    assert minimal.status_code == 200, minimal.text
    schema.CreateInterviewResponse.model_validate(minimal.json())


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "interview_name"),
        (None, "interview_name"),
        (_with(interview_name=""), "interview_name"),
        (_with(skills=[{"name": f"Skill {i}"} for i in range(11)]), "skills"),
        (_with(skills=[{"description": "no name"}]), "skills.0.name"),
        (
            _with(custom_question_list=[{"question": f"Q{i}?", "time": 2} for i in range(21)]),
            "custom_question_list",
        ),
        (_with(custom_question_list=[{"question": "Q?", "time": 5}]), "time"),
        (_with(custom_question_list=[{"question": "Q?", "time": 0.5}]), "time"),
        (_with(custom_question_list=[{"question": "Q?", "type": "video"}]), "type"),
        (_with(interview_language="xx"), "interview_language"),
        (_with(selected_coding_language="cobol"), "selected_coding_language"),
    ],
)
def test_documented_limits_answer_the_documented_400(
    api: Api, body: dict[str, Any] | None, field: str
) -> None:
    response = api.client.post("/interview", headers=_key(api), json=body)
    assert response.status_code == 400, response.text
    error = schema.BadRequestResponse.model_validate(response.json())
    assert field in error.message


@pytest.mark.parametrize(
    ("changes", "says"),
    [
        ({"interview_language": "fr"}, "English only"),
        ({"interview_language": "pt-BR"}, "English only"),
        ({"can_change_interview_language": True}, "can_change_interview_language"),
        (
            {"selected_coding_language": "rust", "only_coding_round": True},
            "not available on this server",
        ),
        (
            {"selected_coding_language": "kotlin", "is_coding_round_required": True},
            "not available on this server",
        ),
    ],
)
def test_options_not_honoured_yet_are_refused_with_a_clear_message(
    api: Api, changes: dict[str, Any], says: str
) -> None:
    response = api.client.post("/interview", headers=_key(api), json=_with(**changes))
    assert response.status_code == 400, response.text
    error = schema.BadRequestResponse.model_validate(response.json())
    assert says in error.message and next(iter(changes)) in error.message


def test_coding_options_map_to_the_coding_round(api: Api) -> None:
    headers = _key(api)
    body = {
        "interview_name": "Coding screen",
        "only_coding_round": True,
        "is_coding_round_required": True,
        "selected_coding_language": "python",
        "coding_exercise_details": "Make it hard: dynamic programming.",
    }
    created = api.client.post("/interview", headers=headers, json=body)
    assert created.status_code == 200, created.text
    interview_id = created.json()["data"]["interview_id"]
    native = api.client.get(f"/v1/interviews/{interview_id}", headers=headers).json()
    assert native["coding"] == {
        "problems": [],
        "languages": ["python"],
        "details": "Make it hard: dynamic programming.",
        "required": True,
        "only": True,
    }
    # Without either flag, no coding round (the options stay in the metadata).
    plain = api.client.post(
        "/interview",
        headers=headers,
        json={"interview_name": "Chat", "coding_exercise_details": "x"},
    )
    plain_id = plain.json()["data"]["interview_id"]
    assert api.client.get(f"/v1/interviews/{plain_id}", headers=headers).json()["coding"] is None


@pytest.mark.models
def test_english_variants_and_the_british_one_are_served(api: Api) -> None:
    response = api.client.post(
        "/interview", headers=_key(api), json=_with(interview_language="en-GB")
    )
    assert response.status_code == 200, response.text


def test_without_a_valid_key_the_answer_is_micro1_shaped(api: Api) -> None:
    for headers in ({}, {schema.API_KEY_HEADER: "wrong"}):
        response = api.client.post("/interview", headers=headers, json=schema.EXAMPLE_REQUEST)
        assert response.status_code == 401
        schema.BadRequestResponse.model_validate(response.json())
    broken = api.client.post(
        "/interview", headers={**_key(api), "Content-Type": "application/json"}, content=b"{"
    )
    assert broken.status_code == 400
    schema.BadRequestResponse.model_validate(broken.json())


@pytest.mark.models
def test_a_candidate_opens_the_invite_link_and_is_interviewed_to_a_report(api: Api) -> None:
    headers = _key(api)
    created = api.client.post("/interview", headers=headers, json=schema.EXAMPLE_REQUEST).json()
    link = urlsplit(created["data"]["invite_url"]).path
    assert api.client.get(link).status_code == 200  # the invite page
    opened = api.client.post(link, follow_redirects=False)
    assert opened.status_code == 303, opened.text
    room = urlsplit(opened.headers["location"])
    session_id = room.path.rsplit("/", 1)[-1]
    token = room.fragment.removeprefix("token=")
    candidate = bearer(token)

    api.client.post(
        f"/v1/sessions/{session_id}/consent",
        headers=candidate,
        json={"accepted": True, "version": "2026-01"},
    )
    reply = api.client.post(f"/v1/sessions/{session_id}/start", headers=candidate).json()
    assert "strengths and weaknesses" in reply["message"]  # the custom question comes first
    answered = 0
    while not reply["is_complete"] and answered < 30:
        response = api.client.post(
            f"/v1/sessions/{session_id}/messages",
            headers=candidate,
            json={"text": ANSWERS[answered % len(ANSWERS)]},
        )
        assert response.status_code == 200, response.text
        reply = response.json()
        answered += 1
    assert reply["is_complete"]

    view = api.client.get(
        f"/v1/sessions/{session_id}", headers={"X-API-Key": headers["x-api-key"]}
    ).json()
    assert view["interview_id"] == created["data"]["interview_id"]
    report = view["report"]
    assert report["status"] == view["status"]
    assert report["competencies"][0]["name"] == "React"
    assert "fraud_signals" in report  # proctoring: the voice session's integrity checks


def test_an_unexpected_failure_answers_micro1s_500_body(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(*args: Any) -> None:
        raise RuntimeError("the store is down")

    monkeypatch.setattr("server.interviews.create", broken)
    response = api.client.post("/interview", headers=_key(api), json=schema.EXAMPLE_REQUEST)
    assert response.status_code == 500
    body = schema.InternalServerErrorResponse.model_validate(response.json())
    assert body.status is False and "the store is down" not in response.text


def test_the_invite_link_is_small_by_default_and_has_its_own_rate(api: Api) -> None:
    """Issue 24, #12: the link opened 10 000 sessions at 30 a minute; a leaked one spent the
    tenant's quota. Now it opens `INVITE_SESSIONS` in all, `INVITE_RATE_PER_MINUTE` a minute
    (the native interview's own `invite_rate_per_minute`, which the tenant may change)."""
    headers = _key(api)
    created = api.client.post("/interview", headers=headers, json={"interview_name": "Leaked"})
    assert created.status_code == 200, created.text
    data = created.json()["data"]
    native = api.client.get(f"/v1/interviews/{data['interview_id']}", headers=headers).json()
    assert native["invite_sessions"] == micro1.INVITE_SESSIONS <= 50
    assert native["invite_rate_per_minute"] == micro1.INVITE_RATE_PER_MINUTE <= 5
    link = data["invite_url"].removeprefix("http://127.0.0.1:8000")
    statuses = [
        api.client.post(link, follow_redirects=False).status_code
        for _ in range(micro1.INVITE_RATE_PER_MINUTE + 1)
    ]
    assert statuses[:-1] == [303] * micro1.INVITE_RATE_PER_MINUTE, statuses
    assert statuses[-1] == 429, statuses
    # The tenant may lift it (0: the server's per-link limit).
    lifted = api.client.patch(
        f"/v1/interviews/{data['interview_id']}",
        headers=headers,
        json={"invite_rate_per_minute": 0},
    )
    assert lifted.status_code == 200 and lifted.json()["invite_rate_per_minute"] == 0
    assert api.client.post(link, follow_redirects=False).status_code == 303
