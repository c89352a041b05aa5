"""A real server on a real port and a real-time protocol client, for the stream tests and the
benchmark (docs/stream-protocol.md)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import uvicorn
import websockets
from websockets.typing import Subprotocol

from audio.pcm import encode_s16le
from models.registry import ModelRegistry
from pipeline.engine import InterviewPlan
from server.app import create_app
from server.sessions import SessionRecord, SessionStore
from server.settings import Settings
from server.storage.store import EmbeddedValkey, Redis
from server.usecases.consent import DISCLOSURE_VERSION


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class LiveServer:
    """uvicorn serving the app in a thread, on its own event loop, against a real Valkey."""

    port: int
    redis_url: str
    thread: threading.Thread
    server: uvicorn.Server

    def url(self, session_id: str) -> str:
        return f"ws://127.0.0.1:{self.port}/v1/sessions/{session_id}/stream"

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)


@contextlib.contextmanager
def live_server(
    data_dir: Path, models: ModelRegistry, redis_url: str | None = None, **settings_env: Any
) -> Iterator[LiveServer]:
    """A server on a free port; with `redis_url`, a second server over the same state.
    `settings_env` sets more settings by their variable names (`VIVA_MAX_STREAMS=1`)."""
    valkey = EmbeddedValkey(data_dir) if redis_url is None else None
    redis_url = valkey.start() if valkey is not None else redis_url
    assert redis_url is not None
    port = free_port()
    # Many tests share one server: streams a test left closing must not fill its capacity.
    settings_env.setdefault("VIVA_MAX_STREAMS", 32)
    settings = Settings(
        VIVA_DATA_DIR=data_dir,
        REDIS_URL=redis_url,
        VIVA_PRELOAD_MODELS=False,
        PORT=port,
        **settings_env,
    )
    config = uvicorn.Config(
        create_app(settings, models=models), host="127.0.0.1", port=port, log_level="warning"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    live = LiveServer(port, redis_url, thread, server)
    try:
        yield live
    finally:
        live.stop()
        if valkey is not None:
            valkey.stop()


async def create_session(
    redis: Redis,
    session_id: str,
    plan: InterviewPlan,
    mode: str = "voice",
    consent: bool = True,
    tenant_id: str = "t1",
) -> str:
    """A session and its token; with `consent`, the candidate consented (as over REST) so the
    stream takes their audio."""
    sessions = SessionStore(redis)
    _record, token = await sessions.create(
        SessionRecord(id=session_id, tenant_id=tenant_id, plan=plan, mode=mode)
    )
    if consent:
        await sessions.set_consent(session_id, DISCLOSURE_VERSION, time.time())
    return token


@dataclass
class Received:
    at: float  # monotonic arrival
    message: dict[str, Any] | None  # None for a binary frame
    size: int = 0


@dataclass
class StreamClient:
    """Sends audio in real time and records everything the server sends, with arrival times."""

    ws: websockets.ClientConnection
    received: list[Received] = field(default_factory=list)
    close_code: int | None = None
    _changed: asyncio.Event = field(default_factory=asyncio.Event)
    _reader: asyncio.Task[None] | None = None

    @classmethod
    async def connect(
        cls, url: str, token: str | None, *, subprotocol: bool = False, **hello: Any
    ) -> StreamClient:
        if subprotocol:
            ws = await websockets.connect(
                url,
                subprotocols=[Subprotocol("viva.v1"), Subprotocol(f"token.{token}")],
                max_size=None,
            )
        else:
            ws = await websockets.connect(f"{url}?token={token}" if token else url, max_size=None)
        client = cls(ws)
        client._reader = asyncio.get_running_loop().create_task(client._read())
        if hello:
            await client.send({"type": "hello", **hello})
        return client

    async def _read(self) -> None:
        try:
            async for frame in self.ws:
                now = time.monotonic()
                if isinstance(frame, bytes):
                    self.received.append(Received(now, None, len(frame)))
                else:
                    self.received.append(Received(now, json.loads(frame)))
                self._changed.set()
        except websockets.ConnectionClosed:
            pass
        self.close_code = self.ws.close_code
        self._changed.set()

    async def send(self, message: dict[str, Any]) -> None:
        await self.ws.send(json.dumps(message))

    async def stream(self, audio: np.ndarray, rate: int = 16000, frame_ms: int = 20) -> float:
        """Send float32 audio in real time; returns the monotonic time the last frame left."""
        step = int(rate * frame_ms / 1000)
        start = time.monotonic()
        sent_at = start
        for index, offset in enumerate(range(0, len(audio), step)):
            due = start + index * frame_ms / 1000
            delay = due - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            if self.close_code is not None:
                break
            with contextlib.suppress(websockets.ConnectionClosed):
                await self.ws.send(encode_s16le(audio[offset : offset + step]))
            sent_at = time.monotonic()
        return sent_at

    async def silence(self, seconds: float, rate: int = 16000) -> float:
        return await self.stream(np.zeros(int(seconds * rate), np.float32), rate)

    def messages(self, kind: str | None = None) -> list[dict[str, Any]]:
        return [
            r.message
            for r in self.received
            if r.message is not None and (kind is None or r.message["type"] == kind)
        ]

    def find(self, predicate: Callable[[dict[str, Any]], bool]) -> Received | None:
        return next((r for r in self.received if r.message and predicate(r.message)), None)

    async def wait_for(
        self, predicate: Callable[[dict[str, Any]], bool], timeout: float = 20
    ) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            found = self.find(predicate)
            if found is not None and found.message is not None:
                return found.message
            if self.close_code is not None:
                raise AssertionError(f"closed {self.close_code} before: {self.messages()}")
            self._changed.clear()
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"timed out; received {self.messages()}")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), remaining)

    async def stream_while(
        self, predicate: Callable[[dict[str, Any]], bool], timeout: float = 30, block_s: float = 0.1
    ) -> dict[str, Any]:
        """Keep sending real-time silence, `block_s` at a time, until a message matches (as a
        live microphone)."""
        deadline = time.monotonic() + timeout
        while (found := self.find(predicate)) is None or found.message is None:
            if self.close_code is not None:
                raise AssertionError(f"closed {self.close_code} before: {self.messages()}")
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out; received {self.messages()}")
            await self.silence(block_s)
        return found.message

    def first_audio_after(self, moment: float) -> float | None:
        return next((r.at for r in self.received if r.message is None and r.at > moment), None)

    async def wait_closed(self, timeout: float = 10) -> int | None:
        if self._reader is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(self._reader), timeout)
        return self.close_code

    def drop(self) -> None:
        """Cut the TCP connection without a closing handshake, as a lost network does."""
        self.ws.transport.abort()

    async def close(self) -> None:
        await self.ws.close()
        await self.wait_closed()


Predicate = Callable[[dict[str, Any]], bool]


def matches(**fields: Any) -> Predicate:
    """A message with these fields (others may be there too)."""
    return lambda m: all(m.get(k) == v for k, v in fields.items())


def either(*predicates: Predicate) -> Predicate:
    return lambda m: any(p(m) for p in predicates)


def speech_end(audio: np.ndarray, rate: int = 16000, threshold: float = 0.01) -> float:
    """Seconds from the start of `audio` to the end of its last audible sample."""
    loud = np.flatnonzero(np.abs(audio) > threshold)
    return (loud[-1] + 1) / rate if len(loud) else 0.0
