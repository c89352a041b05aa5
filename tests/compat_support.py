"""Replaying the seed products' example requests verbatim: a `curl` command as the product's page
prints it, parsed and sent to the app under test (its host replaced, its placeholders too where
a test says so)."""

from __future__ import annotations

import json
import shlex
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import pytest
from starlette.testclient import TestClient

from server.settings import Settings
from tests.api_support import Api, running_app


@dataclass
class CurlRequest:
    method: str
    path: str  # with the query string
    headers: dict[str, str] = field(default_factory=dict)
    data: str | None = None

    def json(self) -> Any:
        assert self.data is not None
        return json.loads(self.data)


def parse_curl(command: str, substitute: dict[str, str] | None = None) -> CurlRequest:
    """A curl command line (as in the seed pages, line continuations included); each
    `substitute` key found in it is replaced first (placeholders such as `your_api_key`)."""
    for old, new in (substitute or {}).items():
        command = command.replace(old, new)
    words = shlex.split(command.replace("\\\n", " "))
    assert words[0] == "curl", words
    method: str | None = None
    url: str | None = None
    headers: dict[str, str] = {}
    data: str | None = None
    rest = iter(words[1:])
    for word in rest:
        if word in ("-X", "--request"):
            method = next(rest)
        elif word in ("-H", "--header"):
            name, _, value = next(rest).partition(":")
            headers[name.strip()] = value.strip()
        elif word in ("-d", "--data", "--data-raw"):
            data = next(rest)
        else:
            assert not word.startswith("-"), f"unhandled curl option {word}"
            url = word
    assert url is not None
    parts = urlsplit(url)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    return CurlRequest(method or ("POST" if data is not None else "GET"), path, headers, data)


def replay(client: TestClient, request: CurlRequest) -> Any:
    """The request sent as curl would send it (its headers as given, cookies included);
    returns the client's response."""
    headers = dict(request.headers)
    if request.data is not None and not any(k.lower() == "content-type" for k in headers):
        headers["Content-Type"] = "application/x-www-form-urlencoded"  # curl -d's default
    return client.request(
        request.method,
        request.path,
        headers=headers,
        content=request.data.encode() if request.data is not None else None,
    )


@contextmanager
def module_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    """One app (embedded Valkey, models loaded when first needed) for a test module's fixture;
    each test makes its own tenants."""
    settings = Settings(
        VIVA_DATA_DIR=tmp_path_factory.mktemp("compat") / "data",
        REDIS_URL=None,
        VIVA_PRELOAD_MODELS=False,
    )
    with running_app(settings) as running:
        yield running
