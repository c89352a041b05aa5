from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from server import cli, tenants
from server.settings import get_settings
from server.storage.store import Store


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("VIVA_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("REDIS_URL", raising=False)
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


async def _authenticate(data_dir: Path, key: str) -> tenants.Tenant | None:
    store = Store(None, data_dir)
    await store.open()
    try:
        return await tenants.authenticate(store.redis, key)
    finally:
        await store.close()


def test_keys_create_list_revoke(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import asyncio

    assert cli.main(["keys", "create", "Acme Hiring"]) == 0
    out = capsys.readouterr()
    api_key = out.out.strip()
    assert api_key.startswith("vv_") and len(api_key) > 40
    tenant = asyncio.run(_authenticate(data_dir, api_key))
    assert tenant is not None and tenant.name == "Acme Hiring"
    # the key itself is never stored, only its hash
    aof = b"".join(p.read_bytes() for p in (data_dir / "redis").rglob("*") if p.is_file())
    assert api_key.encode() not in aof

    assert cli.main(["keys", "list"]) == 0
    listing = capsys.readouterr().out
    assert tenant.id in listing and "active" in listing

    assert cli.main(["keys", "revoke", tenant.id]) == 0
    assert asyncio.run(_authenticate(data_dir, api_key)) is None
    assert cli.main(["keys", "list"]) == 0
    assert "revoked" in capsys.readouterr().out
    assert cli.main(["keys", "revoke", "ten_nope"]) == 1


def test_keys_origins_limits_and_webhook_secret(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import asyncio

    from server import webhooks
    from server.security import ratelimit

    assert cli.main(["keys", "create", "Globex"]) == 0
    api_key = capsys.readouterr().out.strip()
    tenant = asyncio.run(_authenticate(data_dir, api_key))
    assert tenant is not None

    assert cli.main(["keys", "origins", tenant.id, "https://Jobs.Example.com:443/"]) == 0
    assert capsys.readouterr().out.strip() == "https://jobs.example.com"
    assert cli.main(["keys", "origins", tenant.id, "ftp://nope"]) == 2
    assert cli.main(["keys", "origins", "ten_missing", "https://a.example"]) == 1

    assert (
        cli.main(["keys", "limits", tenant.id, "--per-minute", "7", "--daily-sessions", "3"]) == 0
    )
    assert cli.main(["keys", "webhook-secret", tenant.id]) == 0
    first_secret = capsys.readouterr().out.strip().splitlines()[-1]
    assert cli.main(["keys", "webhook-secret", tenant.id, "--rotate"]) == 0
    rotated = capsys.readouterr().out.strip()
    assert rotated and rotated != first_secret

    async def stored() -> tuple[tenants.Tenant | None, ratelimit.TenantLimits, str]:
        store = Store(None, data_dir)
        await store.open()
        try:
            defaults = ratelimit.TenantLimits(requests_per_minute=1, daily_sessions=1)
            return (
                await tenants.get_tenant(store.redis, tenant.id),
                await ratelimit.limits_for(store.redis, tenant.id, defaults),
                await webhooks.tenant_secret(store.redis, tenant.id),
            )
        finally:
            await store.close()

    record, limits, secret = asyncio.run(stored())
    assert record is not None and record.embed_origins == ("https://jobs.example.com",)
    assert limits == ratelimit.TenantLimits(requests_per_minute=7, daily_sessions=3)
    assert secret == rotated
