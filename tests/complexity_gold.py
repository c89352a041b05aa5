"""The complexity gold set (issue 25): hand-labelled Python solutions to measure the static
complexity estimator (`pipeline/coding/complexity.py`) against a human's reading of each
program's true worst-case time.

Two parts, in `tests/complexity_gold/`: `working.json`, to study and improve the estimator with,
and `sealed.json`, for an untuned measurement. Whoever changes the estimator must not read the
sealed part; `agreement("sealed")` gives its aggregate only, never an item.

Each part is `{"problems": [...], "solutions": [...]}`. Problems are the bank's (referenced by
id, no entry) and the part's own tenant-style problems (`"id": "tenant-..."`, title, statement,
input and output format, the `expected` complexity of a good solution). A solution is
`{"id", "problem", "language", "code", "label", "why"}`; the file's `label_guide` says how labels
are counted (one size variable n, every input dimension counted as n, input parsing not counted).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pipeline.coding.complexity import Growth
from pipeline.coding.complexity import growth as complexity_growth

GOLD_DIR = Path(__file__).resolve().parent / "complexity_gold"
Part = Literal["working", "sealed"]
PARTS: tuple[Part, ...] = ("working", "sealed")
# The allowed labels, slowest-growing first.
LABELS: tuple[str, ...] = (
    "O(1)",
    "O(log n)",
    "O(n)",
    "O(n log n)",
    "O(n^2)",
    "O(n^2 log n)",
    "O(n^3)",
    "O(2^n)",
)
TENANT_PREFIX = "tenant-"


class GoldError(ValueError):
    """A gold file that does not follow the format."""


@dataclass(frozen=True)
class TenantProblem:
    id: str
    title: str
    statement: str
    input_format: str
    output_format: str
    expected: str


@dataclass(frozen=True)
class Solution:
    id: str
    problem: str
    language: str
    code: str
    label: str
    why: str

    @property
    def on_tenant_problem(self) -> bool:
        return self.problem.startswith(TENANT_PREFIX)


@dataclass(frozen=True)
class Gold:
    part: str
    problems: tuple[TenantProblem, ...]
    solutions: tuple[Solution, ...]


def growth(notation: str | None) -> Growth | None:
    """The estimator's own ordering of a complexity (`pipeline.coding.complexity.growth`), or
    None when there is none or it is not a big-O text."""
    if notation is None:
        return None
    try:
        return complexity_growth(notation)
    except ValueError:
        return None


def _fields(item: object, where: str, keys: tuple[str, ...]) -> dict[str, str]:
    if not isinstance(item, dict):
        raise GoldError(f"{where}: not an object")
    return {key: _text(item, key, where) for key in keys}


def _text(raw: dict[str, Any], key: str, where: str) -> str:
    value = raw.get(key)
    if not isinstance(value, str) or not value.strip():
        raise GoldError(f"{where}: {key!r} must be a non-empty string")
    return value


def _bank_ids() -> frozenset[str]:
    from pipeline.coding.problems import bank

    return frozenset(problem.id for problem in bank())


def parse(raw: Any, part: str = "custom") -> Gold:
    """Validates one part's parsed JSON: labels in LABELS, ids unique, every solution's problem in
    the bank or among the part's tenant problems, Python only."""
    if not isinstance(raw, dict) or not isinstance(raw.get("problems"), list):
        raise GoldError(f"{part}: expected an object with 'problems' and 'solutions' lists")
    if not isinstance(raw.get("solutions"), list):
        raise GoldError(f"{part}: expected an object with 'problems' and 'solutions' lists")
    bank_ids = _bank_ids()
    problems: list[TenantProblem] = []
    for k, item in enumerate(raw["problems"]):
        where = f"{part}: problem {k}"
        keys = ("id", "title", "statement", "input_format", "output_format", "expected")
        problem = TenantProblem(**_fields(item, where, keys))
        if not problem.id.startswith(TENANT_PREFIX):
            raise GoldError(f"{where}: a tenant problem's id starts with {TENANT_PREFIX!r}")
        if problem.expected not in LABELS:
            raise GoldError(f"{where}: expected {problem.expected!r} is not one of {LABELS}")
        if "reference" in item or "key_points" in item:
            raise GoldError(f"{where}: a tenant-style problem has no reference or key points")
        problems.append(problem)
    tenant_ids = [p.id for p in problems]
    if len(set(tenant_ids)) != len(tenant_ids) or set(tenant_ids) & bank_ids:
        raise GoldError(f"{part}: tenant problem ids must be unique and not bank ids")
    known = bank_ids | set(tenant_ids)
    solutions: list[Solution] = []
    seen: set[str] = set()
    for k, item in enumerate(raw["solutions"]):
        where = f"{part}: solution {k}"
        keys = ("id", "problem", "language", "code", "label", "why")
        solution = Solution(**_fields(item, where, keys))
        if solution.id in seen:
            raise GoldError(f"{where}: duplicate id {solution.id!r}")
        seen.add(solution.id)
        if solution.label not in LABELS:
            raise GoldError(f"{where}: label {solution.label!r} is not one of {LABELS}")
        if solution.problem not in known:
            raise GoldError(f"{where}: unknown problem {solution.problem!r}")
        if solution.language != "python":
            raise GoldError(f"{where}: only python solutions are labelled")
        solutions.append(solution)
    return Gold(part=part, problems=tuple(problems), solutions=tuple(solutions))


