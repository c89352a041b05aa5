"""A coding round's code counts in the report's overall score (server/code.py `with_code`,
pipeline/interview/report.py `with_code_score`, docs/scoring.md "Coding rounds"). No models: the
spoken part of the report is given as the rubric would have left it."""

from __future__ import annotations

import copy
from typing import Any

from pipeline.coding.problems import Problem, bank_problem
from pipeline.engine import InterviewPlan
from pipeline.interview.report import CODE_WEIGHT
from server.code import code_section, with_code

EXTRA = {"coding": {"problem_id": "two-sum", "languages": [], "required": True, "only": False}}


def _plan() -> InterviewPlan:
    problem = bank_problem("two-sum")
    assert isinstance(problem, Problem)
    return InterviewPlan(questions=(problem.question(),), interview_type="technical")


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


def _submission(hidden_passed: int, hidden_total: int = 3, status: str = "ok") -> dict[str, Any]:
    return {
        "kind": "submission",
        "at": 1.0,
        "session_s": 12.0,
        "language": "python",
        "code": "print(0)\n",
        "status": status,
        "visible_passed": 3,
        "visible_total": 3,
        "hidden_passed": hidden_passed,
        "hidden_total": hidden_total,
    }


def _report(runs: list[dict[str, Any]], overall: int | None = 70) -> dict[str, Any]:
    spoken = _spoken(overall)
    section = code_section(EXTRA, _plan(), runs, spoken)
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
    assert combined["overall_score"] == report["overall_score"]
    assert "0.5 x spoken_score + 0.5 x correctness" in combined["rule"]
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
    assert code_section({}, _plan(), [_submission(3)], spoken) is None
    assert spoken == before
