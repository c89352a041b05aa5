"""Webhook URLs cannot reach internal addresses (issue 12, point 3): refused when given (400) and
again at delivery, where the connection goes to the address that was checked (DNS rebinding);
the delivery log says what failed in generic words only. `VIVA_WEBHOOK_ALLOW_NETWORKS` lets a
private deployment reach its own networks."""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from server import webhook_http, webhooks
from server.security import netguard
from server.settings import Settings
from tests.api_support import Api, running_app
from tests.webhook_receivers import Receiver, receiving, wait_until

if TYPE_CHECKING:
    import httpx2  # what starlette's TestClient returns (it prefers httpx2 to httpx)

REFUSED = [
    ("http://127.0.0.1:8080/hook", "loopback"),
    ("http://169.254.169.254/latest/meta-data/", "link-local"),
    ("http://10.1.2.3/hook", "private"),
    ("http://192.168.0.10/hook", "private"),
    ("http://0.0.0.0:6379/", "unspecified"),
    ("http://224.0.0.1/hook", "multicast"),
    ("http://[::1]:8080/hook", "loopback"),
    ("http://[::ffff:127.0.0.1]/hook", "loopback"),
    ("http://[fd00::1]/hook", "private"),
    ("http://localhost:8080/hook", "this machine"),
]


def _create(api: Api, headers: dict[str, str], url: str) -> httpx2.Response:
    return api.client.post(
        "/v1/sessions", headers=headers, json={"interview_id": "behavioral-1", "webhook_url": url}
    )


def _attempts(api: Api, headers: dict[str, str], session_id: str) -> list[dict[str, Any]]:
    log = api.client.get(f"/v1/sessions/{session_id}/webhooks", headers=headers).json()
    return list(log["attempts"])


@pytest.mark.parametrize(("url", "why"), REFUSED)
def test_internal_webhook_urls_are_refused_at_creation(
    settings: Settings, url: str, why: str
) -> None:
    with running_app(settings) as api:
        response = _create(api, api.tenant(), url)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid_request"
    assert why in error["fields"]["webhook_url"] and "public" in error["fields"]["webhook_url"]


def test_the_allow_list_lets_a_private_deployment_use_its_networks(settings: Settings) -> None:
    private = settings.model_copy(update={"webhook_allow_networks": "127.0.0.0/8, 10.0.0.0/8"})
    with running_app(private) as api:
        headers = api.tenant()
        assert _create(api, headers, "http://127.0.0.1:8080/hook").status_code == 201
        assert _create(api, headers, "http://10.1.2.3/hook").status_code == 201
        assert _create(api, headers, "http://169.254.169.254/").status_code == 400
    with pytest.raises(ValueError, match="not an IP network"):
        Settings(VIVA_WEBHOOK_ALLOW_NETWORKS="10.0.0.0/8, intranet")


def _enqueue(api: Api, headers: dict[str, str], url: str) -> str:
    """A real session whose finished-session webhook goes to `url`, queued as the app does,
    bypassing the creation check (a URL stored before it, or a name that changed since)."""
    created = api.client.post("/v1/sessions", headers=headers, json={"interview_id": "dsa-1"})
    session_id = str(created.json()["session"]["id"])

    async def enqueue() -> None:
        await webhooks.enqueue(
            api.redis,
            tenant_id=headers["X-Tenant-Id"],
            session_id=session_id,
            url=url,
            event="session.partial",
            data={"session_id": session_id},
        )

    api.run(enqueue)
    return session_id


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_internal_addresses_are_refused_again_at_delivery(settings: Settings, host: str) -> None:
    with receiving(Receiver("ok")) as receiver, running_app(settings) as api:
        headers = api.tenant()
        session_id = _enqueue(api, headers, receiver.url.replace("127.0.0.1", host))
        wait_until(lambda: bool(_attempts(api, headers, session_id)), 20)
        attempt = _attempts(api, headers, session_id)[0]
    assert receiver.hits == []
    assert attempt["delivered"] is False and attempt["error"] == "address not allowed"


