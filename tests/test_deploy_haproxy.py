"""Scale-out as deployed (issue 26, docs/deploy.md): two `viva serve` processes on one Valkey and
one S3 store (SeaweedFS), behind a real HAProxy running deploy/haproxy.cfg (only its bind, stats
socket and server lines replaced by this test's).

A voice interview starts on process A through the balancer; A is SIGKILLed mid-answer; the
client reconnects through the same balancer, which sends it to B (A is dead: refused, then
marked down), and the interview finishes there. Every acknowledged turn is in the transcript;
the candidate recording holds both processes' audio, read whole from B and from A's
replacement; DELETE on B erases every object of it in the store."""

from __future__ import annotations

import asyncio
import contextlib
import io
import re
import shutil
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
import redis.asyncio as aioredis
import soundfile as sf

from server.storage import keys
from server.storage.recordings import decode_segment
from tests.faults_support import (
    ANSWERS,
    CRASH_MARKERS,
    LONGER_INTERVIEW,
    OwnValkey,
    Rest,
    ServerProcess,
    new_api_key,
    played,
    spoken,
    type_until_finished,
)
from tests.s3_support import S3Server, seaweedfs
from tests.stream_client import StreamClient, free_port, matches

pytestmark = pytest.mark.slow

CONFIG = Path(__file__).resolve().parents[1] / "deploy" / "haproxy.cfg"
REPAIR_WINDOW_S = 3.0
SR = 16000


def is_final(turn: int) -> Callable[[dict[str, Any]], bool]:
    return lambda m: m["type"] == "transcript" and m["final"] and m["turn"] == turn


def is_partial(turn: int) -> Callable[[dict[str, Any]], bool]:
    return lambda m: m["type"] == "transcript" and not m["final"] and m["turn"] == turn


class HAProxy:
    """deploy/haproxy.cfg in the foreground, on a free port, in front of `servers`."""

    def __init__(self, directory: Path, port: int, servers: dict[str, int]) -> None:
        if shutil.which("haproxy") is None:
            pytest.fail("haproxy is missing: `make setup` installs it (Debian haproxy)")
        self.port = port
        self.socket = directory / "haproxy.sock"
        config = CONFIG.read_text()
        config = re.sub(r"(?m)^    bind .*$", f"    bind 127.0.0.1:{self.port}", config)
        config = re.sub(
            r"(?m)^    stats socket \S+", f"    stats socket {self.socket}", config, count=1
        )
        config = re.sub(r"(?m)^    server .*\n", "", config)
        config += "".join(
            f"    server {name} 127.0.0.1:{port} check\n" for name, port in servers.items()
        )
        self.config = directory / "haproxy.cfg"
        self.config.write_text(config)
        self.log = directory / "haproxy.log"
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(
                ["haproxy", "-db", "-f", str(self.config)], stdout=out, stderr=subprocess.STDOUT
            )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def ws_url(self, session_id: str) -> str:
        return f"ws://127.0.0.1:{self.port}/v1/sessions/{session_id}/stream"

    def command(self, line: str) -> str:
        """One command on the runtime API (the stats socket)."""
        with socket.socket(socket.AF_UNIX) as sock:
            sock.connect(str(self.socket))
            sock.sendall(line.encode() + b"\n")
            chunks = []
            while chunk := sock.recv(65536):
                chunks.append(chunk)
        return b"".join(chunks).decode()

    def up(self, name: str) -> bool:
        """Whether the balancer sends new connections to `name` (checked and in service)."""
        assert self.process.poll() is None, self.log.read_text()
        try:
            stats = self.command("show stat")
        except (FileNotFoundError, ConnectionRefusedError):  # still starting
            return False
        for row in stats.splitlines():
            fields = row.split(",")
            if len(fields) > 17 and fields[0] == "viva" and fields[1] == name:
                return fields[17] == "UP"
        return False

    def wait_up(self, name: str, timeout_s: float = 30) -> None:
        deadline = time.monotonic() + timeout_s
        while not self.up(name):
            assert time.monotonic() < deadline, f"{name} not up: {self.log.read_text()}"
            time.sleep(0.2)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


