"""A phone interview end to end: Twilio's side written from its documented message shapes (signed
webhooks, TwiML, Media Streams), a real server on a real port, real Valkey, real Whisper, Piper
and Silero, and the caller's speech as 8 kHz μ-law in real time."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest
import redis.asyncio as aioredis
import websockets

from audio.telephone import to_telephone
from models.registry import ModelRegistry
from pipeline.engine import InterviewPlan, Question
from server.phone import credentials
from server.security import revocation
from server.sessions import SessionStore
from server.storage import audit_trail, keys
from server.storage.store import Redis
from tests.conftest import piper_speech
from tests.phone_client import (
    MediaStreamClient,
    Twiml,
    call_params,
    new_call_sid,
    pin_key,
    post_webhook,
    twilio_env,
)
from tests.stream_client import LiveServer, create_session, live_server
from tests.test_stream_e2e import wer

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
def phone_server(
    tmp_path_factory: pytest.TempPathFactory, models: ModelRegistry
) -> Iterator[LiveServer]:
    """A live server with the phone channel on (its settings come from the environment)."""
    with pytest.MonkeyPatch.context() as env:
        for name, value in twilio_env().items():
            env.setenv(name, value)
        with live_server(Path(tmp_path_factory.mktemp("phone")), models) as live:
            yield live


@pytest.fixture
async def redis(phone_server: LiveServer) -> AsyncIterator[Redis]:
    client = aioredis.from_url(phone_server.redis_url, decode_responses=True)
    yield client
    await client.aclose()


@pytest.fixture(scope="module")
def line_audio(models: ModelRegistry) -> dict[str, bytes]:
    """The answers as a caller's phone sends them: 8 kHz μ-law."""
    return {text: to_telephone(piper_speech(models, text), 16000) for text in (ANSWER_1, ANSWER_2)}


def voice_url(server: LiveServer) -> str:
    return f"http://127.0.0.1:{server.port}/v1/phone/twilio/voice"


def dial_in(server: LiveServer, pin: str, call_sid: str) -> tuple[str, str]:
    """Inbound call and PIN over signed webhooks; returns the stream URL and token."""
    with httpx.Client(timeout=30) as http:
        status, xml = post_webhook(http, voice_url(server), call_params(call_sid))
        assert status == 200, xml
        action = Twiml(xml).gather_action
        assert action is not None
        status, xml = post_webhook(http, action, call_params(call_sid, Digits=pin))
        assert status == 200, xml
    stream = Twiml(xml).stream
    assert stream is not None, xml
    return stream[0], stream[1]["stream_token"]


def turn_heard(call: MediaStreamClient, turn: int) -> bool:
    """The interviewer's turn has played to its end on the caller's phone."""
    return any(name.startswith(f"turn:{turn}:") for _, name in call.played_marks)


def last_turn_mark(call: MediaStreamClient) -> int:
    marks = [int(name.split(":")[1]) for _, name in call.played_marks if name.startswith("turn:")]
    return max(marks, default=-1)


async def test_a_phone_interview_from_webhook_to_finished(
    phone_server: LiveServer, redis: Redis, line_audio: dict[str, bytes]
) -> None:
    session_id = "phone-e2e"
    await create_session(redis, session_id, PLAN, mode="phone", consent=False)
    pin = await credentials.issue_pin(redis, pin_key(), session_id, 3600)
    call_sid = new_call_sid()
    url, stream_token = dial_in(phone_server, pin, call_sid)
    assert url.startswith(f"ws://127.0.0.1:{phone_server.port}/v1/phone/twilio/stream/")

    call = await MediaStreamClient.connect(url, stream_token, call_sid)
    # The disclosure is spoken first; what the caller says meanwhile is not processed.
    await call.wait_until(lambda: len(call.events("media")) > 50, timeout=30)
    assert await SessionStore(redis).consent(session_id) is None
    await call.stream(line_audio[ANSWER_2])
    assert await SessionStore(redis).turns(session_id) == []
    pressed = await call.dtmf("1")
    await call.wait_until(lambda: bool(call.cleared_at), timeout=10)  # the disclosure stops
    consent = json.loads(await redis.hget(keys.session(session_id), "consent") or "{}")
    assert consent["channel"] == "phone" and consent["version"] == "2026-01"
    entries = await audit_trail.entries(redis, session_id)
    assert any(e.action == "consented" and e.detail["channel"] == "phone" for e in entries)
    assert call.cleared_at[0] > pressed

    # The opening, then answers ended with `#`, until the interviewer closes and hangs up.
    await call.wait_until(lambda: turn_heard(call, 0), timeout=60)
    hash_to_audio: list[float] = []
    answers = [ANSWER_1, ANSWER_2, ANSWER_2, ANSWER_2]
    for answer in answers:
        await call.silence(0.4)
        await call.stream(line_audio[answer])
        pressed = await call.dtmf("#")
        asked = last_turn_mark(call)
        await call.wait_until(
            lambda at=pressed: call.first_media_after(at) is not None,  # type: ignore[misc]
            timeout=30,
        )
        first_audio = call.first_media_after(pressed)
        assert first_audio is not None
        hash_to_audio.append(first_audio - pressed)
        await call.wait_until(
            lambda asked=asked: last_turn_mark(call) > asked or call.close_code is not None,  # type: ignore[misc]
            timeout=90,
        )
        if call.close_code is not None:
            break
        turns = await SessionStore(redis).turns(session_id)
        if turns[-1].kind == "closing":
            break
    assert await call.wait_closed(timeout=60) == 1000
    # `#` ended each answer (`end: signal` below), not the silence after it. How soon the reply
    # follows is a speed figure: the phone section of `make bench`, not a timed assertion here.
    print(f"# -> first reply audio: {[round(s, 2) for s in hash_to_audio]} s")

    turns = await SessionStore(redis).turns(session_id)
    assert turns[0].kind == "opening" and turns[-1].kind == "closing"
    answered = [t for t in turns if t.role == "candidate"]
    assert len(answered) >= 2 and all(t.meta["end"] == "signal" for t in answered)
    assert wer(ANSWER_1, answered[0].meta["asr_text"]) <= 0.25, answered[0].meta["asr_text"]  # type: ignore[arg-type]
    record = await SessionStore(redis).get(session_id)
    assert record.is_finished
    report = json.loads(await redis.get(keys.session_report(session_id)) or "{}")
    assert report["channel"] == "phone"
    # The interviewer's voice came back as μ-law media in 20 ms frames, with marks per turn.
    assert all(len(h.message["media"]["payload"]) == 216 for h in call.events("media"))
    assert call.marks_sent("turn:0:")

    # The stream URL (its one-time nonce) and token are good once: the same handshake again is
    # refused before the upgrade (issue 24 #4).
    with pytest.raises(websockets.exceptions.InvalidStatus) as refused:
        await MediaStreamClient.connect(url, stream_token, call_sid)
    assert refused.value.response.status_code == 403


