"""Scoring on substance, against the substance gold set (tests/gold/substance.json).

Agreement with the labels on both halves of the set (calibration, on which the thresholds were
fitted, and held-out, which never was), and the gaming checks: no padded, keyword-stuffed,
buzzword-laden or repeated variant of any gold answer scores above the answer itself, and no strong
answer cut down to its key sentences falls below "adequate". The floors below are the measured
figures less a small margin (docs/scoring.md has the figures).
"""

from __future__ import annotations

from functools import lru_cache

import pytest

from models.embedding import SentenceEmbedder
from pipeline.engine import Question
from pipeline.interview.analysis import _mark_echoes, analyse, claims_of
from pipeline.interview.rubric import score_answer
from tests.bench_scoring import (
    ADEQUATE,
    GoldResult,
    Scorer,
    SentenceMemo,
    agreement,
    bank_question,
    default_scorer,
    gaming,
    substance_agreement,
    substance_items,
)


@pytest.fixture(scope="module")
def scorer(embedder: SentenceEmbedder) -> Scorer:
    @lru_cache(maxsize=4096)
    def score(question: Question, text: str) -> int:
        return score_answer(analyse(question, text, embedder), question.time_limit_s).score

    return score


@pytest.fixture(scope="module")
def results(scorer: Scorer) -> list[GoldResult]:
    return substance_agreement(scorer)


def test_gold_set_covers_every_interview_type_and_trap() -> None:
    items = substance_items()
    assert len(items) >= 20
    assert all(len(item.answers) >= 5 for item in items)
    kinds = {kind for item in items for _, kind, _ in item.answers}
    assert {
        "keyword_stuffing",
        "buzzwords",
        "confident_wrong",
        "verbose_filler",
        "restating",
        "concise_correct",
        "correct_unstructured",
        "plain_words",
    } <= kinds
    types = {item.kind for item in items}
    assert types == {"behavioral", "technical", "system_design", "k12"}
    for kind in types:  # each type has questions in both halves
        assert {item.split for item in items if item.kind == kind} == {"calibration", "held_out"}


def test_agreement_with_the_labels_on_both_halves(results: list[GoldResult]) -> None:
    calibration = agreement([r for r in results if r.split == "calibration"])
    held_out = agreement([r for r in results if r.split == "held_out"])
    summary = [(r.question[:40], r.labels, r.scores) for r in results]
    everything = agreement(results)
    # The issue's targets, on the whole set (adjudicated labels of two passes, docs/scoring.md):
    # measured 0.961 and 0.861.
    assert everything.pairwise >= 0.95 and everything.spearman >= 0.85, summary
    # Regression floors per half: measured calibration 0.972 / 0.884, held-out 0.949 / 0.843.
    assert calibration.pairwise >= 0.96 and calibration.spearman >= 0.87, summary
    assert held_out.pairwise >= 0.94 and held_out.spearman >= 0.83, summary
    assert calibration.mae <= 0.55 and held_out.mae <= 0.6, summary


def test_concise_correct_beats_longer_vaguer_answers(results: list[GoldResult]) -> None:
    """The issue's pattern: a short correct answer below a longer, vaguer or wrong one. It still
    happens on two held-out behavioural questions (a vague story, a story of bad conduct told
    well): docs/scoring.md."""
    worse_kinds = {
        "keyword_stuffing",
        "buzzwords",
        "verbose_filler",
        "self_praise",
        "evasive",
        "restating",
        "confident_wrong",
        "off_topic",
    }
    misses = []
    for r in results:
        answers = list(zip(r.scores, r.answer_kinds, strict=True))
        concise = min(s for s, kind in answers if kind == "concise_correct")
        worse = max((s for s, kind in answers if kind in worse_kinds), default=-1)
        if concise <= worse:
            misses.append((r.split, r.question[:50], r.answer_kinds, r.scores))
    assert len(misses) <= 2, misses
    assert all(split == "held_out" for split, *_ in misses), misses


def test_gamed_variants_never_score_above_their_source(embedder: SentenceEmbedder) -> None:
    checked = gaming(lru_cache(maxsize=4096)(default_scorer(SentenceMemo(embedder))))
    assert checked.checked >= 4 * 150
    assert checked.raised == [], checked.raised[:10]
    assert checked.shortened_below_adequate == [], checked.shortened


def test_a_restatement_scores_below_a_string_of_terms_and_above_off_topic(
    embedder: SentenceEmbedder,
) -> None:
    question = bank_question(
        "A database query has become slow in production. How do you investigate and fix it?"
    )
    restated = (
        "If a database query has become slow in production, I would investigate why the database "
        "query is slow in production and then fix the slow query."
    )
    terms = "Slow query, EXPLAIN, index, slow query log, N+1, pg_stat_statements, query plan."
    off_topic = "My favourite animal is the dog because dogs like to play fetch in the park."
    analysed = analyse(question, restated, embedder)
    assert analysed.echoes >= 1 and not analysed.engaged
    restated_score = score_answer(analysed, question.time_limit_s).score
    terms_score = score_answer(analyse(question, terms, embedder), question.time_limit_s).score
    off_score = score_answer(analyse(question, off_topic, embedder), question.time_limit_s).score
    assert off_score < restated_score < terms_score
    # A claim with a word of its own is not an echo, whatever its closeness to the question.
    own = analyse(question, "I would look at the slow query log to find the query.", embedder)
    assert own.echoes == 0 and own.engaged


def test_echoes_are_claims_in_the_question_s_own_words_unless_it_asks_yes_or_no() -> None:
    def echoes(question: str, answer: str) -> list[str]:
        return [u.text for u in _mark_echoes(claims_of(answer), question) if u.echo]

    slow = "A database query has become slow in production. How do you investigate and fix it?"
    # Inflections count as the same word (Snowball stems): "investigating", "fixed".
    assert echoes(slow, "I investigated why the query was slow and then fixed the query.") != []
    assert echoes(slow, "I would look at the slow query log to find the query.") == []
    assert echoes(slow, "Slow query, database, production, fix.") == []  # no claim: no echo
    # A yes/no question is answered by a statement in its own words.
    assert echoes("Have you worked with Kafka?", "I have worked with Kafka.") == []
    assert echoes("Tell me whether you worked with Kafka.", "I have worked with Kafka.") != []


def test_a_point_said_in_the_question_s_words_is_made(embedder: SentenceEmbedder) -> None:
    """The claim "Plants make their food by photosynthesis" is closer to the question than to
    the point's statement, yet what it adds to the question is the point; the question alone is
    not."""
    question = bank_question("Explain how plants make their food.")

    def photosynthesis(answer: str) -> float:
        points = analyse(question, answer, embedder).points
        return next(p.coverage for p in points if p.label == "photosynthesis")

    assert photosynthesis("Plants make their food by photosynthesis in their leaves.") >= 0.5
    assert photosynthesis("Plants make their food in a way that I will explain.") == 0.0


def test_idempotency_example_from_the_issue(scorer: Scorer) -> None:
    question = bank_question(
        "Design an API that lets clients retry a payment request without charging the customer "
        "twice."
    )
    generic = (
        "I'd make it RESTful, use HTTPS and proper status codes, add monitoring, and maybe use "
        "microservices so it scales."
    )
    concise = (
        "The client sends an idempotency key with each payment and reuses it when it retries; "
        "the server remembers each key with its result and returns that instead of charging "
        "again."
    )
    assert scorer(question, concise) >= ADEQUATE > scorer(question, generic)
