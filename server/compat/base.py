"""What every product's layer shares: an endpoint on the native machinery (authentication, rate
limits, body caps, pydantic validation, the OpenAPI document) that answers in the product's shape.

A `CompatEndpoint` is a native `Endpoint`: the same `respond()` pipeline, so limits and
validation hold exactly as they do under `/v1`, with four differences a product needs: its own
error body (`render_error`), its own credentials (`custom_auth`), a form-encoded body where the
product posts forms, and the error statuses and security schemes it documents.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import Response

from server.http.body import read_body
from server.http.endpoint import Endpoint, _json, _parse
from server.http.errors import ApiError, BadRequest, ErrorBody
from server.security.auth import Caller
from server.services import Services

log = logging.getLogger(__name__)
FORM = "application/x-www-form-urlencoded"
MAX_FORM_FIELDS = 50

ErrorRenderer = Callable[[ApiError], Response]
Authenticator = Callable[[Services, Request], Awaitable[Caller]]


class InternalError(ApiError):
    status = 500
    code = "internal_error"


def native_error(exc: ApiError) -> Response:
    return exc.response()


def flat_message(exc: ApiError, renames: Mapping[str, str] | None = None) -> str:
    """One line for products whose errors carry a single message: the message, then the
    per-field ones ("... skills: List should have at most 10 items"), each field under the
    product's name for it (`renames`: native name to the product's)."""
    if not exc.fields:
        return exc.message
    names = renames or {}
    fields = "; ".join(f"{names.get(k, k)}: {v}" for k, v in exc.fields.items())
    return f"{exc.message} {fields}"


@dataclass(frozen=True)
class CompatEndpoint(Endpoint):
    render_error: ErrorRenderer = native_error
    error_model: type[BaseModel] = ErrorBody
    statuses: tuple[int, ...] = (400, 401, 429)  # every error status it may answer
    # Alternative requirements (OpenAPI `security`): each a tuple of scheme names, all needed.
    security: tuple[tuple[str, ...], ...] = (("ApiKey",),)
    security_schemes: Mapping[str, Any] = field(default_factory=dict)
    tag_description: str = ""
    body_media_type: str = "application/json"
    custom_auth: Authenticator | None = None

    @property
    def error_statuses(self) -> list[int]:
        return sorted(set(self.statuses))

    async def respond(self, request: Request) -> Response:
        try:
            return await self._handle(request)
        except ApiError as exc:
            return self.render_error(exc)
        except Exception:  # the product documents its 500 body: answer in it, and log why
            log.exception("%s %s failed", self.method, self.path)
            return self.render_error(InternalError("Internal server error."))

    async def _authenticate(self, services: Services, request: Request) -> Caller:
        if self.custom_auth is not None:
            return await self.custom_auth(services, request)
        return await super()._authenticate(services, request)

    async def _parse_body(self, request: Request, limit: int) -> BaseModel | None:
        if self.body_media_type != FORM:
            return await super()._parse_body(request, limit)
        assert self.body is not None
        raw = await read_body(request, limit)
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type == "application/json":
            data = _json(raw) if raw.strip() else {}
        elif content_type.startswith("multipart/"):
            raise BadRequest(f"Send the form as {FORM} (or JSON), not multipart.")
        else:
            data = _form(raw)
        return _parse(self.body, data, where="body")


def _form(raw: bytes) -> dict[str, str]:
    try:
        pairs = parse_qsl(
            raw.decode("utf-8"), keep_blank_values=True, max_num_fields=MAX_FORM_FIELDS
        )
    except (UnicodeDecodeError, ValueError) as exc:
        raise BadRequest(f"The form body is not valid: {exc}") from exc
    form: dict[str, str] = {}
    for name, value in pairs:
        if name in form:
            raise BadRequest("The form is invalid.", fields={name: "give this field once"})
        form[name] = value
    return form
