"""A takeover between two server processes on one Redis (issue 26): a voice interview streams
from process A; the candidate's client connects to the same session on process B. A's socket is
closed with 4000 `superseded` within a second although its client sends nothing more (so no
append of A's finds the new owner: the process is told, through Redis pub/sub), and B resumes
with every acknowledged turn.

Two `viva serve` processes (real models, loaded on first use) and a Valkey of the test's own;
acknowledged as in tests/test_faults_restart.py: a voice turn once the transcript lists it.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx
import pytest

from tests.faults_support import (
    ANSWERS,
    CRASH_MARKERS,
    OwnValkey,
    Rest,
    ServerProcess,
    new_api_key,
    played,
    spoken,
)
from tests.stream_client import StreamClient, free_port, matches

pytestmark = pytest.mark.slow

TAKEOVER_WITHIN_S = 1.0


def _server(tmp_path: Path, name: str, redis_url: str) -> ServerProcess:
    # Models load on first use: each process loads what its streams need.
    env = {"REDIS_URL": redis_url, "VIVA_PRELOAD_MODELS": "false"}
    return ServerProcess(tmp_path / name, tmp_path / f"{name}.log", env=env)


async def _turns_listed(rest: Rest, session_id: str, count: int) -> list[dict[str, object]]:
    for _ in range(100):
        turns = await rest.turns(session_id)
        if len(turns) >= count:
            return turns
        await asyncio.sleep(0.1)
    raise AssertionError(f"the transcript never had {count} turns: {turns}")


@pytest.mark.timeout(300)
async def test_a_takeover_on_another_process_closes_the_old_socket_at_once(
    tmp_path: Path,
) -> None:
    speech = await asyncio.to_thread(spoken, ANSWERS[:1])
    valkey = OwnValkey(tmp_path / "valkey", free_port())
    valkey.start()
    a = _server(tmp_path, "a", valkey.url)
    b = _server(tmp_path, "b", valkey.url)
    try:
        await asyncio.to_thread(a.start, 120, "/healthz")
        await asyncio.to_thread(b.start, 120, "/healthz")
        api_key = await new_api_key(valkey.url)
        async with httpx.AsyncClient(base_url=a.base_url, timeout=60) as http:
            rest = Rest(http, api_key)
            # Each process loads Whisper and Piper for a stream of another session first: the
            # takeover is timed on warm processes, as a busy fleet's are.
            for server in (a, b):
                warm_id, warm_token = await rest.session("voice")
                warm = await StreamClient.connect(server.ws_url(warm_id), warm_token)
                await warm.wait_for(matches(type="agent_text", turn=0), 60)
                await warm.close()

            session_id, token = await rest.session("voice")
            on_a = await StreamClient.connect(a.ws_url(session_id), token)
            await on_a.stream_while(matches(type="agent_audio", event="end", turn=0), 60)
            await played(on_a, 0)
            await on_a.stream(speech[ANSWERS[0]])
            await on_a.send({"type": "answer_done"})
            await on_a.wait_for(matches(type="agent_audio", event="end", turn=2), 60)
            await played(on_a, 2)
            acknowledged = await _turns_listed(rest, session_id, 3)

            # From here on A's client sends nothing.
            started = time.monotonic()
            on_b = await StreamClient.connect(b.ws_url(session_id), token)
            code = await on_a.wait_closed(10)
            assert code == 4000, on_a.messages()[-3:]
            told = on_a.find(matches(type="error", code="superseded"))
            assert told is not None, on_a.messages()[-3:]
            closed_after = told.at - started  # the close follows the error at once
            print(f"\ntakeover: A's socket told superseded {closed_after * 1000:.0f} ms after B")
            assert closed_after < TAKEOVER_WITHIN_S, closed_after

            ready = await on_b.wait_for(matches(type="ready"), 30)
            assert ready["resumed"] is True
            # The open question is asked again on B, not stored again.
            await on_b.wait_for(matches(type="agent_text", turn=2), 30)
            resumed = await rest.turns(session_id)
            assert resumed[:3] == acknowledged[:3], (acknowledged, resumed)
            assert [t["role"] for t in resumed] == ["interviewer", "candidate", "interviewer"]

            # B goes on: its answer is stored after A's turns.
            await on_b.send({"type": "answer_text", "text": ANSWERS[1]})
            await on_b.wait_for(matches(type="agent_text", turn=4), 60)
            after = await _turns_listed(rest, session_id, 5)
            assert after[:3] == acknowledged[:3] and after[3]["text"] == ANSWERS[1], after
            await on_b.close()
    finally:
        await asyncio.to_thread(a.stop)
        await asyncio.to_thread(b.stop)
        valkey.stop()
    for server in (a, b):
        assert not any(marker in server.log() for marker in CRASH_MARKERS), server.log()[-5000:]
