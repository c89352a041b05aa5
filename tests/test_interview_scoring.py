"""Scoring and the report, with the real packaged embedding model and a labelled gold set."""

from __future__ import annotations

import json

from models.embedding import SentenceEmbedder
from pipeline.engine import InterviewPlan, Question, Turn
from pipeline.interview.analysis import analyse
from pipeline.interview.report import build_report
from pipeline.interview.rubric import RUBRIC_VERSION, explain, score_answer
from tests.bench_scoring import gold_agreement

STAR_ANSWER = (
    "In 2023 at Finly I was responsible for a reporting export with a ten day deadline. "
    "I met the client to agree which four features they needed, I wrote the PDF generator "
    "myself and set up daily check-ins. We shipped on day nine and the export now handles "
    "about 3,000 reports a month, which reduced manual work by 60 percent."
)
TECH_ANSWER = (
    "First I would use a hash map from value to index in a single pass: for each number I "
    "compute the complement and check the map. That is O(n) time and O(n) space; the "
    "trade-off versus nested loops is memory instead of quadratic time."
)


def _plan(**changes: object) -> InterviewPlan:
    questions = (
        Question(
            "q1", "Tell me about a time you delivered under a tight deadline.", 120, "Ownership"
        ),
        Question(
            "q2",
            "Given an array and a target, return the indices of two numbers that add up to it.",
            180,
            "Hash maps",
            style="technical",
            key_points=("hash map", "single pass", "O(n) time"),
        ),
    )
    base: dict[str, object] = {
        "questions": questions,
        "skills": ("Ownership", "Hash maps"),
        "interview_type": "technical",
    }
    return InterviewPlan(**{**base, **changes})  # type: ignore[arg-type]


def _transcript(first: str, second: str | None = None) -> list[Turn]:
    turns = [
        Turn(
            0,
            "interviewer",
            "Hi. Tell me about a time you delivered under a tight deadline.",
            0,
            "opening",
        ),
        Turn(1, "candidate", first),
    ]
    if second is not None:
        turns += [
            Turn(2, "interviewer", "Next question. Given an array...", 1, "question"),
            Turn(3, "candidate", second),
            Turn(4, "interviewer", "That's all my questions.", None, "closing"),
        ]
    return turns


def test_gold_set_scores_order_answers_within_each_question(embedder: SentenceEmbedder) -> None:
    results = gold_agreement(embedder)
    assert len(results) >= 6
    assert all(len(set(r.labels)) == 4 for r in results)
    right = sum(r.pairs()[0] for r in results)
    total = sum(r.pairs()[1] for r in results)
    # The target (measured 35/36: the thin slow-query answer above the strong one).
    assert right / total >= 0.95, [(r.question[:30], r.labels, r.scores) for r in results]
    # Off-topic answers are never scored above any on-topic one of the same question.
    for r in results:
        off_topic = r.scores[r.labels.index(0)]
        assert off_topic < min(s for s, label in zip(r.scores, r.labels, strict=True) if label == 3)


def test_analysis_names_what_an_answer_lacks(embedder: SentenceEmbedder) -> None:
    question = _plan().questions[1]
    lacking = analyse(question, "I would loop over the numbers with two loops and check.", embedder)
    assert {"complexity", "tradeoffs", "brevity"} <= set(lacking.gaps)
    full = analyse(question, TECH_ANSWER, embedder)
    assert full.parts == {"approach": True, "complexity": True, "tradeoffs": True}
    assert "hash map" in full.key_points_covered


def test_completed_report_has_scores_evidence_and_versions(embedder: SentenceEmbedder) -> None:
    report = build_report(
        _plan(), _transcript(STAR_ANSWER, TECH_ANSWER), ended_early=False, embedder=embedder
    )
    assert report["status"] == "completed"
    assert isinstance(report["overall_score"], int) and 60 <= report["overall_score"] <= 100
    names = [c["name"] for c in report["competencies"]]
    assert names == ["Ownership", "Hash maps", "communication", "problem_solving"]
    assert abs(sum(c["weight"] for c in report["competencies"]) - 1.0) < 1e-6
    for competency in report["competencies"]:
        assert competency["explanation"]
        for evidence in competency["evidence"]:  # quotes are verbatim from the cited turn
            turn_text = {1: STAR_ANSWER, 3: TECH_ANSWER}[evidence["turn"]]
            assert evidence["quote"].rstrip(" …") in turn_text
    assert [q["answer"] for q in report["questions"]] == [STAR_ANSWER, TECH_ANSWER]
    assert all(q["feedback"] and 0 <= q["score"] <= 100 for q in report["questions"])
    assert report["rubric_version"] == RUBRIC_VERSION
    assert "all-MiniLM-L6-v2" in report["model_versions"]["embedding"]
    assert report["engine"] == "structured"
    assert "candidate name and metadata" in report["inputs_excluded"]
    json.dumps(report)  # JSON-able as it is


def test_same_transcript_same_report(embedder: SentenceEmbedder) -> None:
    transcript = _transcript(STAR_ANSWER, TECH_ANSWER)
    first = build_report(_plan(), transcript, ended_early=False, embedder=embedder)
    again = build_report(_plan(), list(transcript), ended_early=False, embedder=embedder)
    assert json.dumps(first, sort_keys=True) == json.dumps(again, sort_keys=True)


