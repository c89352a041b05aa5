"""The stream's edge over a real socket: auth, close codes, bad input, limits, takeover."""

from __future__ import annotations

import asyncio
import dataclasses
import logging

import pytest

from models.registry import ModelRegistry
from pipeline.engine import InterviewPlan, Question
from server.sessions import SessionStore
from server.storage import audit_trail, keys
from server.storage.store import Redis
from server.stream import RedactTokens, StreamClosed, _parse, release_owner
from tests.conftest import piper_speech
from tests.stream_client import (
    LiveServer,
    StreamClient,
    create_session,
    either,
    matches,
)

pytestmark = pytest.mark.slow

PLAN = InterviewPlan(questions=(Question("q1", "What project are you proudest of?"),))


async def refused(client: StreamClient) -> tuple[int | None, str]:
    code = await client.wait_closed()
    errors = client.messages("error")
    assert len(errors) == 1 and errors[0]["fatal"] is True, client.messages()
    return code, errors[0]["code"]


async def test_auth_failures_get_their_close_codes(server: LiveServer, redis: Redis) -> None:
    token = await create_session(redis, "p-auth", PLAN)
    missing = await StreamClient.connect(server.url("p-auth"), None)
    assert await refused(missing) == (4401, "unauthorized")
    wrong = await StreamClient.connect(server.url("p-auth"), "not-the-token")
    assert await refused(wrong) == (4401, "unauthorized")
    unknown = await StreamClient.connect(server.url("p-nope"), token)
    assert await refused(unknown) == (4404, "session_not_found")
    await SessionStore(redis).set_status("p-auth", "completed")
    done = await StreamClient.connect(server.url("p-auth"), token)
    assert await refused(done) == (4409, "session_finished")
    assert await SessionStore(redis).turns("p-auth") == []


async def test_subprotocol_token_is_accepted(server: LiveServer, redis: Redis) -> None:
    token = await create_session(redis, "p-sub", PLAN)
    client = await StreamClient.connect(server.url("p-sub"), token, subprotocol=True)
    assert client.ws.subprotocol == "viva.v1"
    assert (await client.wait_for(lambda m: m["type"] == "ready"))["resumed"] is False
    await client.send({"type": "ping"})
    await client.wait_for(lambda m: m["type"] == "pong")
    await client.close()


@pytest.mark.parametrize(
    ("name", "frames", "expected"),
    [
        ("json", ["{not json"], (4400, "malformed_json")),
        ("shape", ['{"type": "answer_text"}'], (4400, "invalid_message")),
        ("odd", [b"\x00\x01\x02"], (4400, "bad_audio_frame")),
        ("big", [b"\x00\x00" * 3201], (4400, "frame_too_large")),  # > 200 ms at 16 kHz
        ("rate", ['{"type":"hello","audio":{"sample_rate":11025}}'], (4400, "unsupported_rate")),
        (
            "late-hello",
            [b"\x00\x00" * 320, '{"type":"hello","audio":{"sample_rate":48000}}'],
            (4400, "hello_not_first"),
        ),
        # a flood of messages (6 000 is a 60 s stall of 10 ms frames: more, and at once)
        ("flood", [b"\x00\x00"] * 7000, (4429, "rate_limited")),
    ],
)
async def test_bad_input_closes_with_an_error_and_stores_nothing(
    server: LiveServer, redis: Redis, name: str, frames: list[str | bytes], expected: tuple
) -> None:
    session_id = f"p-bad-{name}"
    token = await create_session(redis, session_id, PLAN)
    client = await StreamClient.connect(server.url(session_id), token)
    await client.wait_for(lambda m: m["type"] == "ready")
    for frame in frames:
        if client.close_code is not None:
            break
        await client.ws.send(frame)
    assert await refused(client) == expected
    assert await SessionStore(redis).turns(session_id) == []
    # The server keeps serving: the same session opens again.
    again = await StreamClient.connect(server.url(session_id), token)
    await again.wait_for(lambda m: m["type"] == "ready")
    await again.close()


