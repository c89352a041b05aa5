"""Session recordings: the candidate's speech as a WAV, and optionally the full mix.

Each track is laid on the session clock (silence where nobody on it spoke), so a time range in
the report, such as another voice at 41.8-45.7 s, is the same second in the file. A silence
longer than `VIVA_RECORDING_MAX_GAP_S` (a session resumed a day later) is cut to that length
instead of written out: each cut is listed as `[file second, session second]` where the audio
after it starts (the `X-Viva-Timeline` header of `GET .../recording`), so a file second `f` after
the last cut `[a, b]`, or in the silence kept before it, is session second `f - a + b` (before
the first cut's silence, the same second).

Storage (server/storage/objectstore.py: `VIVA_DATA_DIR`, or S3 with `VIVA_STORAGE_URL`): a track is a set
of segment objects, `recordings/{session_id}/{track}/{opened}-{socket}-{n}.seg`. Every socket
writes its own, one per flush (after each answer, every `FLUSH_EVERY_S` while audio is
buffered, and when it closes), and never touches another's: a session resumed on another
process or host adds segments rather than overwriting a file, and a process killed mid-interview
loses at most its last few seconds. Reading lays every segment's audio on the session clock, in
session time order whichever socket wrote it, into one 16 kHz PCM16 WAV. The Redis hash
`viva:session:{id}:recordings` (fields `candidate`, `full`) names each track's location
(`{store url}/recordings/{id}/{track}/`), set when a socket opens; a plain file path there is a
WAV written before segments (still served and deleted).

A segment: `VIVASEG1`, a 4-byte little-endian header length, a JSON header
`{"rate": 16000, "max_gap_s": 60.0, "chunks": [[start_s, samples], ...]}`, then the chunks'
samples as PCM16 little-endian, one after another.

Tracks:
- `candidate`: only the candidate's voiced segments, as the voice loop published them.
- `full` (when `VIVA_RECORD_FULL` is on): the same plus the interviewer's audio, mixed.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import secrets
import shutil
import struct
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import numpy as np
import soundfile as sf

from server.storage import guard, keys
from server.storage.objectstore import LocalStore, ObjectStore, StorageError, open_store, store_at
from server.storage.store import Redis

if TYPE_CHECKING:
    from server.settings import Settings

log = logging.getLogger(__name__)
T = TypeVar("T")

SAMPLE_RATE = 16000
MAX_GAP_S = 60.0  # the default of VIVA_RECORDING_MAX_GAP_S
TRACKS = ("candidate", "full")
# A socket's buffered audio is written out every this many seconds (server/observers.py, and as
# audio comes in once the oldest buffered has waited this long), after each answer, and when
# the socket closes.
FLUSH_EVERY_S = 5.0
SEGMENT_MAGIC = b"VIVASEG1"
_SESSION_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


class RecordingError(RuntimeError):
    """A recording could not be written or read, or the session id is not a safe name."""


class StorageUnavailable(RecordingError):
    """The store did not answer, or refused (network, credentials, permissions): try again."""


def _store_call(what: str, fn: Callable[..., T], *args: object) -> T:
    """`fn(*args)`, any failure of the store (a botocore error, an OSError) as
    StorageUnavailable naming `what`."""
    try:
        return fn(*args)
    except (RecordingError, StorageError):
        raise
    except Exception as exc:
        raise StorageUnavailable(f"{what}: {type(exc).__name__}: {exc}") from exc


def _checked(session_id: str) -> str:
    if not _SESSION_ID.fullmatch(session_id):
        raise RecordingError(f"session id {session_id!r} is not a safe directory name")
    return session_id


def session_prefix(session_id: str) -> str:
    """The key prefix of all of a session's recording objects."""
    return f"recordings/{_checked(session_id)}/"


def track_prefix(session_id: str, track: str) -> str:
    return f"{session_prefix(session_id)}{track}/"


def recordings_dir(data_dir: Path, session_id: str) -> Path:
    """Where the local store (`VIVA_DATA_DIR`) keeps a session's segments."""
    return Path(data_dir).resolve() / session_prefix(session_id)


# -- segments ---------------------------------------------------------------------------------


