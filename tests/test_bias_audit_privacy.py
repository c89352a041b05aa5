"""The bias audit cannot isolate a candidate (issue 24, #7): a 10 ms window returned one scored
session with its categories. Small cells are suppressed (with their complement), and periods
are whole UTC days of at least a minimum length."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from server.review.bias_audits import Subject, impact_ratios, suppressed_cells
from server.settings import Settings
from server.storage import keys
from tests.api_support import Api, running_app


@pytest.fixture
def api(settings: Settings) -> Iterator[Api]:
    with running_app(settings) as running:
        yield running


def test_small_cells_and_their_complement_are_suppressed() -> None:
    assert suppressed_cells([6, 0, 7, 0], 5) == [False, False, False, False]
    assert suppressed_cells([6, 2, 7, 0], 5) == [True, True, False, False]  # 6 with the 2
    assert suppressed_cells([6, 2, 7, 3], 5) == [False, True, False, True]  # two hidden: enough
    assert suppressed_cells([1], 5) == [True]
    assert suppressed_cells([1, 4], 1) == [False, False]  # min group 1: nothing hidden

    subjects = [Subject(60 + i, "female", "white") for i in range(6)]
    subjects += [Subject(50, "male", "white"), Subject(90, "male", "asian")]
    sex = impact_ratios(subjects, min_group=5).table("sex")
    male = next(c for c in sex.categories if c.sex == "male")
    female = next(c for c in sex.categories if c.sex == "female")
    # male (2) is hidden, female (6) with it: the sample's size would give male back.
    assert male.suppressed and female.suppressed and male.impact_ratio is None
    assert sex.highest_rate is None and not sex.unknown_suppressed
    race = impact_ratios(subjects, min_group=5).table("race_ethnicity")
    white = next(c for c in race.categories if c.race_ethnicity == "white")
    asian = next(c for c in race.categories if c.race_ethnicity == "asian")
    # asian (1) is hidden, and white (7) with it: the sample's size less white is asian.
    assert asian.suppressed and white.suppressed and race.highest_rate is None
    both = impact_ratios([*subjects, *[Subject(70, "female", "asian")] * 5], min_group=5)
    race = both.table("race_ethnicity")
    asian = next(c for c in race.categories if c.race_ethnicity == "asian")
    assert asian.sessions == 6 and not asian.suppressed and asian.impact_ratio is not None


def _scored_session(api: Api, headers: dict[str, str], score: float, sex: str) -> str:
    created = api.client.post(
        "/v1/sessions", headers=headers, json={"interview_id": "behavioral-1", "mode": "chat"}
    )
    assert created.status_code == 201, created.text
    session_id: str = created.json()["session"]["id"]
    posted = api.client.post(
        f"/v1/sessions/{session_id}/demographics",
        headers=headers,
        json={"sex": sex, "race_ethnicity": "asian"},
    )
    assert posted.status_code == 200, posted.text
    report = json.dumps({"status": "completed", "overall_score": score})
    api.run(api.redis.hset, keys.session(session_id), "status", "completed")
    api.run(api.redis.set, keys.session_report(session_id), report)
    return session_id


def _audit(api: Api, headers: dict[str, str], **params: str) -> Any:
    return api.client.get(
        "/v1/audits/impact-ratios",
        headers=headers,
        params={"interview_id": "behavioral-1", **params},
    )


def test_one_scored_candidate_shows_no_categories_nor_score(api: Api) -> None:
    headers = api.tenant("Audit")
    _scored_session(api, headers, 73.0, "female")
    body = _audit(api, headers).json()
    assert body["sessions"]["scored"] == 1
    assert body["median_score"] is None  # it would be the candidate's score
    for table in ("sex", "race_ethnicity", "intersectional"):
        shown = [c for c in body[table]["categories"] if c["sessions"]]
        assert shown == [], (table, shown)  # no category with a count
        assert any(c["suppressed"] for c in body[table]["categories"]), table

    # Five with the same categories make a group: shown.
    for score in (40.0, 50.0, 60.0, 80.0):
        _scored_session(api, headers, score, "female")
    body = _audit(api, headers).json()
    female = next(c for c in body["sex"]["categories"] if c["sex"] == "female")
    assert female["sessions"] == 5 and not female["suppressed"]
    assert body["median_score"] == 60.0


def test_a_narrow_window_is_refused_and_periods_are_whole_days(api: Api) -> None:
    headers = api.tenant("Window")
    _scored_session(api, headers, 73.0, "male")
    now = datetime.now(UTC)
    narrow = _audit(
        api,
        headers,
        since=(now - timedelta(milliseconds=10)).isoformat(),
        until=(now + timedelta(milliseconds=10)).isoformat(),
    )
    assert narrow.status_code == 400, narrow.text
    assert "since" in narrow.json()["error"]["fields"]
    assert _audit(api, headers, since=(now - timedelta(days=2)).isoformat()).status_code == 400

    week = _audit(
        api,
        headers,
        since="2026-01-01T13:45:00Z",
        until="2026-01-08T00:00:01Z",
    )
    assert week.status_code == 200, week.text
    assert week.json()["since"].startswith("2026-01-01T00:00:00")
    assert week.json()["until"].startswith("2026-01-09T00:00:00")
