"""`/v1/phone/twilio/stream`: a call's audio over Twilio Media Streams (bidirectional), run by
the same voice loop as the browser's stream.

From Twilio: `connected`, `start` (stream and call sids, `customParameters` with our one-time
stream token), `media` (base64 8 kHz μ-law, 20 ms), `dtmf`, `mark` (a mark we sent has played),
`stop`. To Twilio: `media` (the interviewer, 8 kHz μ-law in 20 ms frames), `mark` (after each
interviewer turn, and at the end), `clear` (drop queued audio: a barge-in, a repair, consent).

The handshake must carry a valid `X-Twilio-Signature` over the stream URL, whose last segment is
a one-time nonce made for one call (refused with 403 before the upgrade otherwise, and on any
second use); the `start` must carry a stream token issued for that very call, good once.

On the line: the consent disclosure is spoken first and accepted with the 1 key (recorded as
consent with `channel: phone`); until then nothing the caller says is processed. Then the
interview runs as in the room: the same listener, turn policy, Whisper, engine and Piper; `#` is
`answer_done`. A session's transcript, consent, observers (integrity, recordings) and finish are
the browser stream's; a call and a browser socket of one session take each other over.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import json
import logging
import re
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from audio.telephone import FRAME_MS, RATE, TelephoneEncoder, from_telephone
from pipeline.voice.loop import VoiceLoop
from pipeline.voice.messages import (
    AgentAudio,
    ErrorMessage,
    Finished,
    Interrupt,
    ServerMessage,
    TurnMetrics,
)
from server.live import run_live
from server.ops import metrics
from server.phone import credentials, provider
from server.runtime import Connection, VoiceRuntime
from server.security import revocation
from server.services import Services
from server.sessions import SessionNotFound, SessionStore
from server.storage import guard, keys
from server.stream import OwnedTurnLog, StreamClosed, TokenBucket
from server.usecases.consent import DISCLOSURE_TEXT, DISCLOSURE_VERSION, give_consent

log = logging.getLogger(__name__)

START_TIMEOUT_S = 10.0  # connected -> start
MAX_MEDIA_BYTES = RATE // 5  # 200 ms of μ-law in one message
MESSAGES_PER_S = 150.0  # media is 50 a second
MESSAGE_BURST = 3000.0  # a 60 s stall of Twilio's 20 ms frames, at once (issue 24 #14)
CONSENT_PROMPTS = 2
CONSENT_WAIT_S = 12.0  # after the disclosure has played
PLAYBACK_GRACE_S = 2.0  # beyond the audio's own length, waiting for its mark
PLAYBACK_MAX_WAIT_S = 60.0
REVOCATION_POLL_S = 2.0
CLOSE_POLICY = 1008

CONSENT_PROMPT = "To agree and start the interview, press 1. If you do not agree, just hang up."
CONSENT_MISSING = "Without your agreement the interview cannot start. Goodbye."
BUSY = "All our interviewers are busy right now. Please call again in a few minutes. Goodbye."
FINISHED = "This interview is already complete. Thank you, goodbye."
STOPPED = "This interview has been stopped. Goodbye."
TROUBLE = "Sorry, something went wrong on our side. Please call again. Goodbye."

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def sentences(text: str) -> list[str]:
    return [s for s in _SENTENCE_END.split(text.strip()) if s]


class PhoneClosed(Exception):
    """End the call, after saying `say` when given."""

    def __init__(self, reason: str, say: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.say = say


@dataclass(frozen=True)
class StreamStart:
    stream_sid: str
    call_sid: str
    account_sid: str
    stream_token: str
    media_format: dict[str, Any]


# -- the loop's transport ---------------------------------------------------------------------


class PhoneTransport:
    """`pipeline.voice.ports.Transport` over Media Streams: the loop's s16le audio at the
    synthesizer's rate goes out as 8 kHz μ-law frames; of its messages only what a phone needs
    is kept: the end of an interviewer turn becomes a `mark`, an interrupt a `clear`."""

    def __init__(self, ws: WebSocket, stream_sid: str, in_rate: int) -> None:
        self.ws = ws
        self.stream_sid = stream_sid
        self.encoder = TelephoneEncoder(in_rate)
        self.finished: Finished | None = None
        self.turn_metrics: list[TurnMetrics] = []
        self.play_until = 0.0  # monotonic: when the audio sent so far will have played
        self._marks: dict[str, asyncio.Event] = {}
        self._mark_count = 0
        self._lock = asyncio.Lock()

    async def _send(self, message: dict[str, Any]) -> None:
        async with self._lock:
            await self.ws.send_text(json.dumps(message))

    async def _send_frames(self, frames: list[bytes]) -> None:
        for frame in frames:
            await self._send(
                {
                    "event": "media",
                    "streamSid": self.stream_sid,
                    "media": {"payload": base64.b64encode(frame).decode("ascii")},
                }
            )
            self.play_until = max(self.play_until, time.monotonic()) + FRAME_MS / 1000

    async def send_audio(self, pcm: bytes) -> None:
        await self._send_frames(self.encoder.push(np.frombuffer(pcm, dtype="<i2")))

    async def end_utterance(self) -> None:
        """The filters' tails and the last partial frame (padded with silence)."""
        await self._send_frames(self.encoder.flush())

    async def mark(self, prefix: str) -> asyncio.Event:
        """Send a mark; the event is set when Twilio says everything before it has played (or
        was cleared)."""
        self._mark_count += 1
        name = f"{prefix}:{self._mark_count}"
        played = self._marks[name] = asyncio.Event()
        await self._send({"event": "mark", "streamSid": self.stream_sid, "mark": {"name": name}})
        return played

    def mark_played(self, name: str) -> None:
        played = self._marks.pop(name, None)
        if played is not None:
            played.set()

    async def clear(self) -> None:
        """Twilio drops what it has queued (and returns the marks in it)."""
        self.encoder.reset()
        self.play_until = time.monotonic()
        await self._send({"event": "clear", "streamSid": self.stream_sid})

    async def wait_played(self) -> None:
        """Until everything sent has played: a final mark's return, bounded by the audio's own
        length (a caller who hung up returns no mark)."""
        played = await self.mark("end")
        timeout = max(0.0, self.play_until - time.monotonic()) + PLAYBACK_GRACE_S
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(played.wait(), min(timeout, PLAYBACK_MAX_WAIT_S))

    async def send_message(self, message: ServerMessage) -> None:
        if isinstance(message, AgentAudio) and message.event == "end":
            await self.end_utterance()
            await self.mark(f"turn:{message.turn}")
        elif isinstance(message, Interrupt):
            await self.clear()
        elif isinstance(message, Finished):
            self.finished = message
        elif isinstance(message, TurnMetrics):
            self.turn_metrics.append(message)
            metrics.TURN_EOS_TO_FIRST_AUDIO.observe(message.eos_to_first_audio_ms / 1000)
            metrics.TURN_ASR_FINAL.observe(message.asr_final_ms / 1000)
            metrics.TURN_ENGINE.observe(message.engine_ms / 1000)
            metrics.TURN_TTS_FIRST_CHUNK.observe(message.tts_first_chunk_ms / 1000)
        elif isinstance(message, ErrorMessage):
            log.info("phone stream %s: %s (%s)", self.stream_sid, message.code, message.message)
        # ready, vad, transcript, agent_text, progress, feedback: nothing to play on a phone.


