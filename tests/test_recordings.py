"""Recordings in the local store (segments under VIVA_DATA_DIR) and their references in a real
(embedded) Valkey. The same code writes to S3: tests/test_object_storage.py."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from server.settings import Settings
from server.storage import keys
from server.storage.recordings import (
    RecordingError,
    SessionRecorder,
    delete_recordings,
    read_track,
    recording_references,
    recordings_dir,
    save_recordings,
)
from server.storage.store import Redis, Store

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


def _settings(tmp_path: Path) -> Settings:
    return Settings(VIVA_DATA_DIR=tmp_path / "data", REDIS_URL=None, VIVA_PRELOAD_MODELS=False)


def _record(tmp_path: Path, record_full: bool) -> dict[str, str]:
    recorder = SessionRecorder(tmp_path / "data", "ses_abc123", record_full=record_full)
    recorder.add_interviewer_audio(0.0, _tone(2.0, 220))
    recorder.add_candidate_segment(0, 3.0, 4.0, _tone(1.0, 440))
    recorder.add_interviewer_audio(5.0, _tone(1.0, 220))
    recorder.add_candidate_segment(1, 5.5, 7.0, _tone(1.5, 440))  # talks over the interviewer
    return recorder.close()


def _read(tmp_path: Path, reference: str) -> tuple[np.ndarray, int]:
    rendered = read_track(reference, _settings(tmp_path))
    assert rendered is not None
    try:
        audio, rate = sf.read(rendered.path, dtype="float32")
    finally:
        rendered.discard()
    return audio, rate


def test_candidate_track_holds_only_the_candidate_on_the_session_clock(tmp_path: Path) -> None:
    references = _record(tmp_path, record_full=False)
    assert set(references) == {"candidate"}
    directory = tmp_path.resolve() / "data/recordings/ses_abc123/candidate"
    assert references["candidate"] == directory.as_uri() + "/"
    (segment,) = directory.iterdir()  # one socket, one flush (at close)
    assert segment.suffix == ".seg"
    audio, rate = _read(tmp_path, references["candidate"])
    assert rate == SR and len(audio) == 7 * SR
    assert np.abs(audio[: 3 * SR]).max() == 0  # the interviewer's first question is not in it
    assert np.allclose(audio[3 * SR : 4 * SR], _tone(1.0, 440), atol=1e-3)
    assert np.abs(audio[4 * SR : int(5.5 * SR)]).max() == 0
    assert np.allclose(audio[int(5.5 * SR) :], _tone(1.5, 440), atol=1e-3)


def test_full_track_mixes_both_sides(tmp_path: Path) -> None:
    references = _record(tmp_path, record_full=True)
    audio, _ = _read(tmp_path, references["full"])
    assert len(audio) == 7 * SR
    assert np.allclose(audio[: 2 * SR], _tone(2.0, 220), atol=1e-3)
    overlap = slice(int(5.5 * SR), 6 * SR)
    expected = _tone(1.0, 220)[int(0.5 * SR) :] + _tone(1.5, 440)[: int(0.5 * SR)]
    assert np.allclose(audio[overlap], expected, atol=1e-3)


async def test_references_are_stored_and_deleted(tmp_path: Path, redis: Redis) -> None:
    references = _record(tmp_path, record_full=True)
    settings = _settings(tmp_path)
    await redis.hset(keys.session("ses_abc123"), "id", "ses_abc123")  # only a session's are kept
    assert await save_recordings(redis, "ses_abc123", references, settings)
    assert await redis.hgetall(keys.session_recordings("ses_abc123")) == references
    assert await recording_references(redis, "ses_abc123") == references
    directory = recordings_dir(tmp_path / "data", "ses_abc123")
    assert {p.name for p in directory.iterdir()} == {"candidate", "full"}
    assert await delete_recordings(redis, "ses_abc123", settings) == 2
    assert not directory.exists()
    assert (tmp_path / "data" / "recordings").is_dir()
    assert await redis.exists(keys.session_recordings("ses_abc123")) == 0
    assert await delete_recordings(redis, "ses_abc123", settings) == 0


async def test_a_wav_written_before_segments_is_still_deleted(tmp_path: Path, redis: Redis) -> None:
    """References kept from before: a plain path to a WAV, its timeline beside it."""
    directory = tmp_path / "data" / "recordings" / "ses_old"
    directory.mkdir(parents=True)
    wav = directory / "candidate.wav"
    sf.write(wav, _tone(1.0, 440), SR, subtype="PCM_16")
    (directory / "candidate.timeline.json").write_text("[[1.0, 100.0]]")
    rendered = read_track(str(wav), _settings(tmp_path))
    assert rendered is not None and rendered.path == wav and rendered.cuts == [(1.0, 100.0)]
    assert not rendered.temporary
    await redis.hset(keys.session_recordings("ses_old"), "candidate", str(wav))
    assert await delete_recordings(redis, "ses_old", _settings(tmp_path)) == 1
    assert not directory.exists()


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
    references = second.close()
    directory = recordings_dir(tmp_path / "data", "ses_resume") / "candidate"
    assert len(list(directory.glob("*.seg"))) == 2
    audio, rate = _read(tmp_path, references["candidate"])
    assert rate == SR and len(audio) == 5 * SR
    assert np.allclose(audio[SR : 2 * SR], _tone(1.0, 440), atol=1e-3)
    assert np.abs(audio[2 * SR : 4 * SR]).max() == 0
    assert np.allclose(audio[4 * SR :], _tone(1.0, 660), atol=1e-3)


def test_a_socket_writes_segments_as_it_goes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Not only at close: after each flush (each answer), and once buffered audio is
    FLUSH_EVERY_S old, so a process killed mid-interview loses only its last seconds."""
    from server.storage import recordings

    monkeypatch.setattr(recordings, "FLUSH_EVERY_S", 0.0)
    recorder = SessionRecorder(tmp_path / "data", "ses_flush")
    directory = recordings_dir(tmp_path / "data", "ses_flush") / "candidate"
    recorder.add_candidate_segment(1, 1.0, 2.0, _tone(1.0, 440))
    recorder.add_candidate_segment(1, 2.0, 3.0, _tone(1.0, 440))  # the first is now old: out
    recorder.add_candidate_segment(1, 3.0, 4.0, _tone(1.0, 440))
    recorder.flush()  # as after an answer
    recorder._uploads.close()  # wait for the writes, without closing the recorder
    assert len(list(directory.glob("*.seg"))) == 2
    audio, _ = _read(tmp_path, directory.as_uri() + "/")
    assert len(audio) == 4 * SR