@pytest.mark.models
def test_a_name_that_rebinds_to_an_internal_address_is_refused(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Public when the URL is given, loopback when the webhook goes out."""
    answers = iter(["93.184.215.14", "127.0.0.1"])

    async def rebinding(host: str, port: int) -> tuple[netguard.IPAddress, ...]:
        assert host == "hooks.rebind.test"
        return (ipaddress.ip_address(next(answers)),)

    monkeypatch.setattr(netguard, "resolve", rebinding)
    with receiving(Receiver("ok")) as receiver, running_app(settings) as api:
        headers = api.tenant()
        url = receiver.url.replace("127.0.0.1", "hooks.rebind.test")
        session = _create(api, headers, url).json()["session"]["id"]
        assert api.client.post(f"/v1/sessions/{session}/end", headers=headers).status_code == 200
        wait_until(lambda: bool(_attempts(api, headers, session)), 20)
        attempt = _attempts(api, headers, session)[0]
    assert receiver.hits == []
    assert attempt["error"] == "address not allowed"


@pytest.mark.models
def test_the_connection_goes_to_the_checked_address(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The name is resolved once, by the check; the connection goes to that address with the
    name in `Host` (the system resolver does not know `hooks.pinned.test` at all)."""
    resolved: list[str] = []

    async def pinned(host: str, port: int) -> tuple[netguard.IPAddress, ...]:
        resolved.append(host)
        return (ipaddress.ip_address("127.0.0.1"),)

    monkeypatch.setattr(netguard, "resolve", pinned)
    local = settings.model_copy(update={"webhook_allow_networks": "127.0.0.1"})
    with receiving(Receiver("ok")) as receiver, running_app(local) as api:
        headers = api.tenant()
        port = receiver.url.split(":")[2].split("/")[0]
        url = f"http://hooks.pinned.test:{port}/hooks/viva"
        session = _create(api, headers, url).json()["session"]["id"]
        api.client.post(f"/v1/sessions/{session}/end", headers=headers)
        wait_until(lambda: bool(_attempts(api, headers, session)), 20)
        attempt = _attempts(api, headers, session)[0]
    assert attempt["delivered"] is True, attempt
    assert [hit.header("Host") for hit in receiver.hits] == [f"hooks.pinned.test:{port}"]
    assert resolved == ["hooks.pinned.test", "hooks.pinned.test"]  # at creation, at delivery


@pytest.mark.models
def test_the_delivery_log_names_no_internal_detail(settings: Settings) -> None:
    """A refused connection on an allowed address: the log says only `connection failed`."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    local = settings.model_copy(update={"webhook_allow_networks": "127.0.0.1"})
    with running_app(local) as api:
        headers = api.tenant()
        session = _create(api, headers, f"http://127.0.0.1:{closed_port}/x").json()
        session_id = session["session"]["id"]
        api.client.post(f"/v1/sessions/{session_id}/end", headers=headers)
        wait_until(lambda: bool(_attempts(api, headers, session_id)), 20)
        attempt = _attempts(api, headers, session_id)[0]
    assert attempt["error"] == "connection failed"


async def test_https_keeps_the_name_for_tls_and_host() -> None:
    """Pinned to an address, an https request still names the host for SNI (so the certificate
    is checked against the name) and in `Host`."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(204)

    target = netguard.Target("hooks.example.com", 8443, (ipaddress.ip_address("93.184.215.14"),))
    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        result = await webhook_http._post_pinned(
            client, "https://hooks.example.com:8443/in?x=1", target, b"{}", {}
        )
    assert result.delivered and result.status_code == 204
    (request,) = seen
    assert request.url.host == "93.184.215.14" and request.url.port == 8443
    assert request.url.raw_path == b"/in?x=1"
    assert request.headers["Host"] == "hooks.example.com:8443"
    assert request.extensions["sni_hostname"] == "hooks.example.com"


@pytest.mark.parametrize(
    ("address", "why"),
    [
        ("8.8.8.8", None),
        ("2606:4700::1111", None),
        ("127.0.0.53", "loopback"),
        ("100.64.0.1", "reserved"),  # carrier-grade NAT
        ("198.18.0.1", "private"),
        ("64:ff9b::a00:1", "private"),  # NAT64 of 10.0.0.1
        ("2002:c0a8:0001::1", "private"),  # 6to4 of 192.168.0.1
        ("fe80::1", "link-local"),
        ("ff02::1", "multicast"),
        ("::", "unspecified"),
    ],
)
def test_address_categories(address: str, why: str | None) -> None:
    assert netguard.category(ipaddress.ip_address(address)) == why
