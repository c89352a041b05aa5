"""The REST API under `/v1`, its OpenAPI document and docs page, and invite links."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from starlette.routing import BaseRoute

from server.api import bias_audits as bias_audit_endpoints
from server.api import (
    candidate,
    catalogue,
    code,
    interviews,
    join,
    openapi,
    reviews,
    sessions,
    webhooks,
    whiteboard,
)
from server.compat.routes import ENDPOINTS as COMPAT_ENDPOINTS
from server.http.endpoint import Endpoint, routes_for

ENDPOINTS: tuple[Endpoint, ...] = (
    *catalogue.ENDPOINTS,
    *interviews.ENDPOINTS,
    *sessions.ENDPOINTS,
    *candidate.ENDPOINTS,
    *code.ENDPOINTS,  # the coding round: languages, problems, a session's runs
    *whiteboard.ENDPOINTS,  # the system-design whiteboard (issue 25)
    *webhooks.ENDPOINTS,
    *bias_audit_endpoints.ENDPOINTS,  # demographics and impact ratios (bias audits)
    *reviews.ENDPOINTS,  # review queue and overrides, the PDF report
    *COMPAT_ENDPOINTS,  # the seed products' APIs, at their own paths (server/compat/)
)


def _version() -> str:
    try:
        return version("viva-voce")
    except PackageNotFoundError:
        return "0.0.0"


def routes() -> list[BaseRoute]:
    return [
        *routes_for(ENDPOINTS),
        *openapi.routes(ENDPOINTS, version=_version()),
        *join.routes,
    ]