def test_candidate_name_is_not_an_input(embedder: SentenceEmbedder) -> None:
    transcript = _transcript(STAR_ANSWER, TECH_ANSWER)
    anonymous = build_report(_plan(), transcript, ended_early=False, embedder=embedder)
    named = build_report(
        _plan(candidate_first_name="Aisha"), transcript, ended_early=False, embedder=embedder
    )
    assert anonymous == named


def test_empty_and_one_word_answers_are_low_confidence(embedder: SentenceEmbedder) -> None:
    for transcript in ([], _transcript("Yes."), _transcript("Yes.", "No.")):
        report = build_report(_plan(), transcript, ended_early=False, embedder=embedder)
        assert report["status"] == "low_confidence"
        assert report["overall_score"] is None
        assert all(c["score"] is None for c in report["competencies"])
        assert "No score" in report["summary"]


def test_ended_early_is_partial_and_scored_on_what_completed(embedder: SentenceEmbedder) -> None:
    report = build_report(_plan(), _transcript(STAR_ANSWER), ended_early=True, embedder=embedder)
    assert report["status"] == "partial"
    assert isinstance(report["overall_score"], int)
    assert "1 of 2" in report["summary"]
    assert report["coverage"]["answered"] == 1
    by_name = {c["name"]: c for c in report["competencies"]}
    assert by_name["Hash maps"]["score"] is None  # never asked: not guessed
    assert by_name["Ownership"]["score"] is not None


def test_excluded_turns_are_not_scored(embedder: SentenceEmbedder) -> None:
    transcript = _transcript(STAR_ANSWER, TECH_ANSWER)
    other_voice = Turn(2, "candidate", "Psst, say hash map and O of n.", meta={"excluded": True})
    with_whisper = [
        *transcript[:2],
        other_voice,
        *[Turn(t.index + 1, t.role, t.text, t.question_index, t.kind) for t in transcript[2:]],
    ]
    plain = build_report(_plan(), transcript, ended_early=False, embedder=embedder)
    whispered = build_report(_plan(), with_whisper, ended_early=False, embedder=embedder)
    assert plain["overall_score"] == whispered["overall_score"]
    assert "Psst" not in json.dumps(whispered)


SEASONS = Question(
    "k1",
    "Why do we have seasons on Earth?",
    120,
    "Earth science",
    style="explanation",
    key_points=("tilt of the axis", "orbit", "sunlight angle"),
)


def test_key_points_are_judged_by_meaning_with_quoted_evidence(embedder: SentenceEmbedder) -> None:
    # No key point's words ("tilt of the axis", "sunlight angle") appear as such.
    answer = (
        "Because the planet leans over to one side as it travels around the Sun. For half the "
        "year our half points toward the Sun, so the light comes in more directly and the days "
        "are longer."
    )
    analysis = analyse(SEASONS, answer, embedder)
    found = {p.label: p for p in analysis.points if p.found}
    assert {"orbit", "sunlight angle"} <= set(found)
    for point in found.values():
        assert point.evidence and point.evidence in answer  # quoted verbatim
    explanation = explain(analysis)
    assert explanation.startswith("Key points found:") and '("' in explanation


def test_a_claim_contradicting_a_key_point_is_penalised_and_quoted(
    embedder: SentenceEmbedder,
) -> None:
    wrong = (
        "We have seasons because the Earth is much closer to the Sun in summer and much farther "
        "away in winter, so it is hotter when we are close."
    )
    analysis = analyse(SEASONS, wrong, embedder)
    assert [p.label for p in analysis.contradictions] == ["tilt of the axis"]
    assert analysis.contradictions[0].contradiction in wrong
    score = score_answer(analysis, SEASONS.time_limit_s)
    assert score.score < 25
    assert any("contradicts" in tip for tip in score.improvements)
    right = analyse(
        SEASONS,
        "The Earth's axis is tilted, so each half leans toward the Sun "
        "for part of the orbit and gets more direct light.",
        embedder,
    )
    assert not right.contradictions
    assert score_answer(right, SEASONS.time_limit_s).score > score.score + 30


def test_report_names_key_points_found_and_missed_with_turn_quotes(
    embedder: SentenceEmbedder,
) -> None:
    report = build_report(
        _plan(), _transcript(STAR_ANSWER, TECH_ANSWER), ended_early=False, embedder=embedder
    )
    technical = report["questions"][1]
    points = {p["point"]: p for p in technical["key_points"]}
    assert set(points) == {"hash map", "single pass", "O(n) time"}
    assert points["hash map"]["found"]
    evidence = points["hash map"]["evidence"]
    assert evidence["turn"] == 3 and evidence["quote"].rstrip(" …") in TECH_ANSWER
    assert "hash map" in technical["explanation"]
    assert report["questions"][0]["key_points"] == []  # a custom question: none to name


def test_scores_do_not_depend_on_what_was_scored_before(embedder: SentenceEmbedder) -> None:
    from pipeline.interview import analysis as module

    question = _plan().questions[1]
    module._REFERENCES.clear()
    module._UNITS.clear()
    first = analyse(question, TECH_ANSWER, embedder)
    analyse(_plan().questions[0], STAR_ANSWER, embedder)
    module._REFERENCES.clear()
    module._UNITS.clear()
    analyse(question, "I would use two loops.", embedder)
    again = analyse(question, TECH_ANSWER, embedder)
    assert first == again
