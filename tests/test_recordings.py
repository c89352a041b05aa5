"""Recordings on disk and their references in a real (embedded) Valkey."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from server import keys
from server.recordings import (
    RecordingError,
    SessionRecorder,
    delete_recordings,
    recording_paths,
    save_recordings,
)
from server.store import Redis, Store

SR = 16000


@pytest.fixture
async def redis(tmp_path: Path) -> AsyncIterator[Redis]:
    store = Store(None, tmp_path / "valkey")
    client = await store.open()
    try:
        yield client
    finally:
        await store.close()


def _tone(seconds: float, hz: float, level: float = 0.3) -> np.ndarray:
    t = np.arange(int(seconds * SR)) / SR
    return (level * np.sin(2 * np.pi * hz * t)).astype(np.float32)


def _record(tmp_path: Path, record_full: bool) -> dict[str, Path]:
    recorder = SessionRecorder(tmp_path / "data", "ses_abc123", record_full=record_full)
    recorder.add_interviewer_audio(0.0, _tone(2.0, 220))
    recorder.add_candidate_segment(0, 3.0, 4.0, _tone(1.0, 440))
    recorder.add_interviewer_audio(5.0, _tone(1.0, 220))
    recorder.add_candidate_segment(1, 5.5, 7.0, _tone(1.5, 440))  # talks over the interviewer
    return recorder.close()


def test_candidate_track_holds_only_the_candidate_on_the_session_clock(tmp_path: Path) -> None:
    paths = _record(tmp_path, record_full=False)
    assert set(paths) == {"candidate"}
    assert paths["candidate"] == tmp_path.resolve() / "data/recordings/ses_abc123/candidate.wav"
    audio, rate = sf.read(paths["candidate"], dtype="float32")
    assert rate == SR and len(audio) == 7 * SR
    assert np.abs(audio[: 3 * SR]).max() == 0  # the interviewer's first question is not in it
    assert np.allclose(audio[3 * SR : 4 * SR], _tone(1.0, 440), atol=1e-3)
    assert np.abs(audio[4 * SR : int(5.5 * SR)]).max() == 0
    assert np.allclose(audio[int(5.5 * SR) :], _tone(1.5, 440), atol=1e-3)


def test_full_track_mixes_both_sides(tmp_path: Path) -> None:
    paths = _record(tmp_path, record_full=True)
    audio, _ = sf.read(paths["full"], dtype="float32")
    assert len(audio) == 7 * SR
    assert np.allclose(audio[: 2 * SR], _tone(2.0, 220), atol=1e-3)
    overlap = slice(int(5.5 * SR), 6 * SR)
    expected = _tone(1.0, 220)[int(0.5 * SR) :] + _tone(1.5, 440)[: int(0.5 * SR)]
    assert np.allclose(audio[overlap], expected, atol=1e-3)


async def test_references_are_stored_and_deleted(tmp_path: Path, redis: Redis) -> None:
    paths = _record(tmp_path, record_full=True)
    await redis.hset(keys.session("ses_abc123"), "id", "ses_abc123")  # only a session's are kept
    assert await save_recordings(redis, "ses_abc123", paths)
    assert await redis.hgetall(keys.session_recordings("ses_abc123")) == {
        "candidate": str(paths["candidate"]),
        "full": str(paths["full"]),
    }
    assert await recording_paths(redis, "ses_abc123") == paths
    assert await delete_recordings(redis, "ses_abc123") == 2
    assert not paths["candidate"].exists() and not paths["full"].exists()
    assert not paths["candidate"].parent.exists()
    assert await redis.exists(keys.session_recordings("ses_abc123")) == 0
    assert await delete_recordings(redis, "ses_abc123") == 0


@pytest.mark.parametrize("session_id", ["../etc", "a/b", "", "ses abc"])
def test_unsafe_session_ids_are_refused(tmp_path: Path, session_id: str) -> None:
    with pytest.raises(RecordingError, match="safe directory name"):
        SessionRecorder(tmp_path, session_id)


def test_a_resumed_session_keeps_the_earlier_sockets_audio(tmp_path: Path) -> None:
    """A reconnect opens a new recorder for the same session: it adds, never overwrites."""
    first = SessionRecorder(tmp_path / "data", "ses_resume", record_full=False)
    first.add_candidate_segment(1, 1.0, 2.0, _tone(1.0, 440))
    first.close()
    second = SessionRecorder(tmp_path / "data", "ses_resume", record_full=False)
    second.add_candidate_segment(3, 4.0, 5.0, _tone(1.0, 660))
    paths = second.close()
    audio, rate = sf.read(paths["candidate"], dtype="float32")
    assert rate == SR and len(audio) == 5 * SR
    assert np.allclose(audio[SR : 2 * SR], _tone(1.0, 440), atol=1e-3)
    assert np.abs(audio[2 * SR : 4 * SR]).max() == 0
    assert np.allclose(audio[4 * SR :], _tone(1.0, 660), atol=1e-3)
