"""`/v1/sessions`: create, read, list, reinvite, delete; audit log and recording (reviews and the
PDF report: server/api/reviews.py)."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from starlette.background import BackgroundTask
from starlette.responses import FileResponse, Response

from server.api.schemas import Progress, SessionStatus, progress_of, timestamp
from server.compat import zenhire
from server.http.access import session_for
from server.http.endpoint import Call, Endpoint
from server.http.errors import ApiError, Conflict, NotFound
from server.lifecycle import report_url, stored_report
from server.phone import credentials as phone_credentials
from server.phone import outbound as phone_outbound
from server.review import reviews
from server.review.reviews import ReviewView
from server.security import revocation
from server.security.secret_key import server_key
from server.sessions import SessionNotFound, SessionRecord, SessionStore
from server.settings import Settings
from server.storage import audit_trail, guard, keys
from server.storage.erasure import erase_session
from server.storage.recordings import StorageUnavailable, read_track
from server.usecases.opening import CandidateInfo, SessionCreate, open_session

TAG = "sessions"
# Reopen a partial session for a reinvite, only while it is there. KEYS: record, marker, report.
_REOPEN = f"""
if not ({guard.LIVE}) then return 0 end
redis.call('HDEL', KEYS[1], 'finishing_at', 'finished_at')
redis.call('HSET', KEYS[1], 'status', 'active')
redis.call('DEL', KEYS[3])
return 1
"""


class SessionRef(BaseModel):
    id: str
    status: SessionStatus


class SessionAccess(BaseModel):
    """What the candidate's browser needs; the token is shown only here."""

    session: SessionRef
    token: str
    expires_at: datetime
    embed_url: str
    stream_url: str
    phone_pin: str | None = Field(None, description='mode "phone": the PIN to key in on the call')


class ConsentView(BaseModel):
    version: str
    at: datetime


class SessionView(BaseModel):
    id: str
    status: SessionStatus
    mode: Literal["voice", "chat", "phone"]
    practice: bool
    interview_id: str
    persona_id: str
    grade: str | None
    candidate: CandidateInfo
    metadata: dict[str, Any]
    tags: list[str]
    webhook_url: str | None
    created_at: datetime
    expires_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    consent: ConsentView | None
    progress: Progress
    report_url: str
    report: dict[str, Any] | None = Field(description="present once the session is scored")
    review: ReviewView | None = Field(
        None,
        description="the latest reviewer's decision on this report (POST .../review): the"
        " machine's and the reviewer's values side by side; `report` stays the machine's",
    )
    phone: dict[str, Any] | None = Field(
        None, description="calls: the number masked to its last 4 digits (in full: audit log)"
    )


class SessionSummary(BaseModel):
    id: str
    status: SessionStatus
    mode: Literal["voice", "chat", "phone"]
    interview_id: str
    candidate: CandidateInfo
    tags: list[str]
    metadata: dict[str, Any]
    created_at: datetime


class SessionPage(BaseModel):
    items: list[SessionSummary]
    offset: int
    limit: int
    next_offset: int | None


class SessionQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    status: SessionStatus | None = None
    tag: str | None = Field(None, max_length=64)
    external_id: str | None = Field(None, max_length=200)
    metadata_key: str | None = Field(None, max_length=64, description="sessions having this key")
    metadata_value: str | None = Field(None, max_length=500, description="...with this value")
    offset: int = Field(0, ge=0, le=1_000_000)
    limit: int = Field(20, ge=1, le=100)


class AuditEntryView(BaseModel):
    id: str
    at: datetime
    action: str
    actor: str = Field(description="tenant:{id} | candidate | system")
    detail: dict[str, Any]


class AuditLog(BaseModel):
    session_id: str
    entries: list[AuditEntryView]


class RecordingQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    track: Literal["candidate", "full"] = "full"


def access(settings: Settings, record: SessionRecord, token: str) -> SessionAccess:
    base = settings.base_url()
    ws_base = "wss" + base[5:] if base.startswith("https") else "ws" + base[4:]
    return SessionAccess(
        session=SessionRef(id=record.id, status=record.status),
        token=token,
        expires_at=timestamp(record.expires_at),
        embed_url=f"{base}/embed/{record.id}#token={token}",
        stream_url=f"{ws_base}/v1/sessions/{record.id}/stream",
    )


async def create_session(call: Call[SessionCreate, None]) -> SessionAccess:
    record, token = await open_session(
        call.services, call.tenant.tenant_id, call.tenant.actor, call.body
    )
    view = access(call.services.settings, record, token)
    if record.mode == "phone":
        view.phone_pin = await _phone_pin(call, record.id)
    return view


