"""End to end over a real socket: uvicorn, real Valkey, real Whisper/Piper/Silero, speech
streamed in real time as a microphone would."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jiwer
import numpy as np
import pytest

from models.registry import ModelRegistry
from pipeline.engine import InterviewPlan, Question
from server.sessions import SessionStore
from server.storage import keys
from server.storage.store import Redis
from tests.conftest import piper_speech
from tests.stream_client import (
    LiveServer,
    StreamClient,
    create_session,
    either,
    live_server,
    matches,
)

pytestmark = pytest.mark.slow

PLAN = InterviewPlan(
    questions=(
        Question("q1", "What project are you proudest of?"),
        Question("q2", "How do you handle a disagreement?"),
    )
)
ANSWER_1 = (
    "I built a search service for a public library. It cut the waiting time for readers "
    "in half, and the team still runs it today."
)
ANSWER_2 = "I listen first, then I write down both options and we test the cheaper one."


@pytest.fixture(scope="module")
def answers(models: ModelRegistry) -> dict[str, np.ndarray]:
    return {text: piper_speech(models, text) for text in (ANSWER_1, ANSWER_2)}


def wer(reference: str, hypothesis: str) -> float:
    clean = jiwer.Compose(
        [
            jiwer.ToLowerCase(),
            jiwer.RemovePunctuation(),
            jiwer.RemoveMultipleSpaces(),
            jiwer.Strip(),
            jiwer.ReduceToListOfListOfWords(),
        ]
    )
    return float(
        jiwer.wer(reference, hypothesis, reference_transform=clean, hypothesis_transform=clean)
    )


async def answer_until_finished(
    client: StreamClient, answer: np.ndarray, after_turn: int
) -> dict[str, Any]:
    """Answer whatever the interviewer asks next (an engine may add follow-ups) until it ends."""
    turn = after_turn + 1
    for _ in range(4):
        await client.stream_while(
            either(matches(type="finished"), matches(type="agent_audio", event="end", turn=turn))
        )
        if any(m["is_complete"] for m in client.messages("progress")):
            # The closing: `finished` follows once the repair window has passed.
            return await client.stream_while(lambda m: m["type"] == "finished")
        await client.silence(0.5)
        await client.stream(answer)
        turn += 2
    return await client.stream_while(lambda m: m["type"] == "finished")


def cough(seconds: float = 0.2) -> np.ndarray:
    rng = np.random.default_rng(7)
    burst = rng.normal(0, 0.3, int(16000 * seconds)).astype(np.float32)
    return burst * np.hanning(len(burst)).astype(np.float32)


async def test_a_spoken_interview_with_barge_in(
    server: LiveServer, redis: Redis, answers: dict[str, np.ndarray]
) -> None:
    token = await create_session(redis, "e2e-interview", PLAN)
    client = await StreamClient.connect(
        server.url("e2e-interview"), token, audio={"sample_rate": 16000, "encoding": "pcm_s16le"}
    )
    ready = await client.wait_for(lambda m: m["type"] == "ready")
    assert ready["resumed"] is False
    assert ready["audio_out"] == {"encoding": "pcm_s16le", "sample_rate": 22050}
    # The opening plays; the microphone meanwhile hears silence, then a cough: no turn starts.
    await client.stream_while(lambda m: m == {"type": "agent_audio", "event": "end", "turn": 0})
    await client.stream(cough())
    await client.silence(1.2)
    assert not client.messages("vad") and not client.messages("transcript")

    # Answer 1, in real time, then the microphone stays open.
    speech = answers[ANSWER_1]
    sent = time.monotonic()
    await client.stream(speech)
    await client.stream_while(lambda m: m["type"] == "agent_audio" and m["turn"] == 2)
    finals = [m for m in client.messages("transcript") if m["final"]]
    partials = [m for m in client.messages("transcript") if not m["final"]]
    assert [m["turn"] for m in finals] == [1]
    assert partials and all(m["turn"] == 1 for m in partials)
    assert wer(ANSWER_1, finals[0]["text"]) <= 0.15, finals[0]["text"]
    metrics = await client.wait_for(lambda m: m["type"] == "metrics")
    assert metrics["turn"] == 2 and metrics["eos_to_first_audio_ms"] > 0
    assert client.first_audio_after(sent) is not None

    # Barge in once the question has started playing, after the repair window (speech sooner
    # would continue answer 1: tests/test_voice_scripted.py covers that).
    await client.stream_while(lambda m: m["type"] == "agent_text" and m["turn"] == 2)
    reply_started = time.monotonic()
    await client.stream_while(lambda m: m["type"] == "agent_text" and m["text"].endswith("?"))
    await client.silence(max(0.0, reply_started + 3.05 - time.monotonic()))
    await client.stream(answers[ANSWER_2])
    assert (await client.wait_for(lambda m: m["type"] == "interrupt"))["turn"] == 2
    final_2 = await client.stream_while(
        lambda m: m["type"] == "transcript" and m["final"] and m["turn"] == 3
    )
    assert wer(ANSWER_2, final_2["text"]) <= 0.15, final_2["text"]
    finished = await answer_until_finished(client, answers[ANSWER_2], after_turn=3)
    assert finished["status"] in ("completed", "low_confidence")
    assert await client.wait_closed() == 1000

    turns = await SessionStore(redis).turns("e2e-interview")
    assert [t.role for t in turns] == ["interviewer", "candidate"] * (len(turns) // 2) + [
        "interviewer"
    ]
    assert turns[0].kind == "opening" and turns[-1].kind == "closing"
    assert turns[2].interrupted and turns[2].meta["spoken_text"]
    assert not turns[0].interrupted and not turns[-1].interrupted
    words = turns[1].meta["words"]
    assert isinstance(words, list) and len(words) >= 10
    # Session-relative times: Whisper's word times and the VAD's agree to a fraction of a second.
    assert abs(words[0][1] - turns[1].started_at) < 0.4
    assert abs(words[-1][2] - turns[1].ended_at) < 0.4
    # One voice: the report flags no other speaker, and no answer loses words to one. (The
    # candidate here has the interviewer's Piper voice: a barge-in may be taken for echo.)
    report = await stored_report_of(redis, "e2e-interview")
    assert report["status"] == finished["status"]
    assert report["fraud_signals"]["multiple_speakers"]["detected"] is False
    assert report["fraud_signals"]["multiple_speakers"]["ranges"] == []
    excluded = [e for t in turns if t.role == "candidate" for e in t.meta["excluded_speech"]]  # type: ignore[attr-defined]
    assert all(e["reason"] == "interviewer_echo" for e in excluded), excluded
    assert (await redis.hget(keys.session_recordings("e2e-interview"), "candidate")) is not None


async def stored_report_of(redis: Redis, session_id: str) -> dict[str, Any]:
    raw = await redis.get(keys.session_report(session_id))
    assert raw, f"no report for {session_id}"
    report: dict[str, Any] = json.loads(raw)
    return report


def is_final(turn: int) -> Callable[[dict[str, Any]], bool]:
    return lambda m: m["type"] == "transcript" and m["final"] and m["turn"] == turn


async def test_a_dropped_socket_resumes_without_losing_or_repeating_a_turn(
    server: LiveServer,
    redis: Redis,
    answers: dict[str, np.ndarray],
    models: ModelRegistry,
    tmp_path: Path,
) -> None:
    token = await create_session(redis, "e2e-resume", PLAN)
    first = await StreamClient.connect(server.url("e2e-resume"), token)
    await first.stream_while(lambda m: m == {"type": "agent_audio", "event": "end", "turn": 0})
    await first.stream(answers[ANSWER_1])
    # Dropped while the next question is being spoken: that turn was never completed.
    await first.stream_while(lambda m: m["type"] == "agent_text" and m["turn"] == 2)
    first.drop()
    await first.wait_closed()

    second = await StreamClient.connect(server.url("e2e-resume"), token)
    ready = await second.wait_for(lambda m: m["type"] == "ready")
    assert ready["resumed"] is True and ready["progress"]["question_count"] == 1
    # Dropped again once the question is complete and stored.
    await second.stream_while(lambda m: m == {"type": "agent_audio", "event": "end", "turn": 2})
    second.drop()
    await second.wait_closed()

    # A restarted server (a new process state over the same Redis) repeats the open question.
    with live_server(tmp_path, models, redis_url=server.redis_url) as restarted:
        third = await StreamClient.connect(restarted.url("e2e-resume"), token)
        assert (await third.wait_for(lambda m: m["type"] == "ready"))["resumed"] is True
        await third.stream_while(lambda m: m == {"type": "agent_audio", "event": "end", "turn": 2})
        repeated = " ".join(m["text"] for m in third.messages("agent_text"))
        open_turn = (await SessionStore(redis).turns("e2e-resume"))[2]
        assert open_turn.text.split(". ")[-1] in repeated  # the open question, asked again
        await third.stream(answers[ANSWER_2])
        assert (await third.stream_while(is_final(3)))["text"]
        await third.stream_while(lambda m: m["type"] == "agent_audio" and m["turn"] == 4)
        await third.close()

    turns = await SessionStore(redis).turns("e2e-resume")
    assert [t.index for t in turns] == [0, 1, 2, 3]
    assert [t.role for t in turns] == ["interviewer", "candidate"] * 2
    assert turns[3].question_index == turns[2].question_index
    assert sum(t.text == turns[2].text for t in turns) == 1
    # Each socket that heard an answer left its speaker evidence for the next one.
    assert await redis.llen(keys.session_integrity("e2e-resume")) >= 2


async def test_end_mid_answer_stores_what_was_said(
    server: LiveServer, redis: Redis, answers: dict[str, np.ndarray]
) -> None:
    token = await create_session(redis, "e2e-end", PLAN)
    client = await StreamClient.connect(server.url("e2e-end"), token)
    await client.stream_while(lambda m: m == {"type": "agent_audio", "event": "end", "turn": 0})
    speech = answers[ANSWER_1]
    # About "I built a search service for a public library. It cut the waiting time", then
    # the candidate ends the interview mid-sentence.
    await client.stream(speech[: int(len(speech) * 0.55)])
    await client.send({"type": "end"})
    finished = await client.wait_for(matches(type="finished"), timeout=60)
    assert finished["status"] in ("partial", "low_confidence")
    final = await client.wait_for(is_final(1))
    assert await client.wait_closed() == 1000
    turns = await SessionStore(redis).turns("e2e-end")
    assert [t.role for t in turns] == ["interviewer", "candidate"]
    answer = turns[1]
    assert answer.text == final["text"] and answer.source == "voice"
    said = answer.text.lower()
    assert "search service" in said and "library" in said, said
    assert "readers" not in said and "team" not in said  # never said
    assert answer.meta["asr_text"] == answer.text  # one voice: nothing left out
    assert answer.ended_at > answer.started_at


async def test_going_on_after_the_reply_began_repairs_the_answer(
    server: LiveServer, redis: Redis, answers: dict[str, np.ndarray]
) -> None:
    """Protocol v1.1 repair over a real socket with real models: the candidate pauses longer
    than the patience window, the reply starts, and the candidate goes on with the same answer."""
    token = await create_session(redis, "e2e-repair", PLAN)
    client = await StreamClient.connect(server.url("e2e-repair"), token)
    await client.stream_while(lambda m: m == {"type": "agent_audio", "event": "end", "turn": 0})
    await client.silence(1.0)
    await client.stream(answers[ANSWER_1])
    await client.stream_while(matches(type="agent_audio", event="start", turn=2))
    await client.stream(answers[ANSWER_2])  # the same answer, going on
    assert (await client.wait_for(matches(type="interrupt")))["turn"] == 2
    final = await client.stream_while(
        lambda m: m["type"] == "transcript" and m["final"] and "cheaper" in m["text"], timeout=30
    )
    assert final["turn"] == 1  # the same turn, its final replaced
    assert wer(f"{ANSWER_1} {ANSWER_2}", final["text"]) <= 0.15, final["text"]
    await client.stream_while(matches(type="agent_audio", event="end", turn=2))
    await client.close()

    turns = await SessionStore(redis).turns("e2e-repair")
    assert [t.role for t in turns[:3]] == ["interviewer", "candidate", "interviewer"]
    assert turns[1].text == final["text"]  # stored once, replaced by the repaired answer
    assert not turns[2].interrupted  # the dropped reply was not stored; this one was spoken
