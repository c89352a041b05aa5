"""The coding round, server side (docs/coding-round.md): tenants' problems, a session's problem,
runs stored with the session, what the interviewer sees of them, and the report's `code`
section. The run queue in front of the sandbox is server/code_queue.py.

Keys (server/storage/keys.py lists them too):
- `viva:problem:{id}` (string): a tenant's problem as JSON, with its tenant id;
- `viva:tenant:{tenant_id}:problems` (zset): the tenant's problem ids by creation time;
- `viva:session:{id}:code` (list): the session's runs and submissions (JSON, time-stamped, with
  the code), oldest first; under the session's prefix, so erased with it.
"""

from __future__ import annotations

import dataclasses
import json
import re
import secrets
import time
from collections.abc import Sequence
from typing import Any

from pipeline.coding import scoring, stated
from pipeline.coding.complexity import estimate
from pipeline.coding.problems import (
    CODE_QUESTION_PREFIX,
    Problem,
    ProblemFields,
    bank,
    bank_problem,
    choose,
)
from pipeline.coding.sandbox import RunResult
from pipeline.engine import InterviewPlan, Move, Reply, Turn, TurnEngine, sentences_of
from pipeline.interview.report import with_code_score
from server import interviews
from server.catalogue import builtin_interview
from server.interviews import CodingRound
from server.storage import guard, keys
from server.storage.store import Redis

_PROBLEM_ID = re.compile(r"prb_[0-9a-f]{16}")
RUNS_KEPT = 300  # runs a session may store; more answer 429
BUILTIN_EXTRA_QUESTIONS = 2  # a catalogue coding interview: the problem, then two questions


def problem_key(problem_id: str) -> str:
    return f"{keys.PREFIX}problem:{problem_id}"


def tenant_problems_key(tenant_id: str) -> str:
    return f"{keys.tenant(tenant_id)}:problems"


def session_code_key(session_id: str) -> str:
    return f"{keys.session_prefix(session_id)}:code"


# -- problems --------------------------------------------------------------------------------


async def create_problem(redis: Redis, tenant_id: str, fields: ProblemFields) -> Problem:
    problem = Problem(**fields.model_dump(), id="prb_" + secrets.token_hex(8), source="tenant")
    now = time.time()
    stored = {"tenant_id": tenant_id, "created_at": now, "problem": problem.model_dump()}
    # The record, then the index (two slots on a Redis Cluster): the index never names a
    # problem that is not there.
    await redis.set(problem_key(problem.id), json.dumps(stored))
    await redis.zadd(tenant_problems_key(tenant_id), {problem.id: now})
    return problem


async def get_problem(redis: Redis, tenant_id: str, problem_id: str) -> Problem | None:
    """A bank problem, or the tenant's own; None for another tenant's or an unknown id."""
    found = bank_problem(problem_id)
    if found is not None or not _PROBLEM_ID.fullmatch(problem_id):
        return found
    raw = await redis.get(problem_key(problem_id))
    if raw is None:
        return None
    stored = json.loads(raw)
    if stored["tenant_id"] != tenant_id:
        return None
    return Problem.model_validate(stored["problem"])


async def own_problems(redis: Redis, tenant_id: str, limit: int = 200) -> list[Problem]:
    ids = await redis.zrevrange(tenant_problems_key(tenant_id), 0, limit - 1)
    found = [await get_problem(redis, tenant_id, str(i)) for i in ids]
    return [p for p in found if p is not None]


async def delete_problem(redis: Redis, tenant_id: str, problem_id: str) -> bool:
    if (
        not _PROBLEM_ID.fullmatch(problem_id)
        or await get_problem(redis, tenant_id, problem_id) is None
    ):
        return False
    # The other order: out of the index first, then the record.
    await redis.zrem(tenant_problems_key(tenant_id), problem_id)
    await redis.delete(problem_key(problem_id))
    return True


async def unknown_problems(redis: Redis, tenant_id: str, coding: CodingRound | None) -> list[str]:
    """The round's problem ids that are neither the bank's nor the tenant's."""
    if coding is None:
        return []
    return [p for p in coding.problems if await get_problem(redis, tenant_id, p) is None]


# -- a session's coding round ----------------------------------------------------------------


