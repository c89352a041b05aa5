"""Embed origins are exactly `http(s)://host[:port]` (issue 12, point 7): they go into the room's
`Content-Security-Policy: frame-ancestors`, where a space or `;` would add sources or
directives."""

from __future__ import annotations

import json

import pytest

from server import tenants
from server.settings import Settings
from server.storage import keys
from tests.api_support import running_app


@pytest.mark.parametrize(
    ("given", "origin"),
    [
        ("https://Jobs.Example.com:443/", "https://jobs.example.com"),
        ("http://127.0.0.2:8123", "http://127.0.0.2:8123"),
        ("  https://a.example  ", "https://a.example"),
        ("http://LOCALHOST:3000/", "http://localhost:3000"),
        ("http://[::1]:8080", "http://[::1]:8080"),
        ("HTTPS://xn--jbs-sna.example", "https://xn--jbs-sna.example"),
        ("http://a.example:80", "http://a.example"),
    ],
)
def test_valid_origins_are_normalised(given: str, origin: str) -> None:
    assert tenants.normalize_origin(given) == origin


@pytest.mark.parametrize(
    "bad",
    [
        "https://x.example;script-src *",
        "https://x.example; frame-ancestors *",
        "https://x.example https://evil.example",
        "https://x .example",
        "https://x.example\nX-Injected: 1",
        "https://*.example.com",
        "*",
        "https://x.example/path",
        "https://x.example?q=1",
        "https://x.example#frag",
        "https://user@x.example",
        "jobs.example.com",
        "ftp://x.example",
        "https://x.example:0",
        "https://x.example:65536",
        "https://x.example:",
        "https://-x.example",
        "https://x..example",
        "https://x_y.example",
        "http://999.1.1.1",
        "https://jöbs.example",
        "https://[not:an:ip]",
        "https://'self'",
    ],
)
def test_anything_else_is_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="embed origin"):
        tenants.normalize_origin(bad)


def test_an_origin_stored_before_the_check_never_reaches_the_header(settings: Settings) -> None:
    with running_app(settings) as api:
        headers = api.tenant()
        tenant_id = headers["X-Tenant-Id"]
        stored = ["https://ok.example", "https://x.example;script-src *"]
        api.run(api.redis.hset, keys.tenant(tenant_id), "embed_origins", json.dumps(stored))
        session_id = api.client.post(
            "/v1/sessions", headers=headers, json={"interview_id": "behavioral-1"}
        ).json()["session"]["id"]
        room = api.client.get(f"/embed/{session_id}")
    csp = room.headers["content-security-policy"]
    assert csp.endswith("frame-ancestors 'self' https://ok.example"), csp
    assert "script-src *" not in csp
