"""The local demo: a tenant of its own, provisioned on the first `viva serve` on loopback, and the
host page at `/demo` (pick an interview and a persona, talk in the embedded room, read the report).

The page stands in for a customer's product: this server plays the customer's backend, holding
the demo tenant's API key and calling the public API in-process with it; the browser gets only a
session's embed link and token, as a customer's page would.

Redis keeps only which tenant is the demo's (`viva:demo`, a hash: `tenant_id`); its key is never
stored in clear (issue 24 #13): each start issues the tenant a new key, held in the server's
memory only, and the last one stops working. It is provisioned only when `HOST` is a loopback
address unless `VIVA_DEMO=on` asks for it anywhere.

Loopback is not enough behind a reverse proxy: the usual deployment binds 127.0.0.1 and a public
proxy forwards to it. So `auto` also wants `VIVA_PUBLIC_URL` (when set) on loopback, and while
`VIVA_DEMO` is not `on` the demo's routes answer 404 to any request that came through a proxy
(it carries `Forwarded`, `X-Forwarded-*`, `X-Real-IP` or `Via`). `/demo/sessions` reads at most
`MAX_CHOICE_BYTES` of body (413 beyond, before the rest is read).
"""

from __future__ import annotations

import ipaddress
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Route

import web
from pipeline.personas import PERSONAS
from server import invites, tenants
from server.catalogue import BUILTIN_INTERVIEWS, TRACKS
from server.http.body import read_body
from server.http.errors import ApiError
from server.services import Services
from server.sessions import InvalidToken, SessionNotFound, SessionStore, is_session_id
from server.settings import Settings
from server.storage.store import Redis, Store

STATIC_DIR = Path(web.__file__).resolve().parent / "static"
DEMO_KEY = "viva:demo"
DEMO_TENANT_NAME = "Local demo"
DEMO_PATH = "/demo"
MAX_CHOICE_BYTES = 4096  # the page sends a few ids
# Headers a reverse proxy adds: a request carrying one did not come from this machine's browser.
PROXY_HEADERS = ("forwarded", "x-forwarded-for", "x-forwarded-host", "x-real-ip", "via")

# A catalogue interview and a persona, when the page asks for nothing in particular.
DEMO_SESSION: dict[str, Any] = {
    "interview_id": "behavioral-1",
    "persona_id": "maya",
    "practice": True,
}


def is_loopback(host: str) -> bool:
    """`127.0.0.0/8`, `::1` or `localhost`: reachable from this machine only."""
    host = host.strip().strip("[]").lower()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def public_url_is_local(settings: Settings) -> bool:
    """`VIVA_PUBLIC_URL` unset (links are built from `HOST`) or naming a loopback host."""
    if not settings.public_url:
        return True
    return is_loopback(urlsplit(settings.public_url).hostname or "")


def wanted(settings: Settings, host: str) -> bool:
    """Whether `viva serve` serves the demo: `auto` when both the bound address and the public
    URL are loopback (a loopback server behind a public proxy is public), `on` anywhere."""
    if settings.demo == "on":
        return True
    return settings.demo == "auto" and is_loopback(host) and public_url_is_local(settings)


def to_provision(settings: Settings, host: str) -> bool:
    """Whether `viva serve` provisions the demo tenant: wanted, and no key of the operator's."""
    return wanted(settings, host) and not settings.demo_api_key


def demo_origins(settings: Settings, host: str, port: int) -> tuple[str, ...]:
    """Where the demo page is opened from: the room posts its events to these origins only."""
    origins = [f"http://127.0.0.1:{port}", f"http://localhost:{port}"]
    if host not in ("0.0.0.0", "::", "") and not is_loopback(host):
        origins.append(tenants.normalize_origin(f"http://{_url_host(host)}:{port}"))
    if settings.public_url:
        parts = urlsplit(settings.public_url)
        origins.append(tenants.normalize_origin(f"{parts.scheme}://{parts.netloc}"))
    return tuple(dict.fromkeys(origins))


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


def page_url(settings: Settings, host: str, port: int) -> str:
    """The one URL to open."""
    if settings.public_url:
        return settings.public_url.rstrip("/") + DEMO_PATH
    shown = "127.0.0.1" if host in ("0.0.0.0", "::", "") else _url_host(host)
    return f"http://{shown}:{port}{DEMO_PATH}"


