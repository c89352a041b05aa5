"""Scoring benchmark: agreement with the labelled gold set, and the cost of scoring.

`run()` returns (metric, value) rows for `make bench`; the tests use `gold_agreement()` too.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path

from models.embedding import shared_embedder
from pipeline.engine import Question
from pipeline.interview.analysis import Embedder, analyse
from pipeline.interview.rubric import score_answer

GOLD = Path(__file__).resolve().parent / "gold" / "scoring.json"


@dataclass(frozen=True)
class GoldResult:
    question: str
    labels: tuple[int, ...]
    scores: tuple[int, ...]

    def pairs(self) -> tuple[int, int]:
        """(correctly ordered pairs, pairs) among answers with different labels."""
        right = total = 0
        for (l1, s1), (l2, s2) in combinations(zip(self.labels, self.scores, strict=True), 2):
            if l1 != l2:
                total += 1
                right += (s1 - s2) * (l1 - l2) > 0
        return right, total


def gold_questions() -> list[tuple[Question, list[tuple[int, str]]]]:
    items = json.loads(GOLD.read_text())["items"]
    loaded = []
    for n, item in enumerate(items):
        q = item["question"]
        question = Question(
            id=f"gold{n}",
            text=q["text"],
            time_limit_s=q["time_limit_s"],
            style=q["style"],
            key_points=tuple(q["key_points"]),
        )
        loaded.append((question, [(a["label"], a["text"]) for a in item["answers"]]))
    return loaded


def gold_agreement(embedder: Embedder) -> list[GoldResult]:
    results = []
    for question, answers in gold_questions():
        scores = tuple(
            score_answer(analyse(question, text, embedder), question.time_limit_s).score
            for _, text in answers
        )
        results.append(GoldResult(question.text, tuple(label for label, _ in answers), scores))
    return results


def run() -> list[tuple[str, str]]:
    started = time.perf_counter()
    embedder = shared_embedder()
    load_s = time.perf_counter() - started
    started = time.perf_counter()
    results = gold_agreement(embedder)
    answers = sum(len(r.scores) for r in results)
    per_answer_ms = 1000 * (time.perf_counter() - started) / answers
    right = sum(r.pairs()[0] for r in results)
    total = sum(r.pairs()[1] for r in results)
    return [
        ("scoring: gold pairwise accuracy", f"{right}/{total} = {100 * right / total:.1f} %"),
        ("scoring: gold set", f"{len(results)} questions x {answers // len(results)} answers"),
        ("scoring: embedding model load", f"{load_s:.2f} s"),
        ("scoring: one answer (analysis + rubric)", f"{per_answer_ms:.1f} ms"),
    ]


if __name__ == "__main__":
    for metric, value in run():
        print(f"{metric}: {value}")
