"""The score is about the candidate alone, end to end: a spoken interview over a real socket
(real Valkey, Whisper, Piper, Silero, Resemblyzer) in which someone else speaks inside an answer.
The report flags the second voice where it spoke, the scored answer leaves their words out (the
stored ASR text keeps them), and the candidate's recording is served."""

from __future__ import annotations

import io
import re
from collections import Counter
from collections.abc import Callable
from typing import Any

import httpx
import numpy as np
import pytest
import soundfile as sf

from models.registry import ModelRegistry
from pipeline.engine import InterviewPlan, Question
from server.sessions import SessionStore, new_session_id
from server.storage.store import Redis
from server.tenants import create_tenant
from tests.conftest import espeak, piper_speech
from tests.stream_client import (
    LiveServer,
    StreamClient,
    create_session,
    either,
    matches,
)

pytestmark = pytest.mark.slow

# The REST routes take only well-formed ids (issue 24 #8): the report is read over them.
SESSION_ID = new_session_id()
PLAN = InterviewPlan(
    questions=(
        Question("q1", "Tell me about a migration you led."),
        Question("q2", "How do you settle a disagreement in your team?"),
    )
)
# Long enough (> 6 s) to enrol the candidate's voice, and with the rest over 30 s of speech.
ANSWER_1 = (
    "I led the migration of our billing system to a new platform. We moved one customer group "
    "at a time, kept the old system running beside the new one, and compared every invoice for "
    "a month before we switched the old one off. Nobody was billed twice, and support tickets "
    "went down by a third."
)
ANSWER_2_START = "When we disagree, I ask each person to write down what they expect to happen."
INTRUDER = "Tell them about the database in the cloud, the one from last winter."
INTRUDER_WORDS = ("database", "cloud", "winter")
ANSWER_2_END = "Then we try the cheaper option first and look at the numbers together a week later."
FOLLOW_UP = "We kept a short written record of every decision, so new people could follow it."
# Between the voices: shorter than the endpoint, so it is one answer. (Whisper tiny.en tends to
# drop a brief voice change it hears with no pause at all, or espeak's female variants.)
GAP_S = 0.35


def words(text: str) -> list[str]:
    return re.findall(r"[a-z']+", text.lower())


def trimmed(audio: np.ndarray, threshold: float = 0.01) -> np.ndarray:
    loud = np.flatnonzero(np.abs(audio) > threshold)
    return audio[loud[0] : loud[-1] + 1]


def audio_end_from(turn: int) -> Callable[[dict[str, Any]], bool]:
    """The end of the interviewer's audio of `turn` or a later turn."""
    return lambda m: m["type"] == "agent_audio" and m["event"] == "end" and m["turn"] >= turn


async def answer_when_asked(client: StreamClient, turn: int, answer: np.ndarray) -> None:
    await client.stream_while(matches(type="agent_audio", event="end", turn=turn))
    # Past the playback slack: speech right after the interviewer could pass for their echo.
    await client.silence(1.2)
    await client.stream(answer)


