"""Analyse one answer: relevance, specificity, structure, ownership, outcome, length, hedging.

Every signal is something a reviewer can check: a similarity from the embedding model, or the
words matched. Gaps come out in the order a good interviewer would probe them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from pipeline.engine import Question
from pipeline.interview import vocabulary as v

SPEAKING_WORDS_PER_S = 2.5  # ~150 words a minute
MIN_WORDS = 25  # below this an answer is too short to show anything
# Cosine similarity (all-MiniLM-L6-v2) of an unrelated and a squarely on-topic answer.
SIMILARITY_FLOOR = 0.08
SIMILARITY_CEILING = 0.55
OFF_TOPIC_RELEVANCE = 0.1  # ~0.13 cosine: unrelated answers sit near 0.05

# The parts a structured answer has, per question style.
PARTS: dict[str, tuple[str, ...]] = {
    "behavioral": ("situation", "action", "result"),
    "technical": ("approach", "complexity", "tradeoffs"),
    "explanation": ("steps", "reasoning", "check"),
}
_PART_MARKERS: dict[str, tuple[str, ...]] = {
    "situation": v.SITUATION_MARKERS + v.TASK_MARKERS,
    "action": v.ACTION_MARKERS,
    "result": v.RESULT_MARKERS,
    "approach": v.APPROACH_MARKERS,
    "complexity": v.COMPLEXITY_MARKERS,
    "tradeoffs": v.TRADEOFF_MARKERS,
    "steps": (
        "first",
        "then",
        "next",
        "after that",
        "finally",
        "step",
        "so i",
        "subtract",
        "divide",
        "multiply",
        "add",
    ),
    "reasoning": (
        "because",
        "since",
        "so that",
        "which means",
        "that's why",
        "which is why",
        "this is why",
        "due to",
        "causes",
    ),
    "check": (
        "check",
        "example",
        "for example",
        "for instance",
        "such as",
        "verify",
        "plug",
        "like when",
    ),
}
_STOPWORDS = frozenset(
    [
        "a",
        "an",
        "the",
        "and",
        "or",
        "of",
        "to",
        "in",
        "on",
        "for",
        "with",
        "by",
        "at",
        "from",
        "is",
        "are",
        "was",
        "be",
        "it",
        "its",
        "this",
        "that",
        "as",
        "your",
        "you",
        "what",
        "how",
        "why",
        "when",
        "which",
        "do",
        "does",
        "did",
        "would",
        "could",
    ]
)


class Embedder(Protocol):
    version: str

    def embed(self, texts: list[str]) -> np.ndarray: ...


@dataclass(frozen=True)
class AnswerAnalysis:
    style: str
    word_count: int
    speaking_s: float
    similarity: float  # cosine, question vs answer
    relevance: float  # 0..1
    parts: dict[str, bool]
    key_points_covered: tuple[str, ...]
    key_points_missing: tuple[str, ...]
    technologies: tuple[str, ...]
    numbers: tuple[str, ...]
    i_count: int
    we_count: int
    hedges: tuple[str, ...]
    best_sentence: str  # the sentence closest to the question: the evidence quote
    gaps: tuple[str, ...]  # what is missing, most important first

    @property
    def specificity(self) -> float:
        found = len(self.technologies) + len(self.numbers) + len(self.key_points_covered)
        return min(1.0, found / 4)

    @property
    def structure(self) -> float:
        return sum(self.parts.values()) / len(self.parts)

    @property
    def ownership(self) -> float:
        total = self.i_count + self.we_count
        return 1.0 if total == 0 else self.i_count / total

    @property
    def quantified_outcome(self) -> bool:
        return bool(self.numbers) and self.parts.get("result", True)


def question_style(question: Question) -> str:
    if question.style in PARTS:
        return question.style
    return "behavioral"


def sentences(text: str) -> list[str]:
    return [s.strip() for s in re.split(r"(?<=[.!?])\s+", text.strip()) if s.strip()]


def analyse(question: Question, answer: str, embedder: Embedder) -> AnswerAnalysis:
    style = question_style(question)
    lowered = answer.lower()
    tokens = v.words(answer)
    parts_of_answer = sentences(answer) or [answer]
    similarity, best_sentence = _similarity(question.text, answer, parts_of_answer, embedder)
    relevance = float(
        np.clip((similarity - SIMILARITY_FLOOR) / (SIMILARITY_CEILING - SIMILARITY_FLOOR), 0, 1)
    )
    parts = {part: bool(v.matched(lowered, _PART_MARKERS[part])) for part in PARTS[style]}
    if "situation" in parts and v.YEAR.search(lowered):
        parts["situation"] = True  # a date sets the scene as well as any phrase
    covered = tuple(k for k in question.key_points if _covers(lowered, k))
    analysis = AnswerAnalysis(
        style=style,
        word_count=len(tokens),
        speaking_s=len(tokens) / SPEAKING_WORDS_PER_S,
        similarity=similarity,
        relevance=relevance,
        parts=parts,
        key_points_covered=covered,
        key_points_missing=tuple(k for k in question.key_points if k not in covered),
        technologies=tuple(v.matched(lowered, v.TECHNOLOGIES)),
        numbers=tuple(m.group(0).strip(" .,") for m in v.NUMBER.finditer(lowered)),
        i_count=len(v.FIRST_PERSON_SINGULAR.findall(lowered)),
        we_count=len(v.FIRST_PERSON_PLURAL.findall(lowered)),
        hedges=tuple(v.matched(lowered, v.HEDGES)),
        best_sentence=best_sentence,
        gaps=(),
    )
    return _with_gaps(analysis)


def _similarity(
    question: str, answer: str, answer_sentences: list[str], embedder: Embedder
) -> tuple[float, str]:
    if not answer.strip():
        return 0.0, ""
    vectors = embedder.embed([question, answer, *answer_sentences])
    q, whole, each = vectors[0], vectors[1], vectors[2:]
    per_sentence = each @ q
    best = int(np.argmax(per_sentence))
    # Mostly the whole answer: one on-topic sentence in a rambling answer should not carry it.
    similarity = 0.7 * float(whole @ q) + 0.3 * float(per_sentence[best])
    return round(similarity, 4), answer_sentences[best]


def _covers(answer_lower: str, key_point: str) -> bool:
    content = [w for w in v.words(key_point) if w not in _STOPWORDS]
    if not content:
        return False
    hits = sum(1 for w in content if v.contains_phrase(answer_lower, w))
    return hits * 2 >= len(content)


def _with_gaps(a: AnswerAnalysis) -> AnswerAnalysis:
    gaps: list[str] = []
    if a.relevance < OFF_TOPIC_RELEVANCE:
        gaps.append("relevance")
    if a.word_count < MIN_WORDS:
        gaps.append("brevity")
    if a.style == "behavioral":
        if not a.parts["situation"]:
            gaps.append("situation")
        if a.we_count > a.i_count and a.i_count < 3:
            gaps.append("ownership")
        if not a.parts["result"]:
            gaps.append("outcome")
        elif not a.numbers:
            gaps.append("measurement")
    else:
        gaps += [part for part in PARTS[a.style] if not a.parts[part]]
    if not a.technologies and not a.numbers and not a.key_points_covered:
        gaps.append("specifics")
    return AnswerAnalysis(**{**a.__dict__, "gaps": tuple(gaps)})
