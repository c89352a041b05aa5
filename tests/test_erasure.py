"""A delete while the session is still being streamed or scored leaves nothing behind (issue 12,
point 10): the closing socket's integrity evidence and recordings, a finish racing the delete
(report, status, audit entry, webhook) and any late writer are all dropped, and the whole
recordings directory goes. The real app, real Valkey, the real speaker model."""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from pipeline.engine import Turn
from pipeline.voice.sink import CandidateSegment
from server import lifecycle, webhooks
from server.lifecycle import finish_session
from server.observers import StreamObservers
from server.services import Services
from server.sessions import SessionNotFound, SessionStore
from server.settings import Settings
from server.storage import audit_trail, keys
from server.storage.recordings import recordings_dir
from tests.api_support import Api, bearer, running_app
from tests.conftest import espeak

HOOK = "http://127.0.0.1:9/hook"  # a closed local port, allowed explicitly below
ANSWER = (
    "I led the migration of our billing service to an event driven design. I planned the "
    "rollout in stages, wrote the runbooks, and we cut incidents by forty percent."
)


@pytest.fixture
def api(settings: Settings) -> Iterator[Api]:
    with running_app(settings.model_copy(update={"webhook_allow_networks": "127.0.0.1"})) as app:
        yield app


def _services(api: Api) -> Services:
    services: Services = api.client.app.state.services  # type: ignore[attr-defined]
    return services


def _session(api: Api, headers: dict[str, str]) -> tuple[str, str]:
    created = api.client.post(
        "/v1/sessions",
        headers=headers,
        json={"interview_id": "behavioral-1", "webhook_url": HOOK},
    )
    assert created.status_code == 201, created.text
    session_id, token = created.json()["session"]["id"], created.json()["token"]
    consent = {"accepted": True, "version": "2026-01"}
    api.client.post(f"/v1/sessions/{session_id}/consent", headers=bearer(token), json=consent)
    return str(session_id), str(token)


def _queued_for(api: Api, session_id: str) -> list[str]:
    queued: Any = api.run(api.redis.xrange, keys.WEBHOOKS)
    retries: Any = api.run(functools.partial(api.redis.zrange, keys.WEBHOOK_RETRIES, 0, -1))
    return [entry for _, fields in queued for entry in fields.values() if session_id in entry] + [
        member for member in retries if session_id in member
    ]


def _assert_erased(api: Api, session_id: str) -> None:
    # Only the deletion marker, content-free and expiring, names the session.
    assert api.scan(f"*{session_id}*") == [keys.session_deleted(session_id)]
    assert not recordings_dir(_services(api).settings.data_dir, session_id).exists()
    assert _queued_for(api, session_id) == []


@pytest.mark.models
def test_a_socket_closing_after_the_delete_writes_nothing_back(api: Api) -> None:
    headers = api.tenant()
    session_id, _ = _session(api, headers)
    services = _services(api)
    observers = api.run(StreamObservers.open, services, session_id)  # as a socket opens it
    speech = espeak(ANSWER)
    half = len(speech) // 2
    observers.sink.candidate_speech(CandidateSegment(session_id, 1, speech[:half], 2.0, 2.0))
    api.run(observers.save_integrity)  # after an answer: saved while the session lives
    observers.sink.candidate_speech(
        CandidateSegment(session_id, 3, speech[half:], 20.0, 20.0 + len(speech[half:]) / 16000)
    )
    api.run(observers.answer_filter, 3, [], None)  # the answer ends: its audio is written
    directory = recordings_dir(services.settings.data_dir, session_id)
    deadline = time.monotonic() + 10
    while not list(directory.glob("candidate/*.seg")) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert list(directory.glob("candidate/*.seg"))  # being written, before the socket closes

    assert api.client.delete(f"/v1/sessions/{session_id}", headers=headers).status_code == 204
    assert not directory.exists()
    # The socket still hears the candidate before its close signal arrives.
    observers.sink.candidate_speech(CandidateSegment(session_id, 5, speech[:half], 40.0, 40.0))

    # The socket closes only now: its last evidence and its recording (written, then removed).
    api.run(observers.close)
    assert not directory.exists()
    # Anything else still running for the session.
    redis = api.redis
    assert not api.run(
        SessionStore(redis).append_turn, session_id, Turn(2, "interviewer", "Next question.")
    )
    api.run(SessionStore(redis).set_consent, session_id, "2026-01", 0.0)
    api.run(audit_trail.record, redis, session_id, "ended", "candidate")
    enqueue = functools.partial(
        webhooks.enqueue,
        redis,
        tenant_id=headers["X-Tenant-Id"],
        session_id=session_id,
        url=HOOK,
        event="session.partial",
        data={"session_id": session_id},
    )
    api.run(enqueue)
    with pytest.raises(SessionNotFound):
        api.run(functools.partial(finish_session, services, session_id, ended_early=True))
    _assert_erased(api, session_id)


