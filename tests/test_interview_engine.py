"""The structured interviewer's moves: targeted follow-ups, personas, practice feedback, resume."""

from __future__ import annotations

import pytest

from models.embedding import SentenceEmbedder
from pipeline.engine import InterviewPlan, Question, Reply, Turn
from pipeline.interview.followups import PROBES, QUOTED, gap_of
from pipeline.interview.structured import StructuredEngine

BEHAVIORAL = Question(
    "q1",
    "Tell me about a time you had to deliver a project under a tight deadline.",
    120,
    "Ownership",
)
TECHNICAL = Question(
    "q2",
    "Given an array of integers and a target, return the indices of two numbers that add up "
    "to the target. How would you solve it?",
    180,
    "Hash maps",
    style="technical",
    key_points=("hash map", "single pass", "O(n) time"),
)
# Each answer is on topic and long enough, and lacks exactly one thing.
LACKING = {
    "outcome": (
        BEHAVIORAL,
        "At my last company in 2022 I was responsible for a data export with a two week "
        "deadline. I talked to the client, I split the work into small tasks with Python "
        "scripts, and I set up daily check-ins with the two other developers.",
    ),
    "ownership": (
        BEHAVIORAL,
        "At my last company in 2022 we had a two week deadline for a data export. We split "
        "the work, we set up daily check-ins, we wrote Python scripts and we shipped on time, "
        "which reduced manual work by 40 percent.",
    ),
    "situation": (
        BEHAVIORAL,
        "I wrote the plan, I prioritised four features, I talked to the client every day and "
        "I cut the rest of the scope. The result was that the export shipped two days early "
        "and the client renewed the contract for 50,000 dollars.",
    ),
    "complexity": (
        TECHNICAL,
        "I would use a hash map from value to index. For each number I compute the complement "
        "and check whether it is already in the map, otherwise I store it, and then I return "
        "both indices. The alternative of nested loops is simpler, so the trade-off is extra "
        "storage.",
    ),
    "tradeoffs": (
        TECHNICAL,
        "I would use a hash map from value to index in a single pass. For each number I "
        "compute the complement and check whether it is already in the map, otherwise I store "
        "it, and return both indices. That is O(n) time and O(n) space.",
    ),
}
# What each follow-up names of the answer above (the candidate's own words, see followups.py).
NAMED = {
    "outcome": "a data export",
    "ownership": "Python scripts",
    "situation": "50,000 dollars",
    "complexity": "a hash map",
    "tradeoffs": "a hash map",
}
STRONG = (
    "In 2023 at Finly I was responsible for a reporting export with a ten day deadline. I met "
    "the client to agree which four features they needed, I wrote the PDF generator myself and "
    "set up daily check-ins. We shipped on day nine and the export now handles about 3,000 "
    "reports a month, which reduced manual work by 60 percent."
)
MIDDLING = (  # on topic, a result, but vague about the situation and unmeasured
    "I had a tight deadline once for a feature. I worked long hours and I asked a colleague "
    "for help with testing. In the end we delivered it on time and the customer was happy."
)


def _plan(*questions: Question, persona: str = "alex", practice: bool = False) -> InterviewPlan:
    return InterviewPlan(questions=questions, persona_id=persona, practice=practice)


def _asked(question_index: int, text: str) -> list[Turn]:
    return [
        Turn(0, "interviewer", f"Hello. {text}", question_index, "opening"),
        Turn(1, "candidate", "placeholder"),
    ]


def _after_answer(question: Question, answer: str) -> list[Turn]:
    return [
        Turn(0, "interviewer", f"Hello. {question.text}", 0, "opening"),
        Turn(1, "candidate", answer),
    ]


async def _words(reply: Reply) -> list[str]:
    return [sentence async for sentence in reply.sentences()]


@pytest.fixture
def engine(embedder: SentenceEmbedder) -> StructuredEngine:
    return StructuredEngine(embedder)


async def test_opening_greets_short_then_asks_the_first_question(engine: StructuredEngine) -> None:
    plan = InterviewPlan(questions=(BEHAVIORAL,), persona_id="maya", candidate_first_name="Sam")
    reply = await engine.next_reply(plan, [])
    words = await _words(reply)
    assert (reply.move.kind, reply.move.question_index) == ("opening", 0)
    assert words[0] == "Hi, Sam, I'm Maya." and len(words[0].split()) <= 6
    assert words[-1] == BEHAVIORAL.text
    assert reply.meta["engine"] == "structured"


@pytest.mark.parametrize("gap", sorted(LACKING))
async def test_each_follow_up_probes_exactly_what_is_missing(
    engine: StructuredEngine, gap: str
) -> None:
    question, answer = LACKING[gap]
    reply = await engine.next_reply(_plan(question, persona="leo"), _after_answer(question, answer))
    words = await _words(reply)
    assert reply.move.kind == "follow_up" and reply.move.question_index == 0
    assert reply.meta["gap"] == gap
    # The probe names what the candidate said, then asks for exactly what is missing.
    assert words[-1] == f"You mentioned {NAMED[gap]} — {QUOTED[gap]}"
    assert (reply.meta["quote"], reply.meta["quote_verb"]) == (NAMED[gap], "mentioned")


