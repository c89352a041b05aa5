"""Twilio's side of a call, written from Twilio's documented message shapes: signed voice
webhooks, TwiML read back, and a Media Streams client that plays what the server sends at real
time (20 ms a frame), returns marks when playback reaches them and drops its queue on `clear`.

Used by the phone tests and the phone benchmark; also a fake Twilio REST server (a real HTTP
server on a local port) that records the requests made to it.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import secrets
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlencode

import httpx
import numpy as np
import websockets
from twilio.request_validator import RequestValidator

from audio.telephone import FRAME_BYTES, FRAME_MS, from_telephone

ACCOUNT_SID = "AC" + "0" * 31 + "1"
AUTH_TOKEN = "test-auth-token-0123456789abcdef"
PHONE_NUMBER = "+15550001111"
CALLER = "+15551234567"
SECRET_KEY = "test-server-secret-key"  # VIVA_SECRET_KEY: the key of the stored PIN hashes


def twilio_env(api_base: str = "http://127.0.0.1:9") -> dict[str, str]:
    """The settings that turn the phone channel on (as environment variables)."""
    return {
        "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
        "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "TWILIO_PHONE_NUMBER": PHONE_NUMBER,
        "TWILIO_API_BASE": api_base,
        "VIVA_SECRET_KEY": SECRET_KEY,
    }


def pin_key() -> bytes:
    """The key a server with `twilio_env()` hashes PINs with."""
    from server.security.secret_key import server_key
    from server.settings import Settings

    return server_key(Settings(VIVA_SECRET_KEY=SECRET_KEY))


def sign(url: str, params: dict[str, str], token: str = AUTH_TOKEN) -> str:
    return str(RequestValidator(token).compute_signature(url, params))


def new_call_sid() -> str:
    return "CA" + secrets.token_hex(16)


@dataclass(frozen=True)
class Twiml:
    """The verbs of a TwiML answer we care about."""

    xml: str

    @property
    def root(self) -> ET.Element:
        return ET.fromstring(self.xml)

    def verbs(self) -> list[str]:
        return [child.tag for child in self.root]

    @property
    def gather_action(self) -> str | None:
        gather = self.root.find("Gather")
        return None if gather is None else gather.get("action")

    @property
    def stream(self) -> tuple[str, dict[str, str]] | None:
        stream = self.root.find("Connect/Stream")
        if stream is None:
            return None
        params = {p.get("name", ""): p.get("value", "") for p in stream.findall("Parameter")}
        return stream.get("url", ""), params

    def said(self) -> str:
        return " ".join(e.text or "" for e in self.root.iter("Say"))


def post_webhook(
    client: Any, url: str, params: dict[str, str], *, signature: str | None = "sign"
) -> tuple[int, str]:
    """POST form `params` to `url` as Twilio does: `client` is an httpx or Starlette client.
    `signature`: "sign" to sign correctly, None to send none, or a given value."""
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    if signature == "sign":
        headers["X-Twilio-Signature"] = sign(url, params)
    elif signature is not None:
        headers["X-Twilio-Signature"] = signature
    reply = client.post(url, content=urlencode(params), headers=headers)
    return reply.status_code, reply.text


def call_params(call_sid: str, **extra: str) -> dict[str, str]:
    return {
        "AccountSid": ACCOUNT_SID,
        "CallSid": call_sid,
        "From": CALLER,
        "To": PHONE_NUMBER,
        "Direction": "inbound",
        "CallStatus": "in-progress",
        "ApiVersion": "2010-04-01",
        **extra,
    }


# -- Media Streams ----------------------------------------------------------------------------


@dataclass
class Heard:
    at: float  # monotonic arrival
    message: dict[str, Any]


@dataclass
class MediaStreamClient:
    """Twilio's end of a bidirectional Media Stream."""

    ws: websockets.ClientConnection
    stream_sid: str
    call_sid: str
    received: list[Heard] = field(default_factory=list)
    played_marks: list[tuple[float, str]] = field(default_factory=list)
    cleared_at: list[float] = field(default_factory=list)
    close_code: int | None = None
    _sequence: int = 0
    _chunk: int = 0
    _started: float = field(default_factory=time.monotonic)
    _queue: list[tuple[str, Any]] = field(default_factory=list)  # ("audio", bytes) | ("mark", n)
    _changed: asyncio.Event = field(default_factory=asyncio.Event)
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)
    _send_lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    @classmethod
    async def connect(
        cls,
        url: str,
        stream_token: str,
        call_sid: str,
        *,
        signature: str | None = "sign",
        start: bool = True,
    ) -> MediaStreamClient:
        headers = {}
        if signature == "sign":
            headers["X-Twilio-Signature"] = sign(url, {})
        elif signature is not None:
            headers["X-Twilio-Signature"] = signature
        ws = await websockets.connect(url, additional_headers=headers, max_size=None)
        client = cls(ws, "MZ" + secrets.token_hex(16), call_sid)
        loop = asyncio.get_running_loop()
        client._tasks = [loop.create_task(client._read()), loop.create_task(client._play())]
        if start:
            await client.send({"event": "connected", "protocol": "Call", "version": "1.0.0"})
            await client.send(
                {
                    "event": "start",
                    "start": {
                        "accountSid": ACCOUNT_SID,
                        "streamSid": client.stream_sid,
                        "callSid": call_sid,
                        "tracks": ["inbound"],
                        "customParameters": {"stream_token": stream_token},
                        "mediaFormat": {
                            "encoding": "audio/x-mulaw",
                            "sampleRate": 8000,
                            "channels": 1,
                        },
                    },
                    "streamSid": client.stream_sid,
                }
            )
        return client

    async def send(self, message: dict[str, Any]) -> None:
        async with self._send_lock:
            if message["event"] != "connected":
                self._sequence += 1
                message = {"sequenceNumber": str(self._sequence), **message}
            await self.ws.send(json.dumps(message))

    async def _read(self) -> None:
        try:
            async for frame in self.ws:
                now = time.monotonic()
                message = json.loads(frame)
                self.received.append(Heard(now, message))
                event = message.get("event")
                if event == "media":
                    self._queue.append(("audio", base64.b64decode(message["media"]["payload"])))
                elif event == "mark":
                    self._queue.append(("mark", message["mark"]["name"]))
                elif event == "clear":
                    self.cleared_at.append(now)
                    marks = [item for kind, item in self._queue if kind == "mark"]
                    self._queue.clear()
                    for name in marks:  # Twilio returns the marks a clear dropped
                        await self._return_mark(name)
                self._changed.set()
        except websockets.ConnectionClosed:
            pass
        self.close_code = self.ws.close_code
        self._changed.set()

    async def _return_mark(self, name: str) -> None:
        self.played_marks.append((time.monotonic(), name))
        with contextlib.suppress(websockets.ConnectionClosed):
            await self.send({"event": "mark", "streamSid": self.stream_sid, "mark": {"name": name}})

    async def _play(self) -> None:
        """The phone's speaker: one queued frame every 20 ms; a mark returns when reached."""
        clock = time.monotonic()
        while self.close_code is None:
            if not self._queue:
                await asyncio.sleep(0.005)
                clock = time.monotonic()
                continue
            kind, item = self._queue.pop(0)
            if kind == "mark":
                await self._return_mark(item)
                continue
            clock += len(item) / 8000
            await asyncio.sleep(max(0.0, clock - time.monotonic()))

    async def media(self, ulaw: bytes) -> None:
        self._chunk += 1
        await self.send(
            {
                "event": "media",
                "streamSid": self.stream_sid,
                "media": {
                    "track": "inbound",
                    "chunk": str(self._chunk),
                    "timestamp": str(int((time.monotonic() - self._started) * 1000)),
                    "payload": base64.b64encode(ulaw).decode("ascii"),
                },
            }
        )

    async def stream(self, ulaw: bytes) -> float:
        """The caller's audio in real time, 20 ms a message; the time the last one left."""
        start = time.monotonic()
        sent_at = start
        for index, offset in enumerate(range(0, len(ulaw), FRAME_BYTES)):
            delay = start + index * FRAME_MS / 1000 - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            if self.close_code is not None:
                break
            with contextlib.suppress(websockets.ConnectionClosed):
                await self.media(ulaw[offset : offset + FRAME_BYTES])
            sent_at = time.monotonic()
        return sent_at

    async def silence(self, seconds: float) -> float:
        return await self.stream(b"\xff" * int(seconds * 8000))

    async def dtmf(self, digit: str) -> float:
        await self.send(
            {
                "event": "dtmf",
                "streamSid": self.stream_sid,
                "dtmf": {"track": "inbound_track", "digit": digit},
            }
        )
        return time.monotonic()

    async def stop(self) -> None:
        with contextlib.suppress(websockets.ConnectionClosed):
            await self.send(
                {
                    "event": "stop",
                    "streamSid": self.stream_sid,
                    "stop": {"accountSid": ACCOUNT_SID, "callSid": self.call_sid},
                }
            )
        await self.close()

    async def close(self) -> None:
        await self.ws.close()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    # -- what the server sent ---------------------------------------------------------------

    def events(self, kind: str) -> list[Heard]:
        return [h for h in self.received if h.message.get("event") == kind]

    def media_after(self, moment: float) -> list[Heard]:
        return [h for h in self.events("media") if h.at > moment]

    def first_media_after(self, moment: float) -> float | None:
        found = self.media_after(moment)
        return found[0].at if found else None

    def audio_between(self, start: float, end: float = float("inf")) -> np.ndarray:
        """The interviewer's audio received in [start, end), as int16 at 8 kHz."""
        payload = b"".join(
            base64.b64decode(h.message["media"]["payload"])
            for h in self.events("media")
            if start <= h.at < end
        )
        return from_telephone(payload)

    def marks_sent(self, prefix: str = "") -> list[str]:
        return [
            h.message["mark"]["name"]
            for h in self.events("mark")
            if h.message["mark"]["name"].startswith(prefix)
        ]

    async def wait_until(self, done: Callable[[], bool], timeout: float = 30) -> None:
        """Real-time line silence (an open phone line) until `done()`."""
        deadline = time.monotonic() + timeout
        while not done():
            if self.close_code is not None:
                raise AssertionError(f"closed {self.close_code}")
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out; {len(self.received)} messages")
            await self.silence(0.1)

    async def wait_closed(self, timeout: float = 30) -> int | None:
        """Line silence until the server closes the socket."""
        deadline = time.monotonic() + timeout
        while self.close_code is None and time.monotonic() < deadline:
            await self.silence(0.1)
        return self.close_code

    def idle_since(self, seconds: float) -> bool:
        """No media for `seconds` and nothing queued to play: the interviewer is silent."""
        media = self.events("media")
        last = media[-1].at if media else 0.0
        return not self._queue and time.monotonic() - last > seconds


# -- Twilio's REST API, faked by a real HTTP server -------------------------------------------


@dataclass
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]
    form: dict[str, str]


@contextlib.contextmanager
def fake_twilio_rest(status: int = 201) -> Iterator[tuple[str, list[RecordedRequest]]]:
    """A local HTTP server standing in for `https://api.twilio.com`; yields its base URL and the
    requests it received. Answers a call creation as Twilio does (the call's sid, `queued`)."""
    recorded: list[RecordedRequest] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode()
            recorded.append(
                RecordedRequest(
                    "POST", self.path, dict(self.headers.items()), dict(parse_qsl(body))
                )
            )
            sid = new_call_sid()
            payload = json.dumps(
                {"sid": sid, "status": "queued"}
                if status < 300
                else {"code": 21211, "message": "Invalid 'To' Phone Number", "status": status}
            ).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", recorded
    finally:
        server.shutdown()
        server.server_close()


def http_client(base: str) -> httpx.Client:
    return httpx.Client(base_url=base, timeout=30)
