"""The CV + job-description app's API (seed 001) on native chat sessions: its example requests
replayed verbatim get its documented shapes, and a whole interview runs through its two
endpoints to the native report."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.api_support import Api, bearer
from tests.compat_schemas import cvjd as schema
from tests.compat_support import module_app, parse_curl, replay

CV = (
    "Senior engineer, 7 years. Built a Kafka event pipeline for payments at Acme. "
    "Led the migration of our monolith to Kubernetes."
)
JD = "Senior Software Engineer at TechCorp Inc: distributed systems, Kafka, PostgreSQL, on-call."
ANSWERS = [
    "I owned the payments pipeline end to end. I designed the Kafka topics, wrote the consumers "
    "in Go and set up the alerting, and we went from hourly batches to events in seconds.",
    "We split the monolith service by service behind a router. I wrote the runbooks, trained "
    "the team and we moved every service to Kubernetes in six months without an outage.",
    "I start from the data: what must be consistent and what can lag. Then I pick the storage "
    "and the queue, test the failure modes and document the trade-offs for the team.",
]


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    with module_app(tmp_path_factory) as running:
        yield running


def _session(api: Api, headers: dict[str, str], **extra: Any) -> tuple[str, str]:
    body = {
        "interview_id": "backend-1",
        "mode": "chat",
        "cv_text": CV,
        "job_description": JD,
        "metadata": {"job_title": "Senior Software Engineer", "company_name": "TechCorp Inc"},
        **extra,
    }
    created = api.client.post("/v1/sessions", headers=headers, json=body)
    assert created.status_code == 201, created.text
    return created.json()["session"]["id"], created.json()["token"]


def _consent(api: Api, session_id: str, token: str) -> None:
    consented = api.client.post(
        f"/v1/sessions/{session_id}/consent",
        headers=bearer(token),
        json={"accepted": True, "version": "2026-01"},
    )
    assert consented.status_code == 200, consented.text


def _mine(session_id: str, token: str) -> dict[str, str]:
    return {"/session/123/": f"/session/{session_id}/", "your_session_cookie": token}


def test_the_seed_examples_verbatim_answer_the_documented_404(api: Api) -> None:
    for example in (schema.GET_INTERVIEW, schema.POST_MESSAGE):
        response = replay(api.client, parse_curl(example))
        assert response.status_code == 404, response.text
        assert schema.ErrorFragment.model_validate(response.json()).message == "Session not found"


@pytest.mark.models
def test_a_whole_interview_through_the_two_endpoints(api: Api) -> None:
    headers = api.tenant("TechCorp Hiring")
    session_id, token = _session(api, headers)
    mine = _mine(session_id, token)

    # Before consent the page carries the native disclosure and starts nothing.
    first = replay(api.client, parse_curl(schema.GET_INTERVIEW, mine))
    assert first.status_code == 200, first.text
    page = first.json()
    disclosure = page.pop("disclosure")
    assert disclosure["version"] == "2026-01" and "AI interviewer" in disclosure["text"]
    assert disclosure["consent_path"] == f"/v1/sessions/{session_id}/consent"
    assert schema.InterviewPage.model_validate(page).conversation == []
    assert page["progress"]["is_started"] is False
    refused = replay(api.client, parse_curl(schema.POST_MESSAGE, mine))
    assert refused.status_code == 400
    assert schema.ErrorFragment.model_validate(refused.json()).message.startswith(
        "The interview has not started"
    )

    _consent(api, session_id, token)
    opened = replay(api.client, parse_curl(schema.GET_INTERVIEW, mine))
    assert opened.status_code == 200, opened.text
    page = schema.InterviewPage.model_validate(opened.json())  # the product's page, exactly
    assert page.session.id == session_id
    assert page.session.job_title == "Senior Software Engineer"
    assert page.session.company_name == "TechCorp Inc"
    assert [m.role for m in page.conversation] == ["assistant"]
    assert page.conversation[0].id == 1 and page.conversation[0].session_id == session_id
    assert page.progress.question_count == 1 and page.progress.is_started
    assert not page.progress.is_complete and page.progress.max_questions >= 3
    # Opening the page again asks nothing new.
    again = schema.InterviewPage.model_validate(
        replay(api.client, parse_curl(schema.GET_INTERVIEW, mine)).json()
    )
    assert again.conversation == page.conversation

    blank = {
        **mine,
        "answer=I have extensive experience with microservices architecture...": "answer=+",
    }
    empty = replay(api.client, parse_curl(schema.POST_MESSAGE, blank))
    assert empty.status_code == 400
    assert empty.json() == {"error": True, "message": "Answer cannot be empty."}
    missing = api.client.post(
        f"/session/{session_id}/message",
        headers={"Cookie": f"session={token}"},
        data={"other": "x"},
    )
    assert missing.status_code == 400 and missing.json()["message"] == "Answer cannot be empty."

    # The verbatim example's answer, then real ones until the interview is complete.
    result = replay(api.client, parse_curl(schema.POST_MESSAGE, mine))
    assert result.status_code == 200, result.text
    reply = schema.AnswerResult.model_validate(result.json())
    answers = 1
    while not reply.is_complete and answers < 25:
        assert reply.next_question
        answer = ANSWERS[answers % len(ANSWERS)]
        # Form-encoded as the product posts it, or JSON, or with the token as a Bearer.
        if answers % 2:
            response = api.client.post(
                f"/session/{session_id}/message",
                headers={"Cookie": f"session={token}"},
                data={"answer": answer},
            )
        else:
            response = api.client.post(
                f"/session/{session_id}/message", headers=bearer(token), json={"answer": answer}
            )
        assert response.status_code == 200, response.text
        reply = schema.AnswerResult.model_validate(response.json())
        answers += 1
    assert reply.is_complete and reply.next_question is None
    assert reply.question_count == page.progress.max_questions

    done = schema.InterviewPage.model_validate(
        replay(api.client, parse_curl(schema.GET_INTERVIEW, mine)).json()
    )
    assert done.progress.is_complete and done.progress.question_count == reply.question_count
    roles = [m.role for m in done.conversation]
    assert roles == ["assistant", "user"] * answers + ["assistant"]
    assert done.conversation[1].content.startswith("I have extensive experience")
    assert [m.id for m in done.conversation] == list(range(1, len(roles) + 1))

    late = replay(api.client, parse_curl(schema.POST_MESSAGE, mine))
    assert late.status_code == 400 and late.json()["error"] is True

    report = api.client.get(f"/v1/sessions/{session_id}", headers=headers).json()
    assert report["status"] in ("completed", "low_confidence")
    assert report["report"]["status"] == report["status"]
    assert report["report"]["channel"] == "chat"


def test_who_may_open_the_page_and_answer(api: Api) -> None:
    headers, other = api.tenant("Acme"), api.tenant("Globex")
    session_id, token = _session(api, headers)
    second_id, second_token = _session(api, headers)
    _consent(api, session_id, token)

    # Another session's token, or none: the product's 403 text.
    for creds in ({"Cookie": f"session={second_token}"}, bearer("nope"), {}):
        page = api.client.get(f"/session/{session_id}/interview", headers=creds)
        assert page.status_code == 403, page.text
        assert page.json() == {"error": True, "message": "You don't have access to this session"}
    # Another tenant's key: the session is not there, as everywhere in the API.
    elsewhere = api.client.get(f"/session/{session_id}/interview", headers=other)
    assert elsewhere.status_code == 404 and elsewhere.json()["message"] == "Session not found"

    # The tenant's own key reads the page without starting the interview, and may not answer.
    read = api.client.get(f"/session/{session_id}/interview", headers=headers)
    assert read.status_code == 200 and read.json()["conversation"] == []
    answer = api.client.post(
        f"/session/{session_id}/message", headers=headers, data={"answer": "hello"}
    )
    assert answer.status_code == 403 and answer.json()["error"] is True

    # The token opens only its own session.
    assert api.client.get(f"/session/{second_id}/interview", headers=bearer(token)).status_code == (
        403
    )
    started = api.client.get(f"/session/{session_id}/interview", headers=bearer(token))
    assert started.status_code == 200 and len(started.json()["conversation"]) == 1

    multipart = api.client.post(
        f"/session/{session_id}/message", headers=bearer(token), files={"answer": b"x"}
    )
    assert multipart.status_code == 400 and "form" in multipart.json()["message"]