async def round_for(redis: Redis, tenant_id: str, interview_id: str) -> CodingRound | None:
    builtin = builtin_interview(interview_id)
    if builtin is not None:
        return CodingRound(problems=list(builtin.problems)) if builtin.problems else None
    own = await interviews.get(redis, tenant_id, interview_id)
    return own.coding if own is not None else None


async def with_coding_round(
    redis: Redis, tenant_id: str, interview_id: str, plan: InterviewPlan, session_id: str
) -> tuple[InterviewPlan, dict[str, Any] | None]:
    """The plan with the coding question first (or alone), and what the session keeps of the
    round (its `extra["coding"]`); the plan unchanged and None without a coding round."""
    coding = await round_for(redis, tenant_id, interview_id)
    if coding is None:
        return plan, None
    found = [await get_problem(redis, tenant_id, p) for p in coding.problems]
    candidates = [p for p in found if p is not None] or list(bank())
    problem = choose(candidates, coding.details, session_id)
    rest = plan.questions
    if builtin_interview(interview_id) is not None:
        rest = rest[:BUILTIN_EXTRA_QUESTIONS]
    elif rest:
        rest = rest[:-1]  # the coding question takes one of the plan's places
    questions = (problem.question(),) if coding.only else (problem.question(), *rest)
    kept = {
        "problem_id": problem.id,
        "languages": list(coding.languages),
        "required": coding.required,
        "only": coding.only,
    }
    return dataclasses.replace(plan, questions=questions), kept


def coding_question_index(plan: InterviewPlan) -> int | None:
    return next(
        (n for n, q in enumerate(plan.questions) if q.id.startswith(CODE_QUESTION_PREFIX)), None
    )


# -- runs stored with the session ------------------------------------------------------------


def run_entry(
    result: RunResult,
    *,
    language: str,
    code: str,
    submit: bool,
    custom_input: bool,
    at: float,
    session_s: float | None,
    problem_id: str,
) -> dict[str, Any]:
    visible = [t for t in result.tests if not t.hidden]
    hidden = [t for t in result.tests if t.hidden]
    return {
        "at": at,
        "session_s": session_s,
        "kind": "submission" if submit else "run",
        "problem_id": problem_id,
        "language": language,
        "code": code,
        "custom_input": custom_input,
        "status": result.status,
        "time_ms": result.time_ms,
        "tests": [
            {
                "name": t.name,
                "passed": t.passed,
                "hidden": t.hidden,
                "outcome": t.outcome,
                "time_ms": t.time_ms,
            }
            for t in result.tests
        ],
        "visible_passed": sum(t.passed for t in visible),
        "visible_total": len(visible),
        "hidden_passed": sum(t.passed for t in hidden),
        "hidden_total": len(hidden),
        # The code read, not run (pipeline/coding/complexity.py): what the interviewer's
        # follow-up on complexity and the report can refer to.
        "complexity": estimate(code, language),
    }


async def store_run(redis: Redis, session_id: str, entry: dict[str, Any]) -> bool:
    """Append a run to the session's (never recreating an erased session's)."""
    return await guard.rpush(redis, session_id, session_code_key(session_id), json.dumps(entry))


async def stored_runs(redis: Redis, session_id: str) -> list[dict[str, Any]]:
    raw = await redis.lrange(session_code_key(session_id), 0, -1)
    return [json.loads(r) for r in raw]


async def run_count(redis: Redis, session_id: str) -> int:
    return int(await redis.llen(session_code_key(session_id)))


async def session_seconds(redis: Redis, session_id: str, now: float) -> float | None:
    """Seconds since the session's first turn (the transcript's clock); None before it."""
    zero = await redis.get(keys.session_clock(session_id))
    return round(now - float(zero), 3) if zero else None


def summary(entry: dict[str, Any]) -> dict[str, Any]:
    """What the interviewer turn's meta keeps of a submission: all of it but the per-test list."""
    return {k: v for k, v in entry.items() if k != "tests"}


def complexity_of(entry: dict[str, Any]) -> dict[str, Any]:
    """The run's complexity reading; read now for a run stored before runs kept one."""
    found = entry.get("complexity")
    return found if isinstance(found, dict) else estimate(entry["code"], entry["language"])


