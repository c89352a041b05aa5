"""The rubric: an answer's analysis to a 0-100 score, an anchored 1-5 rating, and feedback.

Weights and anchors are fixed and versioned (RUBRIC_VERSION): change them, bump the version, so
every stored report says which rubric scored it.
"""

from __future__ import annotations

from dataclasses import dataclass

from pipeline.engine import Feedback
from pipeline.interview.analysis import AnswerAnalysis

RUBRIC_VERSION = "2026.12-tenant-2"

# Questions with key points (every bank question): the score is the substance (analysis.py): the
# weighted share of key points made, judged by meaning, and for a behavioural question also the
# story told; on a fixed scale, less contradictions and hedges. Nothing else adds to it: not
# length beyond "enough to judge", not vocabulary, not buzzwords, not the question's own words.
# Calibration of the thresholds and the gold set: docs/scoring.md.
SUBSTANCE_FLOOR = 0.25  # engages with the question (beyond restating it), but no point made
NOTHING_SAID = 0.08  # strings of terms, nothing else
RESTATED = 0.06  # only the question restated (with strings of terms or not): a dodge
SUBSTANCE_SPAN = 0.70  # every point made: 95
ENOUGH_WORDS = 8  # fewer words than this are too few to judge; more earn nothing
CONTRADICTION_PENALTY = 0.12  # per key point contradicted, at most two

# Questions without key points (custom, CV and job-description questions): what can be judged
# without them, on the same scale. A behavioural answer: its story (a specific event, what the
# candidate did, how it ended), and a little its structure; any other: its structure (approach,
# complexity, trade-offs; or steps, reasoning, check), as said in its claims.
# A tenant's key points are one short statement each (a catalogue point has several, and wrong
# ones): their coverage is weaker evidence, so what the question itself asks for keeps a share.
# Flat from 0.5 to 0.7 on the tenant set's working half; the middle is taken.
TENANT_POINTS_SHARE = 0.6
CONTENT_SHARE = 0.5  # specific content brought beyond the question; the rest: the story, or
# the approach's parts
RELEVANT_ENOUGH = 0.6  # relevance (reported) at or above this is full marks
HEDGE_PENALTY = 0.03  # per hedge, at most three
OFF_TOPIC_CAP = 5  # below an on-topic answer that says nothing

