"""A coding round's code counts in the report's overall score (server/code.py `with_code`,
pipeline/interview/report.py `with_code_score`, docs/scoring.md "Coding rounds"): its correctness
and its complexity against the problem's target (pipeline/coding/scoring.py). No models: the
spoken part of the report is given as the rubric would have left it."""

from __future__ import annotations

import copy
from typing import Any

import pydantic
import pytest

from pipeline.coding.complexity import growth
from pipeline.coding.problems import Problem, ProblemFields, ProblemTest, bank_problem
from pipeline.coding.scoring import complexity_points
from pipeline.engine import InterviewPlan
from pipeline.interview.report import CODE_WEIGHT
from server.code import code_section, with_code

EXTRA = {"coding": {"problem_id": "two-sum", "languages": [], "required": True, "only": False}}


def _two_sum() -> Problem:
    problem = bank_problem("two-sum")
    assert isinstance(problem, Problem)
    return problem


def _plan() -> InterviewPlan:
    return InterviewPlan(questions=(_two_sum().question(),), interview_type="technical")


LINEAR = _two_sum().reference["python"]
QUADRATIC = """
import sys
data = sys.stdin.read().split()
n = int(data[0])
nums = [int(x) for x in data[1 : 1 + n]]
target = int(data[1 + n])
for i in range(n):
    for j in range(i + 1, n):
        if nums[i] + nums[j] == target:
            print(i, j)
"""


def _spoken(overall: int | None = 70) -> dict[str, Any]:
    """A report as the rubric leaves it: the coding question's explanation scored 60."""
    return {
        "status": "completed" if overall is not None else "low_confidence",
        "overall_score": overall,
        "verdict": "Solid" if overall is not None else "Not enough evidence to score",
        "summary": "Scored on 1 of 1 questions.",
        "questions": [{"index": 0, "score": 60, "feedback": "Covers the approach."}],
        "scoring": {"rubric_version": "r", "weights_source": "default", "weights": {}},
    }


def _submission(
    hidden_passed: int, hidden_total: int = 3, status: str = "ok", code: str = "print(0)\n"
) -> dict[str, Any]:
    return {
        "kind": "submission",
        "at": 1.0,
        "session_s": 12.0,
        "language": "python",
        "code": code,
        "status": status,
        "visible_passed": 3,
        "visible_total": 3,
        "hidden_passed": hidden_passed,
        "hidden_total": hidden_total,
    }


def _report(
    runs: list[dict[str, Any]], overall: int | None = 70, problem: Problem | None = None
) -> dict[str, Any]:
    spoken = _spoken(overall)
    section = code_section(EXTRA, _plan(), runs, spoken, problem or _two_sum())
    assert section is not None
    return with_code(spoken, section)


def test_all_hidden_tests_passed_raise_the_overall_score() -> None:
    report = _report([_submission(3)])
    assert report["overall_score"] == round((1 - CODE_WEIGHT) * 70 + CODE_WEIGHT * 100) == 85
    assert report["verdict"] == "Strong"
    assert report["code"]["correctness"] == 100


def test_a_failing_submission_lowers_the_overall_score() -> None:
    passed_one = _report([_submission(1)])
    failed = _report([_submission(0, status="failed")])
    assert passed_one["overall_score"] == round(0.5 * 70 + 0.5 * 33) == 52
    assert failed["overall_score"] == 35 and failed["verdict"] == "Needs improvement"


def test_the_last_submission_is_the_one_counted() -> None:
    runs = [_submission(0, status="failed"), {**_submission(3), "kind": "run"}, _submission(3)]
    assert _report(runs)["overall_score"] == 85


def test_no_submission_counts_as_no_correct_code() -> None:
    """Skipping the submission must not score better than submitting code that fails."""
    report = _report([{**_submission(3), "kind": "run"}])
    assert report["code"]["submitted"] is False
    assert report["overall_score"] == 35
    assert report["overall_score"] == _report([_submission(0)])["overall_score"]


def test_the_evidence_says_how_the_score_was_combined() -> None:
    report = _report([_submission(3)])
    combined = report["scoring"]["code"]
    assert combined["weight"] == CODE_WEIGHT
    assert (combined["spoken_score"], combined["correctness"]) == (70, 100)
    assert (combined["complexity"], combined["written_score"]) == (100, 100)
    assert combined["overall_score"] == report["overall_score"]
    assert "0.5 x spoken_score + 0.5 x written_score" in combined["rule"]
    assert "counts for 50% of the overall score" in report["summary"]
    assert "scoring.code" in report["code"]["scoring"]
    # The explanation is counted once, in the competencies: its score is not added again.
    assert report["code"]["explanation_score"] == 60
    assert report["overall_score"] != round((70 + report["code"]["score"]) / 2)


def test_a_low_confidence_report_gets_no_number_from_the_code() -> None:
    report = _report([_submission(3)], overall=None)
    assert report["overall_score"] is None and report["status"] == "low_confidence"
    assert "code" not in report["scoring"] and report["code"]["correctness"] == 100