def encode_segment(chunks: list[tuple[float, np.ndarray]], max_gap_s: float) -> bytes:
    """`chunks`: (session second, PCM16 samples) in the order they came."""
    header = json.dumps(
        {
            "rate": SAMPLE_RATE,
            "max_gap_s": max_gap_s,
            "chunks": [[start_s, len(audio)] for start_s, audio in chunks],
        }
    ).encode()
    body = b"".join(np.asarray(audio, dtype="<i2").tobytes() for _, audio in chunks)
    return SEGMENT_MAGIC + struct.pack("<I", len(header)) + header + body


@dataclass(frozen=True)
class Segment:
    max_gap_s: float
    chunks: list[tuple[float, np.ndarray]]  # (session second, PCM16 samples)


def decode_segment(data: bytes) -> Segment:
    if not data.startswith(SEGMENT_MAGIC) or len(data) < len(SEGMENT_MAGIC) + 4:
        raise RecordingError("not a recording segment")
    start = len(SEGMENT_MAGIC)
    (size,) = struct.unpack_from("<I", data, start)
    header = json.loads(data[start + 4 : start + 4 + size])
    if header.get("rate") != SAMPLE_RATE:
        raise RecordingError(f"segment at {header.get('rate')} Hz, expected {SAMPLE_RATE}")
    samples = np.frombuffer(data, dtype="<i2", offset=start + 4 + size)
    chunks, offset = [], 0
    for start_s, length in header["chunks"]:
        chunks.append((float(start_s), samples[offset : offset + int(length)]))
        offset += int(length)
    if offset != len(samples):
        raise RecordingError("segment samples do not match its header")
    return Segment(float(header.get("max_gap_s", MAX_GAP_S)), chunks)


def _pcm16(audio16k: np.ndarray) -> np.ndarray:
    audio = np.clip(np.asarray(audio16k, dtype=np.float32), -1.0, 1.0)
    return np.round(audio * 32767.0).astype(np.int16)


# -- writing ----------------------------------------------------------------------------------


class _Uploads:
    """One socket's object writes, in order, on a thread of their own: the sink's worker (which
    also answers the voice loop's integrity queries) never waits for the network."""

    def __init__(self, store: ObjectStore) -> None:
        self.store = store
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="recording-upload")
        self._pending: list[Future[None]] = []
        self.failed: list[str] = []

    def put(self, key: str, data: bytes) -> None:
        self._pending = [f for f in self._pending if not f.done()]
        self._pending.append(self._worker.submit(self._put, key, data))

    def _put(self, key: str, data: bytes) -> None:
        try:
            self.store.put(key, data)
        except Exception:  # botocore already retried; the rest of the recording goes on
            log.exception("recording segment %s not written to %s", key, self.store.url)
            self.failed.append(key)

    def close(self) -> None:
        self._worker.shutdown(wait=True)


class _Track:
    def __init__(self, uploads: _Uploads, prefix: str, name: str, max_gap_s: float) -> None:
        self.uploads = uploads
        self.prefix = prefix
        self.name = name  # `{opened ms}-{socket}`: this socket's segments sort together
        self.max_gap_s = max_gap_s
        self.chunks: list[tuple[float, np.ndarray]] = []
        self.first_at: float | None = None
        self.count = 0

    @property
    def location(self) -> str:
        return f"{self.uploads.store.url}/{self.prefix}"

    def add(self, start_s: float, audio16k: np.ndarray) -> None:
        if len(audio16k) == 0:
            return
        self.chunks.append((float(start_s), _pcm16(audio16k)))
        now = time.monotonic()
        if self.first_at is None:
            self.first_at = now
        elif now - self.first_at >= FLUSH_EVERY_S:
            self.flush()

    def flush(self) -> None:
        if not self.chunks:
            return
        data = encode_segment(self.chunks, self.max_gap_s)
        self.count += 1
        self.uploads.put(f"{self.prefix}{self.name}-{self.count:05d}.seg", data)
        self.chunks, self.first_at = [], None


