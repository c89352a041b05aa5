"""Fairness over the real stream with the real models: the same spoken answers, streamed in real
time to two voice sessions created through the REST API that differ in everything but the
answers (candidate name, external id, metadata, tags, persona), give byte-identical scores.

Real uvicorn, real Valkey, real Silero VAD, Whisper, Piper and the scoring embedder; the answers
are Piper speech (repeatable: no synthesis noise). The two sessions run at the same time.

Compared byte for byte: every section of the report but the integrity checks' (`fraud_signals`,
`language`), which describe how the audio was heard (time ranges in session seconds, which
depend on when each answer was streamed), not what was answered. The persona pair is Maya and
Leo, the two that differ most (greeting, tone, patience 1.25 vs 0.8, probing below 60 vs every
gap): the answers leave no gap, so neither probes and both ask the same questions; the test
checks that the two flows are the same before comparing.

Until the streaming recognizer cut answers into segments at the VAD's pauses (each transcribed
once, see `pipeline/voice/committed.py`), the stored text of an answer depended on how many
partials ran, i.e. on time and load: the same samples came out as "In my last role, our" in one
session and "in my last role our" or "forty" / "40" in the other, and a score moved by a point.
Now the same words must be heard and the scores be byte-identical.

On a loaded machine this still failed now and then ("In my last role" / "in my last role", issue
28): a turn's preroll was a frame longer by float rounding, Silero's state drifted through the
zeros sent while the interviewer spoke (so the VAD heard the answer differently after a longer
silence), batched clips' word times moved with their company, and a decode that failed Whisper's
checks was redone by sampling from a generator every session draws from. Each is pinned by a unit
test; `test_same_words_under_load.py` streams one answer from several sessions beside a CPU
burner, repeatedly.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from typing import Any

import httpx
import numpy as np
import pytest

from models.registry import ModelRegistry
from pipeline.interview.report import build_report
from server.sessions import SessionStore
from server.storage import keys
from server.storage.store import Redis
from server.tenants import create_tenant
from server.usecases.consent import DISCLOSURE_VERSION
from tests.conftest import piper_speech
from tests.stream_client import LiveServer, StreamClient, either, matches

pytestmark = pytest.mark.slow

INTERVIEW = {
    "name": "Fairness over the stream",
    "type": "behavioral",
    "persona_id": "maya",
    "max_questions": 2,
    "questions": [
        {"question": "Tell me about a project you led.", "time_limit_s": 60},
        {"question": "Tell me about a disagreement at work.", "time_limit_s": 60},
    ],
}
# Worded so that Whisper tiny.en hears Piper say them as written (it heard "I led its move"
# as "I let it's moved", an off-topic answer), and leaving no gap for any persona to probe.
ANSWERS = [
    "In my last role, our billing service failed at the end of every month. I led the project "
    "to rebuild it, and I trained the team myself. As a result, incidents fell by forty percent.",
    "At my last job, I disagreed with our manager about a launch date, because forty bugs were "
    "open. I proposed a smaller scope, we agreed, and we shipped on time with fewer defects.",
]
# Every answer starts on the same sample of the server's frame grids in both sessions: the
# client sends 20 ms frames (320 samples), the VAD reads 512-sample frames, and both divide
# this; all silence is sent in blocks of it and each answer is padded to a multiple of it.
# (Otherwise the silence sent while the interviewer speaks, which depends on timing, shifts
# the answer by up to a frame, and Whisper may hear a borderline word differently.)
ALIGN_SAMPLES = 2560
BLOCK_S = ALIGN_SAMPLES / 16000  # silence sent while listening, in aligned blocks
SESSIONS: dict[str, dict[str, Any]] = {
    "maya_ada": {
        "persona_id": "maya",
        "candidate": {"external_id": "cand-0001", "name": "Ada Lovelace"},
        "metadata": {"requisition": "R-1"},
        "tags": ["backend"],
    },
    "leo_mohammed": {
        "persona_id": "leo",
        "candidate": {"external_id": "X-77", "name": "Mohammed Al-Rashid"},
        "metadata": {"requisition": "R-77", "gender": "male", "age": 58},
        "tags": ["frontend", "priority"],
    },
}
# What is compared is what was heard, not how fast: on a 2-core box busy with other work a reply
# came 11 s after the answer (engine 3.8 s, final 4.4 s), so each wait is generous.
TURN_TIMEOUT_S = 150
# How the audio was heard, with session-relative time ranges: not scores.
REPORT_FIELDS_THAT_DIFFER = frozenset({"fraud_signals", "language"})


@pytest.fixture(scope="module")
def spoken(models: ModelRegistry) -> list[np.ndarray]:
    return [aligned(piper_speech(models, text)) for text in ANSWERS]


def aligned(audio: np.ndarray) -> np.ndarray:
    padding = -len(audio) % ALIGN_SAMPLES
    return np.concatenate([audio, np.zeros(padding, np.float32)])


async def interview_over_stream(
    server: LiveServer,
    http: httpx.AsyncClient,
    headers: dict[str, str],
    body: dict[str, Any],
    spoken: list[np.ndarray],
) -> str:
    created = await http.post("/v1/sessions", headers=headers, json={"mode": "voice", **body})
    assert created.status_code == 201, created.text
    session_id, token = created.json()["session"]["id"], created.json()["token"]
    consent = await http.post(
        f"/v1/sessions/{session_id}/consent",
        headers={"Authorization": f"Bearer {token}"},
        json={"accepted": True, "version": DISCLOSURE_VERSION},
    )
    assert consent.status_code == 200, consent.text
    client = await StreamClient.connect(server.url(session_id), token)
    await client.wait_for(matches(type="ready"))
    # Each answer once the interviewer's turn has been spoken; should a persona probe (it
    # must not: the flows are compared below), the last answer again, within a bound.
    turn = 0
    for given in range(len(spoken) + 2):
        await client.stream_while(
            either(matches(type="finished"), matches(type="agent_audio", event="end", turn=turn)),
            timeout=TURN_TIMEOUT_S,
            block_s=BLOCK_S,
        )
        if client.find(matches(type="finished")) or any(
            m["is_complete"] for m in client.messages("progress")
        ):
            break
        await client.silence(5 * BLOCK_S)
        await client.stream(spoken[min(given, len(spoken) - 1)])
        turn += 2
    finished = await client.stream_while(
        matches(type="finished"), timeout=TURN_TIMEOUT_S, block_s=BLOCK_S
    )
    assert finished["status"] == "completed", finished
    await client.wait_closed()
    return session_id


@pytest.mark.timeout(900)
async def test_the_same_spoken_answers_score_the_same_under_any_name_or_persona(
    server: LiveServer, redis: Redis, spoken: list[np.ndarray], models: ModelRegistry
) -> None:
    _tenant, api_key = await create_tenant(redis, "Fair Hiring")
    headers = {"X-API-Key": api_key}
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.port}", timeout=30) as http:
        created = await http.post("/v1/interviews", headers=headers, json=INTERVIEW)
        assert created.status_code == 201, created.text
        interview_id = created.json()["interview_id"]
        ids = await asyncio.gather(
            *(
                interview_over_stream(
                    server, http, headers, {"interview_id": interview_id, **body}, spoken
                )
                for body in SESSIONS.values()
            )
        )
    store = SessionStore(redis)
    records = {name: await store.get(sid) for name, sid in zip(SESSIONS, ids, strict=True)}
    turns = {name: await store.turns(sid) for name, sid in zip(SESSIONS, ids, strict=True)}
    reports = {}
    for name, session_id in zip(SESSIONS, ids, strict=True):
        raw = await redis.get(keys.session_report(session_id))
        assert raw, name
        reports[name] = json.loads(raw)
    first, second = (turns[name] for name in SESSIONS)
    heard = {n: [t.text for t in turns[n] if t.role == "candidate"] for n in SESSIONS}
    overall = {n: r["overall_score"] for n, r in reports.items()}
    print(f"\nheard: {json.dumps(heard, indent=1)}\noverall: {overall}")

    # The swaps reached the interview: each greeted its candidate in its persona's words.
    assert "Ada" in first[0].text and "Maya" in first[0].text
    assert "Mohammed" in second[0].text and "Leo" in second[0].text
    # The precondition: the same questions in the same order.
    flow = [(t.role, t.kind, t.question_index) for t in first]
    assert flow == [(t.role, t.kind, t.question_index) for t in second]
    assert [t.kind for t in first if t.role == "interviewer"] == ["opening", "question", "closing"]
    assert all(t.source == "voice" for t in first if t.role == "candidate")
    assert all(r["status"] == "completed" and r["channel"] == "browser" for r in reports.values())

    # What was heard over the stream, scored under the other session's persona and name (by
    # the server's own embedder), gives the stored report: the swaps never reach the scoring.
    names = list(SESSIONS)
    embedder = models.embedder()
    for name, other in zip(names, reversed(names), strict=True):
        plan = dataclasses.replace(
            records[name].plan,
            persona_id=records[other].plan.persona_id,
            candidate_first_name=records[other].plan.candidate_first_name,
        )
        rebuilt = build_report(plan, turns[name], ended_early=False, embedder=embedder)
        stored = scores(reports[name])
        assert scores({**rebuilt, "channel": reports[name]["channel"]}) == stored, name

    # The target: the same audio is heard the same (segments cut at the VAD's pauses, each
    # transcribed once, batched only with clips of its window) and scores byte-identically.
    assert heard[names[0]] == heard[names[1]]
    a, b = (scores(reports[name]) for name in SESSIONS)
    assert a == b
    print(f"{len(a)} bytes of scores identical")


def scores(report: dict[str, Any]) -> str:
    """The report's bytes without the sections that describe how the audio was heard."""
    return json.dumps({k: v for k, v in report.items() if k not in REPORT_FIELDS_THAT_DIFFER})