def test_a_report_without_a_coding_round_is_left_alone() -> None:
    spoken = _spoken()
    before = copy.deepcopy(spoken)
    assert code_section({}, _plan(), [_submission(3)], spoken, _two_sum()) is None
    assert spoken == before


# -- complexity --------------------------------------------------------------------------------


def test_a_slower_solution_scores_lower_on_complexity() -> None:
    """Both pass every hidden test; the brute force reads O(n^2) where two-sum wants O(n)."""
    fast = _report([_submission(3, code=LINEAR)])
    slow = _report([_submission(3, code=QUADRATIC)])
    assert fast["code"]["complexity_score"]["score"] == 100
    entry = slow["code"]["complexity_score"]
    assert (entry["estimate"], entry["target"], entry["target_from"]) == (
        "O(n^2)",
        "O(n)",
        "problem",
    )
    assert entry["points"] == entry["score"] == 40
    assert "reads as O(n^2), above the problem's O(n)" in entry["reason"]
    assert slow["scoring"]["code"]["written_score"] == 70
    assert (fast["overall_score"], slow["overall_score"]) == (85, 70)
    assert slow["code"]["score"] == round((100 + 40 + 60) / 3)


def test_the_complexity_counts_as_far_as_the_code_is_right() -> None:
    """A wrong answer's speed earns nothing: print(0) reads O(1)."""
    trivial = _report([_submission(1)])["code"]["complexity_score"]
    assert (trivial["points"], trivial["score"]) == (100, 33)
    wrong = _report([_submission(0, status="failed")])["code"]["complexity_score"]
    assert wrong["score"] == 0
    slow = _report([_submission(2, code=QUADRATIC)])["code"]["complexity_score"]
    assert slow["score"] == round(40 * 67 / 100)


def _tenant_problem(**fields: Any) -> Problem:
    base = ProblemFields(
        title="Double it",
        statement="Print twice the number read.",
        tests=[ProblemTest(name="one", input="2\n", output="4", hidden=True)],
        **fields,
    )
    return Problem(**base.model_dump(), id="prb_0123456789abcdef", source="tenant")


def test_a_tenant_problem_is_scored_against_what_it_says_or_its_reference() -> None:
    """Most tenants write no expected complexity: the Python reference's reading stands in;
    with neither, the complexity is not scored and the written code is its correctness."""
    said = _tenant_problem(expected_complexity="O(n log n)")
    entry = _report([_submission(3, code=QUADRATIC)], problem=said)["code"]["complexity_score"]
    assert (entry["target"], entry["target_from"], entry["score"]) == ("O(n log n)", "problem", 40)
    referenced = _tenant_problem(reference={"python": LINEAR})
    entry = _report([_submission(3, code=QUADRATIC)], problem=referenced)["code"]
    assert (entry["complexity_score"]["target"], entry["complexity_score"]["target_from"]) == (
        "O(n)",
        "reference",
    )
    bare = _report([_submission(2, code=QUADRATIC)], problem=_tenant_problem())
    entry = bare["code"]["complexity_score"]
    assert entry["score"] is None and "no expected complexity" in entry["reason"]
    assert bare["scoring"]["code"]["written_score"] == 67  # the correctness alone
    assert bare["code"]["score"] == round((67 + 60) / 2)


def test_code_that_is_not_read_is_not_scored_on_complexity() -> None:
    js = {**_submission(3, code="console.log(1)"), "language": "javascript"}
    entry = _report([js])["code"]["complexity_score"]
    assert entry["score"] is None and "not estimated" in entry["reason"]
    assert _report([js])["scoring"]["code"]["written_score"] == 100


@pytest.mark.parametrize(
    ("read", "target", "points"),
    [
        ("O(n)", "O(n)", 100),
        ("O(log n)", "O(n)", 100),
        ("O(n log n)", "O(n)", 70),
        ("O(n^2)", "O(n log n)", 40),
        ("O(n^2)", "O(n)", 40),
        ("O(n^3)", "O(n)", 10),
        ("O(2^n)", "O(n^2)", 10),
        ("O(2^n)", "O(2^n)", 100),
        ("O(n^2 log n)", "O(n^2)", 70),
    ],
)
def test_complexity_points(read: str, target: str, points: int) -> None:
    assert complexity_points(read, target) == points


def test_big_o_texts_order_by_growth_and_bad_ones_are_refused() -> None:
    order = ["O(1)", "O(log n)", "O(n)", "O(n log n)", "O(n^2)", "O(n^2 log n)", "O(n^3)"]
    assert [growth(t) for t in order] == sorted(growth(t) for t in order)
    assert growth("O(2^n)") > growth("O(n^3)")
    assert growth("O(n*log(n))") == growth("O(n log n)") == growth("O(nlogn)")
    assert growth("O(n²)") == growth("O(n^2)")
    for bad in ("O(V+E)", "O(n*m)", "n^2", "O()", "O(n^)"):
        with pytest.raises(ValueError):
            growth(bad)
        with pytest.raises(pydantic.ValidationError, match="expected_complexity"):
            _tenant_problem(expected_complexity=bad)
