"""The bias audit through the REST API, end to end: chat interviews scored by the real
scoring model, self-reported categories posted apart, impact ratios read back; validation,
tenant isolation, privacy of the categories, and erasure."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from server.review.bias_audits import Subject, impact_ratios
from server.settings import Settings
from server.storage import keys
from tests.api_support import Api, running_app
from tests.chat_support import open_chat, run_chat, session_view

INTERVIEW = {
    "name": "Audit screen",
    "type": "behavioral",
    "persona_id": "maya",
    "max_questions": 1,
    "questions": [{"question": "Tell me about a project you led.", "time_limit_s": 120}],
}
# Answers of different strength, so that the scores spread around their median.
ANSWERS = [
    "I led the migration of our billing service to an event-driven design. I planned the "
    "rollout in four stages, wrote the runbooks, paired with each on-call engineer, and we cut "
    "payment incidents by forty percent within two quarters while keeping every release on time.",
    "I led a small team that rebuilt our search page. I split the work into weekly milestones, "
    "reviewed every change myself, and the page loads twice as fast as before for our customers.",
    "Last year I coordinated the move of our reports to a new database. I talked to the "
    "analysts, wrote a plan, and we finished it a little late but it works well now for everyone.",
    "I was part of a team project where we built an internal tool. We had meetings and "
    "discussed things and in the end the tool was delivered and people used it for their work.",
    "Projects are important and leading them is about people and synergy and alignment, best "
    "practices, agile, stakeholders, ownership, impact, communication, value and growth overall.",
    "I do not really remember a project that I led, maybe something at school, we made a "
    "website I think, it was fine, nothing special really, I am not sure what else to say here.",
]
CATEGORIES: list[dict[str, str] | None] = [
    {"sex": "female", "race_ethnicity": "asian"},
    {"sex": "male", "race_ethnicity": "white"},
    {"sex": "female", "race_ethnicity": "white"},
    {"sex": "male"},  # race/ethnicity not given: unknown
    {"sex": "unknown", "race_ethnicity": "black_or_african_american"},
    None,  # nothing posted
]


@pytest.fixture
def api(settings: Settings) -> Iterator[Api]:
    # The method's figures to the last digit: no cell suppressed (tests/test_bias_audit_privacy.py
    # has the default minimum group).
    with running_app(settings.model_copy(update={"audit_min_group": 1})) as running:
        yield running


def audit(api: Api, headers: dict[str, str], interview_id: str) -> dict[str, Any]:
    response = api.client.get(
        "/v1/audits/impact-ratios", headers=headers, params={"interview_id": interview_id}
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def as_json(result: Any, table: str) -> list[tuple[Any, ...]]:
    """The pure computation's rows as the API shows them."""
    return [
        (
            c.sex,
            c.race_ethnicity,
            c.sessions,
            c.above_median,
            float(c.share),
            None if c.scoring_rate is None else float(c.scoring_rate),
            None if c.impact_ratio is None else float(c.impact_ratio),
            c.excluded,
            c.needs_attention,
        )
        for c in result.table(table).categories
    ]


def rows(body: dict[str, Any], table: str) -> list[tuple[Any, ...]]:
    return [
        (
            c["sex"],
            c["race_ethnicity"],
            c["sessions"],
            c["above_median"],
            c["share"],
            c["scoring_rate"],
            c["impact_ratio"],
            c["excluded"],
            c["needs_attention"],
        )
        for c in body[table]["categories"]
    ]


