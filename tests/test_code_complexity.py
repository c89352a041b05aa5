"""The static reading of a submission's complexity (pipeline/coding/complexity.py), stored with
the run, named in the interviewer's reply and shown in the report (server/code.py). No models,
no sandbox: the code is parsed, never run."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Sequence
from typing import Any, cast

import pytest

from pipeline.coding.complexity import estimate
from pipeline.coding.problems import Problem, bank_problem
from pipeline.coding.sandbox import RunResult
from pipeline.coding.sandbox import TestResult as Result
from pipeline.engine import InterviewPlan, Move, Reply, Turn
from server.code import CodeAwareEngine, code_section, run_entry, with_code
from server.storage.store import Redis

CONSTANT = "a, b = map(int, input().split())\nprint(a + b if a > b else b - a)\n"
LINEAR = """
import sys
nums = [int(x) for x in sys.stdin.read().split()]
best = 0
for x in nums:
    best = x if x > best else best
print(best)
"""
SORTED = """
def solve(nums):
    nums.sort()
    return nums[len(nums) // 2]
print(solve(list(map(int, input().split()))))
"""
QUADRATIC = """
def solve(nums, target):
    for i in range(len(nums)):
        for j in range(i + 1, len(nums)):
            if nums[i] + nums[j] == target:
                return i, j
    return -1, -1
"""
LIST_SCAN = """
def dedupe(nums):
    kept = []
    for x in nums:
        if x not in kept:
            kept.append(x)
    return kept
"""
HASHED = """
def dedupe(nums):
    seen = set()
    for x in nums:
        if x not in seen:
            seen.add(x)
    return len(seen)
"""
RECURSIVE_SUM = """
def total(nums, i):
    if i == len(nums):
        return 0
    return nums[i] + total(nums, i + 1)
"""
FIB = """
def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)
print(fib(int(input())))
"""
MEMO_FIB = """
from functools import lru_cache

@lru_cache(maxsize=None)
def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)
"""
CALLED_IN_A_LOOP = """
def smallest(xs):
    return min(xs)

def solve(rows):
    return [smallest(r) for r in rows]
"""
FIXED_LOOP = """
for dy, dx in ((0, 1), (1, 0), (0, -1), (-1, 0)):
    for k in range(4):
        print(dy * k, dx * k)
"""


@pytest.mark.parametrize(
    ("code", "expected", "said"),
    [
        (CONSTANT, "O(1)", "no loop, recursion or sort over the input"),
        (FIXED_LOOP, "O(1)", "no loop, recursion or sort over the input"),
        (LINEAR, "O(n)", "one loop"),
        (SORTED, "O(n log n)", "a sort"),
        (QUADRATIC, "O(n^2)", "two nested loops"),
        (LIST_SCAN, "O(n^2)", "one loop around a linear scan"),
        (HASHED, "O(n)", "one loop"),
        (RECURSIVE_SUM, "O(n)", "recursion"),
        (FIB, "O(2^n)", "a function that calls itself more than once per call"),
        (MEMO_FIB, "O(n)", "recursion"),
        (CALLED_IN_A_LOOP, "O(n^2)", "one loop around a linear scan"),
    ],
)
def test_estimates(code: str, expected: str, said: str) -> None:
    reading = estimate(code, "python")
    assert (reading["estimate"], reading["said"]) == (expected, said), reading


def test_the_reason_quotes_the_code() -> None:
    reading = estimate(QUADRATIC, "python")
    assert reading["reason"] == (
        "two nested loops: for i in range(len(nums)), in it for j in range(i + 1, len(nums))"
    )
    assert (
        "lookups with `in` on a dict or set (seen) are O(1)" in estimate(HASHED, "python")["reason"]
    )
    assert "fib calling itself 2 times per call" in estimate(FIB, "python")["reason"]


def test_the_banks_reference_solutions() -> None:
    """The bank's Python references as the interviewer reads them (number of islands is the
    documented limit: a loop over rows, one over columns and the flood fill read as n^3)."""
    found = {}
    for problem_id in ("two-sum", "merge-intervals", "longest-increasing-subsequence"):
        problem = bank_problem(problem_id)
        assert isinstance(problem, Problem)
        found[problem_id] = estimate(problem.reference["python"], "python")["estimate"]
    assert found == {
        "two-sum": "O(n)",
        "merge-intervals": "O(n log n)",
        "longest-increasing-subsequence": "O(n log n)",
    }


def test_other_languages_and_broken_code_are_not_estimated() -> None:
    js = estimate("for (let i = 0; i < n; i++) {}", "javascript")
    assert js["estimate"] is None and js["reason"].startswith("not estimated")
    broken = estimate("def f(:\n", "python")
    assert broken["estimate"] is None and broken["reason"].startswith("not estimated")
    deep = estimate("x = " + "(" * 5000 + "1" + ")" * 5000, "python")
    assert deep["estimate"] is None


def _entry(code: str, language: str = "python") -> dict[str, Any]:
    result = RunResult(
        "ok",
        [Result("test 1", True, 5, False, "passed"), Result("hidden 1", True, 9, True, "passed")],
        "",
        "",
        20,
    )
    return run_entry(
        result,
        language=language,
        code=code,
        submit=True,
        custom_input=False,
        at=100.0,
        session_s=42.0,
        problem_id="two-sum",
    )


def test_the_reading_is_stored_with_the_submission() -> None:
    entry = _entry(QUADRATIC)
    assert entry["complexity"]["estimate"] == "O(n^2)"
    assert json.loads(json.dumps(entry)) == entry  # kept as JSON in Redis


class _Runs:
    """The one Redis call the engine makes: the session's stored runs."""

    def __init__(self, entries: list[dict[str, Any]]) -> None:
        self.entries = [json.dumps(e) for e in entries]

    async def lrange(self, key: str, start: int, end: int) -> list[str]:
        return self.entries


