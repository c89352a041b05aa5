"""An endpoint is declared once: its models validate requests and generate the OpenAPI spec.

`Endpoint.respond()` wraps the handler: authentication, rate limits, parsing the query and body
into their pydantic models, and turning `ApiError`s and the handler's model into JSON.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from server.http.body import check_declared_length, read_body
from server.http.errors import (
    ApiError,
    BadRequest,
    Forbidden,
    NotFound,
    TooManyRequests,
    Unauthorized,
    from_service,
    from_validation,
)
from server.security import ratelimit
from server.security.auth import (
    AuthError,
    Caller,
    CandidateCaller,
    TenantCaller,
    caller_for_session,
    tenant_caller,
)
from server.services import Services
from server.sessions import is_session_id
from server.storage import keys
from server.storage.store import Redis
from server.usecases.errors import ServiceError

BodyT = TypeVar("BodyT")
QueryT = TypeVar("QueryT")
# session: the tenant's key, or that session's token; candidate: that session's token only (what
# the candidate alone may do: consent, start, answer).
Auth = Literal["tenant", "session", "candidate"]
PATH_PARAM = re.compile(r"{(\w+)}")


@dataclass(frozen=True)
class Call(Generic[BodyT, QueryT]):
    """What a handler gets: the parsed request and who is calling."""

    request: Request
    services: Services
    caller: Caller
    body: BodyT
    query: QueryT

    @property
    def redis(self) -> Redis:
        return self.services.store.redis

    def path(self, name: str) -> str:
        return str(self.request.path_params[name])

    @property
    def tenant(self) -> TenantCaller:
        """The calling tenant; tenant-only endpoints never see a candidate."""
        assert isinstance(self.caller, TenantCaller)
        return self.caller


Handler = Callable[[Call[Any, Any]], Awaitable[BaseModel | Response]]


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str
    handler: Handler
    summary: str
    tag: str
    auth: Auth = "tenant"
    body: type[BaseModel] | None = None
    body_required: bool = True
    query: type[BaseModel] | None = None
    response: type[BaseModel] | None = None
    status: int = 200
    media_type: str = "application/json"  # of a successful response
    errors: tuple[int, ...] = ()  # beyond those every endpoint may answer (400, 401, 404, 429)
    description: str = ""

    @property
    def path_params(self) -> list[str]:
        return PATH_PARAM.findall(self.path)

    @property
    def error_statuses(self) -> list[int]:
        statuses = {401, 429, *self.errors}
        if self.auth == "candidate":
            statuses.add(403)
        if self.body or self.query:
            statuses.add(400)
        if self.body:
            statuses.add(413)
        if self.path_params:
            statuses.add(404)
        return sorted(statuses)

    async def respond(self, request: Request) -> Response:
        try:
            return await self._handle(request)
        except ApiError as exc:
            return exc.response()

    async def _handle(self, request: Request) -> Response:
        services: Services = request.app.state.services
        check_declared_length(request, services.settings.max_body_bytes)
        _check_session_id(request)
        caller = await self._authenticate(services, request)
        await _rate_limit(services, caller)
        query = _parse_query(self.query, request) if self.query else None
        limit = services.settings.max_body_bytes
        body = await self._parse_body(request, limit) if self.body else None
        try:
            result = await self.handler(Call(request, services, caller, body, query))
        except ServiceError as exc:  # a service's refusal, in the API's terms
            raise from_service(exc) from exc
        if isinstance(result, Response):
            return result
        return JSONResponse(result.model_dump(mode="json"), status_code=self.status)

    async def _authenticate(self, services: Services, request: Request) -> Caller:
        redis = services.store.redis
        try:
            if self.auth == "tenant":
                return await tenant_caller(redis, request)
            session_id = request.path_params["session_id"]
            caller = await caller_for_session(redis, request, session_id)
        except AuthError as exc:
            raise Unauthorized(str(exc)) from exc
        if self.auth == "candidate" and isinstance(caller, TenantCaller):
            # Another tenant's session is not there (404); the owner's key may not act for the
            # candidate (403).
            owner = await redis.hget(keys.session(session_id), "tenant_id")
            if owner != caller.tenant_id:
                raise NotFound(f"No session {session_id}.")
            raise Forbidden(
                "Only the candidate may do this: send the session token, not the API key.",
                code="candidate_only",
            )
        return caller

    async def _parse_body(self, request: Request, limit: int) -> BaseModel | None:
        assert self.body is not None
        raw = await read_body(request, limit)
        if not raw.strip():
            if self.body_required:
                raise BadRequest("The request needs a JSON body.", code="invalid_json")
            return None
        return _parse(self.body, _json(raw), where="body")


def _check_session_id(request: Request) -> None:
    """A session id in the path has the format ids are made in, or the session is not there:
    a crafted one (`ses_…:turns`) would name another Redis key. Checked before anyone is
    authenticated; the answer says nothing about which sessions exist."""
    session_id = request.path_params.get("session_id")
    if session_id is not None and not is_session_id(str(session_id)):
        raise NotFound("No such session.")


def _json(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except RecursionError as exc:  # nested deeper than the parser's stack allows
        raise BadRequest("The body is nested too deeply.", code="invalid_json") from exc
    except ValueError as exc:  # not JSON, not UTF-8, or a number too long to convert
        raise BadRequest(f"The body is not valid JSON: {exc}", code="invalid_json") from exc


def _parse_query(model: type[BaseModel], request: Request) -> BaseModel:
    params = request.query_params
    repeated = {k: "give this parameter once" for k in params if len(params.getlist(k)) > 1}
    if repeated:
        raise BadRequest("The request query is invalid.", fields=repeated)
    return _parse(model, dict(params), where="query")


def _parse(model: type[BaseModel], data: Any, *, where: str) -> BaseModel:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise from_validation(exc, where=where) from exc


async def _rate_limit(services: Services, caller: Caller) -> None:
    redis, settings = services.store.redis, services.settings
    try:
        if isinstance(caller, CandidateCaller):
            await ratelimit.hit(
                redis, keys.session_rate(caller.session_id), settings.session_rate_limit_per_minute
            )
        else:
            defaults = ratelimit.TenantLimits(
                settings.rate_limit_per_minute, settings.daily_session_quota
            )
            limits = await ratelimit.limits_for(redis, caller.tenant_id, defaults)
            await ratelimit.hit(
                redis, keys.tenant_rate(caller.tenant_id), limits.requests_per_minute
            )
    except ratelimit.LimitExceeded as exc:
        raise TooManyRequests(str(exc), retry_after_s=exc.retry_after_s) from exc


def routes_for(endpoints: Sequence[Endpoint]) -> list[Route]:
    """One route per path, dispatching on the method, so a 405 lists every allowed method."""
    by_path: dict[str, dict[str, Endpoint]] = {}
    for e in endpoints:
        by_path.setdefault(e.path, {})[e.method] = e

    def route(path: str, methods: dict[str, Endpoint]) -> Route:
        async def dispatch(request: Request) -> Response:
            return await methods[request.method].respond(request)

        return Route(path, dispatch, methods=list(methods))

    return [route(path, methods) for path, methods in by_path.items()]
