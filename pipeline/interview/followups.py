"""Follow-up probes: one fixed question per gap, so each asks for exactly what is missing.

Probe sentences are fixed strings so the transcript alone tells which gaps were already probed:
engines stay stateless.
"""

from __future__ import annotations

from collections.abc import Sequence

from pipeline.engine import Turn

PROBES: dict[str, str] = {
    "relevance": "Let me bring us back to the question.",
    "brevity": "Could you go into more detail, with a concrete example?",
    "situation": "Can you set the scene first: where was this, and what was at stake?",
    "ownership": "What did you personally do, as opposed to the team?",
    "outcome": "What was the outcome, and how did you measure it?",
    "measurement": "How did you measure that result? Do you have numbers?",
    "approach": "Before the details, what is your overall approach?",
    "complexity": "What is the time and space complexity of that?",
    "tradeoffs": "What trade-offs did you consider, and which alternative did you reject?",
    "steps": "Can you walk me through your steps one at a time?",
    "reasoning": "Why does that work?",
    "check": "How would you check that your answer is right?",
    "specifics": "Can you make that concrete: which system, which tools, what numbers?",
}


def probe_sentences(gap: str, question_text: str) -> list[str]:
    """The follow-up's words; an off-topic answer gets the question again."""
    if gap == "relevance":
        return [PROBES[gap], question_text]
    return [PROBES[gap]]


def probed_gaps(transcript: Sequence[Turn], question_index: int) -> list[str]:
    """Gaps already probed for this question, read from the follow-up turns' words."""
    gaps: list[str] = []
    for turn in transcript:
        if turn.role != "interviewer" or turn.kind != "follow_up":
            continue
        if turn.question_index != question_index:
            continue
        gaps.append(gap_of(turn))
    return gaps


def gap_of(follow_up: Turn) -> str:
    """The gap a follow-up turn probed: from its meta if the caller kept it, else its words."""
    recorded = str(follow_up.meta.get("gap", ""))
    if recorded in PROBES:
        return recorded
    return next((gap for gap, probe in PROBES.items() if probe in follow_up.text), "brevity")