def _said(entry: dict[str, Any]) -> str:
    if entry["status"] == "error":
        return "I can see your submission, but it does not compile yet."
    said = (
        f"I can see your submission: it passes {entry['visible_passed']} of "
        f"{entry['visible_total']} example tests and {entry['hidden_passed']} of "
        f"{entry['hidden_total']} hidden tests."
    )
    # What the code is made of, not the estimate itself: the candidate is to say its
    # complexity, and the follow-up on complexity can build on this.
    reading = complexity_of(entry)
    if reading["estimate"] is not None:
        said += f" Reading it, your solution has {reading['said']}."
    return said


# How the interviewer says a growth aloud (Piper reads "O(n)" letter by letter).
SPOKEN_BIG_O = {
    "O(1)": "constant time",
    "O(log n)": "O of log n",
    "O(n)": "O of n",
    "O(n log n)": "O of n log n",
    "O(n^2)": "O of n squared",
    "O(n^3)": "O of n cubed",
    "O(2^n)": "exponential time",
}


def _ask_again(check: dict[str, Any], reading: dict[str, Any]) -> str:
    """The follow-up when the stated complexity and the code disagree: what was said, what the
    code is made of (not the estimate: the reading may be wrong, the candidate may be right)."""
    said = SPOKEN_BIG_O.get(check["said"], check["said"])
    return (
        f"You said the time is {said}, but I see {reading['said']} in your code. "
        "Can you walk me through its time complexity again?"
    )


def _checked(transcript: Sequence[Turn], code: object) -> bool:
    """The interviewer already asked again about this submission's complexity."""
    for turn in transcript:
        shown = turn.meta.get("code")
        asked = turn.role == "interviewer" and "complexity_check" in turn.meta
        if asked and isinstance(shown, dict) and shown.get("code") == code:
            return True
    return False


def _last_shown(transcript: Sequence[Turn]) -> object:
    """The submission the interviewer last remarked on (its turn's meta), or None."""
    for turn in reversed(transcript):
        if turn.role == "interviewer" and "code" in turn.meta:
            return turn.meta["code"]
    return None


class CodeAwareEngine:
    """The session's engine, shown the candidate's code: when the candidate has just answered
    the coding question, the reply starts by saying what the latest submission passed, and the
    interviewer turn's meta keeps that submission (code, language, results, time, and the
    static reading of its complexity, which the reply names: "your solution has two nested
    loops"): the code snapshot the transcript holds. The words of the answer, not the code, are
    what the engine analyses and probes (approach, complexity: the problem's key points)."""

    def __init__(self, inner: TurnEngine, redis: Redis, session_id: str) -> None:
        self.inner = inner
        self.redis = redis
        self.session_id = session_id
        self.name = inner.name
        self.version = inner.version

    async def next_reply(self, plan: InterviewPlan, transcript: Sequence[Turn]) -> Reply:
        reply = await self.inner.next_reply(plan, transcript)
        index = coding_question_index(plan)
        last = transcript[-1] if transcript else None
        if index is None or last is None or last.role != "candidate":
            return reply
        if last.question_index != index:
            return reply
        runs = await stored_runs(self.redis, self.session_id)
        submitted = [r for r in runs if r["kind"] == "submission"]
        if not submitted:
            return reply
        latest = summary(submitted[-1])
        shown = latest == _last_shown(transcript)  # said once: not again on every later reply
        reading = complexity_of(latest)
        check = stated.compare(last.text, reading)
        if (
            check is not None
            and check["agrees"] is False
            and not _checked(transcript, latest["code"])
        ):
            # The candidate's stated time complexity and the code disagree: ask again, once
            # per submission, instead of moving on.
            sentences = ([] if shown else [_said(latest)]) + [_ask_again(check, reading)]
            return Reply(
                Move("follow_up", index, False),
                sentences_of(sentences),
                reply.feedback,
                {**reply.meta, "code": latest, "complexity_check": check},
            )
        if shown:
            return reply.with_meta({"code": latest})
        return reply.opening_with(_said(latest), {"code": latest})


# -- the report ------------------------------------------------------------------------------


