"""The tenant's transcript shows what was left out of an answer, the candidate's does not (issue
12, point 13): each turn's `meta` (excluded speech with its time ranges, the full transcript,
word timings) goes to the API key only. Real app, real Valkey."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from pipeline.engine import Turn
from server.sessions import SessionStore
from server.settings import Settings
from tests.api_support import Api, bearer, running_app

EXCLUDED = [{"text": "say forty percent", "start_s": 9.5, "end_s": 10.6, "reason": "other_speaker"}]
WORDS = [["I", 4.0, 4.1], ["led", 4.2, 4.5], ["it", 4.6, 4.8]]


@pytest.fixture
def api(settings: Settings) -> Iterator[Api]:
    with running_app(settings) as running:
        yield running


def test_meta_is_the_tenants_only(api: Api) -> None:
    headers = api.tenant()
    created = api.client.post(
        "/v1/sessions", headers=headers, json={"interview_id": "behavioral-1"}
    )
    session_id, token = created.json()["session"]["id"], created.json()["token"]
    sessions = SessionStore(api.redis)
    question = Turn(0, "interviewer", "Tell me about a project you led.", 0, "opening")
    answer = Turn(
        1,
        "candidate",
        "I led it.",
        0,
        "answer",
        started_at=4.0,
        ended_at=11.0,
        meta={
            "asr_text": "I led it. Say forty percent.",
            "excluded_speech": EXCLUDED,
            "words": WORDS,
        },
    )
    for turn in (question, answer):
        assert api.run(sessions.append_turn, session_id, turn)

    path = f"/v1/sessions/{session_id}/transcript"
    tenant_view = api.client.get(path, headers=headers).json()["turns"]
    assert tenant_view[1]["meta"]["excluded_speech"] == EXCLUDED
    assert tenant_view[1]["meta"]["words"] == WORDS
    assert tenant_view[1]["meta"]["asr_text"] == "I led it. Say forty percent."
    assert tenant_view[1]["text"] == "I led it."

    candidate_view = api.client.get(path, headers=bearer(token)).json()["turns"]
    assert [t["text"] for t in candidate_view] == [t["text"] for t in tenant_view]
    for turn in candidate_view:
        assert turn.get("meta") is None
    assert "say forty" not in api.client.get(path, headers=bearer(token)).text