class _FollowUp:
    name = "test"
    version = "1"

    async def next_reply(self, plan: InterviewPlan, transcript: Sequence[Turn]) -> Reply:
        async def words() -> AsyncIterator[str]:
            yield "What is the time complexity of that?"

        return Reply(Move("follow_up", 0, False), words())


def test_the_interviewers_reply_names_what_the_code_is_made_of() -> None:
    problem = bank_problem("two-sum")
    assert isinstance(problem, Problem)
    plan = InterviewPlan(questions=(problem.question(),), interview_type="technical")
    transcript = [
        Turn(0, "interviewer", problem.question().text, 0, "question"),
        Turn(1, "candidate", "I compare every pair of numbers.", 0),
    ]
    redis = cast(Redis, _Runs([_entry(QUADRATIC)]))
    engine = CodeAwareEngine(_FollowUp(), redis, "ses_x")

    async def said() -> tuple[list[str], dict[str, object]]:
        reply = await engine.next_reply(plan, transcript)
        return [s async for s in reply.sentences()], reply.meta

    sentences, meta = asyncio.run(said())
    assert "Reading it, your solution has two nested loops." in sentences[0], sentences
    assert sentences[-1] == "What is the time complexity of that?"
    shown = cast(dict[str, Any], meta["code"])
    assert shown["complexity"]["estimate"] == "O(n^2)"  # the turn's context keeps the reading
    assert "for j in range(i + 1, len(nums))" in shown["complexity"]["reason"]


def test_the_report_shows_the_reading_in_the_coding_questions_feedback() -> None:
    problem = bank_problem("two-sum")
    assert isinstance(problem, Problem)
    plan = InterviewPlan(questions=(problem.question(),), interview_type="technical")
    extra = {"coding": {"problem_id": "two-sum", "languages": [], "required": False}}
    spoken: dict[str, Any] = {
        "overall_score": 70,
        "summary": "Scored on 1 of 1 questions.",
        "questions": [{"index": 0, "score": 60, "feedback": "Covers the approach."}],
        "scoring": {},
    }
    section = code_section(extra, plan, [_entry(QUADRATIC)], spoken, problem)
    assert section is not None
    report = with_code(spoken, section)
    question = report["questions"][0]
    assert question["feedback"].startswith("Covers the approach. The submitted code reads as ")
    assert "O(n^2) (estimated from the code: two nested loops" in question["feedback"]
    assert question["code_complexity"] == report["code"]["complexity"]
    js = code_section(extra, plan, [_entry("console.log(1)", "javascript")], spoken, problem)
    assert js is not None
    assert "complexity was not estimated" in with_code(spoken, js)["questions"][0]["feedback"]
