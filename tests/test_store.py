from __future__ import annotations

from pathlib import Path

from starlette.testclient import TestClient

from server.app import create_app
from server.settings import Settings
from server.storage.store import Store


async def test_embedded_valkey_starts_and_answers(tmp_path: Path) -> None:
    store = Store(None, tmp_path)
    redis = await store.open()
    try:
        assert store.embedded
        assert await store.ping()
        await redis.set("viva:test", "1")
        assert await redis.get("viva:test") == "1"
        assert (tmp_path / "redis" / "valkey.conf").read_text().count("appendonly yes") == 1
    finally:
        await store.close()


async def test_second_store_on_same_dir_shares_the_running_server(tmp_path: Path) -> None:
    """The CLI beside a running app must attach to its Valkey, never start a second one."""
    first = Store(None, tmp_path)
    await first.open()
    second = Store(None, tmp_path)
    await second.open()
    try:
        await first.redis.set("viva:shared", "yes")
        assert await second.redis.get("viva:shared") == "yes"
    finally:
        await second.close()
        await first.close()


def test_value_survives_an_app_restart(settings: Settings) -> None:
    with TestClient(create_app(settings)) as client:
        redis = client.app.state.services.store.redis  # type: ignore[attr-defined]
        assert client.portal is not None
        client.portal.call(redis.set, "viva:restart-probe", "kept")
        assert client.get("/healthz").status_code == 200
    # The app (and its embedded server) is gone; a new one reads the append-only file.
    with TestClient(create_app(settings)) as client:
        redis = client.app.state.services.store.redis  # type: ignore[attr-defined]
        assert client.portal is not None
        assert client.portal.call(redis.get, "viva:restart-probe") == "kept"
