"""Loading a session for a caller: another tenant's session is simply not there (404)."""

from __future__ import annotations

import time
from typing import Any

from server.http.endpoint import Call
from server.http.errors import NotFound, Unauthorized
from server.security.auth import CandidateCaller, TenantCaller
from server.sessions import SessionNotFound, SessionRecord, SessionStore


async def session_for(call: Call[Any, Any]) -> SessionRecord:
    session_id = call.path("session_id")
    try:
        record = await SessionStore(call.redis).get(session_id)
    except SessionNotFound as exc:
        raise NotFound(f"No session {session_id}.") from exc
    caller = call.caller
    if isinstance(caller, TenantCaller) and record.tenant_id != caller.tenant_id:
        raise NotFound(f"No session {session_id}.")
    if isinstance(caller, CandidateCaller) and record.expires_at < time.time():
        raise Unauthorized("The session token has expired.")
    return record
