"""The static reading of a submission's complexity (pipeline/coding/complexity.py), stored with
the run, named in the interviewer's reply and shown in the report (server/code.py). No models,
no sandbox: the code is parsed, never run."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, cast

import pytest

from pipeline.coding.complexity import estimate
from pipeline.coding.problems import Problem, bank, bank_problem
from pipeline.coding.sandbox import RunResult
from pipeline.coding.sandbox import TestResult as Result
from pipeline.engine import InterviewPlan, Move, Reply, Turn, sentences_of
from server.code import CodeAwareEngine, code_section, run_entry, session_code_key, with_code
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


def test_the_banks_reference_solutions_read_at_their_targets() -> None:
    """Each bank problem's Python reference reads as the problem's expected complexity (the
    target its submissions' complexity is scored against)."""
    found = {p.id: estimate(p.reference["python"], "python")["estimate"] for p in bank()}
    assert found == {p.id: p.expected_complexity for p in bank()}


BINARY_SEARCH = """
def find(a, t):
    lo, hi = 0, len(a) - 1
    while lo <= hi:
        mid = (lo + hi) // 2
        if a[mid] < t:
            lo = mid + 1
        else:
            hi = mid - 1
    return lo
"""
DIGITS = """
def digits(n):
    count = 0
    while n > 0:
        n //= 10
        count += 1
    return count
"""
SLIDING_WINDOW = """
def longest(s):
    seen = set()
    left = best = 0
    for right in range(len(s)):
        while s[right] in seen:
            seen.discard(s[left])
            left += 1
        seen.add(s[right])
        best = max(best, right - left + 1)
    return best
"""
RESET_POINTER = """
def insertion(a):
    for i in range(1, len(a)):
        j = i
        while j > 0 and a[j - 1] > a[j]:
            a[j - 1], a[j] = a[j], a[j - 1]
            j -= 1
"""
MONOTONIC_STACK = """
def next_greater(nums):
    out, stack = [-1] * len(nums), []
    for i, x in enumerate(nums):
        while stack and nums[stack[-1]] < x:
            out[stack.pop()] = x
        stack.append(i)
    return out
"""
GRID_BFS = """
from collections import deque

def count(grid):
    n, m = len(grid), len(grid[0])
    seen = set()
    total = 0
    for r in range(n):
        for c in range(m):
            if grid[r][c] == "#" and (r, c) not in seen:
                total += 1
                seen.add((r, c))
                queue = deque([(r, c)])
                while queue:
                    y, x = queue.popleft()
                    for dy, dx in ((1, 0), (-1, 0), (0, 1), (0, -1)):
                        ny, nx = y + dy, x + dx
                        if 0 <= ny < n and 0 <= nx < m and grid[ny][nx] == "#":
                            if (ny, nx) not in seen:
                                seen.add((ny, nx))
                                queue.append((ny, nx))
    return total
"""
BFS_PER_SOURCE = """
def eccentricities(adj):
    out = []
    for start in range(len(adj)):
        dist = {start: 0}
        queue = [start]
        while queue:
            u = queue.pop()
            for v in adj[u]:
                if v not in dist:
                    dist[v] = dist[u] + 1
                    queue.append(v)
        out.append(max(dist.values()))
    return out
"""
FLOOD_FILL = """
def fill(grid, r, c):
    if r < 0 or c < 0 or r >= len(grid) or c >= len(grid[0]) or grid[r][c] != 1:
        return
    grid[r][c] = 2
    fill(grid, r + 1, c)
    fill(grid, r - 1, c)
    fill(grid, r, c + 1)
    fill(grid, r, c - 1)
"""
MERGE_SORT = """
def msort(a):
    if len(a) < 2:
        return a
    mid = len(a) // 2
    left, right = msort(a[:mid]), msort(a[mid:])
    out = []
    while left and right:
        out.append(left.pop(0) if left[0] <= right[0] else right.pop(0))
    return out + left + right
"""
RECURSIVE_BINARY_SEARCH = """
def search(a, t, lo, hi):
    if lo > hi:
        return -1
    mid = (lo + hi) // 2
    if a[mid] == t:
        return mid
    if a[mid] < t:
        return search(a, t, mid + 1, hi)
    return search(a, t, lo, mid - 1)
"""
TREE_SUM = """
def total(a, lo, hi):
    if lo == hi:
        return a[lo]
    mid = (lo + hi) // 2
    return total(a, lo, mid) + total(a, mid + 1, hi)
"""
LCS_MEMO = """
from functools import cache

def lcs(a, b):
    @cache
    def go(i, j):
        if i == len(a) or j == len(b):
            return 0
        if a[i] == b[j]:
            return 1 + go(i + 1, j + 1)
        return max(go(i + 1, j), go(i, j + 1))
    return go(0, 0)
"""
FIXED_NAME = """
PAIRS = {")": "(", "]": "[", "}": "{"}
KINDS = [("(", ")"), ("[", "]"), ("{", "}")]

def count(s):
    n = 0
    for ch in s:
        for o, c in KINDS:
            if ch == o or ch == c:
                n += 1
    return n
"""
REPLACE_LOOP = """
s = input().strip()
while "()" in s:
    s = s.replace("()", "")
print(s == "")
"""
READ_THEN_SEARCH = """
import bisect
import sys

data = sys.stdin.read().split()
n = int(data[0])
nums = [int(x) for x in data[1 : 1 + n]]
print(bisect.bisect_left(nums, int(data[1 + n])))
"""
COUNTS_COMPUTATION_ON_READ_VALUES = """
n = int(input())
nums = list(map(int, input().split()))
for i in range(n):
    rest = nums[i + 1 :]
    print(sum(rest))
"""


@pytest.mark.parametrize(
    ("code", "expected", "said"),
    [
        (BINARY_SEARCH, "O(log n)", "a binary search or heap step"),
        (DIGITS, "O(log n)", "a binary search or heap step"),
        (SLIDING_WINDOW, "O(n)", "one loop"),
        (RESET_POINTER, "O(n^2)", "two nested loops"),
        (MONOTONIC_STACK, "O(n)", "one loop"),
        (GRID_BFS, "O(n^2)", "two nested loops"),  # the search adds n^2 in all, not per cell
        (
            BFS_PER_SOURCE,
            "O(n^3)",
            "two nested loops around a search that visits each element once",
        ),
        (FLOOD_FILL, "O(n^2)", "a search that visits each element once"),
        (MERGE_SORT, "O(n log n)", "a divide-and-conquer recursion around a slice copy"),
        (RECURSIVE_BINARY_SEARCH, "O(log n)", "a binary search or heap step"),
        (TREE_SUM, "O(n)", "a divide-and-conquer recursion"),
        (LCS_MEMO, "O(n^2)", "recursion"),
        (FIXED_NAME, "O(n)", "one loop"),
        (REPLACE_LOOP, "O(n^2)", "one loop around a linear scan"),
        (READ_THEN_SEARCH, "O(log n)", "a binary search or heap step"),
        (COUNTS_COMPUTATION_ON_READ_VALUES, "O(n^2)", "one loop around a slice copy"),
    ],
)
def test_patterns_an_interviewer_reads(code: str, expected: str, said: str) -> None:
    reading = estimate(code, "python")
    assert (reading["estimate"], reading["said"]) == (expected, said), reading


def test_other_languages_and_broken_code_are_not_estimated() -> None:
    js = estimate("for (let i = 0; i < n; i++) {}", "javascript")
    assert js["estimate"] is None and js["reason"].startswith("not estimated")
    broken = estimate("def f(:\n", "python")
    assert broken["estimate"] is None and broken["reason"].startswith("not estimated")
    deep = estimate("x = " + "(" * 5000 + "1" + ")" * 5000, "python")
    assert deep["estimate"] is None


def entry_of(code: str, language: str = "python") -> dict[str, Any]:
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
    entry = entry_of(QUADRATIC)
    assert entry["complexity"]["estimate"] == "O(n^2)"
    assert json.loads(json.dumps(entry)) == entry  # kept as JSON in Redis


class ScriptedEngine:
    """The engine the code-aware one wraps, saying one scripted sentence with one move."""

    name = "test"
    version = "1"

    def __init__(self, move: Move, sentence: str) -> None:
        self.move, self.sentence = move, sentence

    async def next_reply(self, plan: InterviewPlan, transcript: Sequence[Turn]) -> Reply:
        return Reply(self.move, sentences_of([self.sentence]))


async def test_the_interviewers_reply_names_what_the_code_is_made_of(valkey: Redis) -> None:
    problem = bank_problem("two-sum")
    assert isinstance(problem, Problem)
    plan = InterviewPlan(questions=(problem.question(),), interview_type="technical")
    transcript = [
        Turn(0, "interviewer", problem.question().text, 0, "question"),
        Turn(1, "candidate", "I compare every pair of numbers.", 0),
    ]
    await valkey.rpush(session_code_key("ses_x"), json.dumps(entry_of(QUADRATIC)))
    asks = ScriptedEngine(Move("follow_up", 0, False), "What is the time complexity of that?")
    engine = CodeAwareEngine(asks, valkey, "ses_x")
    reply = await engine.next_reply(plan, transcript)
    sentences, meta = [s async for s in reply.sentences()], reply.meta
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
    section = code_section(extra, plan, [entry_of(QUADRATIC)], spoken, problem)
    assert section is not None
    report = with_code(spoken, section)
    question = report["questions"][0]
    assert question["feedback"].startswith("Covers the approach. The submitted code reads as ")
    assert "O(n^2) (estimated from the code: two nested loops" in question["feedback"]
    assert question["code_complexity"] == report["code"]["complexity"]
    js = code_section(extra, plan, [entry_of("console.log(1)", "javascript")], spoken, problem)
    assert js is not None
    assert "complexity was not estimated" in with_code(spoken, js)["questions"][0]["feedback"]
