"""The interview room: the embeddable page, its assets, session info for it (and the demo host,
`server/demo.py`).

The candidate's session token reaches the room in the URL fragment, which browsers never send,
so the page itself is public: it holds nothing but the session id and the origins allowed to
frame it. The room then calls `/embed/api/{id}` and the stream with the token in a header.
"""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

import web
from pipeline.coding.whiteboard import has_whiteboard
from pipeline.personas import get_persona
from server import demo, tenants
from server.lifecycle import stored_report
from server.services import Services
from server.sessions import InvalidToken, SessionNotFound, SessionStore, is_session_id

STATIC_DIR = Path(web.__file__).resolve().parent / "static"
STATIC_PATH = "/embed/static"
TOKEN_PARAMS = ("token", "userApiToken")
DEFAULT_EVENT_SOURCE = "viva-interview"
EVENT_SOURCES = {"oc-interview": "oc-interview"}  # `?events=` values the room accepts

# What the room's page may do; the frame-ancestors part is added per tenant.
_ROOM_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self' {ws}; base-uri 'none'; form-action 'none'"
)
PERMISSIONS_POLICY = "microphone=(self), autoplay=(self)"


def _services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)


def frame_ancestors(origins: tuple[str, ...]) -> str:
    """The CSP directive naming who may frame the room: the tenant's origins, and this server
    (for the demo page)."""
    return " ".join(("frame-ancestors", "'self'", *origins))


def _ws_origin(request: Request) -> str:
    scheme = "wss" if request.url.scheme == "https" else "ws"
    return f"{scheme}://{request.url.netloc}"


def _render_room(config: dict[str, object]) -> str:
    template = (STATIC_DIR / "room.html").read_text()
    # JSON inside <script type="application/json">: escape "<" so no value can close the tag.
    payload = json.dumps(config).replace("<", "\\u003c")
    return template.replace("{{ROOM_CONFIG}}", payload)


async def room_page(request: Request) -> Response:
    session_id = request.path_params["session_id"]
    query = request.query_params
    token = next((query[name] for name in TOKEN_PARAMS if query.get(name)), None)
    if token is not None:
        # Move a query-string token into the fragment at once: fragments never reach a server,
        # a Referer or a proxy log, and the room reads the token from there.
        kept = [(k, v) for k, v in query.multi_items() if k not in TOKEN_PARAMS]
        location = request.url.path + (f"?{urlencode(kept)}" if kept else "")
        return RedirectResponse(
            f"{location}#{urlencode({'token': token})}",
            status_code=303,
            headers={"Referrer-Policy": "no-referrer", "Cache-Control": "no-store"},
        )
    services = _services(request)
    try:
        if not is_session_id(session_id):  # a crafted id would name another key
            raise SessionNotFound(session_id)
        record = await SessionStore(services.store.redis).get(session_id)
    except SessionNotFound:
        return HTMLResponse(
            "<!doctype html><title>Not found</title><p>This interview link is not valid.</p>",
            status_code=404,
        )
    tenant = await tenants.get_tenant(services.store.redis, record.tenant_id)
    origins = tenant.embed_origins if tenant else ()
    config: dict[str, object] = {
        "sessionId": record.id,
        "parentOrigins": list(origins),
        "apiPath": f"/embed/api/{record.id}",
        "streamPath": f"/v1/sessions/{record.id}/stream",
        "consentPath": f"/v1/sessions/{record.id}/consent",
        "staticPath": STATIC_PATH,
        # The `source` of the events posted to the framing page: OneCompiler's room (opened
        # with a user's token, server/compat/onecompiler.py) posts "oc-interview".
        "eventSource": EVENT_SOURCES.get(query.get("events", ""), DEFAULT_EVENT_SOURCE),
    }
    csp = _ROOM_CSP.format(ws=_ws_origin(request)) + "; " + frame_ancestors(origins)
    return HTMLResponse(
        _render_room(config),
        headers={
            "Content-Security-Policy": csp,
            "Permissions-Policy": PERMISSIONS_POLICY,
            "Referrer-Policy": "no-referrer",
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )


def bearer_token(request: Request) -> str | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


async def session_info(request: Request) -> Response:
    """What the room shows before the interview starts. Needs the session token."""
    session_id = request.path_params["session_id"]
    if not is_session_id(session_id):  # a crafted id would name another key
        return _error(404, "session_not_found", "no such session")
    token = bearer_token(request)
    if token is None:
        return _error(401, "missing_token", "send the session token as Authorization: Bearer")
    services = _services(request)
    try:
        record = await SessionStore(services.store.redis).authorize(session_id, token)
    except (SessionNotFound, InvalidToken):
        # One answer whether the session exists or not: the caller learns nothing from it.
        return _error(401, "invalid_token", "the session token is wrong or expired")
    persona = get_persona(record.plan.persona_id)
    report = await stored_report(services, record.id) if record.is_finished else None
    return JSONResponse(
        {
            "session_id": record.id,
            "status": record.status,
            "finished": record.is_finished,
            "mode": record.mode,
            "practice": record.plan.practice,
            "question_count": len(record.plan.questions),
            "candidate_first_name": record.plan.candidate_first_name,
            # What the room shows beside the conversation (issue 25): the coding round's editor
            # (GET .../code/problem), the whiteboard (GET .../whiteboard).
            "workspace": {
                "code": bool(record.extra.get("coding")),
                "whiteboard": has_whiteboard(record.plan.interview_type),
            },
            "persona": {
                "id": persona.id,
                "name": persona.name,
                "title": persona.title,
                "description": persona.description,
            },
            "result": None
            if report is None
            else {"score": report.get("overall_score"), "verdict": report.get("verdict")},
        },
        headers={"Cache-Control": "no-store"},
    )


_TOKEN_IN_URL = re.compile(r"((?:^|[?&])(?:token|userApiToken)=)[^&\s\"]*")


class RedactTokens(logging.Filter):
    """Blank session tokens in logged request paths (uvicorn logs the query string)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                _TOKEN_IN_URL.sub(r"\1[redacted]", arg) if isinstance(arg, str) else arg
                for arg in record.args
            )
        return True


def install_log_redaction() -> None:
    for name in ("uvicorn.access", "uvicorn.error"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactTokens) for f in logger.filters):
            logger.addFilter(RedactTokens())


routes: list[BaseRoute] = [
    Mount(STATIC_PATH, app=StaticFiles(directory=STATIC_DIR), name="room-static"),
    Route("/embed/api/{session_id}", session_info, methods=["GET"]),
    Route("/embed/ai-interviewer/{session_id}", room_page, methods=["GET"]),
    Route("/embed/{session_id}", room_page, methods=["GET"]),
    *demo.routes,
]