@pytest.mark.models
def test_impact_ratios_of_real_sessions_through_the_api(api: Api) -> None:
    client, headers = api.client, api.tenant()
    created = client.post("/v1/interviews", headers=headers, json=INTERVIEW)
    interview_id = created.json()["interview_id"]
    # Before any session: an empty sample, not an error; an unknown interview is a 404.
    empty = audit(api, headers, interview_id)
    assert empty["sessions"] == {
        "scored": 0,
        "unscored": 0,
        "unfinished": 0,
        "with_demographics": 0,
    }
    assert empty["median_score"] is None and empty["needs_attention"] == []
    missing = client.get(
        "/v1/audits/impact-ratios", headers=headers, params={"interview_id": "int_nope"}
    )
    assert missing.status_code == 404 and "interview_id" in missing.json()["error"]["fields"]
    no_query = client.get("/v1/audits/impact-ratios", headers=headers)
    assert no_query.status_code == 400
    assert no_query.json()["error"]["fields"] == {"interview_id": "Field required"}

    scored: list[tuple[str, dict[str, str] | None]] = []
    for answer, categories in zip(ANSWERS, CATEGORIES, strict=True):
        run = run_chat(api, headers, {"interview_id": interview_id}, [answer])
        if categories is not None:
            posted = client.post(
                f"/v1/sessions/{run.session_id}/demographics", headers=headers, json=categories
            )
            assert posted.status_code == 200, posted.text
            body = posted.json()
            assert body["session_id"] == run.session_id and body["recorded_at"]
            assert body["sex"] == categories.get("sex", "unknown")
            assert body["race_ethnicity"] == categories.get("race_ethnicity", "unknown")
        scored.append((run.session_id, categories))
    # Not in the sample: a low-confidence session (too few words to score), an unfinished one,
    # a session of another interview, another tenant's session of a catalogue interview.
    low = run_chat(api, headers, {"interview_id": interview_id}, ["Yes, I did."])
    assert session_view(api, headers, low.session_id)["status"] == "low_confidence"
    client.post(
        f"/v1/sessions/{low.session_id}/demographics", headers=headers, json={"sex": "female"}
    )
    unfinished, _ = open_chat(api, headers, {"interview_id": interview_id})
    client.post(f"/v1/sessions/{unfinished}/demographics", headers=headers, json={"sex": "male"})
    other = client.post(
        "/v1/interviews", headers=headers, json={**INTERVIEW, "name": "Another"}
    ).json()["interview_id"]
    run_chat(api, headers, {"interview_id": other}, [ANSWERS[0]])
    stranger = api.tenant("Other")

    scores = {
        session_id: session_view(api, headers, session_id)["report"]["overall_score"]
        for session_id, _ in scored
    }
    assert len(set(scores.values())) >= 4, scores  # the answers do spread the scores
    body = audit(api, headers, interview_id)
    assert body["interview_id"] == interview_id
    assert body["sessions"] == {"scored": 6, "unscored": 1, "unfinished": 1, "with_demographics": 5}
    subjects = [
        Subject(
            scores[session_id],
            (categories or {}).get("sex", "unknown"),
            (categories or {}).get("race_ethnicity", "unknown"),
        )
        for session_id, categories in scored
    ]
    expected = impact_ratios(subjects)
    assert body["median_score"] == float(expected.median or 0)
    for table in ("sex", "race_ethnicity", "intersectional"):
        assert rows(body, table) == as_json(expected, table), table
        assert body[table]["unknown"] == expected.table(table).unknown
    assert body["sex"]["unknown"] == 2 and body["race_ethnicity"]["unknown"] == 2
    assert body["intersectional"]["unknown"] == 3
    assert [(a["table"], a["sex"], a["race_ethnicity"]) for a in body["needs_attention"]] == [
        (t, c.sex, c.race_ethnicity) for t, c in expected.needs_attention
    ]
    assert "Local Law 144" in body["method"]

    # Another tenant sees nothing of it, and cannot post categories to these sessions.
    foreign = client.post(
        f"/v1/sessions/{scored[0][0]}/demographics", headers=stranger, json={"sex": "male"}
    )
    assert foreign.status_code == 404
    theirs = client.get(
        "/v1/audits/impact-ratios", headers=stranger, params={"interview_id": interview_id}
    )
    assert theirs.status_code == 404  # not their interview, and no session of theirs

    # The categories are nowhere in what the session shows: view, report, transcript, audit.
    first = scored[0][0]
    shown = json.dumps(
        [
            session_view(api, headers, first),
            client.get(f"/v1/sessions/{first}/transcript", headers=headers).json(),
            client.get(f"/v1/sessions/{first}/audit", headers=headers).json(),
        ]
    )
    assert "asian" not in shown and "female" not in shown
    entries = client.get(f"/v1/sessions/{first}/audit", headers=headers).json()["entries"]
    recorded = [e for e in entries if e["action"] == "demographics_recorded"]
    assert len(recorded) == 1 and recorded[0]["detail"] == {}
    raw = api.run(api.redis.get, keys.session_report(first))
    assert raw and "asian" not in str(raw)

    # Erasing a session erases its categories, and the audit no longer counts it.
    assert client.delete(f"/v1/sessions/{first}", headers=headers).status_code == 204
    assert api.scan(f"*{first}*") == [keys.session_deleted(first)]
    after = audit(api, headers, interview_id)
    assert after["sessions"]["scored"] == 5 and after["sessions"]["with_demographics"] == 4
    asian = [c for c in after["race_ethnicity"]["categories"] if c["race_ethnicity"] == "asian"]
    assert asian[0]["sessions"] == 0
    gone = client.post(f"/v1/sessions/{first}/demographics", headers=headers, json={})
    assert gone.status_code == 404


def test_categories_are_validated(api: Api) -> None:
    client, headers = api.client, api.tenant()
    session_id, _ = open_chat(api, headers, {"interview_id": "behavioral-1"})
    url = f"/v1/sessions/{session_id}/demographics"
    wrong = client.post(url, headers=headers, json={"sex": "woman", "race_ethnicity": "martian"})
    assert wrong.status_code == 400
    error = wrong.json()["error"]
    assert error["code"] == "invalid_request"
    assert set(error["fields"]) == {"sex", "race_ethnicity"}
    assert "'female', 'male' or 'unknown'" in error["fields"]["sex"]
    extra = client.post(url, headers=headers, json={"age": 40})
    assert extra.status_code == 400 and "age" in extra.json()["error"]["fields"]
    # Nothing given: both unknown, explicitly.
    blank = client.post(url, headers=headers, json={})
    assert blank.status_code == 200
    assert (blank.json()["sex"], blank.json()["race_ethnicity"]) == ("unknown", "unknown")
    # The session's token is the candidate's, not the tenant's: it may not post categories.
    token_only = client.post(url, headers={"Authorization": "Bearer x"}, json={})
    assert token_only.status_code == 401
    bad_period = client.get(
        "/v1/audits/impact-ratios",
        headers=headers,
        params={"interview_id": "behavioral-1", "since": "yesterday"},
    )
    assert bad_period.status_code == 400 and "since" in bad_period.json()["error"]["fields"]
