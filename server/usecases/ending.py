"""Ending a session away from its stream (an answer that closed the interview, `end`): scored
once by `server.lifecycle.finish_session`, and a socket still streaming it closes."""

from __future__ import annotations

from server.lifecycle import FinishPending, FinishResult, finish_session
from server.security import revocation
from server.services import Services
from server.sessions import SessionNotFound, SessionRecord
from server.storage import audit_trail
from server.usecases.errors import Conflicting, Missing


async def finish(services: Services, session_id: str, *, ended_early: bool) -> FinishResult:
    """Score and close the session; a socket still streaming it closes (`ended`)."""
    try:
        result = await finish_session(services, session_id, ended_early=ended_early)
    except SessionNotFound as exc:  # erased meanwhile
        raise Missing(f"No session {session_id}.") from exc
    except FinishPending as exc:
        raise Conflicting(
            "The interview is being scored; ask again in a minute.", code="being_scored"
        ) from exc
    await revocation.revoke(services.store.redis, session_id, "ended")
    return result


async def end(services: Services, record: SessionRecord, actor: str) -> FinishResult:
    """End now and score what was said; `ended` in the audit log the first time."""
    result = await finish(services, record.id, ended_early=True)
    if not record.is_finished:
        await audit_trail.record(services.store.redis, record.id, "ended", actor)
    return result
