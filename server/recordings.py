"""Session recordings: the candidate's speech as a WAV, and optionally the full mix.

Each track is laid on the session clock (silence where nobody on it spoke), so a time range in
the report, such as another voice at 41.8-45.7 s, is the same second in the file. A silence
longer than `VIVA_RECORDING_MAX_GAP_S` (a session resumed a day later) is cut to that length
instead of written out: each cut is kept in `{track}.timeline.json` beside the file as
`[file second, session second]` where the audio after it starts, so a file second `f` after the
last cut `[a, b]`, or in the silence kept before it, is session second `f - a + b` (before the
first cut's silence, the same second). Files live in `VIVA_DATA_DIR/recordings/{session_id}/`;
their paths are kept in the Redis hash `viva:session:{id}:recordings` (fields `candidate`,
`full`).

Tracks:
- `candidate`: only the candidate's voiced segments, as the voice loop published them.
- `full` (when `VIVA_RECORD_FULL` is on): the same plus the interviewer's audio, mixed.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import soundfile as sf

from server import guard, keys
from server.store import Redis

SAMPLE_RATE = 16000
MAX_GAP_S = 60.0  # the default of VIVA_RECORDING_MAX_GAP_S
_SESSION_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


class RecordingError(RuntimeError):
    """A recording could not be written, or the session id is not a safe file name."""


def recordings_dir(data_dir: Path, session_id: str) -> Path:
    if not _SESSION_ID.fullmatch(session_id):
        raise RecordingError(f"session id {session_id!r} is not a safe directory name")
    return Path(data_dir).resolve() / "recordings" / session_id


def timeline_path(track: Path) -> Path:
    """The cuts of a track's timeline: `candidate.wav` -> `candidate.timeline.json`."""
    return track.with_suffix(".timeline.json")


def read_timeline(track: Path) -> list[tuple[float, float]]:
    """A track's cuts, `(file second, session second)` where the audio after each starts."""
    try:
        return [(float(f), float(t)) for f, t in json.loads(timeline_path(track).read_text())]
    except FileNotFoundError:
        return []


class _TimelineWav:
    """A 16 kHz PCM16 WAV written at positions on the session clock; overlapping audio mixes.
    A silence longer than `max_gap_s` is cut to `max_gap_s`, and the cut noted (see above).

    An existing file (a resumed session's earlier sockets) is reopened, not replaced: its audio
    is on the same clock (with its cuts), so the new audio goes on after it."""

    def __init__(self, path: Path, max_gap_s: float = MAX_GAP_S) -> None:
        self.path = path
        self.max_gap = max(1, round(max_gap_s * SAMPLE_RATE))
        self.cuts = read_timeline(path) if path.is_file() else []
        if path.is_file():
            self._file = sf.SoundFile(path, "r+")
        else:
            self._file = sf.SoundFile(
                path, "w+", samplerate=SAMPLE_RATE, channels=1, subtype="PCM_16", format="WAV"
            )

    def _file_seconds(self, session_s: float) -> float:
        """Where session second `session_s` is in the file, after the cuts before it. The
        silence kept at a cut stands for the last `max_gap_s` before it, so audio placed a
        little before a cut (the question asked again as a resumed socket opens) lands there."""
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
            self._save_cuts()
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

    def _save_cuts(self) -> None:
        timeline_path(self.path).write_text(json.dumps([list(cut) for cut in self.cuts]))

    def close(self) -> None:
        self._file.close()


class SessionRecorder:
    """Writes one session's tracks as the interview runs.

    Blocking file I/O: call it from a worker thread, one call at a time. `close()` returns the
    paths to store with `save_recordings`.
    """

    def __init__(
        self,
        data_dir: Path,
        session_id: str,
        record_full: bool = False,
        max_gap_s: float = MAX_GAP_S,
    ) -> None:
        directory = recordings_dir(data_dir, session_id)
        try:
            directory.mkdir(parents=True, exist_ok=True)
            self._candidate = _TimelineWav(directory / "candidate.wav", max_gap_s)
            self._full = _TimelineWav(directory / "full.wav", max_gap_s) if record_full else None
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


async def save_recordings(redis: Redis, session_id: str, paths: Mapping[str, Path]) -> bool:
    """Reference the tracks from `viva:session:{id}:recordings`. A session erased meanwhile (its
    socket was still recording) gets no reference back: its files are removed instead. False
    then."""
    if not paths:
        return True
    referenced = await guard.hset(
        redis,
        session_id,
        keys.session_recordings(session_id),
        {name: str(path) for name, path in paths.items()},
    )
    if not referenced:
        for path in paths.values():
            _remove_track(path)
            _remove_dir_if_session(path.parent, session_id)
    return referenced


def _remove_track(path: Path) -> bool:
    timeline_path(path).unlink(missing_ok=True)
    if path.is_file():
        path.unlink()
        return True
    return False


def _remove_dir_if_session(directory: Path, session_id: str) -> None:
    if directory.name == session_id and directory.is_dir():
        shutil.rmtree(directory, ignore_errors=True)


async def recording_paths(redis: Redis, session_id: str) -> dict[str, Path]:
    stored = await redis.hgetall(keys.session_recordings(session_id))
    return {str(name): Path(str(path)) for name, path in stored.items()}


async def delete_recordings(redis: Redis, session_id: str, data_dir: Path | None = None) -> int:
    """Delete the session's recording files, their directory (with `data_dir`: the session's
    whole `recordings/{id}/`, also files a socket wrote but never referenced) and the Redis
    reference.

    Returns how many referenced tracks were removed. Safe to call again, or when nothing was
    recorded.
    """
    paths = list((await recording_paths(redis, session_id)).values())
    removed = sum(_remove_track(path) for path in paths)
    for path in paths:
        _remove_dir_if_session(path.parent, session_id)
    if data_dir is not None:
        _remove_dir_if_session(recordings_dir(data_dir, session_id), session_id)
    await redis.delete(keys.session_recordings(session_id))
    return removed
