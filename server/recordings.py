"""Session recordings: the candidate's speech as a WAV, and optionally the full mix.

Each track is laid on the session clock (silence where nobody on it spoke), so a time range in
the report, such as another voice at 41.8-45.7 s, is the same second in the file. Files live in
`VIVA_DATA_DIR/recordings/{session_id}/`; their paths are kept in the Redis hash
`viva:session:{id}:recordings` (fields `candidate`, `full`).

Tracks:
- `candidate`: only the candidate's voiced segments, as the voice loop published them.
- `full` (when `VIVA_RECORD_FULL` is on): the same plus the interviewer's audio, mixed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import soundfile as sf

from server import keys
from server.store import Redis

SAMPLE_RATE = 16000
_SESSION_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


class RecordingError(RuntimeError):
    """A recording could not be written, or the session id is not a safe file name."""


def recordings_dir(data_dir: Path, session_id: str) -> Path:
    if not _SESSION_ID.fullmatch(session_id):
        raise RecordingError(f"session id {session_id!r} is not a safe directory name")
    return Path(data_dir).resolve() / "recordings" / session_id


class _TimelineWav:
    """A 16 kHz PCM16 WAV written at positions on the session clock; overlapping audio mixes.

    An existing file (a resumed session's earlier sockets) is reopened, not replaced: its audio
    is on the same clock, so the new audio goes on after it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        if path.is_file():
            self._file = sf.SoundFile(path, "r+")
        else:
            self._file = sf.SoundFile(
                path, "w+", samplerate=SAMPLE_RATE, channels=1, subtype="PCM_16", format="WAV"
            )

    def add(self, start_s: float, audio16k: np.ndarray) -> None:
        start = max(0, round(start_s * SAMPLE_RATE))
        audio = np.asarray(audio16k, dtype=np.float32)
        length = self._file.frames
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


class SessionRecorder:
    """Writes one session's tracks as the interview runs.

    Blocking file I/O: call it from a worker thread, one call at a time. `close()` returns the
    paths to store with `save_recordings`.
    """

    def __init__(self, data_dir: Path, session_id: str, record_full: bool = False) -> None:
        directory = recordings_dir(data_dir, session_id)
        try:
            directory.mkdir(parents=True, exist_ok=True)
            self._candidate = _TimelineWav(directory / "candidate.wav")
            self._full = _TimelineWav(directory / "full.wav") if record_full else None
        except (OSError, sf.LibsndfileError) as exc:
            raise RecordingError(f"cannot write recordings in {directory}: {exc}") from exc

    def add_candidate_segment(
        self, turn: int, start_s: float, end_s: float, audio16k: np.ndarray
    ) -> None:
        """A voiced segment of the candidate's microphone (the sink's signature; `turn` and
        `end_s` are not needed to place it)."""
        self._candidate.add(start_s, audio16k)
        if self._full is not None:
            self._full.add(start_s, audio16k)

    def add_interviewer_audio(self, start_s: float, audio16k: np.ndarray) -> None:
        if self._full is not None:
            self._full.add(start_s, audio16k)

    def close(self) -> dict[str, Path]:
        tracks = {"candidate": self._candidate, "full": self._full}
        paths = {}
        for name, track in tracks.items():
            if track is not None:
                track.close()
                paths[name] = track.path
        return paths


async def save_recordings(redis: Redis, session_id: str, paths: Mapping[str, Path]) -> None:
    """Reference the tracks from `viva:session:{id}:recordings`."""
    if paths:
        await redis.hset(
            keys.session_recordings(session_id),
            mapping={name: str(path) for name, path in paths.items()},
        )


async def recording_paths(redis: Redis, session_id: str) -> dict[str, Path]:
    stored = await redis.hgetall(keys.session_recordings(session_id))
    return {str(name): Path(str(path)) for name, path in stored.items()}


async def delete_recordings(redis: Redis, session_id: str) -> int:
    """Delete the session's recording files, their directory and the Redis reference.

    Returns how many files were removed. Safe to call again, or when nothing was recorded.
    """
    removed = 0
    for path in (await recording_paths(redis, session_id)).values():
        if path.is_file():
            path.unlink()
            removed += 1
        if (
            path.parent.name == session_id
            and path.parent.is_dir()
            and not any(path.parent.iterdir())
        ):
            path.parent.rmdir()
    await redis.delete(keys.session_recordings(session_id))
    return removed
