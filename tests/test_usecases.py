"""The services, called directly: no HTTP, no `Call` (issue 23, the service layer). A session is
opened, consented, answered in text and ended through `server.usecases` alone, against the
real embedded Valkey and the packaged models; what the services refuse is a `ServiceError`,
which the HTTP edges turn into the statuses and codes they always answered."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from models.registry import ModelRegistry
from server.http.errors import from_service
from server.services import Services
from server.sessions import SessionStore
from server.settings import Settings
from server.storage import audit_trail
from server.storage.store import Store
from server.usecases import chat, ending
from server.usecases.clock import clock_epoch
from server.usecases.consent import DISCLOSURE_VERSION, consent_of, give_consent
from server.usecases.errors import Conflicting, Invalid, LimitReached, Missing
from server.usecases.opening import CandidateInfo, SessionCreate, open_session

TENANT = "ten_services"
ACTOR = f"tenant:{TENANT}"
ANSWER = (
    "I led the migration of our billing service from a monolith to three services. I planned "
    "the cut-over, wrote the data backfill and we reduced invoice errors by thirty percent."
)


@pytest.fixture
async def services(tmp_path: Path, models: ModelRegistry) -> AsyncIterator[Services]:
    settings = Settings(
        VIVA_DATA_DIR=tmp_path / "data",
        REDIS_URL=None,
        VIVA_PRELOAD_MODELS=False,
        VIVA_DAILY_SESSION_QUOTA=2,
    )
    store = Store(None, settings.data_dir)
    await store.open()
    yield Services(settings=settings, store=store, models=models)
    await store.close()


async def _actions(services: Services, session_id: str) -> list[tuple[str, str]]:
    entries = await audit_trail.entries(services.store.redis, session_id)
    return [(e.action, e.actor) for e in entries]


async def test_a_chat_session_through_the_services_alone(services: Services) -> None:
    redis = services.store.redis
    create = SessionCreate(
        interview_id="behavioral-1", mode="chat", candidate=CandidateInfo(name="Ada Lovelace")
    )
    record, token = await open_session(services, TENANT, ACTOR, create)
    assert token and record.status == "created" and record.plan.candidate_first_name == "Ada"
    assert await _actions(services, record.id) == [("created", ACTOR)]

    # Nothing is processed before consent.
    with pytest.raises(Conflicting) as refused:
        await chat.converse(services, record, None, actor="candidate")
    assert refused.value.code == "consent_required"
    assert await clock_epoch(redis, record.id) is None

    await give_consent(redis, record.id, DISCLOSURE_VERSION, "candidate")
    await give_consent(redis, record.id, DISCLOSURE_VERSION, "candidate")  # once is recorded
    consent = await consent_of(redis, record.id)
    assert consent is not None and consent["version"] == DISCLOSURE_VERSION

    # An answer before the opening question: not started.
    with pytest.raises(Conflicting) as refused:
        await chat.converse(services, record, ANSWER, actor="candidate")
    assert refused.value.code == "not_started"

    opening = await chat.converse(services, record, None, actor="candidate")
    assert opening.turn.index == 0 and opening.turn.role == "interviewer"
    assert opening.status == "active" and not opening.is_complete
    assert opening.report_url is None and opening.progress.is_started
    assert await clock_epoch(redis, record.id) is not None
    # Asked again, the open question comes back; nothing new is stored.
    again = await chat.converse(services, record, None, actor="candidate")
    assert again.turn == opening.turn and len(again.turns) == 1

    with pytest.raises(Invalid) as invalid:
        await chat.converse(services, record, "   ", actor="candidate")
    assert (invalid.value.code, invalid.value.fields) == (
        "empty_answer",
        {"text": chat.EMPTY_ANSWER},
    )

    reply = await chat.converse(services, record, ANSWER, actor="candidate")
    turns = await SessionStore(redis).turns(record.id)
    assert [t.role for t in turns] == ["interviewer", "candidate", "interviewer"]
    assert turns[1].text == ANSWER and reply.turn == turns[2]
    assert 0 <= turns[1].started_at <= turns[2].started_at  # one session clock

    result = await ending.end(services, record, ACTOR)
    assert result.status == "partial"
    assert result.report_url.endswith(f"/v1/sessions/{record.id}")
    finished = await SessionStore(redis).get(record.id)
    assert finished.is_finished
    with pytest.raises(Conflicting) as refused:
        await chat.converse(services, finished, ANSWER, actor="candidate")
    assert refused.value.code == "session_finished"

    assert await _actions(services, record.id) == [
        ("created", ACTOR),
        ("consented", "candidate"),
        ("started", "candidate"),
        ("scored", "system"),
        ("ended", ACTOR),
    ]


async def test_consent_given_on_a_call_says_so(services: Services) -> None:
    redis = services.store.redis
    create = SessionCreate(interview_id="behavioral-1", mode="phone")
    record, _token = await open_session(services, TENANT, ACTOR, create)
    await give_consent(redis, record.id, DISCLOSURE_VERSION, "candidate", channel="phone")
    consent = await consent_of(redis, record.id)
    assert consent is not None
    assert (consent["version"], consent["channel"]) == (DISCLOSURE_VERSION, "phone")
    entries = await audit_trail.entries(redis, record.id)
    assert [(e.action, e.detail) for e in entries][-1] == (
        "consented",
        {"version": DISCLOSURE_VERSION, "channel": "phone"},
    )


async def test_what_opening_refuses(services: Services) -> None:
    with pytest.raises(Missing) as missing:
        await open_session(services, TENANT, ACTOR, SessionCreate(interview_id="int_nothing"))
    assert missing.value.fields == {"interview_id": "no such interview, yours or built-in"}
    for _ in range(2):  # the day's quota, 2 here
        await open_session(services, TENANT, ACTOR, SessionCreate(interview_id="dsa-1"))
    with pytest.raises(LimitReached) as limited:
        await open_session(services, TENANT, ACTOR, SessionCreate(interview_id="dsa-1"))
    assert limited.value.code == "quota_exceeded" and limited.value.retry_after_s > 0


def test_the_http_edge_answers_a_refusal_as_it_always_did() -> None:
    cases = [
        (Invalid("bad", code="empty_answer", fields={"text": "x"}), 400, "empty_answer"),
        (Invalid("bad"), 400, "invalid_request"),
        (Missing("gone"), 404, "not_found"),
        (Conflicting("over", code="session_finished"), 409, "session_finished"),
        (Conflicting("raced"), 409, "conflict"),
        (LimitReached("slow", retry_after_s=7, code="quota_exceeded"), 429, "quota_exceeded"),
    ]
    for refusal, status, code in cases:
        answered = from_service(refusal)
        assert (answered.status, answered.code, answered.message) == (
            status,
            code,
            refusal.message,
        )
        assert answered.fields == refusal.fields
    assert from_service(cases[-1][0]).headers == {"Retry-After": "7"}
