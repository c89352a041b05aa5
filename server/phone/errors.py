"""The phone channel's API errors."""

from __future__ import annotations

from server.http.errors import ApiError


class PhoneUnavailable(ApiError):
    status = 503
    code = "phone_not_configured"


class ProviderFailed(ApiError):
    status = 502
    code = "phone_provider_error"