def code_section(
    record_extra: dict[str, Any],
    plan: InterviewPlan,
    runs: list[dict[str, Any]],
    report: dict[str, Any],
    problem: Problem | None,
) -> dict[str, Any] | None:
    """The report's `code`: correctness (the share of hidden tests the last submission passed),
    complexity (its reading against the problem's target: pipeline/coding/scoring.py), the
    explanation (the coding question's answer, scored by the rubric as any answer), and their
    mean as the code score. `with_code` folds the written code's score (correctness and
    complexity) into the overall score."""
    coding = record_extra.get("coding")
    if not coding:
        return None
    index = coding_question_index(plan)
    submissions = [r for r in runs if r["kind"] == "submission"]
    last = submissions[-1] if submissions else None
    answered = next((q for q in report.get("questions", []) if q.get("index") == index), None)
    reading = complexity_of(last) if last is not None else None
    explanation = answered.get("score") if answered else None
    correctness = None
    if last is not None and last["hidden_total"]:
        correctness = round(100 * last["hidden_passed"] / last["hidden_total"])
    elif last is not None:
        correctness = 0
    complexity = scoring.complexity_score(reading, scoring.target_of(problem), correctness)
    said = stated.compare(answered.get("answer") if answered else None, reading)
    parts = [x for x in (correctness, complexity["score"], explanation) if x is not None]
    return {
        "problem_id": coding["problem_id"],
        "required": bool(coding.get("required")),
        "submitted": last is not None,
        "missing_required_submission": bool(coding.get("required")) and last is None,
        "runs": len(runs),
        "submissions": len(submissions),
        "language": last["language"] if last else None,
        "submitted_at": last["at"] if last else None,
        "session_s": last["session_s"] if last else None,
        "status": last["status"] if last else None,
        "hidden_passed": last["hidden_passed"] if last else 0,
        "hidden_total": last["hidden_total"] if last else 0,
        "visible_passed": last["visible_passed"] if last else 0,
        "visible_total": last["visible_total"] if last else 0,
        "correctness": correctness,
        "complexity_score": complexity,
        "stated_complexity": said,
        "explanation_score": explanation,
        "score": round(sum(parts) / len(parts)) if parts else None,
        "code": last["code"] if last else None,
        "complexity": reading,
        "question_index": index,
        "scoring": "correctness: share of hidden tests the last submission passed; complexity: "
        "the code's reading against the problem's target (complexity_score says how); "
        "explanation: the coding question's answer scored by the rubric; score: their mean "
        "(of those present); overall_score counts the written code (correctness and complexity "
        "alike, correctness 0 without a submission) for half, the spoken answers (the "
        "explanation among them) for the rest: see scoring.code",
    }


def with_code(report: dict[str, Any], section: dict[str, Any]) -> dict[str, Any]:
    """The report with its `code` section, and the code's correctness counted in
    `overall_score` (`pipeline.interview.report.with_code_score`). No submission counts as 0:
    the coding question asks for one, and skipping it must not score better than failing."""
    folded = with_code_score(
        report, section["correctness"] or 0, section["complexity_score"]["score"]
    )
    return {**folded, "questions": _with_reading(folded, section), "code": section}


def _with_reading(report: dict[str, Any], section: dict[str, Any]) -> list[dict[str, Any]]:
    """The questions, the coding one's feedback saying what the code's reading found."""
    reading = section.get("complexity")
    questions: list[dict[str, Any]] = report.get("questions", [])
    if not reading:
        return questions
    if reading["estimate"] is None:
        said = f"The submitted code's complexity was {reading['reason']}."
    else:
        said = (
            f"The submitted code reads as {reading['estimate']} (estimated from the code: "
            f"{reading['reason']})."
        )
    check = section.get("stated_complexity")
    if check and check["agrees"] is not None:
        agreeing = "as the code reads" if check["agrees"] else "where the code reads otherwise"
        said += f' The candidate said {check["said"]} ("{check["quote"]}"), {agreeing}.'
    return [
        {**q, "feedback": f"{q['feedback']} {said}", "code_complexity": reading}
        if q.get("index") == section["question_index"]
        else q
        for q in questions
    ]


async def report_code_section(
    redis: Redis,
    session_id: str,
    tenant_id: str,
    record_extra: dict[str, Any],
    plan: InterviewPlan,
    report: dict[str, Any],
) -> dict[str, Any] | None:
    if not record_extra.get("coding"):
        return None
    coding = record_extra["coding"]
    problem = await get_problem(redis, tenant_id, coding["problem_id"])
    runs = await stored_runs(redis, session_id)
    return code_section(record_extra, plan, runs, report, problem)
