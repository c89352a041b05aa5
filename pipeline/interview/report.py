"""The report: overall and per-competency scores with evidence, per-question feedback, status.

Only the plan's questions and the candidate turns' text are inputs; the candidate's name and any
metadata never are. The same transcript always gives the same report. With too little candidate
speech there is no overall number at all (status low_confidence), never a made-up one.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from models.embedding import shared_embedder
from pipeline.coding.scoring import written_score
from pipeline.engine import InterviewPlan, Question, Turn
from pipeline.interview.analysis import AnswerAnalysis, Embedder, analyse
from pipeline.interview.bank import scoring_basis
from pipeline.interview.rubric import RUBRIC_VERSION, AnswerScore, explain, score_answer

LOW_CONFIDENCE_WORDS = 30  # all candidate answers together, below this: nothing to score
SKILLS_WEIGHT = 0.6  # shared by the interview's skills; the rest to the two general ones
GENERAL_COMPETENCIES = ("communication", "problem_solving")
# A coding round's code (the share of hidden tests its last submission passed) counts for this
# share of overall_score, the spoken answers' score (the competencies') for the rest. Half: a
# coding interview judges the code as much as what was said about it and the other questions.
CODE_WEIGHT = 0.5
MAX_QUOTE_WORDS = 30
INPUTS_USED = (
    "plan questions and their key points",
    "interview skills",
    "candidate turns' transcribed text",
)
INPUTS_EXCLUDED = (
    "candidate name and metadata",
    "audio and voice",
    "turns excluded by diarization",
    "interviewer turns",
)


@dataclass(frozen=True)
class AnsweredQuestion:
    index: int
    question: Question
    answer: str
    turns: tuple[Turn, ...]
    analysis: AnswerAnalysis
    score: AnswerScore


def collect_answers(plan: InterviewPlan, transcript: Sequence[Turn]) -> dict[int, list[Turn]]:
    """Candidate turns grouped by the plan question they answer (follow-up answers included)."""
    answers: dict[int, list[Turn]] = {}
    current: int | None = None
    for turn in transcript:
        if turn.role == "interviewer":
            current = turn.question_index if turn.kind != "closing" else None
            continue
        index = turn.question_index if turn.question_index is not None else current
        if index is None or index >= len(plan.questions) or turn.meta.get("excluded"):
            continue
        if turn.text.strip():
            answers.setdefault(index, []).append(turn)
    return answers


def score_questions(
    plan: InterviewPlan, transcript: Sequence[Turn], embedder: Embedder
) -> list[AnsweredQuestion]:
    scored: list[AnsweredQuestion] = []
    for index, turns in sorted(collect_answers(plan, transcript).items()):
        question = plan.questions[index]
        answer = " ".join(t.text.strip() for t in turns)
        analysis = analyse(question, answer, embedder)
        scored.append(
            AnsweredQuestion(
                index,
                question,
                answer,
                tuple(turns),
                analysis,
                score_answer(analysis, question.time_limit_s),
            )
        )
    return scored


def build_report(
    plan: InterviewPlan,
    transcript: Sequence[Turn],
    *,
    ended_early: bool,
    embedder: Embedder | None = None,
) -> dict[str, Any]:
    embedder = embedder or shared_embedder()
    answered = score_questions(plan, transcript, embedder)
    asked = {
        t.question_index
        for t in transcript
        if t.role == "interviewer" and t.question_index is not None
    }
    words = sum(a.analysis.word_count for a in answered)
    engine, engine_version = _engine_of(transcript)
    # The interviewer closed because the interview's duration had passed (chat keeps the budget).
    time_up = any(
        t.role == "interviewer" and t.kind == "closing" and t.meta.get("time_up") is True
        for t in transcript
    )
    report: dict[str, Any] = {
        "status": "completed",
        "overall_score": None,
        "verdict": "",
        "summary": "",
        "competencies": [],
        "strengths": [],
        "improvements": [],
        "questions": [_question_entry(a) for a in answered],
        "coverage": {
            "planned": len(plan.questions),
            "asked": len(asked),
            "answered": len(answered),
            "candidate_words": words,
            "time_up": time_up,
        },
        "inputs_used": list(INPUTS_USED),
        "inputs_excluded": list(INPUTS_EXCLUDED),
        "engine": engine,
        "engine_version": engine_version,
        "rubric_version": RUBRIC_VERSION,
        "model_versions": {"embedding": embedder.version},
        "scoring": _scoring(plan),  # the rubric version and the weights that scored it
        # Other sections (language, fraud_signals) are merged in by their owners.
    }
    if words < LOW_CONFIDENCE_WORDS:
        report["status"] = "low_confidence"
        report["verdict"] = "Not enough evidence to score"
        report["summary"] = (
            f"Only {words} words of candidate answers: too little to score. No score is given."
        )
        report["competencies"] = [
            {**c, "score": None, "explanation": "Not enough evidence."}
            for c in _competencies(plan, [])
        ]
        return report

    competencies = _competencies(plan, answered)
    assessed = [c for c in competencies if c["score"] is not None and c["weight"] > 0]
    total_weight = sum(c["weight"] for c in assessed)
    if total_weight <= 0:  # customer weights only on competencies no answer showed
        report["status"] = "low_confidence"
        report["verdict"] = "Not enough evidence to score"
        report["summary"] = (
            "None of the weighted competencies was assessed by an answer. No score is given."
        )
        report["competencies"] = competencies
        return report
    overall = round(sum(c["weight"] * c["score"] for c in assessed) / total_weight)
    report["overall_score"] = overall
    report["verdict"] = _verdict(overall)
    report["competencies"] = competencies
    report["strengths"] = _most_common(s for a in answered for s in a.score.strengths)
    report["improvements"] = _most_common(s for a in answered for s in a.score.improvements)
    if ended_early:
        report["status"] = "partial"
        report["summary"] = (
            f"The interview ended early: scored on {len(answered)} of {len(plan.questions)} "
            "planned questions."
        )
    elif time_up and len(answered) < len(plan.questions):
        report["summary"] = (
            f"The interview's time ran out: scored on {len(answered)} of {len(plan.questions)} "
            "planned questions."
        )
    else:
        report["summary"] = f"Scored on {len(answered)} of {len(plan.questions)} questions."
    return report


def with_code_score(
    report: dict[str, Any], correctness: int, complexity: int | None
) -> dict[str, Any]:
    """The report with a coding round's written code folded into `overall_score`:
    round((1 - CODE_WEIGHT) * spoken + CODE_WEIGHT * written), where `spoken` is the score the
    competencies gave and `written` the code's correctness (0-100) and complexity (0-100, None
    when not scored) alike (pipeline/coding/scoring.py `written_score`). The explanation of the
    code is not added again: it is the coding question's answer, already in the competencies.
    `scoring.code` says how it was combined. A report without an overall score (low
    confidence) stays without one: the code alone is not the evidence the rule asks for."""
    spoken = report.get("overall_score")
    if spoken is None:
        return report
    written = written_score(correctness, complexity)
    overall = round((1 - CODE_WEIGHT) * spoken + CODE_WEIGHT * written)
    combined = {
        "weight": CODE_WEIGHT,
        "spoken_score": spoken,
        "correctness": correctness,
        "complexity": complexity,
        "written_score": written,
        "overall_score": overall,
        "rule": f"overall_score = round({1 - CODE_WEIGHT:g} x spoken_score + {CODE_WEIGHT:g} x "
        "written_score); written_score is the mean of correctness (the share of hidden tests "
        "the last submission passed, 0 without a submission) and complexity (the code's "
        "reading against the problem's target), or correctness alone when the complexity is "
        "not scored; spoken_score is the competencies' weighted score; the explanation of the "
        "code is counted once, in the competencies",
    }
    return {
        **report,
        "overall_score": overall,
        "verdict": _verdict(overall),
        "summary": f"{report['summary']} The written code ({written}) counts for "
        f"{round(100 * CODE_WEIGHT)}% of the overall score, the spoken answers ({spoken}) "
        "for the rest.",
        "scoring": {**report["scoring"], "code": combined},
    }


def _question_entry(a: AnsweredQuestion) -> dict[str, Any]:
    return {
        "index": a.index,
        "question": a.question.text,
        "skill": a.question.skill,
        "answer": a.answer,
        "score": a.score.score,
        "rating": a.score.rating,
        "feedback": a.score.summary,
        "strengths": list(a.score.strengths),
        "improvements": list(a.score.improvements),
        "explanation": explain(a.analysis),
        # What the score rests on: the tenant's key points (or ideal answer), the catalogue's,
        # key points derived from the CV or job description, or the question's own structure.
        "scored_against": scoring_basis(a.question),
        "key_points": [
            {
                "point": p.label,
                "found": p.found,
                "coverage": p.coverage,
                "similarity": p.similarity,
                "evidence": _turn_quote(a, p.evidence) if p.evidence else None,
                "contradicted_by": _turn_quote(a, p.contradiction) if p.contradiction else None,
            }
            for p in a.analysis.points
        ],
        "signals": {
            "relevance": round(a.analysis.relevance, 3),
            **a.score.components,
            "gaps": list(a.analysis.gaps),
        },
        "turns": [t.index for t in a.turns],
    }


def _skills(plan: InterviewPlan) -> list[str]:
    return list(plan.skills) or list(dict.fromkeys(q.skill for q in plan.questions if q.skill))


def _weights(plan: InterviewPlan) -> list[tuple[str, float]]:
    """Each competency the report scores, in order (the skills, then the general ones), with its
    weight: the interview's own (validated at the API edge to sum to 1; a competency it does not
    name weighs 0), else the rubric's default, rounded as it is used."""
    skills = _skills(plan)
    if plan.competency_weights:
        custom = {str(name): float(weight) for name, weight in plan.competency_weights}
        return [(name, custom.get(name, 0.0)) for name in [*skills, *GENERAL_COMPETENCIES]]
    share = SKILLS_WEIGHT / len(skills) if skills else 0.0
    general = (1.0 - SKILLS_WEIGHT) / 2 if skills else 0.5
    return [
        *((name, round(share, 3)) for name in skills),
        *((name, round(general, 3)) for name in GENERAL_COMPETENCIES),
    ]