@pytest.mark.models
def test_a_finish_racing_the_delete_stores_nothing(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The finish claimed the session before the delete and writes after it."""
    headers = api.tenant()
    session_id, token = _session(api, headers)
    assert api.client.post(f"/v1/sessions/{session_id}/start", headers=bearer(token)).is_success
    answered = api.client.post(
        f"/v1/sessions/{session_id}/messages", headers=bearer(token), json={"text": ANSWER}
    )
    assert answered.is_success, answered.text
    scoring, deleted = threading.Event(), threading.Event()
    real_build_report = lifecycle.build_report

    def slow_build_report(*args: Any, **kwargs: Any) -> dict[str, Any]:
        scoring.set()
        assert deleted.wait(30)
        return real_build_report(*args, **kwargs)

    monkeypatch.setattr(lifecycle, "build_report", slow_build_report)
    assert api.client.portal is not None
    finishing = api.client.portal.start_task_soon(
        functools.partial(finish_session, _services(api), session_id, ended_early=True)
    )
    assert scoring.wait(30)
    assert api.client.delete(f"/v1/sessions/{session_id}", headers=headers).status_code == 204
    deleted.set()
    with pytest.raises(SessionNotFound):
        finishing.result(timeout=60)
    _assert_erased(api, session_id)
    # The tenant's log keeps only the deletion, with no content.
    tenant_log: Any = api.run(api.redis.xrange, keys.tenant_audit(headers["X-Tenant-Id"]))
    assert [fields["action"] for _, fields in tenant_log] == ["deleted"]


def test_delete_removes_the_whole_recordings_directory(api: Api) -> None:
    headers = api.tenant()
    session_id, _ = _session(api, headers)
    directory = recordings_dir(_services(api).settings.data_dir, session_id)
    (directory / "candidate").mkdir(parents=True)
    for name in ("candidate/1-a-00001.seg", "full/1-a-00001.seg", "stray.tmp"):
        (directory / name).parent.mkdir(exist_ok=True)
        (directory / name).write_bytes(np.zeros(8, np.int16).tobytes())
    track = (directory / "candidate").as_uri() + "/"
    api.run(api.redis.hset, keys.session_recordings(session_id), "candidate", track)
    assert api.client.delete(f"/v1/sessions/{session_id}", headers=headers).status_code == 204
    assert not directory.exists()
    assert Path(directory.parent).is_dir()  # the other sessions' recordings stay


def test_guarded_writes_go_through_only_while_the_session_lives(api: Api) -> None:
    from server.storage import guard

    headers = api.tenant()
    session_id, _ = _session(api, headers)
    owner = keys.session_stream_owner(session_id)
    assert api.run(guard.set_value, api.redis, session_id, owner, "socket-1")
    assert api.run(guard.set_nx, api.redis, session_id, keys.session_clock(session_id), "1.0")
    assert not api.run(guard.set_nx, api.redis, session_id, keys.session_clock(session_id), "2.0")
    assert api.client.delete(f"/v1/sessions/{session_id}", headers=headers).status_code == 204
    assert not api.run(guard.set_value, api.redis, session_id, owner, "socket-2")
    assert not api.run(guard.set_nx, api.redis, session_id, keys.session_clock(session_id), "3")
    assert not api.run(guard.rpush, api.redis, session_id, keys.session_integrity(session_id), "x")
    _assert_erased(api, session_id)