@dataclass(frozen=True)
class DemoTenant:
    tenant_id: str
    api_key: str
    created: bool


async def ensure_tenant(redis: Redis, origins: tuple[str, ...]) -> DemoTenant:
    """The demo tenant, with a new key (the last one stops working): the one named in Redis
    while it is not revoked, else a new one. Its embed origins gain any of `origins` it lacks
    (another port this time, say)."""
    tenant_id = await redis.hget(DEMO_KEY, "tenant_id")
    await redis.hdel(DEMO_KEY, "api_key")  # kept in clear before issue 24 #13
    if tenant_id:
        api_key = await tenants.reissue_key(redis, str(tenant_id))
        tenant = await tenants.get_tenant(redis, str(tenant_id)) if api_key else None
        if api_key and tenant is not None:
            missing = [o for o in origins if o not in tenant.embed_origins]
            if missing:
                await tenants.set_embed_origins(redis, tenant.id, (*tenant.embed_origins, *missing))
            return DemoTenant(tenant.id, api_key, created=False)
    tenant, api_key = await tenants.create_tenant(redis, DEMO_TENANT_NAME, origins)
    await redis.hset(DEMO_KEY, mapping={"tenant_id": tenant.id})
    return DemoTenant(tenant.id, api_key, created=True)


async def provision(settings: Settings, host: str, port: int) -> DemoTenant:
    """Open the store (the embedded Valkey when `REDIS_URL` is unset), make sure the demo tenant
    exists, close it again: the server opens its own."""
    store = Store(settings.redis_url, settings.data_dir)
    await store.open()
    try:
        return await ensure_tenant(store.redis, demo_origins(settings, host, port))
    finally:
        await store.close()


# -- the routes ---------------------------------------------------------------------------------


def _services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)


def _not_found() -> Response:
    return Response("Not Found", status_code=404, media_type="text/plain")


def _bearer_token(request: Request) -> str | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


def forwarded(request: Request) -> bool:
    """The request came through a reverse proxy (it added one of PROXY_HEADERS)."""
    return any(name in request.headers for name in PROXY_HEADERS)


def _enabled(request: Request) -> bool:
    """Served, and (unless `VIVA_DEMO=on`) not to a request a proxy forwarded."""
    settings = _services(request).settings
    if not settings.demo_enabled:
        return False
    return settings.demo == "on" or not forwarded(request)


def _api(request: Request) -> httpx.AsyncClient:
    """The public API, in-process, as the demo tenant: what a customer's backend would call."""
    transport = httpx.ASGITransport(app=request.app)
    return httpx.AsyncClient(
        transport=transport,
        base_url=str(request.base_url),
        headers={"X-API-Key": _services(request).settings.demo_api_key},
        timeout=60,
    )


async def demo_page(request: Request) -> Response:
    if not _enabled(request):
        return _not_found()
    return HTMLResponse(
        (STATIC_DIR / "demo.html").read_text(),
        headers={
            "Content-Security-Policy": (
                "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
                "frame-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
            ),
            "Cache-Control": "no-store",
        },
    )


async def demo_catalogue(request: Request) -> Response:
    """What the page offers: the catalogue's interviews by track, and the personas."""
    if not _enabled(request):
        return _not_found()
    return JSONResponse(
        {
            "default": DEMO_SESSION,
            "personas": [
                {"id": p.id, "name": p.name, "title": p.title, "description": p.description}
                for p in PERSONAS.values()
            ],
            "tracks": [
                {
                    "id": t.id,
                    "name": t.name,
                    "interviews": [
                        {
                            "id": i.id,
                            "title": i.title,
                            "level": i.level,
                            "minutes": i.minutes,
                            "blurb": i.blurb,
                            "grades": list(i.grades),
                        }
                        for i in BUILTIN_INTERVIEWS
                        if i.track == t.id
                    ],
                }
                for t in TRACKS
            ],
        },
        headers={"Cache-Control": "no-store"},
    )


