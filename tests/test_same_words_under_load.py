"""The same spoken answer, streamed by several sessions at once while the machine is kept busy
on purpose, is stored as the same words and scored the same, byte for byte, every time (issue
28: on a loaded 2-core machine one session stored "In my last role" and the other "in my last
role").

Real uvicorn, Valkey, Silero VAD, Whisper and Piper, as in `test_fairness_stream.py`; beside them
a CPU burner (a subprocess spinning on one core) takes the CPU the sessions would have had, so
Whisper calls run late, queue up and are batched with other sessions' clips in changing company,
and the audio is read in bursts. The sessions start a fraction of a second apart (different in
each repetition), so their answers land on different frames of the stream and in different
batches. Every repetition's stored words (the turn's text, what Whisper heard, the words stored
with it) and scores must equal the first session's of the first repetition.

`VIVA_SAME_WORDS_REPEATS` sets the repetitions (2 in the suite; 20 for a bench or a manual run),
`VIVA_SAME_WORDS_BURNERS` the spinning processes (1).
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import httpx
import numpy as np
import pytest

from models.registry import ModelRegistry
from server.sessions import SessionStore
from server.storage import keys
from server.storage.store import Redis
from server.tenants import create_tenant
from server.usecases.consent import DISCLOSURE_VERSION
from tests.conftest import piper_speech
from tests.stream_client import LiveServer, StreamClient, either, matches
from tests.test_fairness_stream import ANSWERS, BLOCK_S, aligned, scores

pytestmark = pytest.mark.slow

REPEATS = int(os.environ.get("VIVA_SAME_WORDS_REPEATS", "2"))
BURNERS = int(os.environ.get("VIVA_SAME_WORDS_BURNERS", "1"))
SESSIONS = 3
# Sessions start apart by a fraction of a second that is no multiple of a frame, shifted in each
# repetition (within MAX_DELAY_S): one session's segments then come due beside another's
# different ones, and share a batch with them when the shared Whisper is late.
STAGGER_S = 0.77
SHIFT_S = 0.53
MAX_DELAY_S = 2.0

INTERVIEW = {
    "name": "Same words under load",
    "type": "behavioral",
    "persona_id": "maya",
    "max_questions": 1,
    "questions": [{"question": "Tell me about a project you led.", "time_limit_s": 60}],
}
# The fairness test's first answer (worded so that Whisper tiny.en hears Piper as written, and
# leaving the persona nothing to probe) and one sentence more: the report needs 10 s of the
# candidate's speech to score. Its pauses close segments while it goes on, and leave one open
# when it ends.
ANSWER = ANSWERS[0] + " The new service has run without an incident since then."


@pytest.fixture(scope="module")
def answer(models: ModelRegistry) -> np.ndarray:
    return aligned(piper_speech(models, ANSWER))


@pytest.fixture
def busy_machine() -> Iterator[None]:
    """Processes spinning on a core each for the test's duration (killed after, by handle)."""
    burners = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(BURNERS)]
    try:
        yield
    finally:
        for burner in burners:
            burner.kill()
            burner.wait()


async def interview(
    server: LiveServer,
    http: httpx.AsyncClient,
    headers: dict[str, str],
    body: dict[str, Any],
    answer: np.ndarray,
) -> str:
    """One voice interview, the answer streamed in real time (and again should the persona
    probe), the interviewer's turns taken as captions (`hello` mode chat: no audio to wait
    through, which would make each repetition twice as long; the answer's path through the
    VAD, the segments and the shared Whisper is the same)."""
    created = await http.post("/v1/sessions", headers=headers, json={"mode": "voice", **body})
    assert created.status_code == 201, created.text
    session_id, token = created.json()["session"]["id"], created.json()["token"]
    consent = await http.post(
        f"/v1/sessions/{session_id}/consent",
        headers={"Authorization": f"Bearer {token}"},
        json={"accepted": True, "version": DISCLOSURE_VERSION},
    )
    assert consent.status_code == 200, consent.text
    client = await StreamClient.connect(server.url(session_id), token, mode="chat")
    await client.wait_for(matches(type="ready"))
    finished = matches(type="finished")
    turn = 0
    for _ in range(3):
        await client.stream_while(
            either(finished, matches(type="agent_text", turn=turn)), timeout=60, block_s=BLOCK_S
        )
        if client.find(finished) or any(m["is_complete"] for m in client.messages("progress")):
            break
        await client.silence(2 * BLOCK_S)
        await client.stream(answer)
        # Ended by the client (protocol v1.1) rather than by the persona's patience: the
        # same turn end, 2.5 s sooner (the answer's own trailing silence stops the speech).
        await client.send({"type": "answer_done"})
        turn += 2
    done = await client.stream_while(finished, timeout=90, block_s=BLOCK_S)
    assert done["status"] == "completed", done
    await client.wait_closed()
    return session_id


async def heard_in_one_session(
    server: LiveServer,
    redis: Redis,
    http: httpx.AsyncClient,
    headers: dict[str, str],
    body: dict[str, Any],
    answer: np.ndarray,
    delay_s: float,
) -> dict[str, Any]:
    """One interview streamed after `delay_s`: what it stored of the candidate, and its scores."""
    await asyncio.sleep(delay_s)
    session_id = await interview(server, http, headers, body, answer)
    turns = [t for t in await SessionStore(redis).turns(session_id) if t.role == "candidate"]
    raw = await redis.get(keys.session_report(session_id))
    assert raw, session_id
    words = [t.meta.get("words") for t in turns]
    return {
        "source": [t.source for t in turns],
        "text": [t.text for t in turns],
        "asr_text": [t.meta.get("asr_text") for t in turns],
        "words": [[w[0] for w in ws] if isinstance(ws, list) else ws for ws in words],
        "scores": scores(json.loads(raw)),
    }


@pytest.mark.timeout(120 + 60 * REPEATS)  # ~22 s a repetition on 2 busy cores
async def test_the_same_answer_is_stored_and_scored_the_same_under_load(
    server: LiveServer, redis: Redis, answer: np.ndarray, busy_machine: None
) -> None:
    _tenant, api_key = await create_tenant(redis, "Same Words")
    headers = {"X-API-Key": api_key}
    heard: list[dict[str, Any]] = []
    started = time.monotonic()
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.port}", timeout=30) as http:
        created = await http.post("/v1/interviews", headers=headers, json=INTERVIEW)
        assert created.status_code == 201, created.text
        interview_id = created.json()["interview_id"]
        for repeat in range(REPEATS):
            heard += await asyncio.gather(
                *(
                    heard_in_one_session(
                        server,
                        redis,
                        http,
                        headers,
                        {
                            "interview_id": interview_id,
                            "candidate": {"external_id": f"c{repeat}-{n}", "name": f"Cand {n}"},
                        },
                        answer,
                        delay_s=(n * STAGGER_S + repeat * SHIFT_S) % MAX_DELAY_S,
                    )
                    for n in range(SESSIONS)
                )
            )
    first = heard[0]
    print(f"\n{len(heard)} sessions in {time.monotonic() - started:.1f} s heard: {first['text']}")
    assert first["text"] and first["text"][0].lower().startswith("in my last role")
    differing = [i for i, h in enumerate(heard) if h != first]
    assert not differing, {i: heard[i] for i in differing} | {"first": first}
