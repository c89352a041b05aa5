"""The OpenAPI 3.1 document, generated from the endpoints' own pydantic models, and `/docs`:
a self-contained HTML page of the same document (no CDN, no script)."""

from __future__ import annotations

import html
import json
from collections.abc import Mapping, Sequence
from functools import lru_cache
from http import HTTPStatus
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from server.http.endpoint import Endpoint
from server.http.errors import ErrorBody

REF = "#/components/schemas/{model}"
SECURITY_SCHEMES = {
    "ApiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
    "SessionToken": {"type": "http", "scheme": "bearer", "description": "a session token"},
    "SessionTokenHeader": {"type": "apiKey", "in": "header", "name": "X-Session-Token"},
}
DESCRIPTION = """The Viva Voce REST API. Authenticate with `X-API-Key` (from `viva keys create`).
Candidate endpoints also accept the session's token (`Authorization: Bearer <token>` or
`X-Session-Token`); consent, start and answers take only the token (the API key: 403). Every
error is `{"error": {"code", "message", "fields"}}`; another tenant's resources answer 404.
Limits answer 429 with `Retry-After`."""


def _models(endpoints: Sequence[Endpoint]) -> list[tuple[type[BaseModel], JsonSchemaMode]]:
    pairs: list[tuple[type[BaseModel], JsonSchemaMode]] = [(ErrorBody, "serialization")]
    for e in endpoints:
        pairs.append((_error_model(e), "serialization"))
        if e.body is not None:
            pairs.append((e.body, "validation"))
        if e.response is not None:
            pairs.append((e.response, "serialization"))
    return list(dict.fromkeys(pairs))


def _error_model(e: Endpoint) -> type[BaseModel]:
    # A compat endpoint (server/compat/) answers errors in its product's own shape.
    model: type[BaseModel] = getattr(e, "error_model", ErrorBody)
    return model


def _query_parameters(model: type[BaseModel], defs: dict[str, Any]) -> list[dict[str, Any]]:
    schema = model.model_json_schema(ref_template=REF)
    defs.update(schema.pop("$defs", {}))
    required = set(schema.get("required", []))
    return [
        {
            "name": name,
            "in": "query",
            "required": name in required,
            "schema": {k: v for k, v in prop.items() if k not in ("title", "description")},
            **({"description": prop["description"]} if "description" in prop else {}),
        }
        for name, prop in schema["properties"].items()
    ]


def _operation(
    e: Endpoint, refs: Mapping[tuple[Any, Any], Any], defs: dict[str, Any]
) -> dict[str, Any]:
    error_ref = refs[(_error_model(e), "serialization")]
    responses: dict[str, Any] = {}
    if e.response is not None:
        content = {"application/json": {"schema": refs[(e.response, "serialization")]}}
        responses[str(e.status)] = {"description": HTTPStatus(e.status).phrase, "content": content}
    elif e.media_type != "application/json":
        binary = {"schema": {"type": "string", "format": "binary"}}
        responses[str(e.status)] = {"description": "the file", "content": {e.media_type: binary}}
    else:
        responses[str(e.status)] = {"description": HTTPStatus(e.status).phrase}
    for status in e.error_statuses:
        response: dict[str, Any] = {
            "description": HTTPStatus(status).phrase,
            "content": {"application/json": {"schema": error_ref}},
        }
        if status == 429:
            response["headers"] = {
                "Retry-After": {"description": "seconds to wait", "schema": {"type": "integer"}}
            }
        responses[str(status)] = response
    parameters = [
        {"name": p, "in": "path", "required": True, "schema": {"type": "string"}}
        for p in e.path_params
    ]
    if e.query is not None:
        parameters += _query_parameters(e.query, defs)
    session_token: list[dict[str, list[str]]] = [{"SessionToken": []}, {"SessionTokenHeader": []}]
    security: list[dict[str, list[str]]] = [{"ApiKey": []}]
    if e.auth == "session":
        security += session_token
    elif e.auth == "candidate":
        security = session_token
    if hasattr(e, "security"):  # a compat endpoint: its product's credentials
        security = [{name: [] for name in names} for names in e.security]
    operation: dict[str, Any] = {
        "operationId": e.handler.__name__,
        "summary": e.summary,
        "tags": [e.tag],
        "security": security,
        "parameters": parameters,
        "responses": responses,
    }
    if e.handler.__doc__:
        operation["description"] = " ".join(e.handler.__doc__.split())
    if e.body is not None:
        operation["requestBody"] = {
            "required": e.body_required,
            "content": {
                getattr(e, "body_media_type", "application/json"): {
                    "schema": refs[(e.body, "validation")]
                }
            },
        }
    return operation