async def test_off_topic_and_short_answers_get_their_own_probes(engine: StructuredEngine) -> None:
    off_topic = (
        "I really enjoy hiking on weekends and cooking on a campfire with my cousins by the lake."
    )
    reply = await engine.next_reply(_plan(BEHAVIORAL), _after_answer(BEHAVIORAL, off_topic))
    words = await _words(reply)
    assert reply.meta["gap"] == "relevance" and words[-1] == BEHAVIORAL.text  # asked again
    reply = await engine.next_reply(
        _plan(BEHAVIORAL), _after_answer(BEHAVIORAL, "We just worked hard.")
    )
    assert reply.meta["gap"] == "brevity"


async def test_strong_answer_moves_on_without_a_follow_up(engine: StructuredEngine) -> None:
    plan = _plan(BEHAVIORAL, TECHNICAL, persona="alex")
    reply = await engine.next_reply(plan, _after_answer(BEHAVIORAL, STRONG))
    words = await _words(reply)
    assert (reply.move.kind, reply.move.question_index) == ("question", 1)
    assert words[-1] == TECHNICAL.text


async def test_personas_differ_in_depth_threshold_and_tone(engine: StructuredEngine) -> None:
    transcript = _after_answer(BEHAVIORAL, MIDDLING)
    moves = {}
    for persona in ("maya", "alex", "leo"):
        reply = await engine.next_reply(_plan(BEHAVIORAL, TECHNICAL, persona=persona), transcript)
        moves[persona] = (reply.move.kind, (await _words(reply))[0])
    # The coach lets a middling answer go; the bar raiser and the professional probe it.
    assert moves["maya"][0] == "question"
    assert moves["leo"][0] == "follow_up" and moves["alex"][0] == "follow_up"
    assert len({first for _, first in moves.values()}) == 3  # three different voices

    # Depth: after one follow-up and a still-thin answer, Alex moves on and Leo pushes again.
    followed = [
        *transcript,
        Turn(2, "interviewer", f"Thank you. {PROBES['situation']}", 0, "follow_up"),
        Turn(3, "candidate", "It was a normal project at work, nothing special really."),
    ]
    alex = await engine.next_reply(_plan(BEHAVIORAL, TECHNICAL, persona="alex"), followed)
    leo = await engine.next_reply(_plan(BEHAVIORAL, TECHNICAL, persona="leo"), followed)
    assert alex.move.kind == "question"
    assert leo.move.kind == "follow_up" and leo.meta["gap"] != "situation"  # never twice


async def test_practice_mode_gives_feedback_per_answer(engine: StructuredEngine) -> None:
    transcript = _after_answer(BEHAVIORAL, LACKING["outcome"][1])
    practice = await engine.next_reply(_plan(BEHAVIORAL, persona="maya", practice=True), transcript)
    assert practice.feedback is not None
    assert 0 < practice.feedback.score < 100
    assert any("outcome" in tip for tip in practice.feedback.improvements)
    assert practice.feedback.strengths
    real = await engine.next_reply(_plan(BEHAVIORAL, persona="maya"), transcript)
    assert real.feedback is None


async def test_resumed_session_repeats_the_open_question(engine: StructuredEngine) -> None:
    plan = _plan(BEHAVIORAL, TECHNICAL)
    asked = [Turn(0, "interviewer", f"Hello. {BEHAVIORAL.text}", 0, "opening")]
    reply = await engine.next_reply(plan, asked)
    assert (reply.move.kind, reply.move.question_index) == ("question", 0)
    assert (await _words(reply))[-1] == BEHAVIORAL.text
    probing = [
        *_after_answer(BEHAVIORAL, MIDDLING),
        Turn(2, "interviewer", f"Thank you. {PROBES['outcome']}", 0, "follow_up", interrupted=True),
    ]
    reply = await engine.next_reply(plan, probing)
    assert reply.move.kind == "follow_up" and PROBES["outcome"] in await _words(reply)
    # A quoted follow-up is asked again in the same words, from its turn's meta.
    quoted = f"You mentioned a data export — {QUOTED['outcome']}"
    meta: dict[str, object] = {
        "gap": "outcome",
        "quote": "a data export",
        "quote_verb": "mentioned",
    }
    probing[-1] = Turn(2, "interviewer", f"Thank you. {quoted}", 0, "follow_up", meta=meta)
    reply = await engine.next_reply(plan, probing)
    assert (await _words(reply))[-1] == quoted and reply.meta["quote"] == "a data export"
    # Without the meta (an older turn), its words still tell the gap probed: never twice.
    probing[-1] = Turn(2, "interviewer", f"Thank you. {quoted}", 0, "follow_up")
    assert gap_of(probing[-1]) == "outcome"


async def test_last_answer_leads_to_the_closing(engine: StructuredEngine) -> None:
    reply = await engine.next_reply(_plan(BEHAVIORAL), _after_answer(BEHAVIORAL, STRONG))
    assert reply.move.kind == "closing" and reply.move.is_complete
    assert (await _words(reply))[-1] == "That concludes the interview. Thank you for your time."
