"""Fairness end to end, chat mode through the REST API: the same answers under another name,
external id, metadata, tags, persona, practice mode, webhook URL or self-reported demographic
categories (anything that is not an answer) give a byte-identical report.

What legitimately differs is listed below, field by field; everything else is compared. The
persona is a swap only while it asks the same questions: a persona decides whether to probe an
answer (Maya below 60, Alex below 75, Leo every gap), and a follow-up's answer is more of the
candidate's evidence, so a different flow is different input, not unfairness. The answers here
leave no gap, so no persona probes and every persona asks the same questions; the test checks
that precondition (`flow`) before comparing, and `test_a_persona_that_probes...` shows the
other case: the flow differs, yet the persona itself still never enters the scoring.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pipeline.interview.report import build_report
from server.sessions import SessionStore
from server.settings import Settings
from server.storage import keys
from tests.api_support import Api, bearer, running_app
from tests.chat_support import ChatRun, open_chat, run_chat, session_view

INTERVIEW = {
    "name": "Fairness screen",
    "type": "behavioral",
    "persona_id": "maya",
    "max_questions": 3,
    "skills": [{"name": "Ownership", "description": "drives work to done"}],
    "questions": [
        {"question": "Tell me about a project you led.", "time_limit_s": 120},
        {"question": "Tell me about a disagreement at work.", "time_limit_s": 120},
    ],
}
# One answer per planned question (the third is the bank's Ownership question). Each leaves no
# gap to probe, so that every persona asks the same three questions.
ANSWERS = [
    "In my last role at a payments company our billing service kept failing at month end, and "
    "the stakes were real: late invoices for every customer. I led the migration of that "
    "service to an event-driven design. I planned the rollout in four stages, wrote the "
    "runbooks and trained the on-call engineers myself. As a result we cut payment incidents "
    "by forty percent within two quarters, measured on our incident dashboard.",
    "At my previous company, two weeks before a major launch, I disagreed with our product "
    "manager about the launch date, because forty bugs were still open and customers' data was "
    "at stake. I gathered data on the open bugs, I set up a meeting with her and I proposed a "
    "smaller scope. We agreed on it, I personally owned the release checklist, and we shipped "
    "on time with thirty percent fewer defects than our previous launch.",
    "Last spring at my current job a client moved their deadline forward by a month, and our "
    "contract renewal was at stake. I cut the scope to the three features they needed most, I "
    "split the work into daily goals, and I personally took the riskiest integration. As a "
    "result we delivered four days early, and the client renewed their contract for two more "
    "years, which grew our revenue by twelve percent.",
]
BASE: dict[str, Any] = {
    "candidate": {"external_id": "cand-0001", "name": "Ada Lovelace"},
    "metadata": {"requisition": "R-1", "source": "careers page"},
    "tags": ["backend"],
}
DEMOGRAPHICS = {"sex": "female", "race_ethnicity": "black_or_african_american"}
# Each swap: what the session is created with instead of BASE, and whether the candidate's
# self-reported categories are posted (they are stored apart, and must change nothing).
SWAPS: dict[str, tuple[dict[str, Any], bool]] = {
    "name": (
        {**BASE, "candidate": {"external_id": "cand-0001", "name": "Mohammed Al-Rashid"}},
        False,
    ),
    "name_non_latin": (
        {**BASE, "candidate": {"external_id": "cand-0001", "name": "Nguyễn Thị Hồng 阮"}},
        False,
    ),
    "no_name_no_external_id": ({**BASE, "candidate": {}}, False),
    "external_id": (
        {**BASE, "candidate": {"external_id": "zz-999", "name": "Ada Lovelace"}},
        False,
    ),
    "metadata": (
        {
            **BASE,
            "metadata": {"requisition": "R-77", "gender": "female", "age": 61, "veteran": True},
        },
        False,
    ),
    "tags": ({**BASE, "tags": ["frontend", "night-shift", "priority"]}, False),
    "persona_alex": ({**BASE, "persona_id": "alex"}, False),
    "persona_leo": ({**BASE, "persona_id": "leo"}, False),
    "practice_mode": ({**BASE, "practice": True}, False),
    "webhook_url": ({**BASE, "webhook_url": "http://127.0.0.1:9/hooks/viva"}, False),
    "demographics": (BASE, True),
    "everything_at_once": (
        {
            "candidate": {"external_id": "X-42", "name": "Zoë O'Brien-Okafor"},
            "metadata": {"region": "EMEA", "disability": "yes"},
            "tags": ["graduate"],
            "persona_id": "leo",
            "practice": True,
            "webhook_url": "http://127.0.0.1:9/other",
        },
        True,
    ),
}
# The session view's fields that differ by design: which session, who, when, how it was asked.
SESSION_FIELDS_THAT_DIFFER = frozenset(
    {
        "id",
        "candidate",
        "metadata",
        "tags",
        "persona_id",
        "practice",
        "webhook_url",
        "created_at",
        "expires_at",
        "started_at",
        "finished_at",
        "consent",  # the time it was given
        "report_url",  # holds the session id
    }
)
IDENTITY_FIELDS = SESSION_FIELDS_THAT_DIFFER - {
    "id",
    "created_at",
    "expires_at",
    "started_at",
    "finished_at",
    "consent",
    "report_url",
}
# The report's: none. It holds no id, time, name, metadata or interviewer words, so the whole
# stored report (bytes as kept in Redis) is compared.
REPORT_FIELDS_THAT_DIFFER: frozenset[str] = frozenset()
# The audit log's "scored" entry (versions and the score): compared whole.
# The candidate's turns: all but their times (seconds into the session, as typed).
TRANSCRIPT_FIELDS_THAT_DIFFER = frozenset({"started_at", "ended_at"})


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Api]:
    settings = Settings(
        VIVA_DATA_DIR=tmp_path / "data",
        REDIS_URL=None,
        VIVA_PRELOAD_MODELS=False,
        VIVA_WEBHOOK_ALLOW_NETWORKS="127.0.0.0/8",  # the webhook URL swap (nothing listens)
    )
    with running_app(settings) as running:
        yield running


def answer(reply: dict[str, Any], _given: int) -> str:
    assert reply["kind"] != "follow_up", f"a follow-up: the answers leave a gap ({reply})"
    return ANSWERS[reply["question_index"]]


def interview(api: Api, headers: dict[str, str], body: dict[str, Any], post: bool) -> ChatRun:
    """One chat interview; with `post`, the categories are recorded before the first answer."""
    if not post:
        return run_chat(api, headers, body, answer)
    session_id, token = open_chat(api, headers, body)
    recorded = api.client.post(
        f"/v1/sessions/{session_id}/demographics", headers=headers, json=DEMOGRAPHICS
    )
    assert recorded.status_code == 200, recorded.text
    run = ChatRun(session_id, token)
    reply = api.client.post(f"/v1/sessions/{session_id}/start", headers=bearer(token)).json()
    run.replies.append(reply)
    while not reply["is_complete"]:
        text = answer(reply, len(run.answers))
        reply = api.client.post(
            f"/v1/sessions/{session_id}/messages", headers=bearer(token), json={"text": text}
        ).json()
        run.answers.append(text)
        run.replies.append(reply)
    return run


def stored_report(api: Api, session_id: str) -> str:
    raw = api.run(api.redis.get, keys.session_report(session_id))
    assert raw, f"no report for {session_id}"
    return str(raw)


def without(data: dict[str, Any], fields: frozenset[str]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if k not in fields}


def scored_entry(api: Api, headers: dict[str, str], session_id: str) -> dict[str, Any]:
    log = api.client.get(f"/v1/sessions/{session_id}/audit", headers=headers).json()
    entries = [e for e in log["entries"] if e["action"] == "scored"]
    assert len(entries) == 1
    detail: dict[str, Any] = entries[0]["detail"]
    return detail


def candidate_turns(api: Api, headers: dict[str, str], session_id: str) -> list[dict[str, Any]]:
    transcript = api.client.get(f"/v1/sessions/{session_id}/transcript", headers=headers).json()
    return [
        without(t, TRANSCRIPT_FIELDS_THAT_DIFFER)
        for t in transcript["turns"]
        if t["role"] == "candidate"
    ]


@pytest.mark.models
def test_every_non_answer_swap_gives_a_byte_identical_report(api: Api) -> None:
    headers = api.tenant()
    created = api.client.post("/v1/interviews", headers=headers, json=INTERVIEW)
    interview_id = created.json()["interview_id"]

    base = interview(api, headers, {"interview_id": interview_id, **BASE}, False)
    base_report = stored_report(api, base.session_id)
    base_view = session_view(api, headers, base.session_id)
    assert base_view["status"] == "completed"
    assert base_view["report"]["overall_score"] is not None
    assert REPORT_FIELDS_THAT_DIFFER.isdisjoint(json.loads(base_report))
    assert "Ada" in base.replies[0]["message"]

    # Every swap is run and compared before the verdict, so that a failure names all the swaps
    # that changed something, and what: {swap: [what differed]}.
    differing: dict[str, list[str]] = {}
    base_scored = scored_entry(api, headers, base.session_id)
    for name, (body, post) in SWAPS.items():
        run = interview(api, headers, {"interview_id": interview_id, **body}, post)
        assert run.session_id != base.session_id, name  # compared with another session
        # The precondition: the same questions, asked in the same order, and the same answers.
        assert run.flow == base.flow, name
        assert run.answers == base.answers, name
        assert candidate_turns(api, headers, run.session_id) == candidate_turns(
            api, headers, base.session_id
        ), name
        # The whole report, byte for byte as stored; the session view but for its own fields;
        # the audit log's scoring entry.
        view = session_view(api, headers, run.session_id)
        compared = {
            "stored report": stored_report(api, run.session_id) == base_report,
            "session view": without(view, SESSION_FIELDS_THAT_DIFFER)
            == without(base_view, SESSION_FIELDS_THAT_DIFFER),
            "audit scoring entry": scored_entry(api, headers, run.session_id) == base_scored,
        }
        if not all(compared.values()):
            differing[name] = [what for what, same in compared.items() if not same]

        # The swap did reach the interview: the interviewer's words, or the session's own
        # fields, or (categories only) the audit log say so.
        def said(replies: list[dict[str, Any]]) -> list[tuple[str, Any]]:
            return [(r["message"], r["feedback_on_previous"]) for r in replies]

        if body.get("persona_id") or body.get("practice") or "name" in name:
            assert said(run.replies) != said(base.replies), name
        changed = {k for k in IDENTITY_FIELDS if view[k] != base_view[k]}
        assert changed or post, name
    assert differing == {}, differing
    print(f"\n{len(SWAPS)} swaps, each report byte-identical ({len(base_report)} bytes)")


@pytest.mark.models
def test_a_persona_that_probes_asks_more_but_never_scores_differently(api: Api) -> None:
    """A gap-leaving answer: Leo probes it twice (every gap), Maya once (below 60). The
    candidate then answers one more follow-up under Leo, so the inputs differ. What the persona
    itself cannot do is change a score: Leo's transcript scored under Maya's plan (and another
    name) gives Leo's report exactly."""
    headers = api.tenant()
    created = api.client.post("/v1/interviews", headers=headers, json=INTERVIEW)
    interview_id = created.json()["interview_id"]
    vague = (
        "I disagreed with a colleague about our testing approach. We talked about it for a "
        "while and in the end we found something that worked for both of us, so it was fine."
    )

    def answers(reply: dict[str, Any], _given: int) -> str:
        if reply["kind"] == "follow_up":
            return "It was at my last job, and the release date was at stake for the whole team."
        return vague if reply["question_index"] == 1 else ANSWERS[reply["question_index"]]

    maya = run_chat(api, headers, {"interview_id": interview_id, **BASE}, answers)
    leo = run_chat(
        api, headers, {"interview_id": interview_id, **BASE, "persona_id": "leo"}, answers
    )
    probes = ("follow_up", 1)
    assert leo.flow.count(probes) > maya.flow.count(probes), (leo.flow, maya.flow)
    maya_report = json.loads(stored_report(api, maya.session_id))
    leo_report = json.loads(stored_report(api, leo.session_id))
    assert maya_report["questions"][1]["answer"] != leo_report["questions"][1]["answer"]

    async def rescore() -> dict[str, Any]:
        store = SessionStore(api.redis)
        record = await store.get(leo.session_id)
        turns = await store.turns(leo.session_id)
        plan = dataclasses.replace(record.plan, persona_id="maya", candidate_first_name="Someone")
        return build_report(plan, turns, ended_early=False)

    rebuilt = api.run(rescore)
    stored = json.loads(stored_report(api, leo.session_id))
    assert json.dumps({**rebuilt, "channel": stored["channel"]}) == json.dumps(stored)
