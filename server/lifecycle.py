"""Ending a session: report, status, audit entry, webhook.

The stream, the REST API and idle expiry all end sessions through `finish_session`, so a session
ends the same way whichever door it leaves by: the same scoring model (the registry's embedder)
and, for a voice session, the same integrity sections (`fraud_signals`, `language`), from the
stream's live evidence or else from what its sockets saved (`viva:session:{id}:integrity`).

Every write checks that the session is still there (server/storage/guard.py): a session deleted while
it was being scored gets no report, audit entry or webhook back.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pipeline.engine import Turn
from pipeline.integrity.session import saved_report_sections
from pipeline.interview.report import build_report
from pipeline.interview.second_opinion import with_second_opinion
from server import code, webhooks, whiteboard
from server.engines import second_opinion_client
from server.services import Services
from server.sessions import SessionNotFound, SessionRecord, SessionStore
from server.storage import audit_trail, guard, keys
from server.storage.store import Redis


async def start_session(
    sessions: SessionStore,
    record: SessionRecord,
    *,
    actor: str,
    mode: str,
    engine: str,
    engine_version: str,
) -> None:
    """A session's first live connection (a stream, a call) starts it as REST chat's first
    turn does: status `active`, `started_at`, and the `started` audit entry. Once: a session
    already active (a reconnect) is not started again."""
    if record.status != "created":
        return
    await sessions.set_fields(record.id, status="active", started_at=repr(time.time()))
    record.status = "active"
    await audit_trail.record(
        sessions.redis,
        record.id,
        "started",
        actor,
        mode=mode,
        engine=engine,
        engine_version=engine_version,
    )


# Claim the finish once: concurrent finishers (the stream and REST `end`) build one report.
# A claim older than the lease is taken over: its finisher died (a SIGKILL while scoring) and
# would otherwise leave the session unfinishable. Never recreates an erased session; never
# claims a finished one. KEYS: record, deletion marker. ARGV: now, lease seconds.
_CLAIM_FINISH = f"""
if not ({guard.LIVE}) then return -1 end
if redis.call('HEXISTS', KEYS[1], 'finished_at') == 1 then return 0 end
local held = redis.call('HGET', KEYS[1], 'finishing_at')
if held and tonumber(held) > tonumber(ARGV[1]) - tonumber(ARGV[2]) then return 0 end
redis.call('HSET', KEYS[1], 'finishing_at', ARGV[1])
return 1
"""
# Store the report and the final status, only if the session was not erased meanwhile.
# KEYS: record, deletion marker, report; ARGV: report, status, finished_at.
_STORE_REPORT = f"""
if not ({guard.LIVE}) then return 0 end
redis.call('SET', KEYS[3], ARGV[1])
redis.call('HSET', KEYS[1], 'status', ARGV[2], 'finished_at', ARGV[3])
return 1
"""
WEBHOOK_COMPETENCY_FIELDS = ("name", "weight", "score", "explanation")
FINISH_WAIT_S = 60.0
SECOND_OPINION_TIMEOUT_S = 120.0
# Longer than any scoring (the second opinion included): a claim this old has no finisher.
FINISH_LEASE_S = SECOND_OPINION_TIMEOUT_S + 60.0

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FinishResult:
    status: str  # completed | partial | low_confidence
    score: int | None
    report_url: str


def report_url(services: Services, session_id: str) -> str:
    return f"{services.settings.base_url()}/v1/sessions/{session_id}"


async def stored_report(services: Services, session_id: str) -> dict[str, Any] | None:
    raw = await services.store.redis.get(keys.session_report(session_id))
    return json.loads(raw) if raw else None


class FinishPending(RuntimeError):
    """Another finisher holds the session's claim and has not stored the report yet."""


async def _claim(redis: Redis, session_id: str) -> int:
    """1: ours to score; 0: another finisher's (or finished); -1: erased."""
    return int(
        await redis.eval(
            _CLAIM_FINISH, 2, *guard.live_keys(session_id), repr(time.time()), FINISH_LEASE_S
        )
    )


async def _finished_report(services: Services, session_id: str) -> dict[str, Any] | None:
    """The report of a session another caller is finishing, once stored; None when its claim
    outlived the lease and is now ours."""
    deadline = time.monotonic() + FINISH_WAIT_S
    while (report := await stored_report(services, session_id)) is None:
        if time.monotonic() > deadline:
            raise FinishPending(f"session {session_id} is still being scored")
        await asyncio.sleep(0.1)
        claimed = await _claim(services.store.redis, session_id)
        if claimed == 1:
            return None
        if claimed == -1:
            raise SessionNotFound(f"no session {session_id}")
    return report


def webhook_data(record: SessionRecord, report: dict[str, Any], url: str) -> dict[str, Any]:
    """The event's `data`: who and what, and the report's summary (the full report, with its
    evidence quotes, stays behind `report_url`)."""
    candidate = record.extra.get("candidate") or {}
    return {
        "session_id": record.id,
        "interview_id": record.interview_id,
        "status": report["status"],
        "overall_score": report.get("overall_score"),
        "verdict": report.get("verdict"),
        "summary": report.get("summary"),
        "competencies": [
            {k: c.get(k) for k in WEBHOOK_COMPETENCY_FIELDS} for c in report.get("competencies", [])
        ],
        "fraud_signals": report.get("fraud_signals"),
        "report_url": url,
        "external_id": candidate.get("external_id"),
        "metadata": record.extra.get("metadata", {}),
        "tags": record.extra.get("tags", []),
    }