# -- consent -----------------------------------------------------------------------------------


class PhoneConsent:
    """Consent on a call: the disclosure is spoken, the 1 key accepts it."""

    def __init__(self, sessions: SessionStore, session_id: str) -> None:
        self.sessions = sessions
        self.session_id = session_id
        self.given = False
        self.accepted = asyncio.Event()

    async def check(self) -> bool:
        if not self.given:
            self.given = await self.sessions.consent(self.session_id) is not None
        return self.given

    async def accept(self) -> None:
        if await self.check():
            return
        await give_consent(
            self.sessions.redis, self.session_id, DISCLOSURE_VERSION, "candidate", channel="phone"
        )
        self.given = True
        self.accepted.set()


# -- the call ------------------------------------------------------------------------------------


async def _read(ws: WebSocket) -> dict[str, Any]:
    frame = await ws.receive()
    if frame["type"] == "websocket.disconnect":
        raise WebSocketDisconnect(frame.get("code", 1000))
    text = frame.get("text")
    if text is None:
        raise PhoneClosed("binary_frame")  # Media Streams speaks JSON text frames only
    try:
        message = json.loads(text)
    except ValueError as exc:
        raise PhoneClosed("malformed_json") from exc
    if not isinstance(message, dict) or not isinstance(message.get("event"), str):
        raise PhoneClosed("invalid_message")
    return message