def build_spec(endpoints: Sequence[Endpoint], *, version: str) -> dict[str, Any]:
    refs, top = models_json_schema(_models(endpoints), ref_template=REF)
    defs: dict[str, Any] = dict(top.get("$defs", {}))
    paths: dict[str, dict[str, Any]] = {}
    for e in endpoints:
        paths.setdefault(e.path, {})[e.method.lower()] = _operation(e, refs, defs)
    schemes = dict(SECURITY_SCHEMES)
    tags: dict[str, str] = {}
    for e in endpoints:  # compat endpoints: their products' schemes, one tag per product
        schemes.update(getattr(e, "security_schemes", {}))
        if getattr(e, "tag_description", ""):
            tags[e.tag] = e.tag_description  # type: ignore[attr-defined]
    spec: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {"title": "Viva Voce", "version": version, "description": DESCRIPTION},
        "paths": paths,
        "components": {"schemas": defs, "securitySchemes": schemes},
    }
    if tags:
        spec["tags"] = [{"name": name, "description": text} for name, text in tags.items()]
    return spec


def render_docs(spec: dict[str, Any]) -> str:
    """The spec as one HTML page: each operation, its parameters, body and responses."""
    esc = html.escape
    schemas = spec["components"]["schemas"]
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'><title>Viva Voce API</title>",
        "<style>body{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;"
        "padding:0 1rem}code,pre{background:#f4f4f4;padding:.1rem .3rem}pre{padding:.6rem;"
        "overflow:auto}h3{margin-top:2rem}.m{font-weight:700;color:#064}</style></head><body>",
        f"<h1>{esc(spec['info']['title'])} API {esc(spec['info']['version'])}</h1>",
        f"<p>{esc(spec['info']['description'])}</p>",
        "<p>Machine-readable: <a href='/openapi.json'>/openapi.json</a></p>",
    ]
    for path, operations in spec["paths"].items():
        for method, op in operations.items():
            parts.append(
                f"<h3><span class='m'>{esc(method.upper())}</span> <code>{esc(path)}</code></h3>"
                f"<p>{esc(op['summary'])}. {esc(op.get('description', ''))}</p>"
            )
            auth = ", ".join(next(iter(s)) for s in op["security"])
            parts.append(f"<p>Auth: {esc(auth)}</p>")
            for param in op["parameters"]:
                parts.append(
                    f"<p>{esc(param['in'])} <code>{esc(param['name'])}</code>: "
                    f"<code>{esc(json.dumps(param['schema']))}</code></p>"
                )
            if "requestBody" in op:
                ref = next(iter(op["requestBody"]["content"].values()))["schema"]["$ref"]
                name = ref.rsplit("/", 1)[-1]
                parts.append(f"<p>Body: <a href='#{esc(name)}'>{esc(name)}</a></p>")
            codes = ", ".join(op["responses"])
            parts.append(f"<p>Responses: {esc(codes)}</p>")
    parts.append("<h2>Schemas</h2>")
    for name, schema in schemas.items():
        parts.append(
            f"<h3 id='{esc(name)}'>{esc(name)}</h3><pre>{esc(json.dumps(schema, indent=2))}</pre>"
        )
    parts.append("</body></html>")
    return "\n".join(parts)


def routes(endpoints: Sequence[Endpoint], *, version: str) -> list[Route]:
    @lru_cache(maxsize=1)
    def spec() -> dict[str, Any]:
        return build_spec(endpoints, version=version)

    async def openapi_json(request: Request) -> Response:
        return JSONResponse(spec())

    async def docs(request: Request) -> Response:
        return HTMLResponse(render_docs(spec()))

    return [
        Route("/openapi.json", openapi_json, methods=["GET"], include_in_schema=False),
        Route("/docs", docs, methods=["GET"], include_in_schema=False),
    ]
