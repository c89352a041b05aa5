"""Ending a session: report, status, audit entry, webhook.

Both the stream and the REST API end sessions through `finish_session`, so a session ends the
same way whichever door it leaves by.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pipeline.interview.report import build_report
from server import audit, keys, webhooks
from server.services import Services
from server.sessions import SessionNotFound, SessionRecord, SessionStore

# Claim the finish once: concurrent finishers (the stream and REST `end`) build one report.
# Never recreates an erased session.
_CLAIM_FINISH = """
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
return redis.call('HSETNX', KEYS[1], 'finishing_at', ARGV[1])
"""
FINISH_WAIT_S = 60.0


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


async def _finished_report(services: Services, session_id: str) -> dict[str, Any]:
    """The report of a session another caller is finishing: wait for it to be stored."""
    deadline = time.monotonic() + FINISH_WAIT_S
    while (report := await stored_report(services, session_id)) is None:
        if time.monotonic() > deadline:
            raise TimeoutError(f"session {session_id} is still being scored")
        await asyncio.sleep(0.1)
    return report


def webhook_data(record: SessionRecord, report: dict[str, Any], url: str) -> dict[str, Any]:
    candidate = record.extra.get("candidate") or {}
    return {
        "session_id": record.id,
        "interview_id": record.interview_id,
        "status": report["status"],
        "overall_score": report.get("overall_score"),
        "verdict": report.get("verdict"),
        "report_url": url,
        "external_id": candidate.get("external_id"),
        "metadata": record.extra.get("metadata", {}),
        "tags": record.extra.get("tags", []),
    }


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


async def finish_session(
    services: Services,
    session_id: str,
    *,
    ended_early: bool,
    integrity: Mapping[str, object] | None = None,
) -> FinishResult:
    """Score and close the session. Idempotent: a second call returns the stored outcome.

    `integrity`: the voice stream's integrity sections, merged into the report."""
    redis = services.store.redis
    sessions = SessionStore(redis)
    url = report_url(services, session_id)
    record = await sessions.get(session_id)
    claimed = await redis.eval(_CLAIM_FINISH, 1, keys.session(session_id), repr(time.time()))
    if claimed == -1:
        raise SessionNotFound(f"no session {session_id}")
    if claimed == 0:
        report = await _finished_report(services, session_id)
        return FinishResult(str(report["status"]), report.get("overall_score"), url)

    transcript = await sessions.turns(session_id)
    # CPU-bound (sentence embeddings): off the event loop.
    report = await asyncio.to_thread(build_report, record.plan, transcript, ended_early=ended_early)
    if integrity is not None:
        report = merge_integrity(report, integrity)
    status = str(report["status"])
    async with redis.pipeline(transaction=True) as pipe:
        pipe.set(keys.session_report(session_id), json.dumps(report))
        pipe.hset(
            keys.session(session_id),
            mapping={"status": status, "finished_at": repr(time.time())},
        )
        await pipe.execute()
    await audit.record(
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
            data=webhook_data(record, report, url),
        )
    return FinishResult(status, report.get("overall_score"), url)