async def _phone_pin(call: Call[Any, Any], session_id: str) -> str:
    """A new phone PIN for the session (its last one stops working): 24 h, within the token."""
    settings = call.services.settings
    ttl = min(settings.phone_pin_ttl_s, settings.session_token_ttl_s)
    return await phone_credentials.issue_pin(call.redis, server_key(settings), session_id, ttl)


async def session_view(call: Call[Any, Any], record: SessionRecord) -> SessionView:
    sessions = SessionStore(call.redis)
    turns = await sessions.turns(record.id)
    times = await sessions.field_values(record.id, "started_at", "finished_at")
    consent = await sessions.consent(record.id)
    extra = record.extra
    report = await stored_report(call.services, record.id)
    return SessionView(
        id=record.id,
        status=record.status,
        mode=record.mode,
        practice=bool(extra.get("practice", record.plan.practice)),
        interview_id=record.interview_id,
        persona_id=str(extra.get("persona_id") or record.plan.persona_id),
        grade=extra.get("grade"),
        candidate=CandidateInfo.model_validate(extra.get("candidate") or {}),
        metadata=extra.get("metadata") or {},
        tags=extra.get("tags") or [],
        webhook_url=extra.get("webhook_url"),
        created_at=timestamp(record.created_at),
        expires_at=timestamp(record.expires_at),
        started_at=timestamp(times.get("started_at")),
        finished_at=timestamp(times.get("finished_at")),
        consent=ConsentView(version=consent["version"], at=timestamp(consent["at"]))
        if consent
        else None,
        progress=progress_of(record, turns),
        report_url=report_url(call.services, record.id),
        report=report,
        review=await reviews.current(call.redis, record.id, report),
        phone=extra.get("phone"),
    )


async def get_session(call: Call[None, None]) -> SessionView | zenhire.ZenHireResult:
    """With `?format=zenhire`: the result in ZenHire's shape (server/compat/zenhire.py)."""
    record = await session_for(call)
    if call.request.query_params.get("format") == zenhire.FORMAT:
        return await zenhire.result_for(call.services, record)
    return await session_view(call, record)


def _matches(record: SessionRecord, q: SessionQuery) -> bool:
    extra = record.extra
    metadata = extra.get("metadata") or {}
    return (
        (q.status is None or record.status == q.status)
        and (q.tag is None or q.tag in (extra.get("tags") or []))
        and (
            q.external_id is None
            or (extra.get("candidate") or {}).get("external_id") == q.external_id
        )
        and (q.metadata_key is None or q.metadata_key in metadata)
        and (
            q.metadata_value is None
            or q.metadata_key is None
            or str(metadata.get(q.metadata_key)) == q.metadata_value
        )
    )


async def list_sessions(call: Call[None, SessionQuery]) -> SessionPage:
    """Filters are applied while walking the tenant's index, newest first."""
    q = call.query
    sessions = SessionStore(call.redis)
    skipped, more = 0, False
    items: list[SessionSummary] = []
    async for session_id in sessions.tenant_session_ids(call.tenant.tenant_id):
        try:
            record = await sessions.get(session_id)
        except SessionNotFound:  # erased between the index read and now
            continue
        if not _matches(record, q):
            continue
        if skipped < q.offset:
            skipped += 1
            continue
        if len(items) == q.limit:
            more = True
            break
        items.append(
            SessionSummary(
                id=record.id,
                status=record.status,
                mode=record.mode,
                interview_id=record.interview_id,
                candidate=CandidateInfo.model_validate(record.extra.get("candidate") or {}),
                tags=record.extra.get("tags") or [],
                metadata=record.extra.get("metadata") or {},
                created_at=timestamp(record.created_at),
            )
        )
    return SessionPage(
        items=items,
        offset=q.offset,
        limit=q.limit,
        next_offset=q.offset + q.limit if more else None,
    )


async def reinvite_session(call: Call[None, None]) -> SessionAccess:
    """A fresh token and link. A partial session reopens where it stopped."""
    record = await session_for(call)
    if record.status == "completed":
        raise Conflict("The interview is already completed.", code="session_finished")
    sessions = SessionStore(call.redis)
    if record.is_finished:
        reopened = await call.redis.eval(
            _REOPEN, 3, *guard.live_keys(record.id), keys.session_report(record.id)
        )
        if not reopened:
            raise NotFound(f"No session {record.id}.")
        record.status = "active"
    try:
        token, expires_at = await sessions.reissue_token(
            record.id, call.services.settings.session_token_ttl_s
        )
    except SessionNotFound as exc:  # erased meanwhile
        raise NotFound(f"No session {record.id}.") from exc
    record.expires_at = expires_at
    # A socket streaming with the old token closes, in whichever process serves it.
    await revocation.revoke(call.redis, record.id, "reinvited")
    await audit_trail.record(call.redis, record.id, "reinvited", call.tenant.actor)
    view = access(call.services.settings, record, token)
    # The old PIN opens nothing now, and a call in progress ends (server/phone/media.py).
    await phone_credentials.revoke_pin(call.redis, record.id)
    if record.mode == "phone":
        view.phone_pin = await _phone_pin(call, record.id)
    return view