class SessionRecorder:
    """Writes one socket's share of a session's tracks as the interview runs.

    Call it from one worker thread, one call at a time (the observer sink does). `references()`
    are what to store with `save_recordings`; `close()` writes what is left and waits for it.
    """

    def __init__(
        self,
        store: ObjectStore | Path,
        session_id: str,
        record_full: bool = False,
        max_gap_s: float = MAX_GAP_S,
    ) -> None:
        self.store: ObjectStore = LocalStore(store) if isinstance(store, Path) else store
        self.session_id = _checked(session_id)
        self._uploads = _Uploads(self.store)
        name = f"{time.time_ns() // 1_000_000:013d}-{secrets.token_hex(4)}"
        names = ("candidate", "full") if record_full else ("candidate",)
        self._tracks = {
            track: _Track(self._uploads, track_prefix(session_id, track), name, max_gap_s)
            for track in names
        }
        self._lock = threading.Lock()
        self._closed = False

    def references(self) -> dict[str, str]:
        return {track: writer.location for track, writer in self._tracks.items()}

    def add_candidate_segment(
        self, turn: int, start_s: float, end_s: float, audio16k: np.ndarray
    ) -> None:
        """A voiced segment of the candidate's microphone (the sink's signature; `turn` and
        `end_s` are not needed to place it)."""
        if self._closed:
            return
        for writer in self._tracks.values():
            writer.add(start_s, audio16k)

    def add_interviewer_audio(self, start_s: float, audio16k: np.ndarray) -> None:
        if "full" in self._tracks and not self._closed:
            self._tracks["full"].add(start_s, audio16k)

    def flush(self) -> None:
        """Write out what is buffered, as one segment per track (the writes go on meanwhile)."""
        with self._lock:
            if not self._closed:
                for writer in self._tracks.values():
                    writer.flush()

    def close(self) -> dict[str, str]:
        """Write the rest, wait for every write; the tracks' locations."""
        self.flush()
        with self._lock:
            self._closed = True
        self._uploads.close()
        return self.references()


async def save_recordings(
    redis: Redis, session_id: str, references: Mapping[str, str], settings: Settings
) -> bool:
    """Reference the tracks from `viva:session:{id}:recordings`. A session erased meanwhile (its
    socket was still recording) gets no reference back: its objects are removed instead. False
    then."""
    if not references:
        return True
    referenced = await guard.hset(
        redis, session_id, keys.session_recordings(session_id), dict(references)
    )
    if not referenced:
        await asyncio.to_thread(_delete_everything, list(references.values()), session_id, settings)
    return referenced


# -- reading ----------------------------------------------------------------------------------


class _TimelineWav:
    """A 16 kHz PCM16 WAV written at positions on the session clock; overlapping audio mixes.
    A silence longer than `max_gap_s` is cut to `max_gap_s`, and the cut noted in `cuts`."""

    def __init__(self, path: Path, max_gap_s: float = MAX_GAP_S) -> None:
        self.path = path
        self.max_gap = max(1, round(max_gap_s * SAMPLE_RATE))
        self.cuts: list[tuple[float, float]] = []
        self._file = sf.SoundFile(
            path, "w+", samplerate=SAMPLE_RATE, channels=1, subtype="PCM_16", format="WAV"
        )

    def _file_seconds(self, session_s: float) -> float:
        """Where session second `session_s` is in the file, after the cuts before it. The
        silence kept at a cut stands for the last `max_gap_s` before it."""
        shift = 0.0
        kept_s = self.max_gap / SAMPLE_RATE
        for file_s, cut_session_s in self.cuts:
            if session_s >= cut_session_s - kept_s:
                shift = cut_session_s - file_s
        return session_s - shift

    def add(self, start_s: float, audio16k: np.ndarray) -> None:
        start = max(0, round(self._file_seconds(start_s) * SAMPLE_RATE))
        audio = np.asarray(audio16k, dtype=np.float32)
        length = self._file.frames
        if start > length + self.max_gap:  # a long silence: keep max_gap of it, note the cut
            start = length + self.max_gap
            self.cuts.append((start / SAMPLE_RATE, start_s))
        if start > length:
            self._file.seek(0, sf.SEEK_END)
            self._file.write(np.zeros(start - length, np.float32))
            length = start
        shared = min(len(audio), length - start)
        if shared > 0:
            self._file.seek(start)
            existing = self._file.read(shared, dtype="float32")
            self._file.seek(start)
            self._file.write(np.clip(existing + audio[:shared], -1.0, 1.0))
        if shared < len(audio):
            self._file.seek(0, sf.SEEK_END)
            self._file.write(audio[shared:])

    def close(self) -> None:
        self._file.close()


@dataclass
class Rendered:
    """A track as one WAV. `temporary`: the caller deletes `path` once it has sent it."""

    path: Path
    cuts: list[tuple[float, float]]
    temporary: bool

    def discard(self) -> None:
        if self.temporary:
            self.path.unlink(missing_ok=True)