def competency_weights(plan: InterviewPlan) -> dict[str, float]:
    """The weights that score the plan's report, by competency name."""
    return dict(_weights(plan))


def _scoring(plan: InterviewPlan) -> dict[str, Any]:
    return {
        "rubric_version": RUBRIC_VERSION,
        "weights_source": "interview" if plan.competency_weights else "default",
        "weights": competency_weights(plan),
    }


def _competencies(plan: InterviewPlan, answered: list[AnsweredQuestion]) -> list[dict[str, Any]]:
    weights = _weights(plan)
    entries: list[dict[str, Any]] = []
    for skill, weight in weights[: len(weights) - len(GENERAL_COMPETENCIES)]:
        mine = [a for a in answered if (a.question.skill or "").lower() == skill.lower()]
        score = _mean([a.score.score for a in mine])
        explanation = (
            f"Mean of {len(mine)} answer(s) on {skill}: " + mine[0].score.summary.lower()
            if mine
            else f"Not assessed: no answered question was on {skill}."
        )
        entries.append(_entry(skill, weight, score, explanation, mine))
    communication = _mean([_communication(a) for a in answered])
    entries.append(
        _entry(
            "communication",
            weights[-2][1],
            communication,
            "Structure, staying on the question, length for the time, and few hedges.",
            answered,
        )
    )
    problem_solving = _mean([_problem_solving(a) for a in answered])
    entries.append(
        _entry(
            "problem_solving",
            weights[-1][1],
            problem_solving,
            "Key points of each question made, judged by meaning (structure where a question has "
            "none).",
            answered,
        )
    )
    return entries