async def test_a_second_voice_in_an_answer_is_flagged_and_left_out_of_the_score(
    server: LiveServer, redis: Redis, models: ModelRegistry
) -> None:
    tenant, api_key = await create_tenant(redis, "Integrity Co")
    token = await create_session(redis, SESSION_ID, PLAN, tenant_id=tenant.id)
    start, intruder, end = (
        trimmed(piper_speech(models, ANSWER_2_START)),
        trimmed(espeak(INTRUDER, "en-us", rate=150)),
        trimmed(piper_speech(models, ANSWER_2_END)),
    )
    intruder *= 0.9 / np.abs(intruder).max()  # as loud as the candidate: close to the mic
    gap = np.zeros(int(GAP_S * 16000), np.float32)
    answer_2 = np.concatenate([start, gap, intruder, gap, end])
    intruder_from_s = (len(start) + len(gap)) / 16000
    intruder_to_s = intruder_from_s + len(intruder) / 16000

    client = await StreamClient.connect(server.url(SESSION_ID), token)
    await answer_when_asked(client, 0, piper_speech(models, ANSWER_1))
    follow_up = piper_speech(models, FOLLOW_UP)
    question = 2  # the engine may probe the first answer before the second question
    while True:
        # A long answer may also be cut in two by the endpoint: go by what is asked.
        ended = await client.stream_while(audio_end_from(question))
        question = ended["turn"]
        said = " ".join(m["text"] for m in client.messages("agent_text") if m["turn"] == question)
        if "disagreement" in said or question > 6:
            break
        await answer_when_asked(client, question, follow_up)
        question += 2
    await answer_when_asked(client, question, answer_2)
    for turn in range(question + 2, question + 8, 2):  # probes: answer until it closes
        await client.stream_while(
            either(matches(type="finished"), matches(type="agent_audio", event="end", turn=turn)),
            timeout=60,
        )
        if any(m["is_complete"] for m in client.messages("progress")):
            break  # the closing: `finished` follows once the repair window has passed
        await client.silence(0.7)
        await client.stream(follow_up)
    await client.stream_while(matches(type="finished"), timeout=60)
    finished = client.messages("finished")[0]
    assert await client.wait_closed() == 1000

    turns = await SessionStore(redis).turns(SESSION_ID)
    answer = turns[question + 1]
    assert answer.role == "candidate", turns
    asr_text = str(answer.meta["asr_text"]).lower()
    scored = answer.text.lower()
    assert any(w in asr_text for w in INTRUDER_WORDS), asr_text  # Whisper heard them ...
    assert not any(w in scored for w in INTRUDER_WORDS), scored  # ... scoring does not
    # The candidate's words stay, all that Whisper heard of them, but for the one word touching
    # the other voice on either side: the edges are found to within ~0.5 s
    # (tests/test_integrity_speakers.py) and the voices are 0.35 s apart, so an edge can take at
    # most the half of the candidate's last word before the other voice, or first word after it.
    # (The message has the word times and the excluded ranges.)
    before, after = words(ANSWER_2_START), words(ANSWER_2_END)
    heard = Counter(words(asr_text)) & Counter(before + after)  # Whisper's mishearings aside
    lost = heard - Counter(words(scored))
    assert lost <= Counter([before[-1], after[0]]), (lost, answer.meta)
    excluded: list[dict[str, Any]] = answer.meta["excluded_speech"]
    assert {e["reason"] for e in excluded} == {"other_speaker"}
    assert any(w in " ".join(e["text"] for e in excluded).lower() for w in INTRUDER_WORDS)
    # Where the intruder spoke on the session clock (the answer's audio starts at its first
    # voiced sample, give or take the detector's onset).
    injected = (answer.started_at + intruder_from_s, answer.started_at + intruder_to_s)

    async with httpx.AsyncClient(
        base_url=f"http://127.0.0.1:{server.port}",
        headers={"X-API-Key": api_key, "X-Tenant-Id": tenant.id},
    ) as http:
        session = (await http.get(f"/v1/sessions/{SESSION_ID}")).json()
        recording = await http.get(
            f"/v1/sessions/{SESSION_ID}/recording", params={"track": "candidate"}
        )
    report = session["report"]
    assert session["status"] == finished["status"] == report["status"] == "completed"
    assert finished["score"] == report["overall_score"] is not None
    speakers = report["fraud_signals"]["multiple_speakers"]
    assert speakers["detected"] is True
    overlaps = [
        min(r["end_s"], injected[1]) - max(r["start_s"], injected[0]) for r in speakers["ranges"]
    ]
    assert max(overlaps) >= 0.5 * (injected[1] - injected[0]), (speakers, injected)
    assert report["fraud_signals"]["too_little_speech"]["detected"] is False
    assert report["language"]

    assert recording.status_code == 200 and recording.headers["content-type"] == "audio/wav"
    audio, rate = sf.read(io.BytesIO(recording.content), dtype="float32")
    assert rate == 16000 and len(audio) / rate >= answer.ended_at - 0.5
    inside = audio[int(injected[0] * rate) : int(injected[1] * rate)]
    assert np.abs(inside).max() > 0.05  # the microphone's audio, the other voice included
    before_answer_1 = audio[: int(turns[1].started_at * rate) - rate // 2]
    assert np.abs(before_answer_1).max() == 0  # only the candidate's microphone, on its clock
