"""Invite links: `GET /join/{interview_id}` shows a page; its button POSTs to the same path, which
opens a new voice session of the tenant's interview and sends the browser to the room, the token
in the URL fragment (never sent to a server). A bare GET (a link preview, a crawler) opens
nothing. Who may open how many: `server/invites.py`."""

from __future__ import annotations

import html
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from server import invites
from server.api.sessions import access
from server.http.errors import ApiError, from_service
from server.services import Services
from server.usecases.errors import ServiceError
from server.usecases.opening import SessionCreate, open_session

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title></head>
<body><main>
<h1>{title}</h1>
{body}
</main></body></html>
"""
_START = """<p>An AI interviewer will ask you a few questions by voice. You will see how your
answers are used, and be asked for your consent, before it starts.</p>
<form method="post" action="{action}"><button type="submit">Start the interview</button></form>"""


def _headers(services: Services) -> dict[str, str]:
    public = urlsplit(services.settings.base_url())
    return {
        # The form posts here; the answer redirects to the room on the public URL.
        "Content-Security-Policy": (
            f"default-src 'none'; form-action 'self' {public.scheme}://{public.netloc}; "
            "base-uri 'none'; frame-ancestors 'none'"
        ),
        "Cache-Control": "no-store",
        "Referrer-Policy": "no-referrer",
        "X-Content-Type-Options": "nosniff",
    }


def _page(services: Services, status: int, title: str, body: str, **extra: str) -> HTMLResponse:
    content = _PAGE.format(title=html.escape(title), body=body)
    return HTMLResponse(content, status_code=status, headers={**_headers(services), **extra})


def _refusal(services: Services, status: int, message: str, retry_after_s: int | None) -> Response:
    extra = {"Retry-After": str(max(1, retry_after_s))} if retry_after_s is not None else {}
    return _page(services, status, "Interview", f"<p>{html.escape(message)}</p>", **extra)


async def join_page(request: Request) -> Response:
    services: Services = request.app.state.services
    interview_id = str(request.path_params["interview_id"])
    try:
        interview = await invites.interview_for_link(services.store.redis, interview_id)
    except invites.InviteRefused as exc:
        return _refusal(services, exc.status, exc.message, exc.retry_after_s)
    action = html.escape(f"/join/{interview.id}", quote=True)
    return _page(services, 200, interview.name, _START.format(action=action))


async def join(request: Request) -> Response:
    services: Services = request.app.state.services
    redis = services.store.redis
    interview_id = str(request.path_params["interview_id"])
    try:
        host = request.client.host if request.client else None
        await invites.limit_client(redis, services.settings, host)
        interview = await invites.interview_for_link(redis, interview_id)
        await invites.take(redis, services.settings, interview)
        body = SessionCreate(interview_id=interview.id, metadata={"source": "invite_link"})
        try:
            record, token = await open_session(services, interview.tenant_id, "invite_link", body)
        except ServiceError as exc:
            await invites.give_back(redis, interview.id)
            raise from_service(exc) from exc
    except invites.InviteRefused as exc:
        return _refusal(services, exc.status, exc.message, exc.retry_after_s)
    except ApiError as exc:
        retry = exc.headers.get("Retry-After")
        return _refusal(services, exc.status, exc.message, int(retry) if retry else None)
    return RedirectResponse(
        access(services.settings, record, token).embed_url,
        status_code=303,
        headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"},
    )


routes = [
    Route("/join/{interview_id}", join_page, methods=["GET"]),
    Route("/join/{interview_id}", join, methods=["POST"]),
]
