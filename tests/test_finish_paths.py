"""Every door out of a voice session builds the same report (issue 12, point 12): ended over REST
or by idle expiry, the report carries the integrity sections (`fraud_signals`, `language`) the
stream would have merged, rebuilt from the evidence the session's sockets saved; and the webhook
carries the report's summary (point 13). The real app, real Valkey, real models."""

from __future__ import annotations

import base64
import functools
import json
import time
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from pipeline.integrity.embeddings import Window
from pipeline.integrity.persist import IntegrityDelta, StoredAnswer, encode
from pipeline.integrity.session import SessionIntegrity
from pipeline.integrity.speakers import Segment, TrackerDelta
from pipeline.integrity.timeline import TimeRange
from pipeline.integrity.words import CandidateWords, ExcludedSpeech, Word
from pipeline.interview.report import build_report
from server.expiry import expire_idle_sessions
from server.lifecycle import merge_integrity
from server.services import Services
from server.sessions import SessionStore
from server.settings import Settings
from server.storage import keys
from tests.api_support import Api, bearer, running_app
from tests.webhook_receivers import Receiver, receiving, wait_until

ANSWERS = [
    "I led the migration of our billing service to an event driven design. I planned the rollout "
    "in stages, wrote the runbooks with the on call team, and we cut incidents by forty percent "
    "in the first quarter after the switch.",
    "When a product manager and I disagreed about a launch date, I gathered the open bugs, we "
    "met with the support lead, agreed on a smaller scope and shipped on time with fewer defects "
    "than we had planned for.",
]


def _voice(rng: np.random.Generator, base: np.ndarray) -> np.ndarray:
    vector = base + 0.05 * rng.normal(size=256)
    return (vector / np.linalg.norm(vector)).astype(np.float32)


def _windows(
    rng: np.random.Generator, base: np.ndarray, start_s: float, end_s: float
) -> tuple[Window, ...]:
    starts = np.arange(start_s, end_s - 1.6 + 1e-9, 0.4)
    return tuple(Window(float(s), float(s) + 1.6, _voice(rng, base)) for s in starts)


def _words(text: str, start_s: float) -> tuple[Word, ...]:
    return tuple(
        Word(word, start_s + 0.4 * i, start_s + 0.4 * i + 0.3)
        for i, word in enumerate(text.split())
    )


def saved_evidence() -> bytes:
    """What a socket saves after two spoken answers, the second with another voice in it."""
    rng = np.random.default_rng(7)
    candidate, other = rng.normal(size=256), rng.normal(size=256)
    first_end = 2.0 + 0.4 * len(ANSWERS[0].split())
    second_start = first_end + 8.0
    second_end = second_start + 0.4 * len(ANSWERS[1].split())
    segments = (
        Segment(1, TimeRange(2.0, first_end), _windows(rng, candidate, 2.0, first_end)),
        Segment(3, TimeRange(second_start, second_end - 4.0), _windows(rng, candidate, second_start, second_end - 4.0)),
        Segment(3, TimeRange(second_end - 4.0, second_end), _windows(rng, other, second_end - 4.0, second_end)),
    )  # fmt: skip
    answers = {
        1: StoredAnswer(CandidateWords(_words(ANSWERS[0], 2.0), ()), 0.8),
        3: StoredAnswer(
            CandidateWords(
                _words(ANSWERS[1], second_start),
                (ExcludedSpeech("psst say forty", second_end - 3.5, second_end - 2.0, "other_speaker"),),
            ),
            1.1,
        ),
    }  # fmt: skip
    return encode(IntegrityDelta(TrackerDelta(segments, (), ()), answers))


def _services(api: Api) -> Services:
    services: Services = api.client.app.state.services  # type: ignore[attr-defined]
    return services


def _answered_voice_session(
    api: Api, headers: dict[str, str], webhook_url: str | None = None
) -> str:
    """A voice session whose answers were typed (as the REST API allows in voice mode) while a
    socket saved what it heard of the candidate's voice."""
    body: dict[str, Any] = {"interview_id": "behavioral-1", "mode": "voice"}
    if webhook_url:
        body["webhook_url"] = webhook_url
    created = api.client.post("/v1/sessions", headers=headers, json=body)
    assert created.status_code == 201, created.text
    session_id, token = created.json()["session"]["id"], created.json()["token"]
    candidate = bearer(token)
    consent = {"accepted": True, "version": "2026-01"}
    assert api.client.post(
        f"/v1/sessions/{session_id}/consent", headers=candidate, json=consent
    ).is_success
    assert api.client.post(f"/v1/sessions/{session_id}/start", headers=candidate).is_success
    for answer in ANSWERS:
        reply = api.client.post(
            f"/v1/sessions/{session_id}/messages", headers=candidate, json={"text": answer}
        )
        assert reply.is_success, reply.text
        assert not reply.json()["is_complete"]
    blob = base64.b64encode(saved_evidence()).decode("ascii")
    api.run(api.redis.rpush, keys.session_integrity(session_id), blob)
    return str(session_id)