def render(store: ObjectStore, prefix: str, out: Path) -> list[tuple[float, float]] | None:
    """Lay every segment under `prefix` into the WAV `out`: all their audio in session time
    order (segments written by different sockets, processes or hosts, in any order), gaps cut.
    The cuts; None when there is no segment."""
    names = [key for key in store.list(prefix) if key.endswith(".seg")]
    if not names:
        return None
    with ThreadPoolExecutor(max_workers=min(8, len(names))) as pool:
        segments = [decode_segment(data) for data in pool.map(store.get, names)]
    placed = sorted(
        (
            (start_s, n, i, audio)
            for n, seg in enumerate(segments)
            for i, (start_s, audio) in enumerate(seg.chunks)
        ),
        key=lambda item: (item[0], item[1], item[2]),
    )
    wav = _TimelineWav(out, segments[0].max_gap_s)
    try:
        for start_s, _, _, audio in placed:
            wav.add(start_s, audio.astype(np.float32) / 32767.0)
    finally:
        wav.close()
    return wav.cuts


def read_track(reference: str, settings: Settings) -> Rendered | None:
    """The WAV a stored reference stands for (blocking: call it in a worker thread); None when
    nothing was recorded there."""
    if reference.startswith("/"):  # a WAV written before segments, with its timeline beside it
        path = Path(reference)
        return Rendered(path, _legacy_timeline(path), False) if path.is_file() else None
    store, prefix = store_at(reference, settings)
    fd, name = tempfile.mkstemp(prefix="viva-recording-", suffix=".wav")
    out = Path(name)
    os.close(fd)
    try:
        cuts = _store_call(f"reading {reference}", render, store, prefix, out)
    except BaseException:
        out.unlink(missing_ok=True)
        raise
    if cuts is None:
        out.unlink(missing_ok=True)
        return None
    return Rendered(out, cuts, True)


def _legacy_timeline(track: Path) -> list[tuple[float, float]]:
    try:
        text = track.with_suffix(".timeline.json").read_text()
    except FileNotFoundError:
        return []
    return [(float(f), float(t)) for f, t in json.loads(text)]


# -- deleting ---------------------------------------------------------------------------------


async def recording_references(redis: Redis, session_id: str) -> dict[str, str]:
    stored = await redis.hgetall(keys.session_recordings(session_id))
    return {str(name): str(location) for name, location in stored.items()}


def _delete_reference(reference: str, session_id: str, settings: Settings | None) -> bool:
    """Remove what one reference names; whether there was anything."""
    if reference.startswith("/"):
        path = Path(reference)
        path.with_suffix(".timeline.json").unlink(missing_ok=True)
        existed = path.is_file()
        path.unlink(missing_ok=True)
        if path.parent.name == session_id and path.parent.is_dir():
            shutil.rmtree(path.parent, ignore_errors=True)
        return existed
    if settings is None:
        raise RecordingError("deleting a stored track needs the settings (its store)")
    if f"/{session_id}/" not in reference:  # never more than one session's objects
        raise StorageError(f"{reference!r} is not a recording of session {session_id}")
    store, prefix = store_at(reference, settings)
    return store.delete_prefix(prefix) > 0


def _delete_everything(references: list[str], session_id: str, settings: Settings | None) -> int:
    removed = sum(_delete_reference(ref, session_id, settings) for ref in references)
    if settings is not None:  # also what a socket wrote but never referenced
        open_store(settings).delete_prefix(session_prefix(session_id))
    return removed


async def delete_recordings(redis: Redis, session_id: str, settings: Settings | None = None) -> int:
    """Delete the session's recordings: every referenced track's objects, (with `settings`) all
    of `recordings/{id}/` in the configured store, also objects a socket wrote but never
    referenced, and the Redis reference.

    Returns how many referenced tracks had something to remove. Safe to call again, or when
    nothing was recorded. StorageUnavailable when the store fails: the Redis reference stays,
    so a later call finds the objects again.
    """
    references = list((await recording_references(redis, session_id)).values())
    removed = await asyncio.to_thread(
        _store_call,
        f"deleting the recordings of {session_id}",
        _delete_everything,
        references,
        session_id,
        settings,
    )
    await redis.delete(keys.session_recordings(session_id))
    return removed
