"""The per-process voice runtime: the shared Whisper scheduler and Piper, the streams open here,
the capacity that admits new ones, and the watch that tells them a connection in another process
took their session over (server/ownership.py). Built and closed by the app's lifespan."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import secrets
from dataclasses import dataclass, field

from pipeline.voice.config import VoiceConfig
from pipeline.voice.loop import VoiceLoop
from pipeline.voice.synthesizer import Synthesizer
from pipeline.voice.transcriber import TranscriptionScheduler
from server import ownership
from server.ops import metrics
from server.services import Services
from server.settings import Settings

CODE_SUBMITTED = "code_submitted"  # a signal (server/ownership.py): the candidate submitted code


@dataclass
class Connection:
    """One live connection (a socket, a call). `ticket` orders the session's connections
    (server/ownership.py): 0 until taken."""

    id: str = field(default_factory=lambda: secrets.token_hex(8))
    superseded: asyncio.Event = field(default_factory=asyncio.Event)
    stopped: asyncio.Event = field(default_factory=asyncio.Event)
    ticket: int = 0
    loop: VoiceLoop | None = None  # its voice loop, while it runs (`VoiceRuntime.live_loop`)

    @property
    def owner(self) -> str:
        """The owner key's value while this connection streams its session."""
        return ownership.owner_value(self.ticket, self.id)


def voice_config(settings: Settings) -> VoiceConfig:
    """The loop's defaults, with the turn-taking variables of the environment."""
    defaults = VoiceConfig()
    return VoiceConfig(
        vad=dataclasses.replace(
            defaults.vad,
            min_speech_ms=settings.vad_min_speech_ms,
            barge_in_ms=settings.barge_in_ms,
        ),
        turns=dataclasses.replace(
            defaults.turns,
            patience_s=settings.patience_ms / 1000,
            unfinished_extra_s=settings.unfinished_extra_ms / 1000,
            repair_window_s=settings.repair_window_ms / 1000,
            hard_limit_grace_s=settings.answer_grace_s,
            input_quiet_s=settings.input_quiet_ms / 1000,
        ),
        streaming=defaults.streaming,
        asr=dataclasses.replace(defaults.asr, partial_every_ms=settings.partial_every_ms),
        tts=dataclasses.replace(defaults.tts, lead_ms=settings.tts_lead_ms),
    )


class VoiceRuntime:
    """One per app (process): Whisper and Piper are shared by every session."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self.config = voice_config(services.settings)
        self.capacity = services.settings.max_streams
        self.tenant_capacity = services.settings.max_streams_per_tenant or self.capacity
        self.streams: dict[str, Connection] = {}
        self._tenant_of: dict[str, str] = {}  # session id -> tenant id, of the streams here
        self._transcriber: TranscriptionScheduler | None = None
        self._synthesizer: Synthesizer | None = None
        self._lock = asyncio.Lock()
        self._watch: ownership.OwnerWatch | None = None
        self._signal_tasks: set[asyncio.Task[None]] = set()
        metrics.watch_transcriber(lambda: self._transcriber)

    @property
    def transcriber(self) -> TranscriptionScheduler:
        if self._transcriber is None:
            raise RuntimeError("the voice runtime is not ready: await ready() first")
        return self._transcriber

    @property
    def synthesizer(self) -> Synthesizer:
        if self._synthesizer is None:
            raise RuntimeError("the voice runtime is not ready: await ready() first")
        return self._synthesizer

    async def ready(self) -> None:
        """Load Whisper and Piper (once; off the event loop)."""
        async with self._lock:
            if self._transcriber is None:
                models = self.services.models
                asr = await asyncio.to_thread(models.asr)
                tts = await asyncio.to_thread(models.tts)
                self._synthesizer = Synthesizer(tts, self.config.tts)
                self._transcriber = TranscriptionScheduler(asr)

    def refusal(self, session_id: str, tenant_id: str) -> str | None:
        """None when a stream of this session may open here, else why not: `server_busy` (the
        process is at capacity) or `tenant_busy` (the tenant's share of it is used). A session
        taking its own stream over always may."""
        if session_id in self.streams:
            return None
        if len(self.streams) >= self.capacity:
            return "server_busy"
        if sum(t == tenant_id for t in self._tenant_of.values()) >= self.tenant_capacity:
            return "tenant_busy"
        return None

    async def claim(self, session_id: str, conn: Connection, tenant_id: str) -> bool:
        """The newest connection of a session wins (by ticket, not by who gets here first): a
        previous one here is closed and awaited, so it stores nothing after the new one has
        read the transcript. False, and nothing changed, when a newer one is here already.
        Connections in other processes are told by the owner key's claim (server/live.py)."""
        await self._watching()
        previous = self.streams.get(session_id)
        if previous is not None and previous.ticket > conn.ticket:
            return False
        self.streams[session_id] = conn
        self._tenant_of[session_id] = tenant_id
        if previous is not None:
            previous.superseded.set()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(previous.stopped.wait(), timeout=5)
        return True

    def live_loop(self, session_id: str) -> VoiceLoop | None:
        """The voice loop of the session's live connection, when it runs in this process: how a
        REST call (a code submission) reaches the live session."""
        conn = self.streams.get(session_id)
        return None if conn is None else conn.loop

    def release(self, session_id: str, conn: Connection) -> None:
        if self.streams.get(session_id) is conn:
            del self.streams[session_id]
            self._tenant_of.pop(session_id, None)

    async def _watching(self) -> None:
        """The process's owner watch runs (from the first stream on) and listens."""
        if self._watch is None:
            self._watch = ownership.OwnerWatch(
                self.services.store.redis,
                lambda: {sid: conn.owner for sid, conn in self.streams.items()},
                self._taken_over,
                signalled=self._signalled,
            )
        await self._watch.start()

    def _taken_over(self, session_id: str, owner: str) -> None:
        conn = self.streams.get(session_id)
        if conn is not None and conn.owner == owner:
            conn.superseded.set()

    def _signalled(self, session_id: str, name: str) -> None:
        """A signal for a session, published by any process (`ownership.signal`)."""
        loop = self.live_loop(session_id)
        if loop is None or name != CODE_SUBMITTED:
            return
        task = asyncio.get_running_loop().create_task(loop.answer_submitted())
        self._signal_tasks.add(task)
        task.add_done_callback(self._signal_tasks.discard)

    async def close(self) -> None:
        if self._watch is not None:
            await self._watch.close()
        if self._transcriber is not None:
            await self._transcriber.close()
        if self._synthesizer is not None:
            self._synthesizer.close()