ANCHORS = {
    1: "Off-topic or no real answer.",
    2: "Touches the question but shows little: vague, generic, or wrong.",
    3: "Adequate: answers the question and makes some of its key points.",
    4: "Good: makes most of the key points, specifically.",
    5: "Strong: makes the key points completely and specifically.",
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
    substance = a.substance
    if substance is None:  # no key points: what can be judged without them
        substance = structural_substance(a)
    elif a.tenant_points:
        substance = TENANT_POINTS_SHARE * substance + (1 - TENANT_POINTS_SHARE) * (
            structural_substance(a)
        )
    floor = SUBSTANCE_FLOOR if a.engaged else RESTATED if a.echoes else NOTHING_SAID
    raw = (floor + SUBSTANCE_SPAN * substance) * components["length"]
    raw -= CONTRADICTION_PENALTY * min(len(a.contradictions), 2)
    if a.engaged:  # wrong is worse than vague, but still more than saying nothing
        raw = max(raw, NOTHING_SAID + 0.02)
    raw -= HEDGE_PENALTY * min(len(a.hedges), 3)
    score = round(100 * max(0.0, min(1.0, raw)))
    if a.off_topic:
        score = min(score, OFF_TOPIC_CAP)
    return AnswerScore(
        score=score,
        rating=_rating(score),
        components={k: round(val, 3) for k, val in components.items()},
        strengths=_strengths(a),
        improvements=_improvements(a, time_limit_s),
    )


def structural_substance(a: AnswerAnalysis) -> float:
    """A question without key points: what the question itself asks for, and the specific
    content brought to it. A behavioural question asks for a story (a specific event, what the
    candidate did, how it ended); any other for an approach and its reasons (its parts)."""
    shape = a.story_quality if a.style == "behavioral" else a.structure
    return CONTENT_SHARE * a.content + (1 - CONTENT_SHARE) * shape


def _components(a: AnswerAnalysis, time_limit_s: int) -> dict[str, float]:
    ownership = a.ownership if a.style == "behavioral" else 1.0 if a.word_count else 0.0
    components = {
        "relevance": min(1.0, a.relevance / RELEVANT_ENOUGH),
        "structure": a.structure,
        "specificity": min(1.0, (len(a.numbers) + len(a.key_points_covered)) / 3),
        "ownership": ownership,
        "length": _length_fit(a, time_limit_s),
    }
    if a.style == "behavioral":
        components["story"] = a.story_quality
    if a.coverage is not None:
        components["key_points"] = a.coverage
        components["contradictions"] = float(len(a.contradictions))
    if a.substance is not None:
        components["substance"] = a.substance
    return components


def _length_fit(a: AnswerAnalysis, time_limit_s: int) -> float:
    """1.0 once there is enough to judge; less only when too short (or far over the time)."""
    if a.word_count == 0:
        return 0.0
    enough = min(1.0, a.word_count / ENOUGH_WORDS)
    overrun = max(0.0, a.speaking_s / max(time_limit_s, 1) - 1.2)
    return max(0.0, enough - overrun)


def _rating(score: int) -> int:
    return 1 if score < 25 else 2 if score < 45 else 3 if score < 65 else 4 if score < 82 else 5


def _strengths(a: AnswerAnalysis) -> tuple[str, ...]:
    if a.off_topic:
        return ()
    found: list[str] = []
    for point in a.points:
        if point.found:
            found.append(f'Made the point "{point.label}": "{_quote(point.evidence)}"')
    if a.relevance >= 0.6 and not a.points:
        found.append("Stayed on the question.")
    done = [_PART_NAMES[p] for p, present in a.parts.items() if present]
    if len(done) >= 2 and (a.substance is None or a.substance >= 0.5):
        found.append("Structured: " + ", ".join(done) + ".")
    if a.quantified_outcome and a.substance is None:
        found.append("Quantified the result (" + ", ".join(a.numbers[:3]) + ").")
    if a.style == "behavioral" and a.i_count >= 3 and a.ownership >= 0.5:
        found.append("Clear about your own part.")
    return tuple(found)


def _improvements(a: AnswerAnalysis, time_limit_s: int) -> tuple[str, ...]:
    advice = [_ADVICE[gap] for gap in a.gaps]
    for point in a.contradictions:
        advice.append(f'Check this: "{_quote(point.contradiction)}" contradicts "{point.label}".')
    if len(a.hedges) >= 2:
        advice.append(_ADVICE["hedging"])
    if a.speaking_s > 1.2 * time_limit_s:
        advice.append(_ADVICE["length"])
    if a.key_points_missing and not a.off_topic:
        advice.append("Also cover: " + ", ".join(a.key_points_missing[:3]) + ".")
    return tuple(advice)


def explain(a: AnswerAnalysis) -> str:
    """One line a reviewer can check: the key points found (with the words that made them),
    missed, and contradicted."""
    if not a.points:
        return "No key points for this question: scored on relevance, structure and specifics."
    found = [f'{p.label} ("{_quote(p.evidence)}")' for p in a.points if p.found]
    missed = [p.label for p in a.points if not p.found and not p.contradiction]
    wrong = [f'{p.label} ("{_quote(p.contradiction)}")' for p in a.contradictions]
    text = f"Key points found: {'; '.join(found) if found else 'none'}."
    if missed:
        text += f" Missed: {', '.join(missed)}."
    if wrong:
        text += f" Contradicted: {'; '.join(wrong)}."
    return text


def _quote(text: str, limit: int = 25) -> str:
    words = text.split()
    return " ".join(words[:limit]) + (" …" if len(words) > limit else "")
