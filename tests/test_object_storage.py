"""Recordings in object storage (issue 26): the local directory and a real S3 server (SeaweedFS,
tests/s3_support.py) behind one interface. A session resumed in another process adds segments
instead of overwriting; reading lays them all into one WAV; delete erases every object."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from server.settings import Settings
from server.storage import keys
from server.storage.objectstore import LocalStore, ObjectStore, S3Store, StorageError, open_store
from server.storage.recordings import (
    SessionRecorder,
    decode_segment,
    delete_recordings,
    read_track,
    save_recordings,
    session_prefix,
)
from tests.api_support import Api, running_app
from tests.s3_support import S3Server, seaweedfs

SR = 16000
ROOT = Path(__file__).resolve().parents[1]


def _tone(seconds: float, hz: float) -> np.ndarray:
    t = np.arange(int(seconds * SR)) / SR
    return (0.3 * np.sin(2 * np.pi * hz * t)).astype(np.float32)


@pytest.fixture(scope="module")
def s3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    with seaweedfs(tmp_path_factory.mktemp("seaweedfs")) as server:
        yield server


@pytest.fixture
def s3_env(s3: S3Server, monkeypatch: pytest.MonkeyPatch) -> S3Server:
    """boto3's standard credential chain reads these, as a deployment's would."""
    for name, value in s3.env().items():
        if name.startswith("AWS_"):
            monkeypatch.setenv(name, value)
    return s3


@pytest.fixture(params=["local", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> ObjectStore:
    if request.param == "local":
        return LocalStore(tmp_path / "objects")
    server: S3Server = request.getfixturevalue("s3")
    return S3Store(server.bucket, f"unit-{tmp_path.name}", client=server.client())


def test_put_get_list_and_delete_by_prefix(store: ObjectStore) -> None:
    store.put("recordings/ses_1/candidate/a.seg", b"first")
    store.put("recordings/ses_1/full/a.seg", b"mix")
    store.put("recordings/ses_10/candidate/a.seg", b"another session")
    assert store.get("recordings/ses_1/candidate/a.seg") == b"first"
    # A prefix ending in / is one session's, never also ses_10's.
    assert store.list("recordings/ses_1/") == [
        "recordings/ses_1/candidate/a.seg",
        "recordings/ses_1/full/a.seg",
    ]
    assert store.list("recordings/ses_2/") == []
    assert store.delete_prefix("recordings/ses_1/") == 2
    assert store.list("recordings/ses_1/") == []
    assert store.get("recordings/ses_10/candidate/a.seg") == b"another session"
    assert store.delete_prefix("recordings/ses_1/") == 0


@pytest.mark.parametrize("key", ["../x", "/etc/passwd", "a/../../b", "a\\b", ""])
def test_unsafe_keys_are_refused(tmp_path: Path, key: str) -> None:
    with pytest.raises(StorageError):
        LocalStore(tmp_path).put(key, b"x")


def test_the_storage_url_is_checked_at_start() -> None:
    with pytest.raises(ValueError, match="s3://bucket"):
        Settings(VIVA_STORAGE_URL="/var/lib/viva")
    assert Settings(VIVA_STORAGE_URL="s3://bucket/some/prefix").storage_url


# A socket on another process: it records, its segment is written (a flush, as after an answer),
# then the process is killed without closing anything.
_FIRST_SOCKET = """
import sys, time
import numpy as np
from server.storage.objectstore import open_store
from server.storage.recordings import SessionRecorder
from server.settings import Settings

store = open_store(Settings())
recorder = SessionRecorder(store, sys.argv[1], record_full=True)
t = np.arange(SR := 16000) / SR
recorder.add_interviewer_audio(0.0, (0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32))
recorder.add_candidate_segment(1, 2.0, 3.0, (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32))
recorder.flush()
while len(store.list(f"recordings/{sys.argv[1]}/")) < 2:
    time.sleep(0.05)
