"""A session resumed a day later does not write a day of silence (issue 12, point 11): a gap
longer than `VIVA_RECORDING_MAX_GAP_S` is cut to that length, and the cut is kept, so a time in
the report can still be found in the file."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from server.settings import Settings
from server.storage import keys
from server.storage.recordings import Rendered, SessionRecorder, read_track
from tests.api_support import Api, running_app

SR = 16000
HOUR_S = 3600.0


def _rendered(tmp_path: Path, references: dict[str, str]) -> dict[str, Rendered]:
    settings = Settings(VIVA_DATA_DIR=tmp_path / "data", REDIS_URL=None)
    tracks = {name: read_track(ref, settings) for name, ref in references.items()}
    assert all(track is not None for track in tracks.values())
    return {name: track for name, track in tracks.items() if track is not None}


def _tone(seconds: float, hz: float) -> np.ndarray:
    t = np.arange(int(seconds * SR)) / SR
    return (0.3 * np.sin(2 * np.pi * hz * t)).astype(np.float32)


def test_a_session_resumed_an_hour_later_keeps_a_short_file(tmp_path: Path) -> None:
    first = SessionRecorder(tmp_path / "data", "ses_resumed", record_full=True)
    first.add_candidate_segment(1, 1.0, 2.0, _tone(1.0, 440))
    first.close()
    second = SessionRecorder(tmp_path / "data", "ses_resumed", record_full=True)
    second.add_interviewer_audio(HOUR_S, _tone(1.0, 220))  # the question again, an hour on
    second.add_candidate_segment(3, HOUR_S + 2.0, HOUR_S + 3.0, _tone(1.0, 660))
    tracks = _rendered(tmp_path, second.close())
    paths = {name: track.path for name, track in tracks.items()}

    for path in paths.values():
        # An hour of 16-bit silence would be 115 MB.
        assert path.stat().st_size < 5 * 1024 * 1024, path
    gap = Settings.model_fields["recording_max_gap_s"].default  # 60 s
    # The candidate's track: 2 s, the gap cut to 60 s, then the resumed answer.
    audio, rate = sf.read(paths["candidate"], dtype="float32")
    assert rate == SR and len(audio) == int((2.0 + gap + 1.0) * SR)
    assert np.allclose(audio[SR : 2 * SR], _tone(1.0, 440), atol=1e-3)
    assert np.allclose(audio[int((2.0 + gap) * SR) :], _tone(1.0, 660), atol=1e-3)
    # The full mix: cut before the question; the answer 2 s after it, as on the session clock.
    full, _ = sf.read(paths["full"], dtype="float32")
    assert len(full) == int((2.0 + gap + 3.0) * SR)
    assert np.allclose(full[int((2.0 + gap + 2.0) * SR) :], _tone(1.0, 660), atol=1e-3)

    # Each cut: the file second where the audio after it starts, and its session second.
    assert tracks["candidate"].cuts == [(2.0 + gap, HOUR_S + 2.0)]
    assert tracks["full"].cuts == [(2.0 + gap, HOUR_S)]


def test_a_long_silence_within_one_socket_is_cut_too(tmp_path: Path) -> None:
    recorder = SessionRecorder(tmp_path / "data", "ses_quiet", max_gap_s=5.0)
    recorder.add_candidate_segment(1, 0.0, 1.0, _tone(1.0, 440))
    recorder.add_candidate_segment(1, 4.0, 5.0, _tone(1.0, 440))  # a short pause: kept as is
    recorder.add_candidate_segment(3, 600.0, 601.0, _tone(1.0, 660))
    recorder.add_candidate_segment(3, 603.0, 604.0, _tone(1.0, 660))  # after the cut: same shift
    track = _rendered(tmp_path, recorder.close())["candidate"]

    audio, _ = sf.read(track.path, dtype="float32")
    assert len(audio) == (5 + 5 + 1 + 2 + 1) * SR
    assert track.cuts == [(10.0, 600.0)]
    assert np.allclose(audio[13 * SR :], _tone(1.0, 660), atol=1e-3)


@pytest.fixture
def api(settings: Settings) -> Iterator[Api]:
    with running_app(settings) as running:
        yield running


def test_the_recording_download_says_where_the_cuts_are(api: Api, tmp_path: Path) -> None:
    headers = api.tenant()
    created = api.client.post(
        "/v1/sessions", headers=headers, json={"interview_id": "behavioral-1"}
    )
    session_id = created.json()["session"]["id"]
    recorder = SessionRecorder(tmp_path / "data", session_id, max_gap_s=5.0)
    recorder.add_candidate_segment(1, 1.0, 2.0, _tone(1.0, 440))
    recorder.add_candidate_segment(3, 86_400.0, 86_401.0, _tone(1.0, 440))
    reference = recorder.close()["candidate"]
    api.run(api.redis.hset, keys.session_recordings(session_id), "candidate", reference)
    response = api.client.get(
        f"/v1/sessions/{session_id}/recording", headers=headers, params={"track": "candidate"}
    )
    assert response.status_code == 200
    assert json.loads(response.headers["X-Viva-Timeline"]) == [[7.0, 86_400.0]]


def test_audio_is_laid_in_session_time_order_whatever_order_it_came_in(tmp_path: Path) -> None:
    """The resumed socket's candidate audio came first, its question at 3600 s second (or
    another process's segment was written later): the question still goes 2 s before the
    answer, as on the session clock, and the one cut is before the question."""
    recorder = SessionRecorder(tmp_path / "data", "ses_order", record_full=True, max_gap_s=10.0)
    recorder.add_candidate_segment(1, 0.0, 1.0, _tone(1.0, 440))
    recorder.add_candidate_segment(3, HOUR_S + 2.0, HOUR_S + 3.0, _tone(1.0, 660))
    recorder.add_interviewer_audio(HOUR_S, _tone(1.0, 220))
    track = _rendered(tmp_path, recorder.close())["full"]

    full, _ = sf.read(track.path, dtype="float32")
    assert track.cuts == [(11.0, HOUR_S)]  # one cut, not two
    assert len(full) == 14 * SR
    assert np.allclose(full[11 * SR : 12 * SR], _tone(1.0, 220), atol=1e-3)
    assert np.abs(full[12 * SR : 13 * SR]).max() == 0
    assert np.allclose(full[13 * SR :], _tone(1.0, 660), atol=1e-3)
