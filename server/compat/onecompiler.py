"""OneCompiler's AI interviewer embed API (seed 000): the catalogue, the enterprise user model it
relies on (users with their own API token and a plan with a daily interview quota), sessions, the
room and its events, and the report.

- `GET /v1/ai-interviewer/catalogue`: the native catalogue (personas, tracks, built-in interviews
  with `grades` for the K-12 ones) in OneCompiler's field names. Coding interviews are
  `kind: "code"` with `hasProblem: true` (docs/coding-round.md); there is no whiteboard yet.
- `POST /v1/users`: a user of the tenant (`name`, `email`, `externalId`); the answer carries the
  user's `api.token`, shown once (stored as SHA-256). Posting the same `externalId` again syncs
  that user and issues a new token (the old one stops).
- `PUT /v1/users/plan` (with `X-User-Token`, or `userId` in the body): the user's plan and its
  daily interview quota, enforced when sessions are created (null: no per-user limit; the
  tenant's own daily quota always applies).
- `POST /v1/ai-interviewer/sessions` (`X-API-Key` and `X-User-Token`): a native session of the
  interview (`personaId`, `mode` voice/chat, `grade`), the user as the candidate; `embedUrl` is
  the room at `/embed/ai-interviewer/{id}`.
- The room opened with `?userApiToken=<the user's token>` checks that the session is that
  user's (and its tenant's) and answers a page that takes the token out of the frame's URL and
  posts it when shown; the POST issues the session a fresh token into the URL fragment (as the
  native room takes it) and closes a room open elsewhere. A GET changes nothing: link previews
  and prefetches no longer close the candidate's room (issue 24 #11). The room posts its events
  with `source: "oc-interview"`; the native room keeps `viva-interview`.
- `GET /v1/ai-interviewer/sessions/{id}`: the session, and once finished its report as
  `feedback` (score, verdict, strengths, improvements, per-skill scores, per-question feedback).

Errors are `{"status": "error", "message", "code"}`.
"""

from __future__ import annotations

import html
import secrets
import time
from typing import Annotated, Any, Literal
from urllib.parse import parse_qsl, urlencode

from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from pipeline.personas import PERSONAS
from server import embed, tenants
from server.catalogue import BUILTIN_INTERVIEWS, TRACKS
from server.compat.base import CompatEndpoint, flat_message
from server.http.body import read_body
from server.http.endpoint import Call
from server.http.errors import ApiError, NotFound, TooManyRequests, Unauthorized
from server.interviews import PersonaId
from server.lifecycle import stored_report
from server.security import revocation
from server.services import Services
from server.sessions import (
    SessionNotFound,
    SessionRecord,
    SessionStore,
    hash_token,
    is_session_id,
)
from server.storage import audit_trail, keys
from server.storage.store import Redis
from server.usecases.errors import ServiceError
from server.usecases.opening import CandidateInfo, SessionCreate, open_session

TAG = "compat: OneCompiler"
TAG_DESCRIPTION = (
    "OneCompiler's AI interviewer embed API: catalogue, users and plans, sessions, the room "
    "(/embed/ai-interviewer/{id}?userApiToken=...) and the report."
)
SOURCE = "onecompiler"
USER_KEY = "oc.user_id"
EVENT_SOURCE = "oc-interview"
USER_TOKEN_HEADER = "x-user-token"
DAY_S = 86_400
NOT_FOUND_PAGE = "<!doctype html><title>Not found</title><p>This interview link is not valid.</p>"
SCHEMES = {
    "UserToken": {
        "type": "apiKey",
        "in": "header",
        "name": "X-User-Token",
        "description": "the `api.token` of a user made with POST /v1/users",
    }
}
BOTH = (("ApiKey", "UserToken"),)
Text = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)]


# -- the catalogue ---------------------------------------------------------------------------


class OcPersona(BaseModel):
    id: str
    name: str
    title: str


