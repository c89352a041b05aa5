"""The interview stream: `GET /v1/sessions/{session_id}/stream` over WebSocket.

The wire protocol is docs/stream-protocol.md. This module is the edge: it authenticates,
validates every client message, enforces limits, owns the socket, and hands audio and typed
messages to the session's `pipeline.voice.loop.VoiceLoop`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import time
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from audio.input import ACCEPTED_RATES
from audio.pcm import BYTES_PER_SAMPLE
from pipeline.engine import Turn
from pipeline.voice.loop import VoiceLoop
from pipeline.voice.messages import ErrorMessage, ServerMessage, TurnMetrics, to_wire
from server import ownership
from server.live import release_owner as release_owner  # also this module's, as before
from server.live import run_live
from server.ops import metrics
from server.runtime import Connection, VoiceRuntime
from server.security import revocation
from server.services import Services
from server.sessions import AppendResult, InvalidToken, SessionNotFound, SessionRecord, SessionStore
from server.storage import keys
from server.storage.store import Redis
from server.usecases.consent import DISCLOSURE_VERSION, give_consent

log = logging.getLogger(__name__)

_TOKEN_IN_TEXT = re.compile(r"(token[=.])[^&\s\"',]+")


class RedactTokens(logging.Filter):
    """uvicorn logs each WebSocket's path with its query string: never let a token through."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                _TOKEN_IN_TEXT.sub(r"\1***", a) if isinstance(a, str) else a for a in record.args
            )
        return True


