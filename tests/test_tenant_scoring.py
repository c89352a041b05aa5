"""Tenants' own questions scored right: a specific story in the candidate's own words is not
off-topic, and the interviewer does not say "bring us back" to it; tenant key points and ideal
answers are matched by meaning; the report says what each score rests on and scores every skill
with an answered question."""

from __future__ import annotations

import asyncio
from typing import Any

from models.embedding import SentenceEmbedder
from pipeline.engine import InterviewPlan, Question, Turn
from pipeline.interview.analysis import analyse
from pipeline.interview.bank import criteria_for, scoring_basis
from pipeline.interview.followups import PROBES
from pipeline.interview.planning import custom_style
from pipeline.interview.report import build_report
from pipeline.interview.rubric import score_answer
from pipeline.interview.structured import StructuredEngine
from pipeline.interview.topic import topic_of
from tests.bench_tenant import gamed

INCIDENT = "Describe a project where something went wrong in production. What did you do?"
# The issue's own answers (issue 22), written for this test, not taken from the gold sets.
EXCELLENT = (
    "Last March, right after a release, our checkout latency jumped from 200 milliseconds to four "
    "seconds. I rolled back within ten minutes, which brought it back to normal. Then I went "
    "through the traces and found an N+1 query that the new discount code had introduced. I "
    "rewrote it as a single join, added a latency budget check to CI so a regression like that "
    "fails the build, and wrote up the postmortem for the team."
)
ADEQUATE = (
    "We once shipped a bug that broke the login page for some users. I noticed the error alerts, "
    "we reverted the change, and then I fixed the bug and we deployed again the next day."
)
VAGUE = (
    "Things go wrong in production all the time. I always stay calm, communicate with the team, "
    "and make sure we fix the problem and learn from it."
)
OFF_TOPIC = (
    "I really enjoy hiking on weekends, and last summer I walked the whole coast path with my "
    "brother. It taught me a lot about planning food and water."
)


def _custom(text: str, **fields: Any) -> Question:
    return Question(
        "q1", text, 120, source="custom", style=custom_style(text, "behavioral"), **fields
    )


UNRELATED_STORY = (
    "Last summer I rebuilt the garden shed. I replaced the roof and painted the walls green."
)


def test_the_topic_is_the_question_without_its_asking_words() -> None:
    assert topic_of(INCIDENT) == "something went wrong in production"
    assert topic_of("How would you design the notification system for a food delivery app?") == (
        "design the notification system for a food delivery app"
    )
    assert topic_of(
        "Explain to a 7th grader why dividing by a fraction is the same as "
        "multiplying by its reciprocal."
    ).startswith("why dividing by a fraction")
    assert topic_of("Why do you want this job?") == "Why do you want this job?"  # nothing to cut


def test_a_custom_question_asks_for_a_story_an_approach_or_an_explanation() -> None:
    assert custom_style(INCIDENT, "technical") == "behavioral"
    assert custom_style("Give me an example of feedback you gave a colleague.", "technical") == (
        "behavioral"
    )
    assert custom_style(
        "How would you build a leaderboard for 5 million players?", "behavioral"
    ) == ("technical")
    assert custom_style(
        "A patient's blood pressure drops after surgery. What do you do?", "behavioral"
    ) == ("technical")
    assert custom_style("Solve 3x + 5 = 20 and explain each step.", "behavioral") == "explanation"
    assert custom_style("Why do you want this job?", "behavioral") == "behavioral"  # the default


def test_a_specific_story_in_its_own_words_is_on_topic_and_ranked_by_substance(
    embedder: SentenceEmbedder,
) -> None:
    question = _custom(INCIDENT)
    analyses = {
        name: analyse(question, text, embedder)
        for name, text in (
            ("excellent", EXCELLENT),
            ("adequate", ADEQUATE),
            ("vague", VAGUE),
            ("off_topic", OFF_TOPIC),
        )
    }
    scores = {name: score_answer(a, 120).score for name, a in analyses.items()}
    assert not analyses["excellent"].off_topic and not analyses["adequate"].off_topic
    assert analyses["off_topic"].off_topic
    assert scores["excellent"] > scores["adequate"] > scores["off_topic"], scores
    assert scores["excellent"] > scores["vague"], scores
    assert scores["excellent"] >= 45, scores  # at least adequate on the anchored scale


def test_the_interviewer_never_says_bring_us_back_to_an_on_topic_answer(
    embedder: SentenceEmbedder,
) -> None:
    question = _custom(INCIDENT)
    plan = InterviewPlan(questions=(question,), persona_id="maya")
    engine = StructuredEngine(embedder)

    async def reply_to(answer: str) -> str:
        transcript = [
            Turn(0, "interviewer", INCIDENT, 0, "question"),
            Turn(1, "candidate", answer, 0),
        ]
        reply = await engine.next_reply(plan, transcript)
        return " ".join([s async for s in reply.sentences()])

    assert PROBES["relevance"] not in asyncio.run(reply_to(EXCELLENT))
    assert PROBES["relevance"] not in asyncio.run(reply_to(ADEQUATE))
    assert PROBES["relevance"] in asyncio.run(reply_to(OFF_TOPIC))


