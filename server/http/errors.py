"""API errors: one JSON shape for every failure, `{"error": {"code", "message", "fields"}}`."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field, ValidationError
from starlette.responses import JSONResponse

from server.usecases.errors import Conflicting, LimitReached, Missing, ServiceError


class ErrorDetail(BaseModel):
    code: str = Field(description="machine-readable, e.g. `not_found`, `invalid_request`")
    message: str
    fields: dict[str, str] = Field(
        default_factory=dict, description="per-field messages; the key is the field's dotted path"
    )


class ErrorBody(BaseModel):
    error: ErrorDetail


class ApiError(Exception):
    status = 400
    code = "bad_request"

    def __init__(
        self,
        message: str,
        *,
        fields: dict[str, str] | None = None,
        code: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.fields = fields or {}
        self.code = code or self.code
        self.headers = headers or {}

    def response(self) -> JSONResponse:
        body = ErrorBody(
            error=ErrorDetail(code=self.code, message=self.message, fields=self.fields)
        )
        return JSONResponse(body.model_dump(), status_code=self.status, headers=self.headers)


class BadRequest(ApiError):
    status = 400
    code = "invalid_request"


class Unauthorized(ApiError):
    status = 401
    code = "unauthorized"


class Forbidden(ApiError):
    status = 403
    code = "forbidden"


class NotFound(ApiError):
    status = 404
    code = "not_found"


class Conflict(ApiError):
    status = 409
    code = "conflict"


class PayloadTooLarge(ApiError):
    status = 413
    code = "payload_too_large"


class TooManyRequests(ApiError):
    status = 429
    code = "rate_limited"

    def __init__(self, message: str, *, retry_after_s: int, code: str | None = None) -> None:
        super().__init__(message, code=code, headers={"Retry-After": str(max(1, retry_after_s))})


class ServiceUnavailable(ApiError):
    status = 503
    code = "unavailable"


def _dotted(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(part) for part in loc) or "body"


def from_validation(exc: ValidationError, *, where: str = "body") -> BadRequest:
    """A field-level 400 from pydantic's errors: one message per dotted field path."""
    fields: dict[str, str] = {}
    for error in exc.errors(include_url=False):
        fields.setdefault(_dotted(error["loc"]), str(error["msg"]))
    return BadRequest(f"The request {where} is invalid.", fields=fields)


def not_found(what: str, ident: Any) -> NotFound:
    return NotFound(f"No {what} {ident}.")


def from_service(exc: ServiceError) -> ApiError:
    """What a service refused, as the API answers it: missing 404, conflicting 409, a limit
    reached 429 (with Retry-After), invalid (and anything else) 400; its code, message and
    fields kept."""
    if isinstance(exc, LimitReached):
        return TooManyRequests(exc.message, retry_after_s=exc.retry_after_s, code=exc.code)
    kind: type[ApiError] = BadRequest
    if isinstance(exc, Missing):
        kind = NotFound
    elif isinstance(exc, Conflicting):
        kind = Conflict
    return kind(exc.message, fields=exc.fields, code=exc.code)
