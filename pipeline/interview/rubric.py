"""The rubric: an answer's analysis to a 0-100 score, an anchored 1-5 rating, and feedback.

Weights and anchors are fixed and versioned (RUBRIC_VERSION): change them, bump the version, so
every stored report says which rubric scored it.
"""

from __future__ import annotations

from dataclasses import dataclass

from pipeline.engine import Feedback
from pipeline.interview.analysis import MIN_WORDS, OFF_TOPIC_RELEVANCE, AnswerAnalysis

RUBRIC_VERSION = "2026.11-1"

WEIGHTS = {
    "relevance": 0.30,
    "structure": 0.20,
    "specificity": 0.20,
    "key_points": 0.10,
    "ownership": 0.05,
    "length": 0.15,
}
HEDGE_PENALTY = 0.03  # per hedge, at most three
OFF_TOPIC_CAP = 25

ANCHORS = {
    1: "Off-topic or no real answer.",
    2: "Touches the question but vague: few specifics, little structure.",
    3: "Adequate: answers the question with some structure and detail.",
    4: "Good: structured, specific, with a clear result or reasoning.",
    5: "Strong: complete, specific, quantified, weighs alternatives.",
}

_PART_NAMES = {
    "situation": "set the scene",
    "action": "said what you did",
    "result": "gave the result",
    "approach": "laid out an approach",
    "complexity": "stated the complexity or cost",
    "tradeoffs": "weighed trade-offs",
    "steps": "showed your steps",
    "reasoning": "explained why",
    "check": "checked it or gave an example",
}
_ADVICE = {
    "relevance": "Answer the question that was asked; tie your example back to it.",
    "brevity": "Say more: one concrete example with enough detail to judge.",
    "situation": "Open with the situation: where, when, and what was at stake.",
    "ownership": "Say what you personally did, not only what the team did.",
    "outcome": "End with the outcome: what changed because of what you did.",
    "measurement": "Quantify the result: a number, a percentage, a before and after.",
    "approach": "Lay out your approach step by step before the details.",
    "complexity": "State the time and space complexity (or the cost) of your solution.",
    "tradeoffs": "Name an alternative and the trade-off that made you choose.",
    "steps": "Show your steps one at a time.",
    "reasoning": "Explain why each step works, not only what it is.",
    "check": "Check your answer or illustrate it with an example.",
    "specifics": "Be specific: name the systems, tools, numbers.",
    "hedging": "Commit to your answer; fewer 'maybe' and 'I think'.",
    "length": "Keep within the time: lead with the point, then the detail.",
}


@dataclass(frozen=True)
class AnswerScore:
    score: int  # 0-100
    rating: int  # 1-5 on the anchored scale
    components: dict[str, float]  # each 0..1, before weighting
    strengths: tuple[str, ...]
    improvements: tuple[str, ...]

    def feedback(self) -> Feedback:
        return Feedback(self.strengths, self.improvements, self.score)

    @property
    def summary(self) -> str:
        return ANCHORS[self.rating]


def score_answer(a: AnswerAnalysis, time_limit_s: int) -> AnswerScore:
    components = _components(a, time_limit_s)
    weights = dict(WEIGHTS)
    if components["key_points"] < 0:  # the question has no key points: weigh relevance instead
        weights["relevance"] += weights.pop("key_points")
        components.pop("key_points")
    raw = sum(weights[name] * components[name] for name in weights)
    raw -= HEDGE_PENALTY * min(len(a.hedges), 3)
    score = round(100 * max(0.0, min(1.0, raw)))
    if a.relevance < OFF_TOPIC_RELEVANCE:
        score = min(score, OFF_TOPIC_CAP)
    return AnswerScore(
        score=score,
        rating=_rating(score),
        components={k: round(val, 3) for k, val in components.items()},
        strengths=_strengths(a),
        improvements=_improvements(a, time_limit_s),
    )


def _components(a: AnswerAnalysis, time_limit_s: int) -> dict[str, float]:
    ownership = a.ownership if a.style == "behavioral" else 1.0 if a.word_count else 0.0
    return {
        "relevance": a.relevance,
        "structure": a.structure,
        "specificity": a.specificity,
        "key_points": (
            len(a.key_points_covered) / (len(a.key_points_covered) + len(a.key_points_missing))
        )
        if (a.key_points_covered or a.key_points_missing)
        else -1.0,
        "ownership": ownership,
        "length": _length_fit(a.word_count, a.speaking_s, time_limit_s),
    }


def _length_fit(word_count: int, speaking_s: float, time_limit_s: int) -> float:
    if word_count == 0:
        return 0.0
    enough = min(1.0, word_count / (MIN_WORDS * 3))  # ~75 words makes a full answer
    overrun = max(0.0, speaking_s / max(time_limit_s, 1) - 1.2)
    return max(0.0, enough - overrun)


def _rating(score: int) -> int:
    return 1 if score < 25 else 2 if score < 45 else 3 if score < 65 else 4 if score < 82 else 5


def _strengths(a: AnswerAnalysis) -> tuple[str, ...]:
    found: list[str] = []
    if a.relevance >= 0.6:
        found.append("Stayed on the question.")
    done = [_PART_NAMES[p] for p, present in a.parts.items() if present]
    if len(done) >= 2:
        found.append("Structured: " + ", ".join(done) + ".")
    if a.technologies:
        found.append("Specific: named " + ", ".join(a.technologies[:4]) + ".")
    if a.quantified_outcome:
        found.append("Quantified the result (" + ", ".join(a.numbers[:3]) + ").")
    if a.style == "behavioral" and a.i_count >= 3 and a.ownership >= 0.5:
        found.append("Clear about your own part.")
    if a.key_points_covered:
        found.append("Covered " + ", ".join(a.key_points_covered[:3]) + ".")
    return tuple(found) if a.relevance >= OFF_TOPIC_RELEVANCE else ()


def _improvements(a: AnswerAnalysis, time_limit_s: int) -> tuple[str, ...]:
    advice = [_ADVICE[gap] for gap in a.gaps]
    if len(a.hedges) >= 2:
        advice.append(_ADVICE["hedging"])
    if a.speaking_s > 1.2 * time_limit_s:
        advice.append(_ADVICE["length"])
    if a.key_points_missing and a.relevance >= OFF_TOPIC_RELEVANCE:
        advice.append("Also cover: " + ", ".join(a.key_points_missing[:3]) + ".")
    return tuple(advice)
