"""What a service refuses, in words and codes, without HTTP: each edge answers it in its own
shape (the REST API and the compat adapters through `server.http.errors.from_service`)."""

from __future__ import annotations


class ServiceError(Exception):
    """`code` for machines (`session_finished`, `consent_required`...), `message` for people,
    `fields`: per input field, what is wrong with it."""

    code = "invalid_request"

    def __init__(
        self, message: str, *, code: str | None = None, fields: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code or self.code
        self.fields = fields or {}


class Invalid(ServiceError):
    """The input cannot be used as it is."""

    code = "invalid_request"


class Missing(ServiceError):
    """What was named is not there (or not the caller's to see)."""

    code = "not_found"


class Conflicting(ServiceError):
    """The session's state does not allow it now (over, not consented, not started...)."""

    code = "conflict"


class LimitReached(ServiceError):
    """A quota or rate is used up; `retry_after_s`: when it frees."""

    code = "rate_limited"

    def __init__(self, message: str, *, retry_after_s: int, code: str | None = None) -> None:
        super().__init__(message, code=code)
        self.retry_after_s = retry_after_s
