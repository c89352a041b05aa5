"""Tenants' API keys without a MULTI (Redis Cluster, issue 26): each step touches one key, in an
order that keeps a key working only when everything is there, and stops an old key at once. On
the module's own embedded Valkey."""

from __future__ import annotations

import pytest

from server import tenants
from server.storage import keys
from server.storage.store import Redis


@pytest.fixture
async def redis(valkey: Redis) -> Redis:
    await valkey.flushdb()
    return valkey


async def test_create_reissue_revoke(redis: Redis) -> None:
    tenant, first = await tenants.create_tenant(redis, "Acme")
    assert await redis.sismember(keys.TENANTS, tenant.id)
    found = await tenants.authenticate(redis, first)
    assert found is not None and found.id == tenant.id
    second = await tenants.reissue_key(redis, tenant.id)
    assert second is not None
    assert await tenants.authenticate(redis, first) is None
    assert (await tenants.authenticate(redis, second) or tenant).id == tenant.id
    assert await tenants.revoke_tenant_key(redis, tenant.id)
    assert await tenants.authenticate(redis, second) is None
    assert await tenants.reissue_key(redis, tenant.id) is None


async def test_an_old_key_stops_at_the_record_s_hash(redis: Redis) -> None:
    """A reissue cut between the record's HSET and the old mapping's DEL (the mapping still
    there): the old key does not work, the new one does."""
    tenant, old = await tenants.create_tenant(redis, "Acme")
    new = await tenants.reissue_key(redis, tenant.id)
    assert new is not None
    await redis.set(keys.api_key(tenants.hash_key(old)), tenant.id)  # as if the DEL never ran
    assert await tenants.authenticate(redis, old) is None
    assert await tenants.authenticate(redis, new) is not None


async def test_a_revoke_cut_before_the_mapping_goes_still_stops_the_key(redis: Redis) -> None:
    tenant, key = await tenants.create_tenant(redis, "Acme")
    await redis.hset(keys.tenant(tenant.id), "revoked", "1")  # the first step alone
    assert await tenants.authenticate(redis, key) is None