async def test_speaking_over_the_interviewer_clears_the_line(
    phone_server: LiveServer, redis: Redis, line_audio: dict[str, bytes]
) -> None:
    session_id = "phone-barge-in"
    await create_session(redis, session_id, PLAN, mode="phone", consent=True)
    pin = await credentials.issue_pin(redis, pin_key(), session_id, 3600)
    call_sid = new_call_sid()
    url, stream_token = dial_in(phone_server, pin, call_sid)
    call = await MediaStreamClient.connect(url, stream_token, call_sid)
    # Consent was given before (over REST): no disclosure, the opening starts at once.
    await call.wait_until(lambda: len(call.events("media")) > 25, timeout=30)
    assert not call.cleared_at
    started = time.monotonic()
    await call.stream(line_audio[ANSWER_1])
    assert call.cleared_at, "no clear after speaking over the interviewer"
    cleared = call.cleared_at[0] - started
    assert 0.3 < cleared < 2.0, cleared
    # The interviewer stopped: its opening is stored as interrupted, and the answer goes on.
    await call.dtmf("#")
    await call.wait_until(lambda: call.first_media_after(started + cleared + 0.5) is not None)
    # (the answer is stored beside the reply's first audio, once the speaker checks ran)
    for _ in range(100):
        turns = await SessionStore(redis).turns(session_id)
        if len(turns) >= 2:
            break
        await call.silence(0.1)
    assert turns[0].interrupted and turns[1].role == "candidate"
    assert wer(ANSWER_1, turns[1].meta["asr_text"]) <= 0.3, turns[1].meta["asr_text"]  # type: ignore[arg-type]
    await call.stop()
    samples = call.audio_between(0.0)
    assert len(samples) > 8000 and np.abs(samples).max() > 1000  # real audio, not silence


async def test_ending_the_session_elsewhere_ends_the_call(
    phone_server: LiveServer, redis: Redis
) -> None:
    session_id = "phone-ended"
    await create_session(redis, session_id, PLAN, mode="phone", consent=True)
    pin = await credentials.issue_pin(redis, pin_key(), session_id, 3600)
    call_sid = new_call_sid()
    url, stream_token = dial_in(phone_server, pin, call_sid)
    call = await MediaStreamClient.connect(url, stream_token, call_sid)
    await call.wait_until(lambda: len(call.events("media")) > 10, timeout=30)
    # What `POST /v1/sessions/{id}/end` and the idle expiry do to the session's sockets.
    await revocation.revoke(redis, session_id, "ended")
    signalled = time.monotonic()
    await call.wait_until(lambda: bool(call.cleared_at) or call.close_code is not None, 10)
    # The call is told (a short sentence), then the socket closes; the line hangs up.
    assert await call.wait_closed(timeout=20) == 1000
    assert call.events("media")[-1].at - signalled < 2 * 2.0 + 3.0


async def test_a_reinvite_ends_the_call(phone_server: LiveServer, redis: Redis) -> None:
    """Issue 24 #3: the call a PIN opened ends when the session is reinvited (new token, the
    PIN revoked), as the browser's socket does."""
    session_id = "phone-reinvited"
    await create_session(redis, session_id, PLAN, mode="phone", consent=True)
    pin = await credentials.issue_pin(redis, pin_key(), session_id, 3600)
    call_sid = new_call_sid()
    url, stream_token = dial_in(phone_server, pin, call_sid)
    call = await MediaStreamClient.connect(url, stream_token, call_sid)
    await call.wait_until(lambda: len(call.events("media")) > 10, timeout=30)
    # What `POST /v1/sessions/{id}/reinvite` does to the session.
    await SessionStore(redis).reissue_token(session_id, 3600)
    await revocation.revoke(redis, session_id, "reinvited")
    await credentials.revoke_pin(redis, session_id)
    signalled = time.monotonic()
    assert await call.wait_closed(timeout=20) == 1000
    assert call.events("media")[-1].at - signalled < 2 * 2.0 + 3.0
