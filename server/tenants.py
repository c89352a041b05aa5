"""Tenants and their API keys. A key is shown once at creation; only its SHA-256 is stored."""

from __future__ import annotations

import hashlib
import ipaddress
import json
import re
import secrets
import time
from dataclasses import dataclass
from typing import Any

from server.storage import keys
from server.storage.store import Redis

KEY_PREFIX = "vv_"


@dataclass(frozen=True)
class Tenant:
    id: str
    name: str
    created_at: float
    revoked: bool
    key_hint: str  # the first characters of the key, to tell keys apart in listings
    # Origins (scheme://host[:port]) whose pages may frame the interview room.
    embed_origins: tuple[str, ...] = ()


def hash_key(api_key: str) -> str:
    # API keys carry 256 random bits, so a fast hash is enough: nothing to brute-force.
    return hashlib.sha256(api_key.encode()).hexdigest()


# scheme://host[:port] and at most a trailing slash; the host is checked below.
_ORIGIN = re.compile(r"(https?)://(\[[0-9a-f:.]+\]|[a-z0-9.-]+)(?::([0-9]{1,5}))?/?", re.IGNORECASE)
_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")


def _origin_host(host: str) -> str | None:
    """The host in its canonical form, or None: a DNS name, an IPv4 or a bracketed IPv6."""
    host = host.lower()
    if host.startswith("["):
        try:
            return f"[{ipaddress.IPv6Address(host[1:-1]).compressed}]"
        except ValueError:
            return None
    if re.fullmatch(r"[0-9.]+", host):
        try:
            return str(ipaddress.IPv4Address(host))
        except ValueError:
            return None
    labels = host.split(".")
    if len(host) > 253 or not all(_LABEL.fullmatch(label) for label in labels):
        return None
    return host


def normalize_origin(url: str) -> str:
    """`https://Example.com:443/` -> `https://example.com`; ValueError if it is not exactly an
    origin: http or https, a host name (ASCII; punycode for others), IPv4 or [IPv6], an optional
    port. Nothing else: no path, query, user, wildcard, space or `;` (the origins go into a CSP
    header, where any of those would change its meaning)."""
    match = _ORIGIN.fullmatch(url.strip())
    if match is None:
        raise ValueError(f"embed origin must be exactly http(s)://host[:port], got {url!r}")
    scheme, raw_host, raw_port = match.group(1).lower(), match.group(2), match.group(3)
    host = _origin_host(raw_host)
    if host is None:
        raise ValueError(f"embed origin has an invalid host: {url!r}")
    port = int(raw_port) if raw_port is not None else None
    if port is not None and not 1 <= port <= 65535:
        raise ValueError(f"embed origin has an invalid port: {url!r}")
    default_port = {"http": 80, "https": 443}[scheme]
    shown_port = f":{port}" if port is not None and port != default_port else ""
    return f"{scheme}://{host}{shown_port}"


def _valid_origins(stored: list[str]) -> tuple[str, ...]:
    """Stored origins that pass today's check (ones saved before it was strict are dropped)."""
    valid: list[str] = []
    for origin in stored:
        try:
            valid.append(normalize_origin(origin))
        except ValueError:
            continue
    return tuple(dict.fromkeys(valid))


def _from_hash(tenant_id: str, data: dict[Any, Any]) -> Tenant:
    return Tenant(
        id=tenant_id,
        name=data.get("name", ""),
        created_at=float(data.get("created_at", 0)),
        revoked=data.get("revoked") == "1",
        key_hint=data.get("key_hint", ""),
        embed_origins=_valid_origins(json.loads(data.get("embed_origins") or "[]")),
    )


