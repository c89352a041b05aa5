"""Schemathesis' stateful phase against `viva serve` (issue 12, fault tests): sequences of REST
calls chained by the links Schemathesis infers from the OpenAPI document (an interview's id
from `POST /v1/interviews` into `GET/PATCH/DELETE /v1/interviews/{id}` and `POST /v1/sessions`;
a session's id from `POST /v1/sessions` or a reinvite into every `/v1/sessions/{id}/...`).
tests/test_openapi.py covers each operation alone; here the calls act on resources that
exist, were changed or were deleted a step before.

No links are written into the document: Schemathesis 4 infers them from the response schemas
and path parameters (`schema.as_state_machine()`), and they reach every resource the API has.
Where a case carries credentials, the real ones replace them: the tenant's key, and on the
candidate's operations the session's own token (from the response that made the session), so
the chains go past authentication into the interview itself.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from server.api import ENDPOINTS
from server.api.openapi import build_spec
from tests.faults_support import ServerProcess, embedded_redis_url, new_api_key
from tests.phone_client import twilio_env

pytestmark = pytest.mark.slow

# The resources a tenant and a candidate act on; the compatibility endpoints (server/compat/)
# have their own tests, and would take most of the budget here.
SCOPE = r"^/v1/(interviews|sessions)(/|$)"
CANDIDATE_ONLY = ("/consent", "/start", "/messages")  # the session token's own operations
SERVER_ENV = {
    # The phone channel on, Twilio's REST API nowhere (a closed local port): outbound calls go
    # through the destination allow-list and the per-session and per-tenant caps (issue 24 #5)
    # before Twilio is asked, and those that pass end in the documented 502.
    **twilio_env("http://127.0.0.1:9"),
    "VIVA_PRELOAD_MODELS": "false",
    "VIVA_RATE_LIMIT_PER_MINUTE": "1000000",
    "VIVA_SESSION_RATE_LIMIT_PER_MINUTE": "1000000",
    "VIVA_DAILY_SESSION_QUOTA": "1000000",
}


@pytest.fixture(scope="module")
def api_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    root: Path = tmp_path_factory.mktemp("stateful")
    server = ServerProcess(root / "data", root / "server.log", env=SERVER_ENV)
    server.start(ready_path="/healthz")
    try:
        yield server
    finally:
        server.stop()


def _workflow(base_url: str, api_key: str, seen: Counter[tuple[str, int]]) -> Any:
    spec = schemathesis.openapi.from_dict(build_spec(ENDPOINTS, version="test"))
    schema = spec.include(path_regex=SCOPE)
    tokens: dict[str, str] = {}

    class Workflow(schema.as_state_machine()):  # type: ignore[misc]
        def get_call_kwargs(self, case: schemathesis.Case) -> dict[str, Any]:
            # Real credentials replace generated ones, only where the case has one: a negative
            # case without them must reach the server without them (and get 401).
            generated = {name.lower() for name in case.headers or {}}
            token = tokens.get(str((case.path_parameters or {}).get("session_id")))
            headers = {"X-API-Key": api_key} if "x-api-key" in generated else {}
            if token and "authorization" in generated:
                headers["Authorization"] = f"Bearer {token}"
            if token and "x-session-token" in generated:
                headers["X-Session-Token"] = token
            # A first report loads the embedding model (VIVA_PRELOAD_MODELS=false): seconds, more
            # on a busy machine than the default 10 s read timeout.
            return {"base_url": base_url, "headers": headers, "timeout": 60}

        def after_call(self, response: Any, case: schemathesis.Case) -> None:
            # The phone channel's documented 502 (Twilio unreachable) is no server error.
            status = 0 if _phone_documented(response) else response.status_code
            seen[(f"{case.operation.method.upper()} {case.operation.path}", status)] += 1
            if status >= 500:  # shown with a failure (captured output)
                print("server error:", case.operation.path, status, response.text[:500])
            if response.status_code in (200, 201):
                _remember_token(response, tokens)

        def validate_response(
            self,
            response: Any,
            case: schemathesis.Case,
            additional_checks: Any = None,
            **kwargs: Any,
        ) -> None:
            # As in tests/test_openapi.py: business rules refuse some schema-valid bodies.
            excluded = [schemathesis.checks.positive_data_acceptance]
            if _phone_documented(response):  # documented: 502 when Twilio cannot be reached
                excluded.append(schemathesis.checks.not_a_server_error)
            case.validate_response(response, excluded_checks=excluded, transport_kwargs=kwargs)

    return Workflow


def _phone_documented(response: Any) -> bool:
    documented = {503: "phone_not_configured", 502: "phone_provider_error"}
    if response.status_code not in documented:
        return False
    try:
        return bool(response.json()["error"]["code"] == documented[response.status_code])
    except (ValueError, KeyError, TypeError):
        return False


def _remember_token(response: Any, tokens: dict[str, str]) -> None:
    """A new session's token (`POST /v1/sessions`, a reinvite), for the candidate calls."""
    try:
        body = response.json()
    except ValueError:
        return
    if isinstance(body, dict) and isinstance(body.get("token"), str):
        session = body.get("session") or {}
        session_id = session.get("id") if isinstance(session, dict) else None
        if isinstance(session_id, str):
            tokens[session_id] = body["token"]


@pytest.mark.timeout(240)
def test_chained_calls_conform_to_the_spec(api_server: ServerProcess) -> None:
    api_key = asyncio.run(new_api_key(embedded_redis_url(api_server.data_dir)))
    seen: Counter[tuple[str, int]] = Counter()
    workflow = _workflow(api_server.base_url, api_key, seen)
    workflow.run(
        settings=settings(
            max_examples=100,
            stateful_step_count=10,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
        )
    )
    print("\nstateful:", sorted(seen.items()))
    ok = {call for (call, status), _ in seen.items() if 200 <= status < 300}
    # The chains reached resources made a step before: a session of an interview made in the
    # same chain, then used; and the candidate's own calls past authentication (the session's
    # token accepted: answered by the interview's rules, as 409 consent_required, not 401/403).
    assert "POST /v1/sessions" in ok, seen
    assert any(call.split(" ")[1].startswith("/v1/sessions/{session_id}") for call in ok), seen
    candidate = {
        s for (call, s) in seen if call.startswith("POST") and call.endswith(CANDIDATE_ONLY)
    }
    assert candidate - {401, 403}, seen
    assert not [key for key in seen if key[1] >= 500], seen
    assert "Traceback (most recent call last)" not in api_server.log()
