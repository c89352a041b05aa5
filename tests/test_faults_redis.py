"""Redis goes away for a few seconds in the middle of a voice interview (issue 12, fault tests):
the stream survives it and no turn the candidate was shown is lost.

`viva serve` runs as a child process against a Valkey this test owns (REDIS_URL), configured as
the embedded one (AOF, fsync every second). Twice, while an answer is being stored:

- the Valkey is SIGKILLed as a spoken answer ends, and started again on the same files 4 s
  later (connections refused, then a fresh server replaying its append-only file);
- the Valkey is frozen with SIGSTOP for 3 s while the interviewer's reply is being stored, and
  the candidate types the next answer meanwhile (connections up, nothing answers).

Before server/storage/store.py gave the client a retry policy, the first outage closed the socket with
1011 and lost the answer being stored; before the voice loop queued every turn's write behind
the one before (pipeline/voice/loop.py `_write`), the second gave the typed answer the reply's
index, and Redis refused it and every turn after (docs/faults.md).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

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
    type_until_finished,
)
from tests.stream_client import StreamClient, free_port, matches

pytestmark = pytest.mark.slow

KILLED_S = 4.0  # Valkey down, connections refused
FROZEN_S = 3.0  # Valkey stopped, connections hanging


def is_final(turn: int) -> Callable[[dict[str, Any]], bool]:
    return lambda m: m["type"] == "transcript" and m["final"] and m["turn"] == turn


async def _killed(valkey: OwnValkey, client: StreamClient) -> float:
    """Valkey SIGKILLed for KILLED_S while the microphone stays open; when it was back."""
    valkey.kill()
    await client.silence(KILLED_S)
    await asyncio.to_thread(valkey.start)
    return time.monotonic()


async def _frozen(valkey: OwnValkey, client: StreamClient) -> float:
    """Valkey SIGSTOPped for FROZEN_S while the microphone stays open; when it thawed."""
    valkey.pause(True)
    try:
        await client.silence(FROZEN_S)
    finally:
        valkey.pause(False)
    return time.monotonic()


@pytest.mark.timeout(240)
async def test_a_redis_outage_mid_interview_loses_nothing_and_keeps_the_socket(
    tmp_path: Path,
) -> None:
    speech = await asyncio.to_thread(spoken, ANSWERS[:1])
    valkey = OwnValkey(tmp_path / "valkey", free_port())
    valkey.start()
    server = ServerProcess(
        tmp_path / "data", tmp_path / "server.log", env={"REDIS_URL": valkey.url}
    )
    try:
        await asyncio.to_thread(server.start)
        async with httpx.AsyncClient(base_url=server.base_url, timeout=60) as http:
            rest = Rest(http, await new_api_key(valkey.url))
            session_id, token = await rest.session("voice")
            client = await StreamClient.connect(server.ws_url(session_id), token)
            await client.stream_while(matches(type="agent_audio", event="end", turn=0), 60)
            await played(client, 0)

            # A spoken answer, ended by "I'm done" just as Redis dies: it is stored meanwhile.
            await client.stream(speech[ANSWERS[0]])
            await client.send({"type": "answer_done"})
            killed = asyncio.create_task(_killed(valkey, client))
            final_1 = await client.wait_for(is_final(1), 30)
            final_1_at = time.monotonic()
            back_at = await killed
            assert client.close_code is None, client.messages("error")

            # Redis hangs while the interviewer's reply is being stored, and the candidate types
            # the next answer meanwhile: it must be stored after the reply, not in its place.
            await client.stream_while(matches(type="agent_audio", event="end", turn=2), 60)
            frozen = asyncio.create_task(_frozen(valkey, client))
            await asyncio.sleep(0.5)
            await played(client, 2)
            await client.send({"type": "answer_text", "text": ANSWERS[1]})
            thawed_at = await frozen
            final_3 = await client.wait_for(is_final(3), 30)
            assert client.close_code is None, client.messages("error")

            finished = await type_until_finished(client, turn=4)
            assert await client.wait_closed() == 1000
            turns = await rest.turns(session_id)
            view = await rest.view(session_id)
    finally:
        await asyncio.to_thread(server.stop)
        valkey.stop()

    # The first answer was committed (its final sent) well inside the outage, so its store met
    # a dead Redis, not a live one.
    assert final_1_at < back_at - 1.0, (final_1_at, back_at)
    # The typed answer waited for the reply's store, which waited for Redis to thaw.
    final_3_at = client.find(is_final(3))
    assert final_3_at is not None and final_3_at.at > thawed_at - 0.05, (final_3_at, thawed_at)
    assert final_3["text"] == ANSWERS[1]
    assert not [m for m in client.messages("transcript") if m["final"] and m["turn"] == 2]
    # Every turn the candidate was shown is stored, once, in order.
    assert [t["index"] for t in turns] == list(range(len(turns)))
    assert [t["role"] for t in turns] == ["interviewer", "candidate"] * (len(turns) // 2) + [
        "interviewer"
    ]
    assert turns[1]["meta"]["asr_text"] == final_1["text"] and turns[1]["source"] == "voice"
    assert turns[3]["text"] == ANSWERS[1]
    assert turns[-1]["kind"] == "closing", [(t["role"], t["kind"]) for t in turns]
    assert finished["status"] == view["status"] and view["report"] is not None
    log = server.log()
    assert not any(marker in log for marker in CRASH_MARKERS), log
    assert "closed: Redis is unavailable" not in log, log
