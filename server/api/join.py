"""Invite links: `GET /join/{interview_id}` opens a new voice session of a tenant's interview
and sends the browser to the room, the token in the URL fragment (never sent to a server)."""

from __future__ import annotations

import json

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from server import keys
from server.api.errors import ApiError, NotFound
from server.api.sessions import SessionCreate, access, open_session
from server.services import Services


async def join(request: Request) -> Response:
    services: Services = request.app.state.services
    interview_id = str(request.path_params["interview_id"])
    raw = await services.store.redis.get(keys.interview(interview_id))
    try:
        if raw is None:
            raise NotFound(f"No interview {interview_id}.")
        tenant_id = str(json.loads(raw)["tenant_id"])
        body = SessionCreate(interview_id=interview_id, metadata={"source": "invite_link"})
        record, token = await open_session(services, tenant_id, "invite_link", body)
    except ApiError as exc:
        return exc.response()
    return RedirectResponse(access(services.settings, record, token).embed_url, status_code=303)


routes = [Route("/join/{interview_id}", join, methods=["GET"])]