async def _choice(request: Request) -> dict[str, Any] | JSONResponse:
    """The session to create: the page's choice of catalogue interview and persona, checked."""
    body: Any = {}
    try:
        raw = await read_body(request, MAX_CHOICE_BYTES)
    except ApiError as exc:  # 413 before the rest is read, or a Content-Length not a number
        return _error(exc.status, exc.code, exc.message)
    if raw:
        try:
            body = json.loads(raw)
        except ValueError:
            return _error(400, "invalid_json", "the body is not JSON")
    if not isinstance(body, dict):
        return _error(400, "invalid_body", "send an object")
    interview_id = body.get("interview_id") or DEMO_SESSION["interview_id"]
    interview = next((i for i in BUILTIN_INTERVIEWS if i.id == interview_id), None)
    if interview is None:
        return _error(400, "unknown_interview", "pick an interview of the catalogue")
    persona_id = body.get("persona_id") or DEMO_SESSION["persona_id"]
    if persona_id not in PERSONAS:
        return _error(400, "unknown_persona", f"persona is one of {', '.join(PERSONAS)}")
    choice: dict[str, Any] = {
        "interview_id": interview.id,
        "persona_id": persona_id,
        "practice": bool(body.get("practice", DEMO_SESSION["practice"])),
    }
    if interview.grades:
        grade = body.get("grade")
        choice["grade"] = grade if grade in interview.grades else interview.grades[0]
    return choice


async def demo_session(request: Request) -> Response:
    """Create a session of the chosen catalogue interview for the demo tenant, server-side."""
    if not _enabled(request):
        return _not_found()
    services = _services(request)
    if not services.settings.demo_api_key:
        return _error(503, "demo_not_configured", "set VIVA_DEMO_API_KEY to a tenant's API key")
    choice = await _choice(request)
    if isinstance(choice, JSONResponse):
        return choice
    try:  # the same per-address limit as invite links: the demo tenant's quota is not a toy
        host = request.client.host if request.client else None
        await invites.limit_client(services.store.redis, services.settings, host)
    except invites.InviteRefused as exc:
        refused = _error(exc.status, exc.code, exc.message)
        refused.headers["Retry-After"] = str(max(1, exc.retry_after_s or 1))
        return refused
    async with _api(request) as api:
        created = await api.post("/v1/sessions", json=choice)
    if created.status_code not in (200, 201):
        return JSONResponse(created.json(), status_code=created.status_code)
    body = created.json()
    session_id = body["session"]["id"]
    return JSONResponse(
        {
            "session_id": session_id,
            "embed_url": f"/embed/{session_id}?interviewEvents=true#"
            + urlencode({"token": body["token"]}),
        },
        headers={"Cache-Control": "no-store"},
    )


async def demo_report(request: Request) -> Response:
    """The tenant's view of one demo session (its record with the report, and the transcript
    with each turn's meta), for the page holding that session's token."""
    if not _enabled(request):
        return _not_found()
    session_id = request.path_params["session_id"]
    if not is_session_id(session_id):  # a crafted id would name another key
        return _error(404, "session_not_found", "no such session")
    token = _bearer_token(request)
    if token is None:
        return _error(401, "missing_token", "send the session token as Authorization: Bearer")
    try:
        await SessionStore(_services(request).store.redis).authorize(session_id, token)
    except SessionNotFound:
        return _error(404, "session_not_found", "no such session")
    except InvalidToken:
        return _error(401, "invalid_token", "the session token is wrong or expired")
    async with _api(request) as api:
        session = await api.get(f"/v1/sessions/{session_id}")
        if session.status_code != 200:  # another tenant's session: the API says 404
            return JSONResponse(session.json(), status_code=session.status_code)
        transcript = await api.get(f"/v1/sessions/{session_id}/transcript")
    return JSONResponse(
        {
            "session": session.json(),
            "transcript": transcript.json() if transcript.status_code == 200 else None,
            "api": {
                "session": f"/v1/sessions/{session_id}",
                "transcript": f"/v1/sessions/{session_id}/transcript",
            },
        },
        headers={"Cache-Control": "no-store"},
    )


routes: list[BaseRoute] = [
    Route(DEMO_PATH, demo_page, methods=["GET"]),
    Route(f"{DEMO_PATH}/catalogue", demo_catalogue, methods=["GET"]),
    Route(f"{DEMO_PATH}/sessions", demo_session, methods=["POST"]),
    Route(f"{DEMO_PATH}/sessions/{{session_id}}/report", demo_report, methods=["GET"]),
]