print("flushed", flush=True)
time.sleep(600)
"""


def _killed_after_a_flush(env: dict[str, str], session_id: str) -> None:
    process = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(_FIRST_SOCKET), session_id],
        env={**os.environ, **env},
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        assert process.stdout.readline().strip() == "flushed"
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
    assert process.returncode == -signal.SIGKILL


async def test_a_session_resumed_in_another_process_appends_and_reads_whole(
    s3_env: S3Server, tmp_path: Path
) -> None:
    settings = s3_env.settings(tmp_path, "resume")
    session_id = "ses_" + "a1" * 10
    env = {**s3_env.env(), "VIVA_STORAGE_URL": settings.storage_url}
    _killed_after_a_flush(env, session_id)

    # The reconnect, here: a second recorder, a minute of session later, closed properly.
    second = SessionRecorder(open_store(settings), session_id, record_full=True)
    second.add_interviewer_audio(60.0, _tone(1.0, 220))
    second.add_candidate_segment(3, 62.0, 63.5, _tone(1.5, 660))
    references = second.close()
    assert references["candidate"] == (
        f"s3://{s3_env.bucket}/resume/recordings/{session_id}/candidate/"
    )

    # Two sockets' segments, side by side in the bucket: nothing overwritten.
    objects = s3_env.keys(f"resume/recordings/{session_id}/")
    assert len([k for k in objects if "/candidate/" in k]) == 2
    assert len([k for k in objects if "/full/" in k]) == 2
    for key in objects:
        body = s3_env.client().get_object(Bucket=s3_env.bucket, Key=key)["Body"].read()
        assert decode_segment(body).chunks

    rendered = read_track(references["candidate"], settings)
    assert rendered is not None and rendered.temporary
    audio, rate = sf.read(rendered.path, dtype="float32")
    rendered.discard()
    assert not rendered.path.exists()
    assert rate == SR and len(audio) == int(63.5 * SR)
    assert np.abs(audio[: 2 * SR]).max() == 0  # the interviewer is not on the candidate track
    assert np.allclose(audio[2 * SR : 3 * SR], _tone(1.0, 440), atol=1e-3)  # the killed process
    assert np.abs(audio[3 * SR : 62 * SR]).max() == 0
    assert np.allclose(audio[62 * SR :], _tone(1.5, 660), atol=1e-3)  # the resumed socket
    full = read_track(references["full"], settings)
    assert full is not None
    mix, _ = sf.read(full.path, dtype="float32")
    full.discard()
    assert np.allclose(mix[:SR], _tone(1.0, 220), atol=1e-3)
    assert np.allclose(mix[60 * SR : 61 * SR], _tone(1.0, 220), atol=1e-3)
    assert (
        read_track(f"s3://{s3_env.bucket}/resume/recordings/ses_none/candidate/", settings) is None
    )


async def test_delete_erases_every_object_of_the_session_only(
    s3_env: S3Server, tmp_path: Path
) -> None:
    from server.storage.store import Store

    settings = s3_env.settings(tmp_path, "erase")
    store = Store(None, tmp_path / "valkey")
    redis = await store.open()
    try:
        session_id, other = "ses_" + "b2" * 10, "ses_" + "c3" * 10
        await redis.hset(keys.session(session_id), "id", session_id)  # references need a session
        for sid in (session_id, other):
            recorder = SessionRecorder(open_store(settings), sid, record_full=True)
            recorder.add_candidate_segment(1, 1.0, 2.0, _tone(1.0, 440))
            assert await save_recordings(redis, sid, recorder.close(), settings) == (
                sid == session_id
            )
        # The second session had no record: its objects went instead of being referenced.
        assert s3_env.keys(f"erase/recordings/{other}/") == []
        # A segment written and never referenced (a socket killed before it said where).
        open_store(settings).put(f"{session_prefix(session_id)}stray/x.seg", b"VIVASEG1")
        assert len(s3_env.keys(f"erase/recordings/{session_id}/")) == 3

        assert await delete_recordings(redis, session_id, settings) == 2
        assert s3_env.keys(f"erase/recordings/{session_id}/") == []
        assert await redis.exists(keys.session_recordings(session_id)) == 0
        assert await delete_recordings(redis, session_id, settings) == 0
    finally:
        await store.close()


@pytest.fixture
def s3_api(s3_env: S3Server, tmp_path: Path) -> Iterator[Api]:
    with running_app(s3_env.settings(tmp_path, "api")) as running:
        yield running


def test_the_recording_routes_read_and_erase_the_objects(s3_api: Api, s3_env: S3Server) -> None:
    api = s3_api
    headers = api.tenant()
    created = api.client.post(
        "/v1/sessions", headers=headers, json={"interview_id": "behavioral-1"}
    )
    session_id = created.json()["session"]["id"]
    settings: Settings = api.client.app.state.services.settings  # type: ignore[attr-defined]
    for n, start in enumerate((1.0, 86_400.0)):  # two sockets, the second a day later
        recorder = SessionRecorder(open_store(settings), session_id, max_gap_s=5.0)
        recorder.add_candidate_segment(n, start, start + 1.0, _tone(1.0, 440 + 220 * n))
        assert api.run(save_recordings, api.redis, session_id, recorder.close(), settings)
        time.sleep(0.002)  # distinct opening milliseconds, as two real sockets have

    response = api.client.get(
        f"/v1/sessions/{session_id}/recording", headers=headers, params={"track": "candidate"}
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "audio/wav"
    assert json.loads(response.headers["X-Viva-Timeline"]) == [[7.0, 86_400.0]]
    audio, rate = sf.read(io.BytesIO(response.content), dtype="float32")
    assert rate == SR and len(audio) == 8 * SR
    assert np.allclose(audio[SR : 2 * SR], _tone(1.0, 440), atol=1e-3)
    assert np.allclose(audio[7 * SR :], _tone(1.0, 660), atol=1e-3)
    missing = api.client.get(
        f"/v1/sessions/{session_id}/recording", headers=headers, params={"track": "full"}
    )
    assert missing.status_code == 404

    assert len(s3_env.keys(f"api/recordings/{session_id}/")) == 2
    assert api.client.delete(f"/v1/sessions/{session_id}", headers=headers).status_code == 204
    assert s3_env.keys(f"api/recordings/{session_id}/") == []


@pytest.mark.models
def test_a_socket_writes_its_audio_out_while_nobody_answers(
    s3_api: Api, s3_env: S3Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No answer ends, no socket closes, no more audio comes: what the socket heard is still in
    the store within FLUSH_EVERY_S (a process killed now would lose nothing of it)."""
    from pipeline.voice.sink import CandidateSegment
    from server.observers import StreamObservers
    from server.storage import recordings

    monkeypatch.setattr(recordings, "FLUSH_EVERY_S", 0.3)
    api = s3_api
    headers = api.tenant()
    created = api.client.post(
        "/v1/sessions", headers=headers, json={"interview_id": "behavioral-1"}
    )
    session_id = created.json()["session"]["id"]
    services = api.client.app.state.services  # type: ignore[attr-defined]
    observers = api.run(StreamObservers.open, services, session_id)
    try:
        observers.sink.candidate_speech(CandidateSegment(session_id, 1, _tone(1.0, 440), 2.0, 3.0))
        deadline = time.monotonic() + 10
        while not s3_env.keys(f"api/recordings/{session_id}/") and time.monotonic() < deadline:
            time.sleep(0.1)
        (key,) = s3_env.keys(f"api/recordings/{session_id}/")
        body = s3_env.client().get_object(Bucket=s3_env.bucket, Key=key)["Body"].read()
        ((start_s, audio),) = decode_segment(body).chunks
        assert start_s == 2.0 and len(audio) == SR
        # Referenced already, so the route finds it before the socket ends.
        got = api.client.get(
            f"/v1/sessions/{session_id}/recording", headers=headers, params={"track": "candidate"}
        )
        assert got.status_code == 200 and len(got.content) > 2 * SR
    finally:
        api.run(observers.close)