def test_an_open_question_is_answered_by_any_account_of_ones_own_work(
    embedder: SentenceEmbedder,
) -> None:
    """The live tests' own interview: "What project are you proudest of?" answered with a short,
    specific story was off-topic (cosine 0.11), and the interviewer said "Let me bring us back to
    the question". Unrelated talk stays off-topic."""
    open_questions = {
        "What project are you proudest of?": (
            "I built a search service for a public library. It cut the waiting time for readers "
            "in half, and the team still runs it today."
        ),
        "What is your greatest achievement?": (
            "Last year I led the move of our billing system to a new provider. I planned it, ran "
            "both side by side for a month, and we switched with no lost invoices."
        ),
    }
    unrelated = (
        "My favourite animal is the dog because dogs like to play fetch in the park.",
        "I think the weather is nice today.",
    )
    for text, answer in open_questions.items():
        question = Question("q", text)
        assert not analyse(question, answer, embedder).off_topic, (text, answer)
        for other in unrelated:
            assert analyse(question, other, embedder).off_topic, (text, other)
    # A question with a topic of its own is not open: a story about something else is off-topic.
    for text in (
        "Tell me about a deal you lost that you thought you would win.",
        "Tell me about a disagreement at work.",
    ):
        assert analyse(Question("q", text), UNRELATED_STORY, embedder).off_topic, text
    billing = (
        "I led the migration of our billing service to an event-driven design. I planned the "
        "rollout in stages, wrote the runbooks, and we cut incidents by forty percent."
    )
    assert analyse(
        Question("q", "Tell me about a disagreement at work."), billing, embedder
    ).off_topic


def test_tenant_key_points_are_made_by_meaning_not_by_their_words(
    embedder: SentenceEmbedder,
) -> None:
    points = ("Rolled back the release before debugging", "Found the root cause")
    question = _custom(INCIDENT, key_points=points)
    assert scoring_basis(question) == "tenant_key_points"
    assert all(not p.bare for p in criteria_for(question))
    found = analyse(question, EXCELLENT, embedder).key_points_covered
    # "I rolled back within ten minutes" shares one word with the point; its meaning is the point.
    assert "Rolled back the release before debugging" in found
    missing = analyse(question, VAGUE, embedder).key_points_covered
    assert missing == ()


def test_an_ideal_answer_alone_gives_the_key_points(embedder: SentenceEmbedder) -> None:
    ideal = (
        "I rolled the release back first, so customers were fine within minutes. Then I found "
        "the cause in the traces and fixed it. Finally I added a check so it cannot recur."
    )
    question = _custom(INCIDENT, ideal_answer=ideal)
    assert scoring_basis(question) == "tenant_ideal_answer"
    assert [p.label for p in criteria_for(question)] == [
        "I rolled the release back first, so customers were fine within minutes.",
        "Then I found the cause in the traces and fixed it.",
        "Finally I added a check so it cannot recur.",
    ]
    strong = score_answer(analyse(question, EXCELLENT, embedder), 120).score
    weak = score_answer(analyse(question, VAGUE, embedder), 120).score
    assert strong > weak


def test_padding_or_repeating_does_not_raise_a_custom_answer(embedder: SentenceEmbedder) -> None:
    question = _custom(INCIDENT)
    for answer in (EXCELLENT, ADEQUATE, VAGUE, OFF_TOPIC):
        source = score_answer(analyse(question, answer, embedder), 120).score
        for name in ("paraphrased padding", "reordered repeat"):
            variant = gamed(answer)[name]
            score = score_answer(analyse(question, variant, embedder), 120).score
            assert score <= source, (name, answer[:40], source, score)


def test_every_skill_with_an_answered_question_is_scored_and_its_basis_shown(
    embedder: SentenceEmbedder,
) -> None:
    incident = _custom(INCIDENT, skill="Ownership", key_points=("Rolled back the release first",))
    design = Question(
        "q2",
        "How would you design a rate limiter for our public API?",
        120,
        skill="API design",
        source="custom",
        style="technical",
    )
    plan = InterviewPlan(
        questions=(incident, design), skills=("Ownership", "API design"), persona_id="maya"
    )
    answer = (
        "I'd keep a token bucket per customer in Redis, checked and decremented in one Lua "
        "script so that all forty servers share it; over the limit the API answers 429 with "
        "Retry-After, and if Redis is down each server falls back to a rough local limit."
    )
    transcript = [
        Turn(0, "interviewer", INCIDENT, 0, "question"),
        Turn(1, "candidate", EXCELLENT, 0),
        Turn(2, "interviewer", design.text, 1, "question"),
        Turn(3, "candidate", answer, 1),
    ]
    report = build_report(plan, transcript, ended_early=False, embedder=embedder)
    by_name = {c["name"]: c for c in report["competencies"]}
    assert by_name["Ownership"]["score"] is not None and by_name["Ownership"]["evidence"]
    assert by_name["API design"]["score"] is not None and by_name["API design"]["evidence"]
    assert [q["scored_against"] for q in report["questions"]] == [
        "tenant_key_points",
        "question_structure",
    ]