def _voiced_s(audio: np.ndarray) -> float:
    """Seconds of 20 ms frames with speech energy in them."""
    frames = audio[: len(audio) // 320 * 320].reshape(-1, 320)
    return float((np.sqrt((frames**2).mean(axis=1)) > 0.01).sum()) * 0.02


@pytest.mark.timeout(600)
async def test_a_session_moves_to_another_process_through_haproxy(tmp_path: Path) -> None:
    speech = await asyncio.to_thread(spoken, ANSWERS[:2])
    valkey = OwnValkey(tmp_path / "valkey", free_port())
    valkey.start()
    with contextlib.ExitStack() as stack:
        stack.callback(valkey.stop)
        s3: S3Server = stack.enter_context(seaweedfs(tmp_path / "s3"))
        lb_port = free_port()
        env = {
            **s3.env(),
            "REDIS_URL": valkey.url,
            "VIVA_PUBLIC_URL": f"http://127.0.0.1:{lb_port}",
            "VIVA_SECRET_KEY": "one key for every process of the deployment",
        }
        a = ServerProcess(tmp_path / "a" / "data", tmp_path / "a.log", env=env)
        b = ServerProcess(tmp_path / "b" / "data", tmp_path / "b.log", env=env)
        stack.callback(b.stop)
        stack.callback(a.stop)
        await asyncio.gather(asyncio.to_thread(a.start, 300), asyncio.to_thread(b.start, 300))
        lb = HAProxy(tmp_path, lb_port, {"viva1": a.port, "viva2": b.port})
        stack.callback(lb.stop)
        await asyncio.to_thread(lb.wait_up, "viva1")
        await asyncio.to_thread(lb.wait_up, "viva2")
        api_key = await new_api_key(valkey.url)
        await _interview(lb, a, b, s3, valkey, api_key, speech, tmp_path)


async def _interview(
    lb: HAProxy,
    a: ServerProcess,
    b: ServerProcess,
    s3: S3Server,
    valkey: OwnValkey,
    api_key: str,
    speech: dict[str, np.ndarray],
    tmp_path: Path,
) -> None:
    async with httpx.AsyncClient(base_url=lb.url, timeout=60) as http:
        rest = Rest(http, api_key)
        # REST through the balancer lands on either process: no stickiness needed.
        session_id, token = await rest.session("voice", LONGER_INTERVIEW)
        # The voice stream starts on A: B drained for this one connection.
        lb.command("set server viva/viva2 state drain")
        client = await StreamClient.connect(lb.ws_url(session_id), token)
        await client.wait_for(matches(type="ready"), 30)
        lb.command("set server viva/viva2 state ready")
        await client.stream_while(matches(type="agent_audio", event="end", turn=0), 90)
        await played(client, 0)
        await client.stream(speech[ANSWERS[0]])
        await client.send({"type": "answer_done"})
        final_1 = await client.wait_for(is_final(1), 60)
        await client.wait_for(matches(type="agent_audio", event="end", turn=2), 60)
        await played(client, 2)
        await client.silence(REPAIR_WINDOW_S + 0.3)
        answering = asyncio.create_task(client.stream(speech[ANSWERS[1]]))
        await client.wait_for(is_partial(3), 60)
        before = await rest.turns(session_id)
        await asyncio.to_thread(lb.wait_up, "viva2")

        await asyncio.to_thread(a.kill)  # mid-answer
        await answering
        assert await client.wait_closed() == 1006  # no close frame: A just died

        # The reconnect, through the same balancer: A refuses, B takes it.
        client = await StreamClient.connect(lb.ws_url(session_id), token)
        ready = await client.wait_for(matches(type="ready"), 60)
        await client.stream_while(matches(type="agent_audio", event="end", turn=2), 90)
        await played(client, 2)
        await client.stream(speech[ANSWERS[1]])
        await client.send({"type": "answer_done"})
        final_3 = await client.wait_for(is_final(3), 60)
        finished = await type_until_finished(client, turn=4)
        await client.close()
        after = await rest.turns(session_id)
        view = await rest.view(session_id)

    # Every acknowledged turn, unchanged; the answer cut by the kill given again on B.
    assert [t["role"] for t in before] == ["interviewer", "candidate", "interviewer"]
    assert before[1]["meta"]["asr_text"] == final_1["text"]
    assert ready["resumed"] is True
    assert after[:3] == before
    assert after[3]["role"] == "candidate" and after[3]["meta"]["asr_text"] == final_3["text"]
    assert [t["index"] for t in after] == list(range(len(after)))
    assert finished["status"] == view["status"] and view["report"] is not None

    # In the store: segments of two sockets (A's, written before it died, and B's).
    prefix = f"viva/recordings/{session_id}/candidate/"
    objects = s3.keys(prefix)
    by_socket: dict[str, float] = {}
    for key in objects:
        body = s3.client().get_object(Bucket=s3.bucket, Key=key)["Body"].read()
        socket_name = key.removeprefix(prefix).rsplit("-", 1)[0]
        seconds = sum(len(audio) for _, audio in decode_segment(body).chunks) / SR
        by_socket[socket_name] = by_socket.get(socket_name, 0.0) + seconds
    assert len(by_socket) == 2, objects
    first, second = (by_socket[name] for name in sorted(by_socket))
    answer_s = [len(speech[text]) / SR for text in ANSWERS[:2]]
    assert first >= 0.6 * answer_s[0], (by_socket, answer_s)  # A's answer survived the kill
    assert second >= 0.6 * answer_s[1], (by_socket, answer_s)

    # Read whole from B, and from A's replacement (a new process on A's port: no model needed).
    a2 = ServerProcess(
        tmp_path / "a2" / "data",
        tmp_path / "a2.log",
        port=a.port,
        env={**a.env, "VIVA_PRELOAD_MODELS": "false"},
    )
    await asyncio.to_thread(a2.start, 120, "/healthz")
    try:
        wavs = []
        for server in (b, a2):
            async with httpx.AsyncClient(base_url=server.base_url, timeout=60) as http:
                got = await http.get(
                    f"/v1/sessions/{session_id}/recording",
                    headers={"X-API-Key": api_key},
                    params={"track": "candidate"},
                )
            assert got.status_code == 200, got.text
            assert got.headers["content-type"] == "audio/wav"
            wavs.append(got.content)
        assert wavs[0] == wavs[1]
        audio, rate = sf.read(io.BytesIO(wavs[0]), dtype="float32")
        assert rate == SR
        assert _voiced_s(audio) >= 0.6 * (first + second), (_voiced_s(audio), first, second)

        # DELETE on B: every object goes, and every key but the deletion marker.
        async with httpx.AsyncClient(base_url=b.base_url, timeout=60) as http:
            deleted = await http.delete(
                f"/v1/sessions/{session_id}", headers={"X-API-Key": api_key}
            )
        assert deleted.status_code == 204
        assert s3.keys(f"viva/recordings/{session_id}/") == []
        client_redis = aioredis.from_url(valkey.url, decode_responses=True)
        try:
            left = [k async for k in client_redis.scan_iter(f"*{session_id}*")]
        finally:
            await client_redis.aclose()
        assert left == [keys.session_deleted(session_id)]
    finally:
        await asyncio.to_thread(a2.stop)
    for log in (b.log(), a2.log()):
        assert not any(marker in log for marker in CRASH_MARKERS), log
    # The balancer logged both stream connections (A's, then B's), without their token.
    balancer_log = lb.log.read_text()
    streams = [line for line in balancer_log.splitlines() if f"{session_id}/stream" in line]
    assert [" viva/viva1 " in line for line in streams] == [True, False], streams
    assert " viva/viva2 " in streams[1] and token not in balancer_log
