"""The per-session audit log: an append-only Redis stream of who did what, and with what.

Scoring entries carry the engine and rubric versions, so a report can be traced to the code that
produced it. Entries are never edited; deleting a session erases its log with it, leaving only a
content-free "deleted" entry in the tenant's log. An entry for a session that is gone (or being
erased) is dropped, never recreating its log.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from server.storage import guard, keys
from server.storage.store import Redis


@dataclass(frozen=True)
class AuditEntry:
    id: str
    at: float
    action: str
    actor: str  # tenant:{id} | candidate | system
    detail: dict[str, Any]


async def record(redis: Redis, session_id: str, action: str, actor: str, **detail: Any) -> bool:
    """Append an entry while the session exists; False when it is gone or being erased."""
    entry = await guard.xadd(
        redis,
        session_id,
        keys.session_audit(session_id),
        {"at": repr(time.time()), "action": action, "actor": actor, "detail": json.dumps(detail)},
    )
    return entry is not None


async def entries(redis: Redis, session_id: str) -> list[AuditEntry]:
    raw: list[tuple[str, dict[str, str]]] = await redis.xrange(keys.session_audit(session_id))  # type: ignore[assignment]
    return [
        AuditEntry(
            id=entry_id,
            at=float(fields["at"]),
            action=fields["action"],
            actor=fields["actor"],
            detail=json.loads(fields.get("detail") or "{}"),
        )
        for entry_id, fields in raw
    ]


async def record_deletion(redis: Redis, tenant_id: str, session_id: str, actor: str) -> None:
    """Deletion outlives the session: the tenant's log keeps the id and time, nothing else."""
    await redis.xadd(
        keys.tenant_audit(tenant_id),
        {"at": repr(time.time()), "action": "deleted", "actor": actor, "session_id": session_id},
    )
