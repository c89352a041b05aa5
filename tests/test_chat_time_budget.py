"""The time budget is kept in chat as in voice (issue 15, point 5): once the interview's duration
has passed, the answer just given is the last and the interviewer closes, saying why; the report
marks it (`coverage.time_up`). Before, chat went on for as long as the candidate kept typing."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator, Sequence

import pytest

from pipeline.conversation import TIME_UP, reply_in_time
from pipeline.engine import Feedback, InterviewPlan, Move, Question, Reply, ScriptedEngine, Turn
from server.storage import keys
from tests.api_support import Api, bearer
from tests.chat_support import open_chat, session_view
from tests.compat_support import module_app

PLAN = InterviewPlan(
    questions=tuple(Question(f"q{n}", f"Question {n}?", 60) for n in range(3)),
    persona_id="alex",
    duration_s=300,
)
ANSWER = (
    "In my last role I led the migration of our billing service to an event-driven design. I "
    "planned the rollout in stages, wrote the runbooks and we cut incidents by forty percent."
)


def _answered() -> list[Turn]:
    """The opening question, and the candidate's answer to it."""
    return [
        Turn(0, "interviewer", "Hello. Question 0?", 0, "opening"),
        Turn(1, "candidate", ANSWER, 0),
    ]


async def _words(reply: Reply) -> list[str]:
    return [sentence async for sentence in reply.sentences()]


async def test_past_the_duration_an_answer_is_followed_by_the_closing() -> None:
    engine = ScriptedEngine()
    transcript = _answered()
    within = await reply_in_time(engine, PLAN, transcript, elapsed_s=299.0)
    assert (within.move.kind, within.move.question_index) == ("question", 1)
    over = await reply_in_time(engine, PLAN, transcript, elapsed_s=300.0)
    assert over.move.kind == "closing" and over.move.is_complete
    assert (await _words(over))[0] == TIME_UP and over.meta == {"time_up": True}
    # A question already asked is asked again however late: only an answer ends it.
    asked = [*transcript, Turn(2, "interviewer", "Question 1?", 1, "question")]
    again = await reply_in_time(engine, PLAN, asked, elapsed_s=900.0)
    assert again.move.kind == "question" and "time_up" not in again.meta
    # No duration, no budget.
    unbounded = InterviewPlan(questions=PLAN.questions)
    assert (await reply_in_time(engine, unbounded, transcript, 10_000.0)).move.kind == "question"


class _PracticeEngine:
    name, version = "practice", "1"

    async def next_reply(self, plan: InterviewPlan, transcript: Sequence[Turn]) -> Reply:
        async def words() -> AsyncIterator[str]:
            yield "Next."

        return Reply(Move("question", 1, False), words(), Feedback(("clear",), ("numbers",), 70))


async def test_practice_mode_keeps_its_feedback_on_the_last_answer() -> None:
    practice = InterviewPlan(questions=PLAN.questions, practice=True, duration_s=300)
    reply = await reply_in_time(_PracticeEngine(), practice, _answered(), elapsed_s=301.0)
    assert reply.move.kind == "closing" and reply.feedback is not None
    assert reply.feedback.score == 70


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    with module_app(tmp_path_factory) as running:
        yield running


@pytest.mark.models
def test_a_chat_interview_closes_when_its_time_is_up(api: Api) -> None:
    headers = api.tenant()
    created = api.client.post(
        "/v1/interviews",
        headers=headers,
        json={
            "name": "Six minute screen",
            "persona_id": "maya",
            "duration_minutes": 6,
            "questions": [
                {"question": "Tell me about a project you led.", "time_limit_s": 60},
                {"question": "Tell me about a disagreement at work.", "time_limit_s": 60},
                {
                    "question": "Tell me about a time you learned something fast.",
                    "time_limit_s": 60,
                },
            ],
        },
    )
    assert created.status_code == 201, created.text
    session_id, token = open_chat(api, headers, {"interview_id": created.json()["interview_id"]})
    candidate = bearer(token)

    def answer(text: str) -> dict[str, object]:
        response = api.client.post(
            f"/v1/sessions/{session_id}/messages", headers=candidate, json={"text": text}
        )
        assert response.status_code == 200, response.text
        reply: dict[str, object] = response.json()
        return reply

    opening = api.client.post(f"/v1/sessions/{session_id}/start", headers=candidate).json()
    assert opening["kind"] == "opening"
    first = answer(ANSWER)
    assert first["kind"] in ("question", "follow_up") and not first["is_complete"]

    # Seven minutes later (the session clock's zero moved back): the next answer is the last.
    api.run(api.redis.set, keys.session_clock(session_id), repr(time.time() - 420))
    last = answer("I asked both of them for their reasons, and we agreed on a smaller test first.")
    assert last["kind"] == "closing" and last["is_complete"] is True
    assert str(last["message"]).startswith(TIME_UP)
    assert last["status"] == "completed" and last["report_url"]

    view = session_view(api, headers, session_id)
    report = view["report"]
    assert report["coverage"]["time_up"] is True
    assert report["coverage"]["asked"] < report["coverage"]["planned"] == 3
    assert report["summary"].startswith("The interview's time ran out")
    turns = api.client.get(f"/v1/sessions/{session_id}/transcript", headers=headers).json()
    assert turns["turns"][-1]["meta"]["time_up"] is True
    over = api.client.post(
        f"/v1/sessions/{session_id}/messages", headers=candidate, json={"text": "One more thing."}
    )
    assert over.status_code in (401, 409)  # the interview is over