class OcTrack(BaseModel):
    id: str
    cat: str = Field(description="technical | behavioral | k12")
    name: str


class OcInterview(BaseModel):
    id: str
    title: str
    level: str
    mins: int
    kind: str = Field(description="the interview type, e.g. behavioral or system_design")
    skills: list[str]
    blurb: str
    hasProblem: bool = Field(description="a coding problem in the room's editor")
    grades: list[str] | None = Field(None, description="K-12: sessions need one as `grade`")


class OcCatalogue(BaseModel):
    status: Literal["success"] = "success"
    personas: list[OcPersona]
    tracks: list[OcTrack]
    interviews: dict[str, list[OcInterview]]


async def oc_catalogue(call: Call[None, None]) -> Response:
    """The tracks, the interviews per track and the interviewer personas."""
    catalogue = OcCatalogue(
        personas=[OcPersona(id=p.id, name=p.name, title=p.title) for p in PERSONAS.values()],
        tracks=[OcTrack(id=t.id, cat=t.category, name=t.name) for t in TRACKS],
        interviews={
            track.id: [
                OcInterview(
                    id=i.id,
                    title=i.title,
                    level=i.level,
                    mins=i.minutes,
                    kind=i.catalogue_kind,
                    skills=list(i.skills),
                    blurb=i.blurb,
                    hasProblem=bool(i.problems),
                    grades=list(i.grades) or None,
                )
                for i in BUILTIN_INTERVIEWS
                if i.track == track.id
            ]
            for track in TRACKS
        },
    )
    # `grades` only on the interviews that have them, as in OneCompiler's catalogue.
    return JSONResponse(catalogue.model_dump(mode="json", exclude_none=True))


# -- users and plans -------------------------------------------------------------------------


class UserIn(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True)
    name: Text = ""
    email: Text = ""
    externalId: Text = Field("", description="your id for the user; posting it again syncs")


class PlanIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    userId: str | None = Field(None, max_length=100, description="else the X-User-Token's user")
    plan: Text = Field(min_length=1, description="the plan's name")
    dailyInterviewQuota: int | None = Field(
        description="sessions the user may create per UTC day; null: no per-user limit",
        ge=0,
        le=100_000,
    )


class OcPlan(BaseModel):
    name: str
    dailyInterviewQuota: int | None


class OcApi(BaseModel):
    token: str


class OcUser(BaseModel):
    # OneCompiler's ids are `_id`, a name pydantic keeps for private attributes: an alias.
    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)
    id: str = Field(alias="_id")
    name: str
    email: str
    externalId: str
    plan: OcPlan
    api: OcApi | None = Field(None, description="the user's token: only when it is issued")


class UserOut(BaseModel):
    status: Literal["success"] = "success"
    user: OcUser


def _user_view(user_id: str, data: dict[str, str], token: str | None = None) -> OcUser:
    quota = data.get("daily_quota")
    return OcUser(
        id=user_id,
        name=data.get("name", ""),
        email=data.get("email", ""),
        externalId=data.get("external_id", ""),
        plan=OcPlan(
            name=data.get("plan", "default"),
            dailyInterviewQuota=int(quota) if quota not in (None, "") else None,
        ),
        api=OcApi(token=token) if token else None,
    )


async def _hash(redis: Redis, key: str) -> dict[str, str]:
    return {str(k): str(v) for k, v in (await redis.hgetall(key)).items()}


async def _issue_token(redis: Redis, user_id: str, old_hash: str | None) -> tuple[str, str]:
    token = "ocu_" + secrets.token_urlsafe(32)
    # The new token, then the old one goes (two slots on a Redis Cluster).
    await redis.set(keys.compat_user_token(hash_token(token)), user_id)
    if old_hash:
        await redis.delete(keys.compat_user_token(old_hash))
    return token, hash_token(token)