async def test_unknown_type_is_reported_and_the_stream_goes_on(
    server: LiveServer, redis: Redis
) -> None:
    token = await create_session(redis, "p-unknown", PLAN)
    client = await StreamClient.connect(server.url("p-unknown"), token)
    await client.send({"type": "teleport"})
    error = await client.wait_for(lambda m: m["type"] == "error")
    assert error["code"] == "unknown_type" and error["fatal"] is False
    await client.send({"type": "ping"})
    await client.wait_for(lambda m: m["type"] == "pong")
    await client.close()


async def test_a_second_socket_takes_over(server: LiveServer, redis: Redis) -> None:
    token = await create_session(redis, "p-takeover", PLAN)
    old = await StreamClient.connect(server.url("p-takeover"), token)
    await old.wait_for(lambda m: m["type"] == "agent_text")
    new = await StreamClient.connect(server.url("p-takeover"), token)
    assert await refused(old) == (4000, "superseded")
    await new.wait_for(lambda m: m["type"] == "ready")
    await new.close()


async def test_a_closing_socket_leaves_a_newer_socket_s_claim_alone(redis: Redis) -> None:
    # The fuzz suite caught it: a socket closing (4400) released the owner key after a reconnect
    # had set its own, and the reconnect's next turn was refused as superseded (4000).
    owner = keys.session_stream_owner("p-release")
    await redis.set(owner, "newer")
    assert not await release_owner(redis, "p-release", "older")
    assert await redis.get(owner) == "newer"
    assert await release_owner(redis, "p-release", "newer")
    assert await redis.get(owner) is None


async def test_a_chat_hello_sent_just_after_connecting_keeps_the_greeting_silent(
    server: LiveServer, redis: Redis
) -> None:
    token = await create_session(redis, "p-late-hello", PLAN)
    client = await StreamClient.connect(server.url("p-late-hello"), token)
    await asyncio.sleep(0.2)  # a page that connects, then sends its hello
    await client.send({"type": "hello", "mode": "chat"})
    await client.wait_for(lambda m: m["type"] == "agent_text" and m["turn"] == 0)
    await asyncio.sleep(0.5)
    assert not any(r.message is None for r in client.received)
    await client.close()


async def test_typed_answers_and_end(server: LiveServer, redis: Redis) -> None:
    """Chat mode: no audio, typed answers are whole turns, `end` finishes the session early."""
    token = await create_session(redis, "p-chat", PLAN)
    client = await StreamClient.connect(server.url("p-chat"), token, mode="chat")
    await client.wait_for(lambda m: m["type"] == "agent_text" and m["turn"] == 0)
    await asyncio.sleep(0.2)
    await client.send({"type": "answer_text", "text": "A compiler for a toy language."})
    final = await client.wait_for(lambda m: m["type"] == "transcript" and m["final"])
    assert final == {
        "type": "transcript",
        "role": "candidate",
        "text": "A compiler for a toy language.",
        "final": True,
        "turn": 1,
    }
    for turn in (2, 4, 6):  # the engine may ask follow-ups: answer until it closes
        reply = await client.wait_for(
            either(matches(type="finished"), matches(type="agent_text", turn=turn))
        )
        await asyncio.sleep(0.3)
        if reply["type"] == "finished" or client.messages("finished"):
            break
        await client.send({"type": "answer_text", "text": "It parsed, type-checked and ran."})
    finished = await client.wait_for(lambda m: m["type"] == "finished", timeout=60)
    assert finished["status"] in ("completed", "low_confidence")
    assert await client.wait_closed() == 1000
    assert not any(r.message is None for r in client.received)  # chat mode: no audio
    turns = await SessionStore(redis).turns("p-chat")
    assert {t.source for t in turns if t.role == "candidate"} == {"text"}

    token = await create_session(redis, "p-end", PLAN)
    client = await StreamClient.connect(server.url("p-end"), token)
    await client.wait_for(lambda m: m["type"] == "ready")
    await client.send({"type": "end"})
    ended = await client.wait_for(matches(type="finished"))
    assert ended["status"] in ("partial", "low_confidence")  # ended early: never "completed"
    assert await client.wait_closed() == 1000