async def _await_start(ws: WebSocket) -> StreamStart:
    """`connected` (optional), then `start`, within START_TIMEOUT_S."""
    async with asyncio.timeout(START_TIMEOUT_S):
        while True:
            message = await _read(ws)
            if message["event"] == "connected":
                continue
            if message["event"] != "start" or not isinstance(message.get("start"), dict):
                raise PhoneClosed("start_expected")
            start = message["start"]
            parameters = start.get("customParameters") or {}
            fields = (start.get("streamSid") or message.get("streamSid"), start.get("callSid"))
            if not all(isinstance(f, str) and f for f in fields) or not isinstance(
                parameters, dict
            ):
                raise PhoneClosed("invalid_start")
            return StreamStart(
                stream_sid=str(fields[0]),
                call_sid=str(fields[1]),
                account_sid=str(start.get("accountSid", "")),
                stream_token=str(parameters.get(provider.STREAM_TOKEN_PARAMETER, "")),
                media_format=start.get("mediaFormat") or {},
            )


class PhoneCall:
    """One Media Streams socket: authenticate the start, run the session's voice loop, end."""

    def __init__(
        self, ws: WebSocket, services: Services, conn: Connection, call_sid: str = ""
    ) -> None:
        self.ws = ws
        self.call_sid = call_sid  # the call the stream URL was made for
        self.services = services
        self.conn = conn
        self.redis = services.store.redis
        self.sessions = SessionStore(self.redis)
        self.runtime: VoiceRuntime = ws.app.state.voice_runtime
        self.transport: PhoneTransport | None = None
        self.loop: VoiceLoop | None = None
        self.consent: PhoneConsent | None = None
        self.session_id = ""  # once the start named it
        self._limit = TokenBucket(MESSAGES_PER_S, MESSAGE_BURST)

    async def serve(self) -> None:
        start = await _await_start(self.ws)
        settings = self.services.settings
        if start.account_sid != settings.twilio_account_sid:
            raise PhoneClosed("another_account")
        info = await credentials.take_stream_token(self.redis, start.stream_token)
        if info is None or info.call_sid != start.call_sid or start.call_sid != self.call_sid:
            raise PhoneClosed("bad_stream_token")
        encoding = str(start.media_format.get("encoding", "audio/x-mulaw"))
        if encoding != "audio/x-mulaw" or int(start.media_format.get("sampleRate", RATE)) != RATE:
            raise PhoneClosed("unsupported_media_format")
        await self.runtime.ready()
        self.transport = PhoneTransport(
            self.ws, start.stream_sid, self.runtime.synthesizer.sample_rate
        )
        try:
            record = await self.sessions.get(info.session_id)
        except SessionNotFound as exc:
            raise PhoneClosed("session_not_found", say=STOPPED) from exc
        if record.is_finished:
            raise PhoneClosed("session_finished", say=FINISHED)
        refusal = self.runtime.refusal(record.id, record.tenant_id)
        if refusal is not None:
            metrics.STREAMS_REFUSED.inc()
            raise PhoneClosed(refusal, say=BUSY)
        self.consent = PhoneConsent(self.sessions, record.id)
        self.session_id = record.id
        await run_live(
            self.services,
            self.runtime,
            record,
            self.conn,
            self,
            self.transport,
            OwnedTurnLog(self.sessions, record.id, self.conn),
        )

    # -- the call as a live channel (server/live.py) -----------------------------------------

    mode = "phone"

    def prepare(self, loop: VoiceLoop) -> None:
        self.loop = loop
        loop.set_input_rate(RATE)
        loop.speak_audio = True

    async def receive(self, loop: VoiceLoop) -> None:
        assert self.transport is not None and self.consent is not None
        await self._receive(loop, self.transport, self.consent)

    async def opening_after(self) -> None:
        await self._consent_first()

    async def watch_revoked(self) -> None:
        await self._watch_revoked(self.session_id)

    def closed(self, reason: str) -> Exception:
        return PhoneClosed(reason, say=STOPPED if reason == "deleted" else None)

    async def finished(self, receive: asyncio.Task[Any]) -> None:
        """The closing line, to its last word: Twilio's marks still come in."""
        assert self.transport is not None
        played = asyncio.create_task(self.transport.wait_played())
        try:
            await asyncio.wait({played, receive}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            played.cancel()

    async def close_finished(self) -> None:
        with contextlib.suppress(Exception):
            await self.ws.close(1000)

    async def _consent_first(self) -> None:
        """Before the interviewer's first words: the disclosure, until the 1 key accepts it."""
        consent, transport = self.consent, self.transport
        assert consent is not None and transport is not None
        if await consent.check():
            return
        for _ in range(CONSENT_PROMPTS):
            said = asyncio.create_task(self.say(f"{DISCLOSURE_TEXT} {CONSENT_PROMPT}"))
            accepted = asyncio.create_task(consent.accepted.wait())
            try:
                await asyncio.wait({said, accepted}, return_when=asyncio.FIRST_COMPLETED)
                if not accepted.done():
                    remaining = max(0.0, transport.play_until - time.monotonic())
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(asyncio.shield(accepted), remaining + CONSENT_WAIT_S)
            finally:
                said.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await said
                if not accepted.done():
                    accepted.cancel()
            if consent.given:
                await transport.clear()  # the rest of the disclosure: the interview begins
                return
        raise PhoneClosed("no_consent", say=CONSENT_MISSING)

    async def say(self, text: str) -> None:
        """Speak outside the interview (disclosure, refusals): sentence by sentence, all queued
        at Twilio (nothing here is interrupted by the caller's voice)."""
        transport = self.transport
        assert transport is not None
        synthesizer = self.runtime.synthesizer
        for sentence in sentences(text):
            audio = await synthesizer.synthesize(sentence)
            await transport.send_audio(audio.astype("<i2").tobytes())
        await transport.end_utterance()

    async def say_and_close(self, text: str | None, code: int) -> None:
        if text is not None and self.transport is not None:
            with contextlib.suppress(Exception):
                await self.transport.clear()  # whatever was playing: this is said instead
                await self.say(text)
                played = asyncio.create_task(self.transport.wait_played())
                marks = asyncio.create_task(self._read_marks(self.transport))
                await asyncio.wait({played, marks}, return_when=asyncio.FIRST_COMPLETED)
                for task in (played, marks):
                    task.cancel()
                await asyncio.gather(played, marks, return_exceptions=True)
        with contextlib.suppress(Exception):
            await self.ws.close(code)

    async def _read_marks(self, transport: PhoneTransport) -> None:
        """Only Twilio's marks (the call is ending): until `stop` or the socket closes."""
        with contextlib.suppress(WebSocketDisconnect, PhoneClosed):
            while (message := await _read(self.ws))["event"] != "stop":
                if message["event"] == "mark":
                    transport.mark_played(str((message.get("mark") or {}).get("name", "")))

    async def _receive(
        self, loop: VoiceLoop, transport: PhoneTransport, consent: PhoneConsent
    ) -> None:
        """Twilio's messages until `stop` or the socket closes."""
        while True:
            try:
                message = await _read(self.ws)
            except WebSocketDisconnect:
                return
            if not self._limit.take(1):
                raise PhoneClosed("rate_limited")
            event = message["event"]
            if event == "media":
                media = message.get("media") or {}
                if media.get("track", "inbound") != "inbound":
                    continue
                try:
                    ulaw = base64.b64decode(str(media.get("payload", "")), validate=True)
                except (binascii.Error, ValueError) as exc:
                    raise PhoneClosed("bad_audio_frame") from exc
                if len(ulaw) > MAX_MEDIA_BYTES:
                    raise PhoneClosed("frame_too_large")
                if consent.given:
                    await loop.feed_audio(from_telephone(ulaw).astype("<i2").tobytes())
            elif event == "dtmf":
                digit = str((message.get("dtmf") or {}).get("digit", ""))
                if not consent.given:
                    if digit == "1":
                        await consent.accept()
                elif digit == "#":
                    await loop.answer_done()
            elif event == "mark":
                name = str((message.get("mark") or {}).get("name", ""))
                transport.mark_played(name)
                kind, _, rest = name.partition(":")
                turn = rest.partition(":")[0]
                if kind == "turn" and turn.isdigit():
                    loop.playback_finished(int(turn))  # the caller heard the whole turn
            elif event == "stop":
                return
            # connected/start again, or newer events: ignored

    async def _watch_revoked(self, session_id: str) -> None:
        """Until the session is erased, ended or expired elsewhere (server/security/revocation.py's
        signals), or reinvited: a reinvite replaces the token and revokes the PIN, and the call
        that PIN (or the old link's holder) opened ends too (issue 24 #3)."""
        since = await revocation.revocation_count(self.redis, session_id)
        token_hash = await self.redis.hget(keys.session(session_id), "token_hash")
        while True:
            await asyncio.sleep(REVOCATION_POLL_S)
            if not await guard.is_live(self.redis, session_id):
                raise PhoneClosed("deleted", say=STOPPED)
            if await revocation.revocation_count(self.redis, session_id) > since:
                raise PhoneClosed("ended", say=STOPPED)
            if await self.redis.hget(keys.session(session_id), "token_hash") != token_hash:
                raise PhoneClosed("reinvited", say=STOPPED)


async def stream_endpoint(ws: WebSocket) -> None:
    services: Services = ws.app.state.services
    settings = services.settings
    url = provider.requested_url(settings, ws, websocket=True)
    signature = ws.headers.get(provider.SIGNATURE_HEADER)
    if not provider.configured(settings) or not provider.signature_valid(
        settings, url, {}, signature
    ):
        log.warning("phone stream refused: %s signature", "no" if not signature else "bad")
        await ws.close(CLOSE_POLICY)  # before the upgrade: HTTP 403
        return
    # The URL's one-time nonce, spent here: a replayed handshake (same URL, same signature)
    # finds it gone.
    call_sid = await credentials.take_stream_nonce(
        services.store.redis, ws.path_params.get("nonce", "")
    )
    if call_sid is None:
        log.warning("phone stream refused: stream URL used or unknown")
        await ws.close(CLOSE_POLICY)
        return
    await ws.accept()
    conn = Connection()
    call = PhoneCall(ws, services, conn, call_sid)
    metrics.ACTIVE_STREAMS.inc()
    try:
        await call.serve()
    except PhoneClosed as closed:
        log.info("phone stream closed: %s", closed.reason)
        await call.say_and_close(closed.say, CLOSE_POLICY if closed.say is None else 1000)
    except (WebSocketDisconnect, TimeoutError):
        with contextlib.suppress(Exception):
            await ws.close(CLOSE_POLICY)
    except StreamClosed as closed:  # the turn log found another owner
        log.info("phone stream closed: %s", closed.error)
        with contextlib.suppress(Exception):
            await ws.close(1000)
    except Exception:
        log.exception("phone stream failed")
        await call.say_and_close(TROUBLE, 1011)
    finally:
        conn.stopped.set()
        metrics.ACTIVE_STREAMS.dec()


routes = [WebSocketRoute(provider.STREAM_PATH + "/{nonce}", stream_endpoint)]
