"""One stream's observers: integrity checks and recordings behind the voice loop's sink.

Every socket of a session gets its own (`StreamObservers.open`). The recorder writes segments
of its own beside the earlier sockets' (server/storage/recordings.py), so a resumed session's recording
keeps their audio, whichever process or host wrote it; the speaker
evidence and the answers' words are saved to Redis after each answer and when the socket ends,
and restored by the next socket, so the candidate stays enrolled and an earlier second voice
stays in the report. Saves check that the session was not erased meanwhile (server/storage/guard.py): a
socket closing after a delete leaves no evidence and no recording behind.
"""

from __future__ import annotations

import asyncio
import base64
import logging
from collections.abc import Mapping
from typing import cast

from pipeline.integrity.session import SessionIntegrity
from pipeline.integrity.sink import ObserverSink
from pipeline.integrity.words import words_from_timestamps
from pipeline.voice.loop import FilteredAnswer
from server.services import Services
from server.settings import Settings
from server.storage import guard, keys, recordings
from server.storage.objectstore import open_store
from server.storage.recordings import SessionRecorder, save_recordings
from server.storage.store import Redis

log = logging.getLogger(__name__)


class StreamObservers:
    def __init__(
        self,
        session_id: str,
        integrity: SessionIntegrity,
        recorder: SessionRecorder,
        redis: Redis,
        settings: Settings,
    ) -> None:
        self.session_id = session_id
        self.redis = redis
        self.integrity = integrity
        self.recorder = recorder
        self.sink = ObserverSink([integrity, recorder])
        self.settings = settings
        self._saved = False
        self._flusher: asyncio.Task[None] | None = None

    @classmethod
    async def open(cls, services: Services, session_id: str) -> StreamObservers:
        settings = services.settings
        store = await asyncio.to_thread(open_store, settings)  # the first opens its client
        recorder = SessionRecorder(
            store, session_id, settings.record_full, settings.recording_max_gap_s
        )
        redis = services.store.redis
        # Referenced from the start: a process killed mid-interview leaves its segments found.
        await save_recordings(redis, session_id, recorder.references(), settings)
        integrity = SessionIntegrity(services.models.speaker())
        observers = cls(session_id, integrity, recorder, redis, settings)
        observers._flusher = asyncio.create_task(observers._flush_every(recordings.FLUSH_EVERY_S))
        saved = await redis.lrange(keys.session_integrity(session_id), 0, -1)
        if saved:
            blobs = [base64.b64decode(item) for item in saved]
            await asyncio.wrap_future(observers.sink.submit(observers.integrity.restore, blobs))
        return observers

    async def _flush_every(self, seconds: float) -> None:
        """The recording's buffered audio written out every `seconds`, even with no answer
        ending and no new audio (a process killed then loses at most that much)."""
        while not self._saved:
            await asyncio.sleep(seconds)
            await asyncio.wrap_future(self.sink.submit(self.recorder.flush))

    async def save_integrity(self) -> None:
        """Append what this socket heard since the last save (queued after all of it)."""
        blob = await asyncio.wrap_future(self.sink.submit(self.integrity.unsaved_delta))
        if blob is not None:
            await guard.rpush(
                self.redis,
                self.session_id,
                keys.session_integrity(self.session_id),
                base64.b64encode(blob).decode("ascii"),
            )

    async def answer_filter(
        self, turn: int, words: list[list[object]], question_end_s: float | None
    ) -> FilteredAnswer:
        """The loop's `AnswerFilter`: the words on the candidate's voice only. Queued behind the
        turn's segments on the sink's worker, so it sees all of them."""
        # The loop's words are already on the session clock: no offset.
        timed = words_from_timestamps(cast(list[list[str | float]], words))
        result = await asyncio.wrap_future(
            self.sink.submit(self.integrity.candidate_answer, turn, timed, question_end_s)
        )
        self.sink.submit(self.recorder.flush)  # the answer's audio is written out (not awaited)
        await self.save_integrity()
        return FilteredAnswer(result.text, result.to_meta())

    async def report_sections(self) -> Mapping[str, object]:
        return await asyncio.wrap_future(self.sink.submit(self.integrity.report_sections))

    async def save_recordings(self) -> None:
        """Close the tracks (after everything queued: the last segments are written) and
        reference them; once. An erased session's tracks are removed instead."""
        if self._saved:
            return
        self._saved = True
        if self._flusher is not None:
            self._flusher.cancel()
        references = await asyncio.wrap_future(self.sink.submit(self.recorder.close))
        await save_recordings(self.redis, self.session_id, references, self.settings)

    async def close(self) -> None:
        """When the socket ends, finished or not: what was recorded stays referenced."""
        try:
            await self.save_integrity()
            await self.save_recordings()
        finally:
            await asyncio.to_thread(self.sink.close)
