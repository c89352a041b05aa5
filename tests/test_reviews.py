"""Issue 15, item 1: the review queue and a reviewer's override, over the REST API on the real app
(embedded Valkey, real scoring model): which finished sessions need a person and why, the
tenant's rules, the decision beside the unchanged machine report in the session view, the audit
log and a `session.reviewed` webhook; bad input answers a clear 4xx."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from server.api.reviews import MAX_REASON_CHARS
from server.settings import Settings
from server.storage import keys
from tests.api_support import Api, bearer, running_app
from tests.test_finish_paths import _answered_voice_session
from tests.webhook_receivers import Receiver, receiving, wait_until

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
    local = settings.model_copy(update={"webhook_allow_networks": "127.0.0.1"})
    with running_app(local) as running:
        yield running


def _chat_session(
    api: Api, headers: dict[str, str], answers: int, *, interview_id: str = "behavioral-1"
) -> tuple[str, dict[str, str]]:
    """A chat session with `answers` answers given, still open; its id and candidate headers."""
    created = api.client.post(
        "/v1/sessions", headers=headers, json={"interview_id": interview_id, "mode": "chat"}
    )
    assert created.status_code == 201, created.text
    session_id, candidate = created.json()["session"]["id"], bearer(created.json()["token"])
    consent = {"accepted": True, "version": "2026-01"}
    assert api.client.post(
        f"/v1/sessions/{session_id}/consent", headers=candidate, json=consent
    ).is_success
    assert api.client.post(f"/v1/sessions/{session_id}/start", headers=candidate).is_success
    for i in range(answers):
        _answer(api, session_id, candidate, ANSWERS[i % len(ANSWERS)])
    return session_id, candidate


def _answer(api: Api, session_id: str, candidate: dict[str, str], text: str) -> dict[str, Any]:
    reply = api.client.post(
        f"/v1/sessions/{session_id}/messages", headers=candidate, json={"text": text}
    )
    assert reply.status_code == 200, reply.text
    body: dict[str, Any] = reply.json()
    return body


def _completed_session(api: Api, headers: dict[str, str]) -> str:
    """A chat interview answered to its end: status completed, no built-in flag."""
    interview = api.client.post(
        "/v1/interviews",
        headers=headers,
        json={
            "name": "Short screen",
            "type": "behavioral",
            "persona_id": "maya",
            "max_questions": 2,
            "questions": [
                {"question": "Tell me about a project you led.", "time_limit_s": 120},
                {"question": "Tell me about a disagreement at work.", "time_limit_s": 90},
            ],
        },
    )
    assert interview.status_code == 201, interview.text
    session_id, candidate = _chat_session(
        api, headers, 0, interview_id=interview.json()["interview_id"]
    )
    reply: dict[str, Any] = {"is_complete": False}
    for i in range(10):
        reply = _answer(api, session_id, candidate, ANSWERS[i % len(ANSWERS)])
        if reply["is_complete"]:
            break
    assert reply["is_complete"] and reply["status"] == "completed", reply
    return session_id


def _end(api: Api, session_id: str, headers: dict[str, str]) -> dict[str, Any]:
    ended = api.client.post(f"/v1/sessions/{session_id}/end", headers=headers)
    assert ended.status_code == 200, ended.text
    body: dict[str, Any] = ended.json()
    return body


def _raw_report(api: Api, session_id: str) -> str:
    return str(api.run(api.redis.get, keys.session_report(session_id)))


def _queue(api: Api, headers: dict[str, str], **params: Any) -> list[dict[str, Any]]:
    response = api.client.get("/v1/reviews", headers=headers, params=params)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


@pytest.mark.models
def test_flagged_sessions_queue_and_an_override_keeps_the_machine_report(api: Api) -> None:
    with receiving(Receiver("ok")) as receiver:
        headers = api.tenant()
        # A voice session with another voice in answer two, ended early: two reasons.
        voice = _answered_voice_session(api, headers, webhook_url=receiver.url)
        assert _end(api, voice, headers)["status"] == "partial"
        # A chat session ended before any answer: nothing to score.
        empty, _ = _chat_session(api, headers, 0)
        assert _end(api, empty, headers)["status"] == "low_confidence"
        # A session still running is not in the queue.
        _chat_session(api, headers, 1)

        queue = _queue(api, headers)
        assert [(i["session_id"], i["flags"]) for i in queue] == [
            (empty, ["low_confidence"]),
            (voice, ["fraud_signals.multiple_speakers", "partial"]),
        ]
        assert all(i["review"] is None for i in queue)
        machine_raw = _raw_report(api, voice)
        machine = json.loads(machine_raw)
        names = [c["name"] for c in machine["competencies"]]
        assert machine["overall_score"] is not None and len(names) >= 2
        # A name no other competency shares but for case, given in another case.
        target = next(n for n in names if [m.casefold() for m in names].count(n.casefold()) == 1)

        body = {
            "reviewer": "hm-7",
            "reason": "Listened to answer two: the other voice was a colleague at the door.",
            "decision": "advance",
            "status": "completed",
            "overall_score": 71,
            "competencies": {target.upper(): 80},  # a unique name matches in any case
        }
        reviewed = api.client.post(f"/v1/sessions/{voice}/review", headers=headers, json=body)
        assert reviewed.status_code == 201, reviewed.text
        review = reviewed.json()
        assert (
            review["id"].startswith("rev_")
            and review["actor"] == f"tenant:{headers['X-Tenant-Id']}"
        )
        assert (review["reviewer"], review["reason"], review["decision"]) == (
            "hm-7",
            body["reason"],
            "advance",
        )
        assert review["status"] == {
            "machine": "partial",
            "reviewer": "completed",
            "final": "completed",
        }
        assert review["overall_score"] == {
            "machine": machine["overall_score"],
            "reviewer": 71,
            "final": 71,
        }
        assert [c["name"] for c in review["competencies"]] == names
        for entry, competency in zip(review["competencies"], machine["competencies"], strict=True):
            assert entry["machine"] == competency["score"]
            if entry["name"] == target:
                assert (entry["reviewer"], entry["final"]) == (80, 80)
            else:
                assert entry["reviewer"] is None and entry["final"] == competency["score"]
        assert review["overridden"] == ["status", "overall_score", f"competencies.{target}"]

        # The machine report is untouched, byte for byte; the view shows both.
        assert _raw_report(api, voice) == machine_raw
        view = api.client.get(f"/v1/sessions/{voice}", headers=headers).json()
        assert view["report"] == machine and view["status"] == "partial"
        assert view["review"] == review
        empty_view = api.client.get(f"/v1/sessions/{empty}", headers=headers).json()
        assert empty_view["review"] is None

        # The audit log: who, why, what changed and from what.
        entry = api.client.get(f"/v1/sessions/{voice}/audit", headers=headers).json()["entries"][-1]
        assert entry["action"] == "reviewed" and entry["actor"] == review["actor"]
        assert entry["detail"]["reviewer"] == "hm-7" and entry["detail"]["reason"] == body["reason"]
        assert entry["detail"]["review_id"] == review["id"]
        assert entry["detail"]["overrides"] == {
            "status": "completed",
            "overall_score": 71,
            "competencies": {target: 80},
        }
        assert entry["detail"]["machine"] == {
            "status": "partial",
            "overall_score": machine["overall_score"],
            "competencies": {c["name"]: c["score"] for c in machine["competencies"]},
        }

        # The report's webhook went out at the end; the review sends its own event.
        wait_until(lambda: len(receiver.hits) >= 2, 30)
    events = {json.loads(hit.body)["type"]: json.loads(hit.body) for hit in receiver.hits}
    assert set(events) == {"session.partial", "session.reviewed"}
    reviewed_event = events["session.reviewed"]["data"]
    assert reviewed_event["session_id"] == voice and reviewed_event["status"] == "partial"
    assert reviewed_event["overall_score"] == machine["overall_score"]
    assert reviewed_event["review"] == review
    assert "review" not in events["session.partial"]["data"]

    # Reviewed: off the pending queue, on the reviewed one.
    assert [i["session_id"] for i in _queue(api, headers)] == [empty]
    done = _queue(api, headers, state="reviewed")
    assert [i["session_id"] for i in done] == [voice] and done[0]["review"] == review
    assert [i["session_id"] for i in _queue(api, headers, state="all")] == [empty, voice]
    assert _queue(api, headers, interview_id="nope", state="all") == []

    # A second decision supersedes the first; both stay in the audit log.
    again = {"reviewer": "lead-2", "reason": "Second opinion: the machine status stands."}
    second = api.client.post(f"/v1/sessions/{voice}/review", headers=headers, json=again).json()
    assert second["status"]["final"] == "partial" and second["overridden"] == []
    view = api.client.get(f"/v1/sessions/{voice}", headers=headers).json()
    assert view["review"]["reviewer"] == "lead-2"
    actions = [
        e["detail"].get("reviewer")
        for e in api.client.get(f"/v1/sessions/{voice}/audit", headers=headers).json()["entries"]
        if e["action"] == "reviewed"
    ]
    assert actions == ["hm-7", "lead-2"]

    # Another tenant sees no queue, and cannot review the session.
    stranger = api.tenant("Stranger")
    assert _queue(api, stranger, state="all") == []
    refused = api.client.post(f"/v1/sessions/{voice}/review", headers=stranger, json=again)
    assert refused.status_code == 404 and refused.json()["error"]["code"] == "not_found"

    # Erasing the session erases its reviews.
    assert api.client.delete(f"/v1/sessions/{voice}", headers=headers).status_code == 204
    assert api.scan(f"{keys.session(voice)}*") == []
    assert [i["session_id"] for i in _queue(api, headers, state="all")] == [empty]


@pytest.mark.models
def test_bad_reviews_answer_a_clear_4xx(api: Api) -> None:
    headers = api.tenant()
    session_id, _ = _chat_session(api, headers, 2)
    running = api.client.post(
        f"/v1/sessions/{session_id}/review", headers=headers, json={"reviewer": "a", "reason": "b"}
    )
    assert running.status_code == 409
    assert running.json()["error"]["code"] == "session_not_finished"
    _end(api, session_id, headers)
    report = json.loads(_raw_report(api, session_id))
    base = {"reviewer": "hm-7", "reason": "Checked the transcript."}

    def fields_of(body: Any) -> dict[str, str]:
        response = api.client.post(f"/v1/sessions/{session_id}/review", headers=headers, json=body)
        assert response.status_code == 400, (body, response.text)
        error = response.json()["error"]
        assert error["code"] == "invalid_request" and error["message"]
        fields: dict[str, str] = error["fields"]
        return fields

    assert set(fields_of({"reviewer": "hm-7"})) == {"reason"}
    assert set(fields_of({**base, "reason": "   "})) == {"reason"}
    assert set(fields_of({**base, "reviewer": ""})) == {"reviewer"}
    # A reason longer than the documented limit (issue 24, #6: 5 000 characters broke the PDF).
    too_long = fields_of({**base, "reason": "x" * (MAX_REASON_CHARS + 1)})
    assert set(too_long) == {"reason"} and str(MAX_REASON_CHARS) in too_long["reason"]
    assert set(fields_of({**base, "overall_score": 101})) == {"overall_score"}
    assert set(fields_of({**base, "overall_score": -1})) == {"overall_score"}
    assert set(fields_of({**base, "overall_score": "70"})) == {"overall_score"}
    assert set(fields_of({**base, "overall_score": 70.5})) == {"overall_score"}
    assert set(fields_of({**base, "status": "hired"})) == {"status"}
    assert set(fields_of({**base, "decision": "maybe"})) == {"decision"}
    assert set(fields_of({**base, "note": "old field"})) == {"note"}
    assert set(fields_of({**base, "competencies": {"communication": 120}})) == {
        "competencies.communication"
    }
    unknown = fields_of({**base, "competencies": {"Juggling": 50}})
    assert set(unknown) == {"competencies.Juggling"}
    assert all(c["name"] in unknown["competencies.Juggling"] for c in report["competencies"])
    twice = fields_of({**base, "competencies": {"ownership": 50, "OWNERSHIP": 60}})
    assert set(twice) == {"competencies.OWNERSHIP"}
    # behavioral-1 has the skill "Communication" and the general "communication".
    assert {"Communication", "communication"} <= {c["name"] for c in report["competencies"]}
    ambiguous = fields_of({**base, "competencies": {"COMMUNICATION": 50}})
    assert "ambiguous" in ambiguous["competencies.COMMUNICATION"]
    # low_confidence has no overall number: a reviewer who scores it says the status too.
    if report["status"] == "low_confidence":
        assert set(fields_of({**base, "overall_score": 60})) == {"overall_score"}
    assert set(fields_of({**base, "status": "low_confidence", "overall_score": 60})) == {
        "overall_score"
    }
    not_json = api.client.post(
        f"/v1/sessions/{session_id}/review",
        headers={**headers, "Content-Type": "application/json"},
        content=b"{nope",
    )
    assert not_json.status_code == 400 and not_json.json()["error"]["code"] == "invalid_json"
    missing = api.client.post("/v1/sessions/ses_nope/review", headers=headers, json=base)
    assert missing.status_code == 404
    # Nothing refused was stored or logged.
    assert api.client.get(f"/v1/sessions/{session_id}", headers=headers).json()["review"] is None
    entries = api.client.get(f"/v1/sessions/{session_id}/audit", headers=headers).json()["entries"]
    assert "reviewed" not in [e["action"] for e in entries]
    longest = {**base, "reason": "word " * (MAX_REASON_CHARS // 5)}
    ok = api.client.post(f"/v1/sessions/{session_id}/review", headers=headers, json=longest)
    assert ok.status_code == 201, ok.text
    pdf = api.client.get(f"/v1/sessions/{session_id}/report.pdf", headers=headers)
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")


@pytest.mark.models
def test_tenant_rules_put_a_score_band_and_a_competency_floor_in_the_queue(api: Api) -> None:
    headers = api.tenant()
    completed = _completed_session(api, headers)
    report = json.loads(_raw_report(api, completed))
    score = report["overall_score"]
    assert isinstance(score, int) and "fraud_signals" not in report
    assert _queue(api, headers, state="all") == []  # no built-in flag: nobody needs to look

    rules = api.client.get("/v1/reviews/rules", headers=headers).json()
    assert rules == {
        "score_band": None,
        "competency_below": None,
        "updated_at": None,
        "updated_by": None,
    }
    band = {"score_band": {"min": max(0, score - 5), "max": min(100, score + 5)}}
    put = api.client.put("/v1/reviews/rules", headers=headers, json=band)
    assert put.status_code == 200, put.text
    assert put.json()["score_band"] == band["score_band"] and put.json()["competency_below"] is None
    assert (
        put.json()["updated_by"] == f"tenant:{headers['X-Tenant-Id']}" and put.json()["updated_at"]
    )
    queue = api.client.get("/v1/reviews", headers=headers).json()
    assert [(i["session_id"], i["flags"]) for i in queue["items"]] == [(completed, ["score_band"])]
    assert queue["rules"] == band | {"competency_below": None}
    assert (
        queue["items"][0]["overall_score"] == score and queue["items"][0]["status"] == "completed"
    )

    # Outside the band: off the queue. A floor above the lowest competency: back on it.
    outside = {"min": score + 1, "max": 100} if score < 100 else {"min": 0, "max": score - 1}
    api.client.put("/v1/reviews/rules", headers=headers, json={"score_band": outside})
    assert _queue(api, headers) == []
    lowest = min(c["score"] for c in report["competencies"] if c["score"] is not None)
    floor = {"competency_below": lowest + 1}
    assert api.client.put("/v1/reviews/rules", headers=headers, json=floor).status_code == 200
    assert [i["flags"] for i in _queue(api, headers)] == [["competency_below"]]
    # PUT replaces: the band set before is gone.
    assert api.client.get("/v1/reviews/rules", headers=headers).json()["score_band"] is None

    # Bad rules: 400 with the field.
    for bad, field in [
        ({"score_band": {"min": 80, "max": 60}}, "score_band"),
        ({"score_band": {"min": -1, "max": 60}}, "score_band.min"),
        ({"score_band": {"min": 10}}, "score_band.max"),
        ({"competency_below": 101}, "competency_below"),
        ({"score_bands": []}, "score_bands"),
    ]:
        refused = api.client.put("/v1/reviews/rules", headers=headers, json=bad)
        assert refused.status_code == 400, (bad, refused.text)
        assert set(refused.json()["error"]["fields"]) == {field}, refused.json()
    assert api.client.get("/v1/reviews/rules", headers=headers).json()["competency_below"] == (
        lowest + 1
    )
    bad_query = api.client.get("/v1/reviews", headers=headers, params={"state": "done"})
    assert bad_query.status_code == 400 and "state" in bad_query.json()["error"]["fields"]

    # Each change is in the tenant's audit log; another tenant's rules are its own.
    entries: Any = api.run(api.redis.xrange, keys.tenant_audit(headers["X-Tenant-Id"]))
    logged = [f for _, f in entries if f["action"] == "review_rules_set"]
    assert len(logged) == 3 and json.loads(logged[-1]["rules"]) == {
        "score_band": None,
        "competency_below": lowest + 1,
    }
    assert all(f["actor"] == f"tenant:{headers['X-Tenant-Id']}" for f in logged)
    stranger = api.tenant("Stranger")
    assert api.client.get("/v1/reviews/rules", headers=stranger).json()["competency_below"] is None


@pytest.mark.models
def test_a_review_belongs_to_the_report_it_was_made_on(api: Api) -> None:
    """A partial session reinvited and scored again has a new report: nobody reviewed that one."""
    headers = api.tenant()
    session_id, _ = _chat_session(api, headers, 1)
    _end(api, session_id, headers)
    body = {"reviewer": "hm-7", "reason": "Fine as scored."}
    assert api.client.post(
        f"/v1/sessions/{session_id}/review", headers=headers, json=body
    ).is_success
    assert _queue(api, headers) == []

    reinvited = api.client.post(f"/v1/sessions/{session_id}/reinvite", headers=headers).json()
    candidate = bearer(reinvited["token"])
    assert api.client.get(f"/v1/sessions/{session_id}", headers=headers).json()["review"] is None
    _answer(api, session_id, candidate, ANSWERS[1])
    _end(api, session_id, headers)
    assert api.client.get(f"/v1/sessions/{session_id}", headers=headers).json()["review"] is None
    assert [i["session_id"] for i in _queue(api, headers)] == [session_id]
    entries = api.client.get(f"/v1/sessions/{session_id}/audit", headers=headers).json()["entries"]
    assert [e["detail"]["reviewer"] for e in entries if e["action"] == "reviewed"] == ["hm-7"]


@pytest.mark.models
def test_an_llm_second_opinion_that_disagrees_reaches_the_report_and_the_queue(
    settings: Settings,
) -> None:
    """The wiring end to end: with LLM_BASE_URL set, a finished session's stored report carries
    the LLM's opinion beside the rubric's, and a disagreement puts it in the review queue. The
    LLM (a scripted OpenAI-compatible server on a real socket) rates every answer 1; its
    interviewer calls are refused, so the structured engine runs the interview."""
    from tests.test_second_opinion import FakeLLM, _completion

    class Judge(FakeLLM):
        def __init__(self) -> None:
            super().__init__([])

        def reply_to(self, body: dict[str, Any]) -> Any:
            if "You grade interview answers" in body["messages"][0]["content"]:
                return _completion('{"rating": 1, "points_made": [], "reason": "Nothing."}')
            return (400, '{"error": "not the interviewer"}')

    judge = Judge()
    with running_app(settings.model_copy(update={"llm_base_url": judge.base_url})) as api:
        headers = api.tenant()
        session_id = _completed_session(api, headers)
        stored = api.run(api.redis.get, keys.session_report(session_id))
        assert stored is not None
        report = json.loads(stored)
        opinion = report["second_opinion"]
        assert opinion["disagreement"] is True, opinion
        assert report["overall_score"] is not None and report["overall_score"] > 40, report
        queue = api.client.get("/v1/reviews", headers=headers).json()["items"]
        assert [(i["session_id"], i["flags"]) for i in queue] == [
            (session_id, ["second_opinion"])
        ], queue
    judge.server.shutdown()


@pytest.mark.models
def test_the_pdf_renders_while_the_default_thread_pool_is_busy(api: Api) -> None:
    """Issue 24, #6: PDF rendering shared the default pool with scoring. It has threads of its
    own: with every default thread held, the PDF still comes."""
    headers = api.tenant()
    session_id, _ = _chat_session(api, headers, 1)
    _end(api, session_id, headers)
    release = threading.Event()

    async def hold_the_default_pool() -> None:
        loop = asyncio.get_running_loop()
        for _ in range(64):  # more than the default pool's threads, min(32, cores + 4)
            loop.run_in_executor(None, release.wait, 30)

    api.run(hold_the_default_pool)
    url = f"/v1/sessions/{session_id}/report.pdf"
    with ThreadPoolExecutor(max_workers=1) as pool:
        pending = pool.submit(api.client.get, url, headers=headers)
        try:
            response = pending.result(timeout=20)
        finally:
            release.set()
    assert response.status_code == 200 and response.content.startswith(b"%PDF")
