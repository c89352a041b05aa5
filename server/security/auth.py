"""Who is calling: a tenant (`X-API-Key`) or a candidate holding one session's token.

A session token is accepted as `Authorization: Bearer <token>` or `X-Session-Token`, and opens
only the session it was issued for.
"""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request

from server.sessions import hash_token
from server.storage import keys
from server.storage.store import Redis
from server.tenants import Tenant, authenticate


class AuthError(Exception):
    """No credentials, or credentials that open nothing here."""


@dataclass(frozen=True)
class TenantCaller:
    tenant: Tenant

    @property
    def tenant_id(self) -> str:
        return self.tenant.id

    @property
    def actor(self) -> str:
        return f"tenant:{self.tenant.id}"


@dataclass(frozen=True)
class CandidateCaller:
    """Holds the token of `session_id`, and nothing else."""

    session_id: str

    @property
    def actor(self) -> str:
        return "candidate"


Caller = TenantCaller | CandidateCaller


def session_token_of(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, credentials = header.partition(" ")
    if scheme.lower() == "bearer" and credentials.strip():
        return credentials.strip()
    return request.headers.get("x-session-token") or None


async def tenant_caller(redis: Redis, request: Request) -> TenantCaller:
    api_key = request.headers.get("x-api-key")
    if not api_key:
        raise AuthError("Send your API key in the X-API-Key header.")
    tenant = await authenticate(redis, api_key)
    if tenant is None:
        raise AuthError("The API key is unknown or revoked.")
    return TenantCaller(tenant)


async def caller_for_session(redis: Redis, request: Request, session_id: str) -> Caller:
    """A tenant by API key, else the holder of this session's token."""
    if request.headers.get("x-api-key"):
        return await tenant_caller(redis, request)
    token = session_token_of(request)
    if token is None:
        raise AuthError("Send an X-API-Key, or this session's token as a Bearer token.")
    # Token first, record second: a wrong token learns nothing about which sessions exist.
    owner = await redis.get(keys.session_token(session_id, hash_token(token)))
    if owner != session_id:
        raise AuthError("The session token is invalid, expired or for another session.")
    return CandidateCaller(session_id)