class OneLineForClientErrors(logging.Filter):
    """uvicorn logs a client's text frame that is not UTF-8 with a traceback (and rightly closes
    the socket with 1007): a client's mistake, not ours; the line is enough, and a client
    sending such frames in a loop must not fill the log with tracebacks."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and record.getMessage().startswith("Invalid UTF-8 sequence"):
            record.exc_info = None
            record.exc_text = None
        return True


logging.getLogger("uvicorn.error").addFilter(RedactTokens())
logging.getLogger("uvicorn.error").addFilter(OneLineForClientErrors())

SUBPROTOCOL = "viva.v1"
TOKEN_SUBPROTOCOL_PREFIX = "token."
MAX_FRAME_S = 0.2
HELLO_GRACE_S = 0.3
MAX_TEXT_CHARS = 20_000
CLOSE_SUPERSEDED = 4000
CLOSE_TRY_AGAIN = 1013  # RFC 6455: try again later
RETRY_AFTER_S = 15.0
STORE_DOWN = "the interview's state store is unavailable; reconnect to resume"


class StreamClosed(Exception):
    """End the stream: send `error` (unless code is 1000) then close with `code`."""

    def __init__(
        self, code: int, error: str, message: str, retry_after_s: float | None = None
    ) -> None:
        super().__init__(message)
        self.code = code
        self.error = error
        self.message = message
        self.retry_after_s = retry_after_s


# -- client messages, validated at the edge ---------------------------------------------------


class _Message(BaseModel):
    model_config = ConfigDict(extra="ignore")


class AudioFormat(_Message):
    encoding: Literal["pcm_s16le"] = "pcm_s16le"
    sample_rate: int = 16000


class Hello(_Message):
    type: Literal["hello"]
    audio: AudioFormat = AudioFormat()
    mode: Literal["voice", "chat"] = "voice"


class AnswerText(_Message):
    type: Literal["answer_text"]
    text: str = Field(max_length=MAX_TEXT_CHARS)


class Playback(_Message):
    type: Literal["playback"]
    event: Literal["finished"]
    turn: int


class End(_Message):
    type: Literal["end"]


class Ping(_Message):
    type: Literal["ping"]


class AnswerDone(_Message):
    """v1.1: the spoken answer is complete (the room's "I'm done", a keypad key)."""

    type: Literal["answer_done"]


class Consent(_Message):
    """Extension: the candidate agreed to the disclosure (as `POST /v1/sessions/{id}/consent`)."""

    type: Literal["consent"]
    version: str = Field(max_length=64)


ClientMessage = Annotated[
    Hello | AnswerText | AnswerDone | Playback | End | Ping | Consent,
    Field(discriminator="type"),
]
_CLIENT_MESSAGE: TypeAdapter[ClientMessage] = TypeAdapter(ClientMessage)
CLIENT_TYPES = ("hello", "answer_text", "answer_done", "playback", "end", "ping", "consent")


# -- limits -----------------------------------------------------------------------------------


@dataclass
class TokenBucket:
    rate: float  # units per second
    capacity: float
    level: float = -1.0
    stamp: float = field(default_factory=time.monotonic)

    def take(self, amount: float) -> bool:
        now = time.monotonic()
        if self.level < 0:
            self.level = self.capacity
        self.level = min(self.capacity, self.level + (now - self.stamp) * self.rate)
        self.stamp = now
        self.level -= amount
        return self.level >= 0


class RateLimiter:
    """Messages and bytes (issue 24 #14: a stall is not abuse). Audio held back by a network
    stall or a starved tab comes at once after it; what fits the soft bucket (30 s of audio, at
    1.25x real time on average) is taken, what does not is dropped and said so, and the socket
    stays open. Only a client far beyond any stall (the hard buckets: 3x real time past a 60 s
    burst, 300 messages a second past 6 000) is closed 4429. Over any window of W seconds the
    audio taken is at most 30 + 1.25 W seconds: over ten minutes, 1.3x real time."""

    MESSAGES_PER_S = 300.0  # 10 ms frames are 100 a second
    MESSAGE_BURST = 6000.0  # a 60 s stall's 10 ms frames
    REAL_TIME_FACTOR = 1.25  # the long-run average taken
    BURST_S = 30.0  # a stall this long loses nothing
    HARD_FACTOR = 3.0
    HARD_BURST_S = 60.0

    def __init__(self) -> None:
        self.messages = TokenBucket(self.MESSAGES_PER_S, self.MESSAGE_BURST)
        self.set_rate(16000)

    def set_rate(self, sample_rate: int) -> None:
        per_s = sample_rate * BYTES_PER_SAMPLE
        self.bytes = TokenBucket(per_s * self.REAL_TIME_FACTOR, per_s * self.BURST_S)
        self.hard_bytes = TokenBucket(per_s * self.HARD_FACTOR, per_s * self.HARD_BURST_S)

    def admit(self, size: int) -> None:
        """A message (any kind): closes the stream past the hard limits."""
        if not (self.messages.take(1) and self.hard_bytes.take(size)):
            raise StreamClosed(4429, "rate_limited", "too many messages or bytes")

    def take_audio(self, size: int) -> bool:
        """An audio frame admitted by `admit`: False when it is over the soft bucket (drop it)."""
        if self.bytes.take(size):
            return True
        self.bytes.level += size  # not taken: a dropped frame costs nothing
        return False


DROPPED_TELL_EVERY_S = 10.0
AUDIO_DROPPED = ErrorMessage(
    "audio_dropped",
    "more audio came at once than a network stall explains: some of it was dropped",
    fatal=False,
)


# -- consent -----------------------------------------------------------------------------------


class ConsentGate:
    """No audio is processed, recorded or scored, and no typed answer taken, before the
    candidate consented: over REST (read from Redis until it is there) or with a `consent`
    message here. Audio before that is dropped, and said so once."""

    def __init__(self, sessions: SessionStore, session_id: str, transport: SocketTransport):
        self.sessions = sessions
        self.session_id = session_id
        self.transport = transport
        self.given = False
        self._told = False

    async def check(self) -> bool:
        if not self.given:
            self.given = await self.sessions.consent(self.session_id) is not None
        return self.given

    async def give(self, version: str) -> None:
        if version != DISCLOSURE_VERSION:
            raise StreamClosed(
                4400, "invalid_message", f"consent: version must be {DISCLOSURE_VERSION!r}"
            )
        if not await self.check():
            await give_consent(self.sessions.redis, self.session_id, version, "candidate")
            self.given = True

    async def admit_audio(self) -> bool:
        if await self.check():
            return True
        if not self._told:
            self._told = True
            await self.refuse()
        return False

    async def refuse(self) -> None:
        await self.transport.send_message(
            ErrorMessage(
                "consent_required",
                "the candidate has not consented yet: send `consent` (or use the REST endpoint)",
                fatal=False,
            )
        )


# -- the socket side of the loop --------------------------------------------------------------


class SocketTransport:
    def __init__(self, ws: WebSocket) -> None:
        self.ws = ws
        self._lock = asyncio.Lock()

    async def send_message(self, message: ServerMessage) -> None:
        if isinstance(message, TurnMetrics):
            metrics.TURN_EOS_TO_FIRST_AUDIO.observe(message.eos_to_first_audio_ms / 1000)
            metrics.TURN_ASR_FINAL.observe(message.asr_final_ms / 1000)
            metrics.TURN_ENGINE.observe(message.engine_ms / 1000)
            metrics.TURN_TTS_FIRST_CHUNK.observe(message.tts_first_chunk_ms / 1000)
        async with self._lock:
            await _sent(self.ws.send_text(json.dumps(to_wire(message))))

    async def send_audio(self, pcm: bytes) -> None:
        async with self._lock:
            await _sent(self.ws.send_bytes(pcm))

    async def send_pong(self) -> None:
        async with self._lock:
            await _sent(self.ws.send_text(json.dumps({"type": "pong"})))


async def _sent(sending: Awaitable[None]) -> None:
    """uvicorn closes a socket itself on a frame it cannot take (1007: text that is not UTF-8;
    1009: over its size limit), and then refuses with a RuntimeError any send the app makes
    before it has read the disconnect (say, the pong to a ping queued just before that frame).
    That is the client gone, as any dropped socket, not a failure of ours."""
    try:
        await sending
    except RuntimeError as exc:
        raise WebSocketDisconnect(1006) from exc


class OwnedTurnLog:
    """Stores turns only while this connection owns the session (a newer one, in this process
    or another, may have taken it over: the owner key in Redis says who streams it now). The
    owner check and the write are one atomic step (server/sessions.py)."""

    def __init__(self, sessions: SessionStore, session_id: str, conn: Connection) -> None:
        self.sessions = sessions
        self.session_id = session_id
        self.conn = conn

    def _outcome(self, result: AppendResult) -> bool:
        if result is AppendResult.SUPERSEDED:
            self.conn.superseded.set()
            raise StreamClosed(CLOSE_SUPERSEDED, "superseded", "another connection took over")
        if result is AppendResult.FINISHED:
            raise StreamClosed(*revocation.close_for("ended"))
        if result is AppendResult.ERASED:
            raise StreamClosed(*revocation.close_for("deleted"))
        return result is AppendResult.STORED

    async def append(self, turn: Turn) -> bool:
        return self._outcome(
            await self.sessions.store_turn(self.session_id, turn, owner=self.conn.owner)
        )

    async def replace(self, turn: Turn) -> bool:
        return self._outcome(
            await self.sessions.replace_last_turn(self.session_id, turn, owner=self.conn.owner)
        )


def _credentials(ws: WebSocket) -> tuple[str | None, str | None]:
    """The token (query or subprotocol) and the subprotocol to accept."""
    offered = [p.strip() for p in ws.headers.get("sec-websocket-protocol", "").split(",")]
    offered = [p for p in offered if p]
    from_protocol = next(
        (p[len(TOKEN_SUBPROTOCOL_PREFIX) :] for p in offered if p.startswith("token.")), None
    )
    accept = SUBPROTOCOL if SUBPROTOCOL in offered else None
    return ws.query_params.get("token") or from_protocol, accept


async def _hello_or_grace(first_frame: asyncio.Event) -> None:
    """Until a `hello` could have arrived: a chat-mode `hello` sent right after connecting must
    switch audio off before the greeting is spoken. A microphone's first frame (or any other
    message) ends the wait at once; a client that sends nothing waits the grace."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(first_frame.wait(), HELLO_GRACE_S)


async def _receive(
    ws: WebSocket,
    loop: VoiceLoop,
    transport: SocketTransport,
    consent: ConsentGate,
    first_frame: asyncio.Event,
) -> None:
    """Read client frames until the socket closes; protocol violations raise StreamClosed.

    `first_frame` is set once the first frame has been read (and a `hello` applied)."""
    limiter = RateLimiter()
    rate = 16000
    first = True
    dropped_told = -DROPPED_TELL_EVERY_S  # when the client was last told of dropped audio
    while True:
        message = await ws.receive()
        if message["type"] == "websocket.disconnect":
            return
        data: bytes | None = message.get("bytes")
        text: str | None = message.get("text")
        limiter.admit(len(data) if data is not None else len(text or ""))
        if data is not None:
            first = False
            first_frame.set()
            if len(data) % BYTES_PER_SAMPLE:
                raise StreamClosed(4400, "bad_audio_frame", "odd byte count: not 16-bit samples")
            if len(data) > MAX_FRAME_S * rate * BYTES_PER_SAMPLE:
                raise StreamClosed(
                    4400, "frame_too_large", f"audio frames carry at most 200 ms ({rate} Hz)"
                )
            if not limiter.take_audio(len(data)):
                if time.monotonic() - dropped_told > DROPPED_TELL_EVERY_S:
                    dropped_told = time.monotonic()
                    await transport.send_message(AUDIO_DROPPED)
                continue
            if await consent.admit_audio():
                await loop.feed_audio(data)
            continue
        parsed = _parse(text or "")
        if not isinstance(parsed, Hello):
            first_frame.set()
        if isinstance(parsed, Hello):
            if not first:
                raise StreamClosed(4400, "hello_not_first", "hello must be the first message")
            rate = parsed.audio.sample_rate
            if rate not in ACCEPTED_RATES:
                raise StreamClosed(
                    4400, "unsupported_rate", f"sample_rate must be one of {ACCEPTED_RATES}"
                )
            loop.set_input_rate(rate)
            limiter.set_rate(rate)
            loop.speak_audio = parsed.mode == "voice"
            first_frame.set()
        elif isinstance(parsed, AnswerText):
            if await consent.check():
                await loop.answer_text(parsed.text)
            else:
                await consent.refuse()
        elif isinstance(parsed, AnswerDone):
            await loop.answer_done()
        elif isinstance(parsed, Playback):
            loop.playback_finished(parsed.turn)
        elif isinstance(parsed, End):
            await loop.end()
        elif isinstance(parsed, Ping):
            await transport.send_pong()
        elif isinstance(parsed, Consent):
            await consent.give(parsed.version)
        else:
            await transport.send_message(
                ErrorMessage("unknown_type", f"unknown message type {parsed!r}", fatal=False)
            )
        first = False


def _parse(text: str) -> ClientMessage | str:
    """A valid client message, or the name of an unknown type (ignored, reported)."""
    try:
        raw = json.loads(text)
    except RecursionError as exc:  # nested deeper than the parser's stack allows
        raise StreamClosed(
            4400, "invalid_message", "text frames must not nest this deeply"
        ) from exc
    except ValueError as exc:  # JSONDecodeError, and numbers over Python's 4300-digit limit
        raise StreamClosed(4400, "malformed_json", f"text frames must be JSON: {exc}") from exc
    if not isinstance(raw, dict) or not isinstance(raw.get("type"), str):
        raise StreamClosed(4400, "invalid_message", "a JSON object with a string `type`")
    if raw["type"] not in CLIENT_TYPES:
        return str(raw["type"])[:64]
    try:
        return _CLIENT_MESSAGE.validate_python(raw)
    except ValidationError as exc:
        detail = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise StreamClosed(4400, "invalid_message", f"{raw['type']}: {detail}") from exc


async def _close(ws: WebSocket, closed: StreamClosed) -> None:
    with contextlib.suppress(Exception):
        await ws.send_text(
            json.dumps(
                to_wire(
                    ErrorMessage(
                        closed.error, closed.message, fatal=True, retry_after_s=closed.retry_after_s
                    )
                )
            )
        )
    with contextlib.suppress(Exception):
        await ws.close(closed.code)


async def _limit_connects(redis: Redis, session_id: str, per_minute: int) -> None:
    """Each connect reloads the session's evidence and speaks the open question again: a
    client reconnecting in a loop gets 4429 instead."""
    now = time.time()
    key = keys.session_connects(session_id, int(now // 60))
    count = await redis.incr(key)
    if count == 1:
        await redis.expire(key, 120)
    if count > per_minute:
        raise StreamClosed(
            4429,
            "too_many_connects",
            f"more than {per_minute} connections to this session in a minute",
            retry_after_s=round(60 - now % 60, 1),
        )


async def _serve(ws: WebSocket, session_id: str, token: str | None, conn: Connection) -> None:
    services: Services = ws.app.state.services
    redis = services.store.redis
    sessions = SessionStore(redis)
    if not token:
        raise StreamClosed(4401, "unauthorized", "a session token is required")
    try:
        record = await sessions.authorize(session_id, token)
    except SessionNotFound as exc:
        raise StreamClosed(4404, "session_not_found", "no such session") from exc
    except InvalidToken as exc:
        raise StreamClosed(4401, "unauthorized", "bad or expired session token") from exc
    if record.is_finished:
        raise StreamClosed(4409, "session_finished", f"the session is {record.status}")
    await _limit_connects(redis, session_id, services.settings.connects_per_minute)
    runtime: VoiceRuntime = ws.app.state.voice_runtime
    refusal = runtime.refusal(session_id, record.tenant_id)
    if refusal is not None:
        metrics.STREAMS_REFUSED.inc()
        whose = "this server's" if refusal == "server_busy" else "your organisation's"
        raise StreamClosed(
            CLOSE_TRY_AGAIN,
            refusal,
            f"{whose} interviews are all in progress; try again shortly",
            retry_after_s=RETRY_AFTER_S,
        )
    await runtime.ready()
    channel = BrowserChannel(ws, record, token, sessions)
    await run_live(
        services,
        runtime,
        record,
        conn,
        channel,
        channel.transport,
        OwnedTurnLog(sessions, session_id, conn),
    )


class BrowserChannel:
    """A protocol client (the browser room, a partner's app, a load generator) as a live
    channel (server/live.py)."""

    def __init__(
        self, ws: WebSocket, record: SessionRecord, token: str, sessions: SessionStore
    ) -> None:
        self.ws = ws
        self.record = record
        self.token = token
        self.redis = sessions.redis
        self.mode = record.mode
        self.transport = SocketTransport(ws)
        self.consent = ConsentGate(sessions, record.id, self.transport)
        self.first_frame = asyncio.Event()

    def prepare(self, loop: VoiceLoop) -> None:
        loop.speak_audio = self.record.mode != "chat"

    async def receive(self, loop: VoiceLoop) -> None:
        await _receive(self.ws, loop, self.transport, self.consent, self.first_frame)

    async def opening_after(self) -> None:
        await _hello_or_grace(self.first_frame)

    async def watch_revoked(self) -> None:
        reason = await revocation.wait_revoked(self.redis, self.record.id, self.token)
        raise StreamClosed(*revocation.close_for(str(reason)))

    def closed(self, reason: str) -> Exception:
        if reason == "superseded":
            return StreamClosed(CLOSE_SUPERSEDED, "superseded", "a newer connection took over")
        return StreamClosed(*revocation.close_for(reason))

    async def finished(self, receive: asyncio.Task[Any]) -> None:
        return  # the last words were sent; `finished` follows them

    async def close_finished(self) -> None:
        with contextlib.suppress(Exception):
            await self.ws.close(1000)


async def stream_endpoint(ws: WebSocket) -> None:
    session_id = ws.path_params["session_id"]
    token, subprotocol = _credentials(ws)
    conn = Connection()
    # The ticket before the accept: a client can only reconnect once this socket is accepted,
    # so its next socket's ticket is higher even if that one reaches its claim first
    # (server/ownership.py). Without Redis now, it is taken at the claim.
    with contextlib.suppress(RedisConnectionError, RedisTimeoutError):
        conn.ticket = await ownership.take_ticket(ws.app.state.services.store.redis, session_id)
    await ws.accept(subprotocol=subprotocol)
    metrics.ACTIVE_STREAMS.inc()
    try:
        await _serve(ws, session_id, token, conn)
    except StreamClosed as closed:
        await _close(ws, closed)
    except WebSocketDisconnect:
        pass
    except (RedisConnectionError, RedisTimeoutError) as exc:
        # Redis stayed away longer than each command waits (server/storage/store.py): no bug, and the
        # session resumes from what was stored once it is back; 1013 tells the client so.
        log.warning("stream of session %s closed: Redis is unavailable (%s)", session_id, exc)
        await _close(ws, StreamClosed(CLOSE_TRY_AGAIN, "store_unavailable", STORE_DOWN, 5.0))
    except Exception:
        log.exception("stream of session %s failed", session_id)
        await _close(ws, StreamClosed(1011, "internal", "internal error"))
    finally:
        conn.stopped.set()
        metrics.ACTIVE_STREAMS.dec()


routes = [WebSocketRoute("/v1/sessions/{session_id}/stream", stream_endpoint)]