async def test_practice_feedback_and_engine_meta_are_stored(
    server: LiveServer, redis: Redis
) -> None:
    """The interviewer turn keeps which engine spoke, and in practice mode the feedback on the
    answer before it, in the format chat mode (REST) stores."""
    plan = dataclasses.replace(PLAN, practice=True)
    token = await create_session(redis, "p-practice", plan)
    client = await StreamClient.connect(server.url("p-practice"), token, mode="chat")
    await client.wait_for(matches(type="agent_text", turn=0))
    await asyncio.sleep(0.2)
    await client.send(
        {"type": "answer_text", "text": "I built a search service; it halved the wait."}
    )
    feedback = await client.wait_for(lambda m: m["type"] == "feedback")
    await client.wait_for(lambda m: m["type"] == "agent_text" and m["turn"] == 2)
    for _ in range(100):  # stored once spoken (no audio in chat mode: at once)
        if len(turns := await SessionStore(redis).turns("p-practice")) == 3:
            break
        await asyncio.sleep(0.05)
    await client.close()
    assert turns[0].meta["engine"] == "structured" and turns[0].meta["engine_version"]
    assert "feedback_on_previous" not in turns[0].meta
    stored = turns[2].meta["feedback_on_previous"]
    assert stored == {
        "strengths": feedback["strengths"],
        "improvements": feedback["improvements"],
        "score": feedback["score"],
    }
    assert isinstance(feedback["score"], int) and 0 <= feedback["score"] <= 100


async def test_no_audio_is_taken_before_consent(
    server: LiveServer, redis: Redis, models: ModelRegistry
) -> None:
    """Speech before consent is dropped (no VAD, no turn) and refused once; a `consent`
    message records consent as the REST endpoint does, and the same speech then counts."""
    token = await create_session(redis, "p-consent", PLAN, consent=False)
    client = await StreamClient.connect(server.url("p-consent"), token)
    await client.stream_while(lambda m: m == {"type": "agent_audio", "event": "end", "turn": 0})
    speech = piper_speech(models, "I built a search service for a public library.")
    await client.stream(speech)
    await client.silence(1.0)
    await client.stream(speech)
    await client.silence(1.0)
    errors = client.messages("error")
    assert [(e["code"], e["fatal"]) for e in errors] == [("consent_required", False)]
    assert not client.messages("vad") and not client.messages("transcript")
    await client.send({"type": "answer_text", "text": "A typed answer before consent."})
    await client.wait_for(lambda m: m["type"] == "error" and m is not errors[0])
    assert [t.role for t in await SessionStore(redis).turns("p-consent")] == ["interviewer"]

    await client.send({"type": "consent", "version": "2026-01"})
    await client.stream(speech)
    final = await client.stream_while(lambda m: m["type"] == "transcript" and m["final"])
    assert "library" in final["text"].lower()
    assert (await SessionStore(redis).consent("p-consent") or {}).get("version") == "2026-01"
    consented = [
        e for e in await audit_trail.entries(redis, "p-consent") if e.action == "consented"
    ]
    assert len(consented) == 1 and consented[0].actor == "candidate"
    await client.close()


def test_tokens_never_reach_the_log() -> None:
    record = logging.LogRecord(
        "uvicorn.error",
        logging.INFO,
        __file__,
        1,
        '%s - "WebSocket %s" [accepted]',
        ("127.0.0.1:5", "/v1/sessions/s1/stream?token=SECRET123&x=1"),
        None,
    )
    assert RedactTokens().filter(record)
    assert "SECRET123" not in record.getMessage()
    assert "token=***&x=1" in record.getMessage()


@pytest.mark.parametrize(
    "text",
    [
        '{"type":"consent","version":' + "[" * 100_000 + "]" * 100_000 + "}",
        '{"type":"consent","version":' + "9" * 5000 + "}",
    ],
)
def test_hostile_json_is_a_protocol_error_not_a_crash(text: str) -> None:
    with pytest.raises(StreamClosed) as closed:
        _parse(text)
    assert closed.value.code == 4400
