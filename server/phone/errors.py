"""The phone channel's API errors (imported when used: server.api imports server.phone)."""

from __future__ import annotations

from server.api.errors import ApiError


class PhoneUnavailable(ApiError):
    status = 503
    code = "phone_not_configured"


class ProviderFailed(ApiError):
    status = 502
    code = "phone_provider_error"