async def _webhook_data(
    redis: Redis, record: SessionRecord, report: dict[str, Any], url: str
) -> dict[str, Any]:
    """The native `data`, or the shape the tenant picked (`PUT /v1/webhook-format`) among those
    the compat layer registered (`webhooks.register_format`)."""
    shape = webhooks.shape_of(await webhooks.tenant_format(redis, record.tenant_id))
    return (shape or webhook_data)(record, report, url)


def merge_integrity(report: dict[str, Any], sections: Mapping[str, object]) -> dict[str, Any]:
    """Add the integrity checks' sections (`pipeline.integrity.session.report_sections`) to a
    report. Too little of the candidate's own speech: low confidence, and no number."""
    merged = {
        **report,
        "fraud_signals": sections["fraud_signals"],
        "language": sections["language"],
    }
    if sections.get("low_confidence") and merged["status"] != "low_confidence":
        merged["status"] = "low_confidence"
        merged["overall_score"] = None
        merged["verdict"] = "Not enough evidence to score"
        merged["summary"] = "Too little of the candidate's own speech to score (see fraud_signals)."
    return merged


async def saved_integrity(services: Services, record: SessionRecord) -> Mapping[str, object] | None:
    """The integrity sections of a session ended away from its stream, from the evidence its
    sockets saved: what the stream would have merged. None for a chat session that never
    streamed (nothing was heard, nothing to say); a spoken session (voice, phone) always has
    them, as its stream would give them."""
    saved = await services.store.redis.lrange(keys.session_integrity(record.id), 0, -1)
    if not saved and record.mode == "chat":
        return None
    blobs = [base64.b64decode(item) for item in saved]
    return await asyncio.to_thread(saved_report_sections, blobs)


def _score(
    services: Services, record: SessionRecord, transcript: Sequence[Turn], ended_early: bool
) -> dict[str, Any]:
    # The registry's embedder: the model EMBEDDING_MODEL names, as the engine uses.
    embedder = services.models.embedder()
    return build_report(record.plan, transcript, ended_early=ended_early, embedder=embedder)


async def _with_second_opinion(
    services: Services, record: SessionRecord, report: dict[str, Any]
) -> dict[str, Any]:
    """With an LLM configured, its opinion beside the deterministic score (which it never
    changes); bounded, so a slow LLM costs the report only its second opinion."""
    client = second_opinion_client(services.settings)
    if client is None:
        return report
    try:
        return await asyncio.wait_for(
            with_second_opinion(report, record.plan, client), SECOND_OPINION_TIMEOUT_S
        )
    except TimeoutError:
        log.warning("second opinion for %s timed out", record.id)
        return report


async def finish_session(
    services: Services,
    session_id: str,
    *,
    ended_early: bool,
    integrity: Mapping[str, object] | None = None,
) -> FinishResult:
    """Score and close the session. Idempotent: a second call returns the stored outcome.

    `integrity`: the voice stream's integrity sections, merged into the report; without them
    (REST, idle expiry), a voice session's are rebuilt from its saved evidence.
    SessionNotFound when the session is (or gets, while being scored) erased."""
    redis = services.store.redis
    sessions = SessionStore(redis)
    url = report_url(services, session_id)
    record = await sessions.get(session_id)
    claimed = await _claim(redis, session_id)
    if claimed == -1:
        raise SessionNotFound(f"no session {session_id}")
    if claimed == 0:
        finished = await _finished_report(services, session_id)
        if finished is not None:
            return FinishResult(str(finished["status"]), finished.get("overall_score"), url)

    try:
        transcript = await sessions.turns(session_id)
        # CPU-bound (sentence embeddings, clustering): off the event loop.
        report = await asyncio.to_thread(_score, services, record, transcript, ended_early)
        report = await _with_second_opinion(services, record, report)
        if integrity is None:
            integrity = await saved_integrity(services, record)
        if integrity is not None:
            report = merge_integrity(report, integrity)
        # A coding round: correctness from hidden tests and the code's complexity, counted in
        # the overall score.
        coding = await code.report_code_section(
            redis, session_id, record.tenant_id, record.extra, record.plan, report
        )
        if coding is not None:
            report = code.with_code(report, coding)
        # A system-design interview: the whiteboard as it ended (server/whiteboard.py).
        board = await whiteboard.report_section(redis, record)
        if board is not None:
            report["whiteboard"] = board
        # How the candidate was heard: a call (set when one connected), the browser, or typing.
        report["channel"] = (
            "phone" if record.extra.get("phone") else "chat" if record.mode == "chat" else "browser"
        )
        status = str(report["status"])
        stored = await redis.eval(
            _STORE_REPORT,
            3,
            *guard.live_keys(session_id),
            keys.session_report(session_id),
            json.dumps(report),
            status,
            repr(time.time()),
        )
    except BaseException:
        # Scoring failed: give the claim back (turns are refused while it is held).
        await redis.hdel(keys.session(session_id), "finishing_at")
        raise
    if not stored:
        raise SessionNotFound(f"session {session_id} was erased while being scored")
    await audit_trail.record(
        redis,
        session_id,
        "scored",
        "system",
        status=status,
        overall_score=report.get("overall_score"),
        ended_early=ended_early,
        engine=report.get("engine"),
        engine_version=report.get("engine_version"),
        rubric_version=report.get("rubric_version"),
        model_versions=report.get("model_versions"),
    )
    webhook_url = record.extra.get("webhook_url")
    if webhook_url:
        await webhooks.enqueue(
            redis,
            tenant_id=record.tenant_id,
            session_id=session_id,
            url=webhook_url,
            event=webhooks.EVENT_FOR_STATUS[status],
            data=await _webhook_data(redis, record, report, url),
        )
    return FinishResult(status, report.get("overall_score"), url)
