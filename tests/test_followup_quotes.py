"""Follow-ups that name what the candidate said (issue 15, point 5): "You mentioned Kafka consumer
lag — how did you measure that?". The phrase is the candidate's own, short, relevant, never filler
or the question's words; with nothing that fits, the fixed probe. Never a broken sentence; the
same answer always gives the same words."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from models.embedding import SentenceEmbedder
from pipeline.engine import Question, Turn
from pipeline.interview import vocabulary as v
from pipeline.interview.analysis import analyse
from pipeline.interview.bank import BANK
from pipeline.interview.followups import (
    MAX_QUOTE_WORDS,
    PROBES,
    QUOTED,
    Quote,
    probe_sentences,
    quote_of,
    salient_quote,
)

GOLD = Path(__file__).parent / "gold" / "substance.json"
INCIDENT = Question("q1", "Tell me about a production incident you handled.", 120)
DEADLINE = Question(
    "q1", "Tell me about a time you had to deliver a project under a tight deadline.", 120
)
TWO_SUM = Question(
    "q2",
    "Given an array of integers and a target, return the indices of two numbers that add up "
    "to the target. How would you solve it?",
    180,
    style="technical",
    key_points=("hash map", "single pass", "O(n) time"),
)
SLOW_QUERY = next(
    Question("q3", q.text, q.time_limit_s, q.skill, "bank", q.style, q.key_points)
    for q in BANK
    if q.text.startswith("A database query has become slow")
)
SEASONS = Question("q4", "Why do we have seasons on Earth?", style="explanation")
SENTENCE = re.compile(
    r"^You (?:mentioned|said) [A-Za-z0-9](?:[A-Za-z0-9'+#./% -]|(?<=\d),(?=\d))*[A-Za-z0-9%+#]? "
    r"— [a-z][^—]*\?$"
)

# (question, answer, gap probed, the follow-up's words)
NAMED = [
    (
        INCIDENT,
        "Last spring we had Kafka consumer lag growing every night during the batch import. I "
        "added partitions and I rewrote the consumer so it committed offsets in batches, and in "
        "the end the lag went away.",
        "measurement",
        "You mentioned Kafka consumer lag — how did you measure that? Do you have numbers?",
    ),
    (
        DEADLINE,
        "I had a tight deadline once for a feature. I worked long hours and I asked a colleague "
        "for help with testing. In the end we delivered it on time and the customer was happy.",
        "measurement",
        "You said you delivered it on time — how did you measure that? Do you have numbers?",
    ),
    (
        TWO_SUM,
        "I would use a hash map from value to index. For each number I compute the complement "
        "and check whether it is already in the map, otherwise I store it, and return both "
        "indices.",
        "complexity",
        "You mentioned a hash map — what would the time and space complexity be?",
    ),
    (
        SLOW_QUERY,
        "First I would run EXPLAIN ANALYZE on the query to see the plan. If it does a sequential "
        "scan over the orders table, I would add an index on the customer id column and compare "
        "the timings.",
        "tradeoffs",
        "You mentioned an index — what trade-offs did you weigh, and which alternative did you "
        "reject?",
    ),
    (
        INCIDENT,
        "Our checkout service started timing out on Black Friday. I rolled back the last deploy, "
        "I moved the session store to Redis and we were stable again within the hour.",
        "ownership",
        "You mentioned Redis — what did you personally do there, as opposed to the team?",
    ),
    (
        INCIDENT,
        "I improved the reporting process and everyone was happier afterwards.",
        "specifics",
        "You mentioned the reporting process — can you make that concrete: which system, which "
        "tools, what numbers?",
    ),
    (
        INCIDENT,
        "I used Redis.",
        "brevity",
        "You mentioned Redis — could you go into more detail, with a concrete example?",
    ),
    (
        SEASONS,
        "Because the Earth's axis is tilted, so in June the northern half leans towards the Sun.",
        "reasoning",
        "You mentioned Earth's axis — why does that work?",
    ),
]


def _probe(question: Question, answer: str, gap: str, embedder: SentenceEmbedder) -> list[str]:
    analysis = analyse(question, answer, embedder)
    return probe_sentences(gap, question.text, salient_quote(gap, analysis, answer, question.text))


@pytest.mark.parametrize(
    ("question", "answer", "gap", "expected"),
    NAMED,
    ids=[f"{n}-{c[2]}" for n, c in enumerate(NAMED)],
)
def test_a_follow_up_names_the_candidates_own_words(
    embedder: SentenceEmbedder, question: Question, answer: str, gap: str, expected: str
) -> None:
    assert _probe(question, answer, gap, embedder) == [expected]


@pytest.mark.parametrize(
    ("question", "answer", "why"),
    [
        (
            INCIDENT,
            "Um, you know, basically I just like did stuff, kind of, and things worked out okay.",
            "filler only",
        ),
        (
            DEADLINE,
            "I had to deliver a project under a tight deadline once, a tight deadline project.",
            "the question's own words",
        ),
        (INCIDENT, "It was fine. We fixed it. Nothing else.", "nothing worth naming"),
        (INCIDENT, "   ", "no answer"),
    ],
)
def test_nothing_that_fits_leaves_the_fixed_probe(
    embedder: SentenceEmbedder, question: Question, answer: str, why: str
) -> None:
    for gap in PROBES:
        expected = [PROBES[gap], question.text] if gap == "relevance" else [PROBES[gap]]
        assert _probe(question, answer, gap, embedder) == expected, (why, gap)


def test_an_off_topic_answer_is_never_quoted(embedder: SentenceEmbedder) -> None:
    answer = "I really enjoy hiking in the Alps and cooking Thai curry with my cousins by the lake."
    assert _probe(DEADLINE, answer, "relevance", embedder) == [PROBES["relevance"], DEADLINE.text]


def test_never_a_broken_sentence_and_always_the_same_words(embedder: SentenceEmbedder) -> None:
    """Every gold-set answer (strong, filler, keyword stuffing, buzzwords, off topic...) and every
    gap: the fixed probe, or one well-formed sentence naming at most MAX_QUOTE_WORDS words of the
    answer that are neither filler nor the question's own."""
    bank = {q.text: q for q in BANK}
    quoted = 0
    for item in json.loads(GOLD.read_text())["items"]:
        b = bank[item["question"]]
        question = Question("q", b.text, b.time_limit_s, b.skill, "bank", b.style, b.key_points)
        asked = {w.strip(".?,") for w in v.words(question.text)} - v.FUNCTION_WORDS
        for answer in (a["text"] for a in item["answers"]):
            analysis = analyse(question, answer, embedder)
            again = analyse(question, answer, embedder)
            for gap in QUOTED:
                quote = salient_quote(gap, analysis, answer, question.text)
                assert quote == salient_quote(gap, again, answer, question.text)  # deterministic
                words = probe_sentences(gap, question.text, quote)
                if quote is None:
                    assert words == [PROBES[gap]]
                    continue
                quoted += 1
                assert len(words) == 1 and SENTENCE.match(words[0]), words
                assert 1 <= len(quote.text.split()) <= MAX_QUOTE_WORDS
                lowered = quote.text.lower()
                assert not v.matched(lowered, v.HEDGES) and " like " not in f" {lowered} "
                content = [w for w in v.words(lowered) if w not in v.FUNCTION_WORDS]
                assert content and any(w not in asked for w in content), (quote, question.text)
                if quote.verb == "mentioned":  # a phrase: the answer's words as said
                    said = re.sub(r"^(?:the|a|an) ", "", quote.text).lower()
                    assert said in answer.lower(), (quote, answer)
    assert quoted > 300  # most follow-ups on the gold set can name something


def test_a_quote_kept_in_a_turn_is_read_back_only_when_clean() -> None:
    def turn(meta: dict[str, object]) -> Turn:
        return Turn(2, "interviewer", "…", 0, "follow_up", meta=meta)

    assert quote_of(turn({"quote": "a hash map", "quote_verb": "mentioned"})) == Quote("a hash map")
    assert quote_of(turn({"quote": "you shipped it", "quote_verb": "said"})) == Quote(
        "you shipped it", "said"
    )
    junk: list[dict[str, object]] = [
        {},
        {"quote": ""},
        {"quote": "a, b,"},
        {"quote": 3},
        {"quote": "x", "quote_verb": "shouted"},
    ]
    for meta in junk:
        assert quote_of(turn(meta)) is None
    long = " ".join(["word"] * (MAX_QUOTE_WORDS + 1))
    assert quote_of(turn({"quote": long})) is None
