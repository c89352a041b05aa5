"""The compat routes in the OpenAPI document: one tag per product, each route under its product's
tag with the product's own error body and credentials, and the docs page renders them."""

from __future__ import annotations

from typing import Any

from server.api import ENDPOINTS
from server.api.openapi import build_spec, render_docs

PRODUCTS = {
    "compat: CV + job description app": {
        ("get", "/session/{session_id}/interview"),
        ("post", "/session/{session_id}/message"),
    },
    "compat: micro1": {("post", "/interview")},
    "compat: ZenHire": {("get", "/v1/webhook-format"), ("put", "/v1/webhook-format")},
    "compat: Liya Engine": {("post", "/v1/hiring/mock-interview")},
    "compat: OneCompiler": {
        ("get", "/v1/ai-interviewer/catalogue"),
        ("post", "/v1/users"),
        ("put", "/v1/users/plan"),
        ("post", "/v1/ai-interviewer/sessions"),
        ("get", "/v1/ai-interviewer/sessions/{session_id}"),
    },
}
ERROR_BODIES = {
    "compat: CV + job description app": "ErrorFragment",
    "compat: micro1": "BadRequestResponse",
    "compat: ZenHire": "ErrorBody",  # its settings endpoint is ours: the native error
    "compat: Liya Engine": "LiyaError",
    "compat: OneCompiler": "OcError",
}


def _operations(spec: dict[str, Any]) -> dict[str, set[tuple[str, str]]]:
    tagged: dict[str, set[tuple[str, str]]] = {}
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            for tag in operation["tags"]:
                tagged.setdefault(tag, set()).add((method, path))
    return tagged


def test_each_product_has_its_tag_and_its_routes_under_it() -> None:
    spec = build_spec(ENDPOINTS, version="test")
    tagged = _operations(spec)
    for tag, routes in PRODUCTS.items():
        assert tagged[tag] == routes, tag
    described = {t["name"]: t["description"] for t in spec["tags"]}
    assert set(described) >= set(PRODUCTS) and all(described[t] for t in PRODUCTS)


def test_compat_errors_and_credentials_are_the_products() -> None:
    spec = build_spec(ENDPOINTS, version="test")
    for tag, routes in PRODUCTS.items():
        for method, path in routes:
            operation = spec["paths"][path][method]
            errors = {k: v for k, v in operation["responses"].items() if int(k) >= 400}
            assert errors, (method, path)
            for response in errors.values():
                ref = response["content"]["application/json"]["schema"]["$ref"]
                assert ref.endswith("/" + ERROR_BODIES[tag]), (method, path, ref)
    schemes = spec["components"]["securitySchemes"]
    assert schemes["UserToken"] == {
        "type": "apiKey",
        "in": "header",
        "name": "X-User-Token",
        "description": "the `api.token` of a user made with POST /v1/users",
    }
    assert schemes["SessionCookie"]["in"] == "cookie"
    sessions = spec["paths"]["/v1/ai-interviewer/sessions"]["post"]
    assert sessions["security"] == [{"ApiKey": [], "UserToken": []}]
    message = spec["paths"]["/session/{session_id}/message"]["post"]
    assert "application/x-www-form-urlencoded" in message["requestBody"]["content"]
    # The native routes keep the native error body.
    native = spec["paths"]["/v1/interviews"]["post"]["responses"]["400"]
    assert native["content"]["application/json"]["schema"]["$ref"].endswith("/ErrorBody")


def test_the_docs_page_lists_the_compat_routes() -> None:
    page = render_docs(build_spec(ENDPOINTS, version="test"))
    for routes in PRODUCTS.values():
        for _, path in routes:
            assert path in page
