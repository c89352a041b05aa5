"""Ending a session: status, report, and what follows (webhooks).

Both the stream and the REST API end sessions through `finish_session`, so a session ends the
same way whichever door it leaves by.
"""

from __future__ import annotations

from dataclasses import dataclass

from server.services import Services
from server.sessions import SessionStore


@dataclass(frozen=True)
class FinishResult:
    status: str  # completed | partial | low_confidence
    score: int | None
    report_url: str


async def finish_session(services: Services, session_id: str, *, ended_early: bool) -> FinishResult:
    """Mark the session finished. Idempotent: a second call returns the stored outcome."""
    sessions = SessionStore(services.store.redis)
    record = await sessions.get(session_id)
    status = record.status if record.is_finished else ("partial" if ended_early else "completed")
    if not record.is_finished:
        await sessions.set_status(session_id, status)
    return FinishResult(
        status=status,
        score=None,
        report_url=f"{services.settings.base_url()}/v1/sessions/{session_id}",
    )