async def create_tenant(
    redis: Redis, name: str, embed_origins: tuple[str, ...] = ()
) -> tuple[Tenant, str]:
    """Create a tenant with a fresh API key; returns the tenant and the key (shown once)."""
    name = name.strip()
    if not name:
        raise ValueError("tenant name must not be empty")
    origins = tuple(dict.fromkeys(normalize_origin(o) for o in embed_origins))
    tenant_id = "ten_" + secrets.token_hex(8)
    api_key = KEY_PREFIX + secrets.token_urlsafe(32)
    record: dict[str, str] = {
        "name": name,
        "created_at": str(time.time()),
        "revoked": "0",
        "key_hint": api_key[:10],
        "key_hash": hash_key(api_key),
        "embed_origins": json.dumps(origins),
    }
    # One key at a time (each in its own slot on a Redis Cluster), the key's mapping last: the
    # key works only once all is there.
    await redis.hset(keys.tenant(tenant_id), mapping=dict(record))  # type: ignore[arg-type]
    await redis.sadd(keys.TENANTS, tenant_id)
    await redis.set(keys.api_key(record["key_hash"]), tenant_id)
    return _from_hash(tenant_id, record), api_key


async def get_tenant(redis: Redis, tenant_id: str) -> Tenant | None:
    data = await redis.hgetall(keys.tenant(tenant_id))
    return _from_hash(tenant_id, data) if data else None


async def list_tenants(redis: Redis) -> list[Tenant]:
    ids: list[str] = sorted(await redis.smembers(keys.TENANTS))  # type: ignore[arg-type]
    found = [await get_tenant(redis, tenant_id) for tenant_id in ids]
    return sorted((t for t in found if t), key=lambda t: t.created_at)


async def set_embed_origins(redis: Redis, tenant_id: str, embed_origins: tuple[str, ...]) -> bool:
    """Replace the origins allowed to frame the room. False when there is no such tenant."""
    origins = tuple(dict.fromkeys(normalize_origin(o) for o in embed_origins))
    if not await redis.exists(keys.tenant(tenant_id)):
        return False
    await redis.hset(keys.tenant(tenant_id), "embed_origins", json.dumps(origins))
    return True


async def revoke_tenant_key(redis: Redis, tenant_id: str) -> bool:
    """Revoke the tenant's API key at once. Returns False when there is no such tenant."""
    data = await redis.hgetall(keys.tenant(tenant_id))
    if not data:
        return False
    # `revoked` first (the key stops there: `authenticate` reads it), then the mapping goes.
    await redis.hset(keys.tenant(tenant_id), "revoked", "1")
    await redis.delete(keys.api_key(str(data["key_hash"])))
    return True


async def reissue_key(redis: Redis, tenant_id: str) -> str | None:
    """A new API key for a tenant whose key is not revoked; the old one stops at once. None for
    no such tenant, or a revoked one."""
    data = await redis.hgetall(keys.tenant(tenant_id))
    if not data or str(data.get("revoked")) == "1":
        return None
    api_key = KEY_PREFIX + secrets.token_urlsafe(32)
    key_hash = hash_key(api_key)
    # The new mapping, then the record's `key_hash` (the old key stops at this one HSET:
    # `authenticate` requires the record's hash), then the old mapping goes.
    await redis.set(keys.api_key(key_hash), tenant_id)
    await redis.hset(
        keys.tenant(tenant_id), mapping={"key_hash": key_hash, "key_hint": api_key[:10]}
    )
    await redis.delete(keys.api_key(str(data["key_hash"])))
    return api_key


async def authenticate(redis: Redis, api_key: str) -> Tenant | None:
    """The tenant an API key belongs to, or None for an unknown or revoked key."""
    if not api_key.startswith(KEY_PREFIX):
        return None
    key_hash = hash_key(api_key)
    tenant_id = await redis.get(keys.api_key(key_hash))
    if tenant_id is None:
        return None
    data = await redis.hgetall(keys.tenant(str(tenant_id)))
    # The record's own hash too: a reissue switches it in one HSET, before the old mapping goes.
    if not data or data.get("key_hash") != key_hash:
        return None
    tenant = _from_hash(str(tenant_id), data)
    return None if tenant.revoked else tenant
