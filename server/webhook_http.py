"""One webhook delivery attempt over HTTP, bounded whatever the receiver does.

- The whole attempt (resolving, connecting, sending, the response's headers) has one deadline:
  a receiver trickling bytes cannot hold a worker longer than that.
- The response body is never read (only the status counts), so its size does not matter.
- The connection goes to an address checked by `server.security.netguard`, the URL's name kept in the
  `Host` header and as the TLS server name (certificates are still checked against the name).
  No redirects are followed, no connection is reused (a reused one would skip the next
  request's certificate check).
- Errors are logged as generic categories, never the exception's text (it names addresses and
  ports on the other side).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import httpx

from server.security import netguard

# What the delivery log may say about a failed attempt.
BLOCKED = "address not allowed"
UNRESOLVED = "host does not resolve"
TIMED_OUT = "timed out"
CONNECTION_FAILED = "connection failed"
REQUEST_FAILED = "request failed"
MAX_ADDRESSES = 3  # addresses of one name tried in turn when a connection is refused


@dataclass(frozen=True)
class AttemptResult:
    status_code: int | None
    error: str | None  # None when delivered (2xx)

    @property
    def delivered(self) -> bool:
        return self.error is None


def new_client(timeout_s: float, max_connections: int) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        timeout=timeout_s,
        follow_redirects=False,
        limits=httpx.Limits(max_connections=max_connections, max_keepalive_connections=0),
    )


async def post(
    client: httpx.AsyncClient,
    url: str,
    *,
    body: bytes,
    headers: dict[str, str],
    policy: netguard.AddressPolicy,
    deadline_s: float,
) -> AttemptResult:
    """POST `body` to `url` within `deadline_s` seconds in all."""
    try:
        async with asyncio.timeout(deadline_s):
            target = await netguard.target(url, policy)
            return await _post_pinned(client, url, target, body, headers)
    except netguard.BlockedAddress:
        return AttemptResult(None, BLOCKED)
    except netguard.UnresolvedHost:
        return AttemptResult(None, UNRESOLVED)
    except (TimeoutError, httpx.TimeoutException):
        return AttemptResult(None, TIMED_OUT)
    except httpx.ConnectError:
        return AttemptResult(None, CONNECTION_FAILED)
    except (httpx.HTTPError, httpx.InvalidURL):
        return AttemptResult(None, REQUEST_FAILED)


async def _post_pinned(
    client: httpx.AsyncClient,
    url: str,
    target: netguard.Target,
    body: bytes,
    headers: dict[str, str],
) -> AttemptResult:
    original = httpx.URL(url)
    pinned_headers = {**headers, "Host": original.netloc.decode("ascii")}
    extensions = {"sni_hostname": target.host} if original.scheme == "https" else {}
    refused: httpx.ConnectError | None = None
    for address in target.addresses[:MAX_ADDRESSES]:
        request = client.build_request(
            "POST",
            original.copy_with(host=str(address)),
            content=body,
            headers=pinned_headers,
            extensions=extensions,
        )
        try:
            response = await client.send(request, stream=True)
        except httpx.ConnectError as exc:
            refused = exc
            continue
        await response.aclose()  # the body is never read
        status = response.status_code
        return AttemptResult(status, None if response.is_success else f"HTTP {status}")
    assert refused is not None
    raise refused