async def create_user(call: Call[UserIn | None, None]) -> UserOut:
    """Create (or, for a known `externalId`, sync) a user; returns its API token, once."""
    body = call.body or UserIn()
    redis, tenant_id = call.redis, call.tenant.tenant_id
    index = keys.tenant_compat_users(tenant_id)
    user_id = await redis.hget(index, body.externalId) if body.externalId else None
    existing = await _hash(redis, keys.compat_user(str(user_id))) if user_id else {}
    if not existing:
        user_id = "ocu_" + secrets.token_hex(8)
    user_id = str(user_id)
    fields: dict[str, str] = {
        "tenant_id": tenant_id,
        "name": body.name,
        "email": body.email,
        "external_id": body.externalId,
        "created_at": existing.get("created_at") or repr(time.time()),
    }
    if not existing:
        fields["plan"] = "default"
    token, token_hash = await _issue_token(redis, user_id, existing.get("token_hash"))
    fields["token_hash"] = token_hash
    await redis.hset(keys.compat_user(user_id), mapping=fields)  # type: ignore[arg-type]
    await redis.hset(index, body.externalId or user_id, user_id)
    data = await _hash(redis, keys.compat_user(user_id))
    return UserOut(user=_user_view(user_id, data, token))


async def _user_by_token(call: Call[Any, Any]) -> tuple[str, dict[str, str]]:
    token = call.request.headers.get(USER_TOKEN_HEADER)
    if not token:
        raise Unauthorized("Send the user's token (api.token of POST /v1/users) as X-User-Token.")
    user_id = await call.redis.get(keys.compat_user_token(hash_token(token)))
    data = await _hash(call.redis, keys.compat_user(str(user_id))) if user_id else {}
    if not data or data.get("tenant_id") != call.tenant.tenant_id:
        raise Unauthorized("The user token is unknown, replaced, or another account's.")
    return str(user_id), data


async def set_plan(call: Call[PlanIn, None]) -> UserOut:
    """Assign the user's plan and its daily interview quota."""
    if call.body.userId:
        user_id = call.body.userId
        data = await _hash(call.redis, keys.compat_user(user_id))
        if not data or data.get("tenant_id") != call.tenant.tenant_id:
            raise NotFound(f"No user {user_id}.", code="user_not_found")
    else:
        user_id, data = await _user_by_token(call)
    quota = call.body.dailyInterviewQuota
    await call.redis.hset(
        keys.compat_user(user_id),
        mapping={"plan": call.body.plan, "daily_quota": "" if quota is None else str(quota)},
    )
    return UserOut(user=_user_view(user_id, await _hash(call.redis, keys.compat_user(user_id))))


async def _take_user_session(redis: Redis, user_id: str, quota: int | None) -> int | None:
    """Use one of the user's sessions for today; 429 past the plan's quota. The day's key, to
    give it back if the session is not opened after all."""
    if quota is None:
        return None
    now = time.time()
    day = int(now // DAY_S)
    key = keys.compat_user_quota(user_id, day)
    async with redis.pipeline(transaction=True) as pipe:
        pipe.incr(key)
        pipe.expire(key, DAY_S + 1)
        count, _ = await pipe.execute()
    if int(count) > quota:
        await redis.decr(key)
        retry = int((day + 1) * DAY_S - now) + 1
        raise TooManyRequests(
            f"The user's plan allows {quota} interviews a day; today's are used.",
            retry_after_s=retry,
            code="user_quota_exceeded",
        )
    return day


# -- sessions --------------------------------------------------------------------------------


class SessionIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    interviewId: str = Field(min_length=1, max_length=100, description="a catalogue id (or yours)")
    personaId: PersonaId = "maya"
    mode: Literal["voice", "chat"] = "voice"
    grade: str | None = Field(None, max_length=50, description="required for K-12 interviews")


class OcSessionRef(BaseModel):
    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)
    id: str = Field(alias="_id")
    interviewId: str
    status: Literal["active", "completed"]


