"""Coding problems: the built-in bank (`problems.json`, written by `build_bank.py`) and the model
tenants' own problems are validated with.

The test contract (the same for every language): a test case is a text given on standard input
and the text expected on standard output. The candidate's program reads the input, prints the
answer, and passes when its output equals the expected one line by line (trailing spaces and
trailing blank lines ignored). Each test runs as its own process, in its own jail
(`sandbox.py`). The starter code reads the input for the candidate, per language.
"""

from __future__ import annotations

import hashlib
import json
import re
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from pipeline.coding.complexity import growth
from pipeline.coding.sandbox import Limits, TestCase
from pipeline.engine import Question

BANK_PATH = Path(__file__).resolve().parent / "problems.json"
CODE_QUESTION_PREFIX = "code:"  # a plan question whose id starts so is the coding round's
CODE_QUESTION_TIME_S = 1800  # the coding question's own time budget (writing, running, talking)

Short = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Point = Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=300)]
ProblemId = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{1,62}$")]
LanguageId = Literal["python", "javascript", "c", "cpp", "java"]


def _big_o(text: str) -> str:
    growth(text)  # ValueError, which pydantic reports as the field's error
    return text.strip()


BigO = Annotated[str, StringConstraints(max_length=40), AfterValidator(_big_o)]


class Example(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    input: str = Field(max_length=2000)
    output: str = Field(max_length=2000)
    explanation: str = Field("", max_length=500)


class ProblemTest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    name: Short
    input: str = Field(max_length=200_000, description="given on standard input")
    output: str = Field(max_length=200_000, description="expected on standard output")
    hidden: bool = Field(False, description="hidden tests run on submit and report pass/fail only")


class ProblemLimits(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    time_ms: int = Field(2000, ge=100, le=10_000, description="per test: CPU and wall time")
    memory_mb: int = Field(256, ge=16, le=1024, description="per test: private memory")


class ProblemFields(BaseModel):
    """A problem as a tenant writes it (`POST /v1/problems`)."""

    model_config = ConfigDict(extra="forbid", strict=True)
    title: Short
    difficulty: Literal["easy", "medium", "hard"] = "medium"
    tags: list[Short] = Field(default_factory=list, max_length=10)
    statement: str = Field(min_length=1, max_length=10_000)
    input_format: str = Field("", max_length=1000)
    output_format: str = Field("", max_length=1000)
    examples: list[Example] = Field(default_factory=list, max_length=10)
    tests: list[ProblemTest] = Field(min_length=1, max_length=50)
    limits: ProblemLimits = Field(default_factory=ProblemLimits)
    key_points: list[Point] = Field(
        default_factory=list,
        max_length=8,
        description="what a good spoken explanation covers (approach, complexity): the "
        "explanation is scored on them, as key points of any question are",
    )
    follow_ups: list[Point] = Field(default_factory=list, max_length=5)
    expected_complexity: BigO | None = Field(
        None,
        description="the time complexity a good solution has, in one size variable n (every "
        "input dimension counted as n): O(1), O(log n), O(n), O(n log n), O(n^2), O(n^3), "
        "O(2^n)... A submission's complexity is scored against it; without it, against the "
        "reading of the Python reference solution; with neither, it is not scored",
    )
    reference: dict[LanguageId, str] = Field(
        default_factory=dict, description="reference solutions by language (never shown)"
    )
    starter: dict[LanguageId, str] = Field(
        default_factory=dict, description="starter code by language; else a generic one"
    )


class Problem(ProblemFields):
    id: str
    source: Literal["bank", "tenant"] = "bank"

    def cases(self, *, hidden: bool) -> list[TestCase]:
        """The visible tests, and the hidden ones too when `hidden`."""
        return [
            TestCase(t.name, t.input, t.output, t.hidden)
            for t in self.tests
            if hidden or not t.hidden
        ]

    @property
    def sandbox_limits(self) -> Limits:
        return Limits(time_ms=self.limits.time_ms, memory_mb=self.limits.memory_mb)

    def starter_for(self, language: str) -> str:
        return self.starter.get(language) or generic_starter(  # type: ignore[call-overload]
            language, self.input_format, self.output_format
        )

    def question(self) -> Question:
        """The plan question of the coding round: the interviewer asks for the solution, then
        probes the explanation on the problem's key points (approach, complexity)."""
        return Question(
            id=CODE_QUESTION_PREFIX + self.id,
            text=(
                f"Here is a coding problem: {self.title}. {first_sentence(self.statement)} "
                "Write your solution in the editor, run the tests, and submit it; then walk me "
                "through your approach and its time and space complexity."
            ),
            time_limit_s=CODE_QUESTION_TIME_S,
            skill=None,
            source="coding",
            style="technical",
            key_points=tuple(self.key_points),
            open_ended=True,  # the candidate codes in silence: the voice turn waits for a signal
        )


def first_sentence(text: str) -> str:
    match = re.match(r"(.+?[.!?])(\s|$)", text.strip(), flags=re.S)
    return (match.group(1) if match else text.strip())[:400]


_STARTERS = {
    "python": "import sys\n\n# Input: {i}\n# Output: {o}\ndata = sys.stdin.read().split()\n",
    "javascript": (
        '// Input: {i}\n// Output: {o}\nconst data = require("fs").readFileSync(0, "utf8")'
        ".trim().split(/\\s+/);\n"
    ),
    "c": (
        "#include <stdio.h>\n\n/* Input: {i}\n   Output: {o} */\nint main(void) {{\n"
        "    return 0;\n}}\n"
    ),
    "cpp": (
        "#include <bits/stdc++.h>\nusing namespace std;\n\n// Input: {i}\n// Output: {o}\n"
        "int main() {{\n    ios::sync_with_stdio(false);\n    return 0;\n}}\n"
    ),
    "java": (
        "import java.util.*;\nimport java.io.*;\n\n// Input: {i}\n// Output: {o}\n"
        "public class Main {{\n    public static void main(String[] args) throws IOException "
        "{{\n        BufferedReader in = new BufferedReader(new InputStreamReader(System.in));"
        "\n    }}\n}}\n"
    ),
}


def generic_starter(language: str, input_format: str, output_format: str) -> str:
    template = _STARTERS.get(language, "")
    return template.format(i=input_format or "see the statement", o=output_format or "see above")


@lru_cache(maxsize=1)
def bank() -> tuple[Problem, ...]:
    data = json.loads(BANK_PATH.read_text(encoding="utf-8"))
    return tuple(Problem.model_validate(p) for p in data["problems"])


def bank_problem(problem_id: str) -> Problem | None:
    return next((p for p in bank() if p.id == problem_id), None)


_DIFFICULTY_WORDS = {
    "easy": ("easy", "simple", "junior", "beginner", "warm-up", "warm up", "basic"),
    "medium": ("medium", "intermediate", "mid-level", "moderate"),
    "hard": ("hard", "difficult", "senior", "advanced", "challenging", "tough"),
}


def choose(problems: list[Problem], details: str, seed: str) -> Problem:
    """The problem that fits `details` best (micro1's `coding_exercise_details`: words naming a
    difficulty or a topic such as 'recursion', 'graphs', 'dynamic programming'); among equals,
    one picked by `seed` (the session id), the same every time for the same seed."""
    if not problems:
        raise ValueError("no problems to choose from")
    words = details.lower()

    def fit(problem: Problem) -> int:
        score = sum(3 for w in _DIFFICULTY_WORDS[problem.difficulty] if w in words)
        for tag in [*problem.tags, problem.title]:
            stems = [s[:5] for s in re.findall(r"[a-z]+", tag.lower()) if len(s) > 3]
            score += sum(2 for s in stems if s in words)
        return score

    best = max(fit(p) for p in problems)
    fitting = [p for p in problems if fit(p) == best]
    pick = int(hashlib.sha256(seed.encode()).hexdigest(), 16) % len(fitting)
    return fitting[pick]
