"""How a coding round's written code is scored: its correctness (the share of hidden tests the
last submission passed) and its complexity (the static reading of the code, pipeline/coding/
complexity.py, against the problem's target). The spoken explanation is scored as any answer, by
the rubric; the report (server/code.py) puts the three side by side.

The complexity's target is the problem's `expected_complexity` when it has one (every bank
problem does; a tenant may set it), else the reading of the problem's Python reference solution
(read by the same reader, so a misreading of a pattern falls on both alike), else none: the
complexity is then not scored, and the report says why.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pipeline.coding.complexity import estimate, growth
from pipeline.coding.problems import Problem

# Points by how much slower the code grows than the target: at most as fast; a log factor
# slower (an extra sort or binary search); a factor of n slower (the brute force's nested
# loop); two or more factors of n, or exponential where the target is not.
AT_TARGET, LOG_SLOWER, N_SLOWER, FAR_SLOWER = 100, 70, 40, 10
RULE = (
    f"complexity: the code's reading against the target: {AT_TARGET} at or below it, "
    f"{LOG_SLOWER} a log factor above, {N_SLOWER} a factor of n above, {FAR_SLOWER} further "
    "(exponential where the target is not, or n^2 above), scaled by the share of hidden tests "
    "passed (a wrong answer's speed earns nothing: print(0) reads O(1)); not scored when the "
    "code or the target cannot be read"
)


@dataclass(frozen=True)
class Target:
    big_o: str
    source: str  # "problem" (its expected_complexity) or "reference" (its reference's reading)


def target_of(problem: Problem | None) -> Target | None:
    if problem is None:
        return None
    if problem.expected_complexity is not None:
        return Target(problem.expected_complexity, "problem")
    reference = problem.reference.get("python")
    if reference is None:
        return None
    read = estimate(reference, "python")["estimate"]
    return Target(read, "reference") if read is not None else None


def complexity_points(read: str, target: str) -> int:
    """The points for code reading as `read` where `target` is expected (both big-O texts)."""
    got, wanted = growth(read), growth(target)
    if got <= wanted:
        return AT_TARGET
    exponential, degree, _ = got
    if exponential:
        return FAR_SLOWER  # the target is not exponential, or got <= wanted held
    extra = degree - wanted[1]
    if extra <= 0:
        return LOG_SLOWER
    return N_SLOWER if extra == 1 else FAR_SLOWER


def complexity_score(
    reading: dict[str, Any] | None, target: Target | None, correctness: int | None
) -> dict[str, Any]:
    """The report's `complexity_score` entry: the points (None when not scored) and why."""
    read = reading.get("estimate") if reading else None
    entry: dict[str, Any] = {
        "score": None,
        "points": None,
        "estimate": read,
        "target": target.big_o if target else None,
        "target_from": target.source if target else None,
    }
    if reading is None or correctness is None:
        return {**entry, "reason": "not scored: no submission"}
    if read is None:
        return {**entry, "reason": f"not scored: the code's complexity was {reading['reason']}"}
    if target is None:
        return {
            **entry,
            "reason": "not scored: the problem has no expected complexity and no Python "
            "reference solution to read one from",
        }
    points = complexity_points(read, target.big_o)
    where = "at or below" if points == AT_TARGET else "above"
    source = "the problem's" if target.source == "problem" else "the reference solution's"
    return {
        **entry,
        "points": points,
        "score": round(points * correctness / 100),
        "reason": f"the code reads as {read}, {where} {source} {target.big_o}: {points} points, "
        f"scaled by the {correctness}% of hidden tests passed",
    }


def written_score(correctness: int, complexity: int | None) -> int:
    """The written code's score: correctness and complexity alike, or correctness alone when
    the complexity is not scored."""
    return correctness if complexity is None else round((correctness + complexity) / 2)