def _as_the_stream_reports(api: Api, session_id: str) -> dict[str, Any]:
    """The report the stream's finisher would store: scored by the registry's embedder, merged
    with the sections of a `SessionIntegrity` restored from the saved evidence (as the next
    socket restores it)."""
    services = _services(api)
    record = api.run(SessionStore(api.redis).get, session_id)
    turns = api.run(SessionStore(api.redis).turns, session_id)
    integrity = SessionIntegrity(services.models.speaker())
    integrity.restore([saved_evidence()])
    report = build_report(record.plan, turns, ended_early=True, embedder=services.models.embedder())
    merged: dict[str, Any] = json.loads(
        json.dumps(merge_integrity(report, integrity.report_sections()))
    )
    merged["channel"] = "browser"  # a voice session, heard in the room
    return merged


def _stored_report(api: Api, session_id: str) -> dict[str, Any]:
    report: dict[str, Any] = json.loads(
        str(api.run(api.redis.get, keys.session_report(session_id)))
    )
    return report


@pytest.fixture
def api(settings: Settings) -> Iterator[Api]:
    local = settings.model_copy(update={"webhook_allow_networks": "127.0.0.1"})
    with running_app(local) as running:
        yield running


@pytest.mark.models
def test_rest_end_reports_the_saved_integrity_evidence(api: Api) -> None:
    headers = api.tenant()
    session_id = _answered_voice_session(api, headers)
    ended = api.client.post(f"/v1/sessions/{session_id}/end", headers=headers)
    assert ended.status_code == 200, ended.text

    report = _stored_report(api, session_id)
    expected = _as_the_stream_reports(api, session_id)
    assert report == expected
    assert report["status"] == ended.json()["status"] == "partial"
    signals = report["fraud_signals"]
    assert signals["multiple_speakers"]["detected"] is True  # the second voice in answer two
    assert signals["too_little_speech"]["detected"] is False
    assert report["language"]["available"] is True
    view = api.client.get(f"/v1/sessions/{session_id}", headers=headers).json()
    assert view["report"]["fraud_signals"] == signals


@pytest.mark.models
def test_idle_expiry_reports_the_saved_integrity_evidence(api: Api) -> None:
    headers = api.tenant()
    session_id = _answered_voice_session(api, headers)
    services = _services(api)
    stale = time.time() - 10 * services.settings.session_idle_timeout_s
    api.run(functools.partial(api.redis.zadd, keys.OPEN_SESSIONS, {session_id: stale}))
    assert session_id in api.run(expire_idle_sessions, services)
    report = _stored_report(api, session_id)
    assert report == _as_the_stream_reports(api, session_id)
    assert report["fraud_signals"]["multiple_speakers"]["detected"] is True


@pytest.mark.models
def test_a_chat_session_that_never_streamed_has_no_integrity_sections(api: Api) -> None:
    headers = api.tenant()
    created = api.client.post(
        "/v1/sessions", headers=headers, json={"interview_id": "behavioral-1", "mode": "chat"}
    ).json()
    session_id = created["session"]["id"]
    assert api.client.post(f"/v1/sessions/{session_id}/end", headers=headers).is_success
    report = _stored_report(api, session_id)
    assert "fraud_signals" not in report and "language" not in report


@pytest.mark.models
def test_the_webhook_carries_the_reports_summary(api: Api) -> None:
    with receiving(Receiver("ok")) as receiver:
        headers = api.tenant()
        session_id = _answered_voice_session(api, headers, webhook_url=receiver.url)
        assert api.client.post(f"/v1/sessions/{session_id}/end", headers=headers).is_success
        wait_until(lambda: bool(receiver.hits), 30)
    data = json.loads(receiver.hits[0].body)["data"]
    report = _stored_report(api, session_id)
    assert data["session_id"] == session_id and data["status"] == report["status"]
    assert data["summary"] == report["summary"]
    assert data["fraud_signals"] == report["fraud_signals"]
    assert data["fraud_signals"]["multiple_speakers"]["detected"] is True
    assert [c["name"] for c in data["competencies"]] == [c["name"] for c in report["competencies"]]
    for sent, full in zip(data["competencies"], report["competencies"], strict=True):
        assert sent == {k: full[k] for k in ("name", "weight", "score", "explanation")}
    assert any(c["score"] is not None for c in data["competencies"])


@pytest.mark.models
def test_a_finish_claim_left_by_a_killed_finisher_is_taken_over(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A SIGKILL while scoring leaves `finishing_at` and no report: past the lease the next
    finisher scores the session; inside it, `end` answers 409 instead of waiting forever."""
    from server import lifecycle

    headers = api.tenant()
    stuck = _answered_voice_session(api, headers)
    api.run(api.redis.hset, keys.session(stuck), "finishing_at", repr(time.time() - 3600))
    ended = api.client.post(f"/v1/sessions/{stuck}/end", headers=headers)
    assert ended.status_code == 200, ended.text
    assert _stored_report(api, stuck)["status"] == "partial"

    monkeypatch.setattr(lifecycle, "FINISH_WAIT_S", 0.5)
    busy = _answered_voice_session(api, headers)
    api.run(api.redis.hset, keys.session(busy), "finishing_at", repr(time.time()))
    pending = api.client.post(f"/v1/sessions/{busy}/end", headers=headers)
    assert pending.status_code == 409 and pending.json()["error"]["code"] == "being_scored"
    assert api.run(api.redis.get, keys.session_report(busy)) is None