class SessionCreated(BaseModel):
    status: Literal["success"] = "success"
    session: OcSessionRef
    embedUrl: str


class SkillScore(BaseModel):
    name: str
    score: int | None


class QuestionFeedback(BaseModel):
    q: str
    answer: str
    score: int
    feedback: str


class OcFeedback(BaseModel):
    score: int | None
    verdict: str
    strengths: list[str]
    improvements: list[str]
    skills: list[SkillScore]
    questions: list[QuestionFeedback]


class OcSession(BaseModel):
    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)
    id: str = Field(alias="_id")
    interviewId: str
    status: Literal["active", "completed"]
    result: str = Field(description="native: created, active, completed, partial, low_confidence")
    mode: str
    personaId: str
    grade: str | None
    score: int | None
    feedback: OcFeedback | None


class SessionOut(BaseModel):
    status: Literal["success"] = "success"
    session: OcSession


def _oc_status(record: SessionRecord) -> Literal["active", "completed"]:
    return "completed" if record.is_finished else "active"


def room_url(services: Services, session_id: str) -> str:
    return f"{services.settings.base_url()}/embed/ai-interviewer/{session_id}"


async def create_oc_session(call: Call[SessionIn, None]) -> SessionCreated:
    """A session of a catalogue interview for the user; counts toward the user's daily quota."""
    user_id, user = await _user_by_token(call)
    quota = user.get("daily_quota")
    day = await _take_user_session(call.redis, user_id, int(quota) if quota else None)
    body = call.body
    create = SessionCreate(
        interview_id=body.interviewId,
        persona_id=body.personaId,
        mode=body.mode,
        grade=body.grade,
        candidate=CandidateInfo(external_id=user.get("external_id") or user_id),
        metadata={"source": SOURCE, USER_KEY: user_id},
    )
    try:
        record, _token = await open_session(
            call.services, call.tenant.tenant_id, call.tenant.actor, create
        )
    except ServiceError:
        if day is not None:
            await call.redis.decr(keys.compat_user_quota(user_id, day))
        raise
    # The session token is not shown: the room gets a fresh one for the user's token.
    return SessionCreated(
        session=OcSessionRef(id=record.id, interviewId=body.interviewId, status="active"),
        embedUrl=room_url(call.services, record.id),
    )


def feedback_of(report: dict[str, Any]) -> OcFeedback:
    return OcFeedback(
        score=report.get("overall_score"),
        verdict=report.get("verdict") or "",
        strengths=report.get("strengths") or [],
        improvements=report.get("improvements") or [],
        skills=[
            SkillScore(name=c["name"], score=c.get("score")) for c in report.get("competencies", [])
        ],
        questions=[
            QuestionFeedback(
                q=q["question"],
                answer=q["answer"],
                score=q["score"],
                feedback=q.get("feedback", ""),
            )
            for q in report.get("questions", [])
        ],
    )


async def get_oc_session(call: Call[None, None]) -> SessionOut:
    """The session; once finished, the report as `feedback`."""
    user_id, _ = await _user_by_token(call)
    session_id = call.path("session_id")
    try:
        record = await SessionStore(call.redis).get(session_id)
    except SessionNotFound:
        record = None
    if (
        record is None
        or record.tenant_id != call.tenant.tenant_id
        or (record.extra.get("metadata") or {}).get(USER_KEY) != user_id
    ):  # another tenant's session naming this user in its metadata is not the user's
        raise NotFound(f"No session {session_id} for this user.", code="session_not_found")
    report = await stored_report(call.services, record.id) if record.is_finished else None
    return SessionOut(
        session=OcSession(
            id=record.id,
            interviewId=record.interview_id,
            status=_oc_status(record),
            result=record.status,
            mode=record.mode,
            personaId=str(record.extra.get("persona_id") or record.plan.persona_id),
            grade=record.extra.get("grade"),
            score=report.get("overall_score") if report else None,
            feedback=feedback_of(report) if report else None,
        )
    )