def _entry(
    name: str, weight: float, score: int | None, explanation: str, answers: list[AnsweredQuestion]
) -> dict[str, Any]:
    best = sorted(answers, key=lambda a: (-a.score.score, a.index))[:2]
    return {
        "name": name,
        "weight": weight,
        "score": score,
        "explanation": explanation,
        "evidence": [_quote(a) for a in best if a.analysis.best_sentence],
    }


def _quote(a: AnsweredQuestion) -> dict[str, Any]:
    return _turn_quote(a, a.analysis.best_sentence)


def _turn_quote(a: AnsweredQuestion, sentence: str) -> dict[str, Any]:
    """Words quoted verbatim from the answer, with the turn they were said in."""
    turn = next((t.index for t in a.turns if sentence in t.text), a.turns[0].index)
    words = sentence.split()
    quote = " ".join(words[:MAX_QUOTE_WORDS]) + (" …" if len(words) > MAX_QUOTE_WORDS else "")
    return {"turn": turn, "quote": quote}


def _communication(a: AnsweredQuestion) -> float:
    c = a.score.components
    hedging = 1.0 - min(len(a.analysis.hedges), 3) / 3
    return 100 * (c["structure"] + c["length"] + c["relevance"] + hedging) / 4


def _problem_solving(a: AnsweredQuestion) -> float:
    """The substance shown: key points made (or, without key points, structure and the story)."""
    c = a.score.components
    substance = c.get("substance")
    if substance is None:
        return 100 * (c["structure"] + c["specificity"]) / 2
    return 100 * substance


def _mean(values: list[float] | list[int]) -> int | None:
    return round(sum(values) / len(values)) if values else None


def _verdict(score: int) -> str:
    if score >= 80:
        return "Strong"
    if score >= 65:
        return "Solid"
    if score >= 45:
        return "Mixed"
    return "Needs improvement"


def _most_common(items: Any, limit: int = 5) -> list[str]:
    counts = Counter(items)
    return [text for text, _ in counts.most_common(limit)]


def _engine_of(transcript: Sequence[Turn]) -> tuple[str, str]:
    for turn in reversed(transcript):
        if turn.role == "interviewer" and "engine" in turn.meta:
            return str(turn.meta["engine"]), str(turn.meta.get("engine_version", ""))
    return "structured", ""