def load(part: Part, path: Path | None = None) -> Gold:
    """One part of the gold set, validated (`path` overrides the file, for tests)."""
    if part not in PARTS:
        raise GoldError(f"unknown part {part!r}: one of {PARTS}")
    file = path or GOLD_DIR / f"{part}.json"
    return parse(json.loads(file.read_text(encoding="utf-8")), part)


def _empty() -> dict[str, int]:
    return {"solutions": 0, "exact": 0, "higher": 0, "lower": 0, "unreadable": 0}


def agreement(part: Part) -> dict[str, Any]:
    """The estimator against the labels, aggregate only: per group ("all", "bank", "tenant") the
    number of solutions, exact matches of `estimate(code, "python")["estimate"]`, and how many
    estimates grow faster ("higher") or slower ("lower") than the label; "unreadable" counts
    estimates that are None or in a notation `growth` does not read. Nothing per item."""
    from pipeline.coding.complexity import estimate

    gold = load(part)
    result = {group: _empty() for group in ("all", "bank", "tenant")}
    for solution in gold.solutions:
        got = estimate(solution.code, "python").get("estimate")
        want, have = growth(solution.label), growth(got)
        if have is None:
            outcome = "unreadable"
        elif got == solution.label or have == want:
            outcome = "exact"
        elif want is not None and have > want:
            outcome = "higher"
        else:
            outcome = "lower"
        for group in ("all", "tenant" if solution.on_tenant_problem else "bank"):
            result[group]["solutions"] += 1
            result[group][outcome] += 1
    return {"part": part, **result}


def score_agreement(part: Part) -> dict[str, Any]:
    """What the scoring gives: per group, how many solutions get the same complexity points
    (`pipeline.coding.scoring.complexity_points`, against the problem's target: a bank
    problem's `expected_complexity`, a tenant problem's `expected`) from the estimate as from
    the label, and the mean points given minus the points deserved. Aggregate only."""
    from pipeline.coding.complexity import estimate
    from pipeline.coding.problems import bank_problem
    from pipeline.coding.scoring import complexity_points

    gold = load(part)
    tenant = {p.id: p.expected for p in gold.problems}
    result: dict[str, Any] = {}
    for group in ("all", "bank", "tenant"):
        result[group] = {"solutions": 0, "same_points": 0, "points_given_minus_deserved": []}
    for solution in gold.solutions:
        bank = bank_problem(solution.problem)
        target = tenant.get(solution.problem) or (bank.expected_complexity if bank else None)
        got = estimate(solution.code, "python").get("estimate")
        if target is None or got is None:
            raise GoldError(f"{part}: a solution without a target or an estimate")
        given, deserved = complexity_points(got, target), complexity_points(solution.label, target)
        for group in ("all", "tenant" if solution.on_tenant_problem else "bank"):
            result[group]["solutions"] += 1
            result[group]["same_points"] += given == deserved
            result[group]["points_given_minus_deserved"].append(given - deserved)
    for counts in result.values():
        diffs = counts.pop("points_given_minus_deserved")
        counts["mean_points_error"] = round(sum(diffs) / len(diffs), 1) if diffs else 0.0
    return {"part": part, **result}


if __name__ == "__main__":
    import sys

    for name in sys.argv[1:] or PARTS:
        print(json.dumps(agreement(name)))  # type: ignore[arg-type]