# -- the room --------------------------------------------------------------------------------


ROOM_FORM_MAX_BYTES = 4096
# The page a GET of the room with a user's token answers: it changes nothing (a link preview, a
# prefetch or a prerender must not take the room from the candidate), takes the token out of
# the frame's URL at once, and posts it (in the body, never a URL) when the page is shown.
ROOM_OPENER = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Interview</title>
<meta name="referrer" content="no-referrer"></head>
<body><form id="open" method="post" action="{action}">
<input type="hidden" name="userApiToken" value="{token}">
<button type="submit">Open the interview</button></form>
<script nonce="{nonce}">
(function () {{
  history.replaceState(null, "", "{action}");
  var form = document.getElementById("open");
  var sent = false;
  function go() {{
    if (sent || document.prerendering || document.visibilityState !== "visible") return;
    sent = true;
    form.submit();
  }}
  document.addEventListener("prerenderingchange", go);
  document.addEventListener("visibilitychange", go);
  go();
}})();
</script></body></html>
"""


async def _room_user(
    redis: Redis, session_id: str, user_token: str | None
) -> tuple[str | None, SessionRecord | None]:
    """(the user the token names or None; the session when it is that user's, of the user's
    tenant, else None). Reads only."""
    found = await redis.get(keys.compat_user_token(hash_token(user_token))) if user_token else None
    if not found:
        return None, None
    user_id = str(found)
    user = await _hash(redis, keys.compat_user(user_id))
    if not is_session_id(session_id):  # a crafted id would name another key
        return user_id, None
    try:
        record = await SessionStore(redis).get(session_id)
    except SessionNotFound:
        return user_id, None
    mine = (record.extra.get("metadata") or {}).get(USER_KEY) == user_id
    if not mine or not user or record.tenant_id != user.get("tenant_id"):
        return user_id, None  # another user's, or another tenant's session naming this user
    return user_id, record


def _not_found_page() -> Response:
    return HTMLResponse(NOT_FOUND_PAGE, status_code=404, headers={"Cache-Control": "no-store"})


def _room_query(request: Request) -> list[tuple[str, str]]:
    return [(k, v) for k, v in request.query_params.multi_items() if k != "userApiToken"]


async def oc_room(request: Request) -> Response:
    """`GET /embed/ai-interviewer/{id}?userApiToken=<user token>`: the session's user opens the
    room. The GET only checks and answers a page that posts the token (issue 24 #11: a GET that
    minted a token closed the live room for every link preview and prefetch). Anything else (a
    session token in the URL, the fragment) is the native room's."""
    services: Services = request.app.state.services
    session_id = str(request.path_params["session_id"])
    user_token = request.query_params.get("userApiToken")
    user_id, record = await _room_user(services.store.redis, session_id, user_token)
    if user_id is None:
        return await embed.room_page(request)
    if record is None:
        return _not_found_page()
    tenant = await tenants.get_tenant(services.store.redis, record.tenant_id)
    kept = _room_query(request)
    action = request.url.path + (f"?{urlencode(kept)}" if kept else "")
    nonce = secrets.token_urlsafe(16)
    page = ROOM_OPENER.format(
        action=html.escape(action, quote=True),
        token=html.escape(user_token or "", quote=True),
        nonce=nonce,
    )
    csp = (
        f"default-src 'none'; script-src 'nonce-{nonce}'; form-action 'self'; base-uri 'none'; "
        + embed.frame_ancestors(tenant.embed_origins if tenant else ())
    )
    return HTMLResponse(
        page,
        headers={
            "Content-Security-Policy": csp,
            "Referrer-Policy": "no-referrer",
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )


async def oc_room_open(request: Request) -> Response:
    """`POST /embed/ai-interviewer/{id}` (form field `userApiToken`): the user's token exchanged
    for a fresh session token, in the fragment of the room it redirects to; a room open
    elsewhere closes."""
    services: Services = request.app.state.services
    redis = services.store.redis
    session_id = str(request.path_params["session_id"])
    try:
        raw = await read_body(request, ROOM_FORM_MAX_BYTES)
    except ApiError as exc:
        return exc.response()
    form = dict(parse_qsl(raw.decode("utf-8", "replace")))
    user_id, record = await _room_user(redis, session_id, form.get("userApiToken"))
    if user_id is None or record is None:
        return _not_found_page()
    try:
        token, _ = await SessionStore(redis).reissue_token(
            session_id, services.settings.session_token_ttl_s
        )
    except SessionNotFound:
        return _not_found_page()
    await revocation.revoke(redis, session_id, "reinvited")  # a room open elsewhere closes
    await audit_trail.record(
        redis, session_id, "room_opened", f"user:{user_id}", via="userApiToken"
    )
    kept = [(k, v) for k, v in _room_query(request) if k != "events"] + [("events", EVENT_SOURCE)]
    return RedirectResponse(
        f"{request.url.path}?{urlencode(kept)}#{urlencode({'token': token})}",
        status_code=303,
        headers={"Referrer-Policy": "no-referrer", "Cache-Control": "no-store"},
    )


# -- errors and endpoints --------------------------------------------------------------------


# Native errors of the session it opens, under OneCompiler's names.
NATIVE_NAMES = {"interview_id": "interviewId", "persona_id": "personaId"}


class OcError(BaseModel):
    status: Literal["error"] = "error"
    code: str
    message: str


def render_error(exc: ApiError) -> Response:
    headers = {"Retry-After": exc.headers["Retry-After"]} if "Retry-After" in exc.headers else {}
    body = OcError(code=exc.code, message=flat_message(exc, NATIVE_NAMES))
    return JSONResponse(body.model_dump(), status_code=exc.status, headers=headers)


_COMMON: dict[str, Any] = {
    "render_error": render_error,
    "error_model": OcError,
    "security_schemes": SCHEMES,
    "tag_description": TAG_DESCRIPTION,
}
ENDPOINTS = (
    CompatEndpoint(
        "GET",
        "/v1/ai-interviewer/catalogue",
        oc_catalogue,
        "The interview catalogue: personas, tracks, interviews by track",
        TAG,
        response=OcCatalogue,
        statuses=(401, 429),
        **_COMMON,
    ),
    CompatEndpoint(
        "POST",
        "/v1/users",
        create_user,
        "Create or sync a user; returns its API token",
        TAG,
        body=UserIn,
        body_required=False,
        response=UserOut,
        statuses=(400, 401, 413, 429),
        **_COMMON,
    ),
    CompatEndpoint(
        "PUT",
        "/v1/users/plan",
        set_plan,
        "Assign a user's plan and daily interview quota",
        TAG,
        body=PlanIn,
        response=UserOut,
        statuses=(400, 401, 404, 413, 429),
        security=((*BOTH[0],), ("ApiKey",)),
        **_COMMON,
    ),
    CompatEndpoint(
        "POST",
        "/v1/ai-interviewer/sessions",
        create_oc_session,
        "Create a session for a user; the room's embed URL",
        TAG,
        body=SessionIn,
        response=SessionCreated,
        statuses=(400, 401, 404, 413, 429),
        security=BOTH,
        **_COMMON,
    ),
    CompatEndpoint(
        "GET",
        "/v1/ai-interviewer/sessions/{session_id}",
        get_oc_session,
        "A user's session and, once finished, its report",
        TAG,
        response=SessionOut,
        statuses=(401, 404, 429),
        security=BOTH,
        **_COMMON,
    ),
)
room_routes = [
    Route("/embed/ai-interviewer/{session_id}", oc_room, methods=["GET"]),
    Route("/embed/ai-interviewer/{session_id}", oc_room_open, methods=["POST"]),
]