async def delete_session(call: Call[None, None]) -> Response:
    """Erase the session everywhere: record, transcript, report, logs, recordings, index; also
    what a socket still streaming it would write back, which is closed."""
    record = await session_for(call)
    try:
        await erase_session(call.services, record, call.tenant.actor)
    except StorageUnavailable as exc:  # the session stays (writes refused): a repeat finishes
        raise _storage_unavailable(exc) from exc
    return Response(status_code=204)


class _StorageUnavailable(ApiError):
    status = 503
    code = "storage_unavailable"


def _storage_unavailable(exc: StorageUnavailable) -> ApiError:
    return _StorageUnavailable(
        f"The recordings store is unavailable ({exc}); try again.",
        headers={"Retry-After": "30"},
    )


async def get_audit(call: Call[None, None]) -> AuditLog:
    record = await session_for(call)
    entries = await audit_trail.entries(call.redis, record.id)
    return AuditLog(
        session_id=record.id,
        entries=[
            AuditEntryView(
                id=e.id,
                at=timestamp(e.at),
                action=e.action,
                actor=e.actor,
                detail=e.detail,
            )
            for e in entries
        ],
    )


async def get_recording(call: Call[None, RecordingQuery]) -> Response:
    record = await session_for(call)
    reference = await call.redis.hget(keys.session_recordings(record.id), call.query.track)
    # Every segment any socket wrote (on any host, server/storage/recordings.py), as one WAV.
    try:
        rendered = (
            await asyncio.to_thread(read_track, str(reference), call.services.settings)
            if reference
            else None
        )
    except StorageUnavailable as exc:
        raise _storage_unavailable(exc) from exc
    if rendered is None:
        raise NotFound(f"No {call.query.track} recording for session {record.id}.")
    # Silences longer than VIVA_RECORDING_MAX_GAP_S were cut: where, as [file s, session s].
    cuts = json.dumps([[round(f, 3), round(t, 3)] for f, t in rendered.cuts])
    return FileResponse(
        str(rendered.path),
        media_type="audio/wav",
        filename=f"{record.id}-{call.query.track}.wav",
        headers={"X-Viva-Timeline": cuts},
        background=BackgroundTask(rendered.discard),
    )


ENDPOINTS = (
    Endpoint(
        "POST",
        "/v1/sessions",
        create_session,
        "Create a session and its candidate token",
        TAG,
        body=SessionCreate,
        response=SessionAccess,
        status=201,
        errors=(404,),
    ),
    Endpoint(
        "GET",
        "/v1/sessions",
        list_sessions,
        "List sessions, newest first, with filters",
        TAG,
        query=SessionQuery,
        response=SessionPage,
    ),
    Endpoint(
        "GET",
        "/v1/sessions/{session_id}",
        get_session,
        "Status, progress and report",
        TAG,
        response=SessionView,
    ),
    Endpoint(
        "DELETE",
        "/v1/sessions/{session_id}",
        delete_session,
        "Erase the session, transcript, recordings and report",
        TAG,
        status=204,
        errors=(503,),
    ),
    Endpoint(
        "POST",
        "/v1/sessions/{session_id}/reinvite",
        reinvite_session,
        "A new token and link; the old token stops working",
        TAG,
        response=SessionAccess,
        errors=(409,),
    ),
    Endpoint(
        "GET",
        "/v1/sessions/{session_id}/audit",
        get_audit,
        "The session's audit log",
        TAG,
        response=AuditLog,
    ),
    Endpoint(
        "POST",
        "/v1/sessions/{session_id}/call",
        phone_outbound.call_candidate,
        "Phone the candidate (Twilio) into the session's interview",
        TAG,
        body=phone_outbound.CallCreate,
        response=phone_outbound.CallPlaced,
        status=202,
        errors=(409, 502, 503),
    ),
    Endpoint(
        "GET",
        "/v1/sessions/{session_id}/recording",
        get_recording,
        "A recording as WAV",
        TAG,
        query=RecordingQuery,
        media_type="audio/wav",
        errors=(503,),
    ),
)