def test_doctor_checks_the_store(
    s3_env: S3Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from server.ops.doctor import FAIL, OK, check_storage

    settings = s3_env.settings(tmp_path, "doctor")
    (result,) = check_storage(settings)
    assert result.status == OK, result.line()
    assert s3_env.keys("doctor/") == []  # the probe is gone
    (local,) = check_storage(Settings(VIVA_DATA_DIR=tmp_path / "data", REDIS_URL=None))
    assert local.status == OK and "files under" in local.detail
    # A wrong secret (a new prefix: a client of its own, made with the environment's key).
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-the-secret")
    wrong = settings.model_copy(update={"storage_url": f"s3://{s3_env.bucket}/doctor-wrong"})
    (failed,) = check_storage(wrong)
    assert failed.status == FAIL and "SignatureDoesNotMatch" in failed.detail, failed.line()
    assert "AWS_* credentials" in failed.fix


def test_a_store_that_refuses_answers_503_and_the_same_delete_finishes_later(
    s3_env: S3Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The store refuses (here: credentials rotated under the server): GET and DELETE answer
    503 storage_unavailable, nothing is lost, and the DELETE repeated once the store answers
    erases everything."""
    from server.storage import objectstore

    settings = s3_env.settings(tmp_path, "refused")
    with running_app(settings) as api:
        headers = api.tenant()
        created = api.client.post(
            "/v1/sessions", headers=headers, json={"interview_id": "behavioral-1"}
        )
        session_id = created.json()["session"]["id"]
        recorder = SessionRecorder(open_store(settings), session_id)
        recorder.add_candidate_segment(1, 1.0, 2.0, _tone(1.0, 440))
        assert api.run(save_recordings, api.redis, session_id, recorder.close(), settings)

        objectstore._open.cache_clear()  # the next client is made with the wrong key
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "rotated-away")
        url = f"/v1/sessions/{session_id}"
        got = api.client.get(f"{url}/recording", headers=headers, params={"track": "candidate"})
        assert got.status_code == 503 and got.json()["error"]["code"] == "storage_unavailable"
        refused = api.client.delete(url, headers=headers)
        assert refused.status_code == 503, refused.text
        assert refused.json()["error"]["code"] == "storage_unavailable"
        assert refused.headers["Retry-After"] == "30"
        assert len(s3_env.keys(f"refused/recordings/{session_id}/")) == 1

        objectstore._open.cache_clear()
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", s3_env.secret_key)
        assert api.client.delete(url, headers=headers).status_code == 204
        assert s3_env.keys(f"refused/recordings/{session_id}/") == []
        assert api.scan(f"*{session_id}*") == [keys.session_deleted(session_id)]
