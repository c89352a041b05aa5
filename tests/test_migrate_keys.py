"""`viva migrate-keys` (server/storage/migrate.py, issue 26): a store written with the key names
of version 1 (no hash tags) is renamed to version 2 on a real embedded Valkey, by the real CLI
in its own process; the server refuses to start before, starts after.

The version-1 store is made from a real one: sessions created, turns stored, a webhook queued
and read by the deliverers' group, then every key renamed back to its version-1 name (the names
the server used before), `viva:schema` removed.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from starlette.applications import Starlette

from pipeline.engine import InterviewPlan, Question, Turn
from server.app import create_app
from server.review import demographics
from server.sessions import SessionRecord, SessionStore, hash_token
from server.settings import Settings
from server.storage import guard, keys, migrate
from server.storage.store import Redis

ROOT = Path(__file__).resolve().parent.parent
PLAN = InterviewPlan(questions=(Question("q1", "Tell me about a project you led."),))


@pytest.fixture
async def redis(valkey: Redis) -> Redis:
    await valkey.flushdb()
    return valkey


def _v1(name: str) -> str:
    """The version-1 name of a version-2 key (what the server wrote before hash tags)."""
    if name == keys.WEBHOOKS:
        return "viva:webhooks"
    if name == keys.WEBHOOK_RETRIES:
        return "viva:webhooks:retry"
    for kind in ("session:", "deleted:", "demographics:"):
        prefix = f"viva:{kind}{{"
        if name.startswith(prefix):
            session_id, _, rest = name.removeprefix(prefix).partition("}")
            if kind == "session:" and rest.startswith(":token:"):
                return "viva:token:" + rest.removeprefix(":token:")
            return f"viva:{kind}{session_id}{rest}"
    return name


async def _version_1_store(redis: Redis) -> dict[str, object]:
    """A store as a version-1 server left it; what the checks need."""
    sessions = SessionStore(redis)
    live, token = await sessions.create(SessionRecord(id="ses_live", tenant_id="t1", plan=PLAN))
    await sessions.append_turn(live.id, Turn(index=0, role="interviewer", text="Hello"))
    await redis.set(keys.session_stream_owner(live.id), "1.conn", ex=600)
    await demographics.store(redis, live.id, demographics.Demographics())
    erased, _ = await sessions.create(SessionRecord(id="ses_gone", tenant_id="t1", plan=PLAN))
    await sessions.erase(erased)  # leaves its marker, with a TTL
    await redis.xgroup_create(keys.WEBHOOKS, keys.WEBHOOK_GROUP, id="0", mkstream=True)
    await redis.xadd(keys.WEBHOOKS, {"delivery": "{}"})
    await redis.xreadgroup(keys.WEBHOOK_GROUP, "w1", {keys.WEBHOOKS: ">"}, count=1)
    await redis.zadd(keys.WEBHOOK_RETRIES, {"{}": time.time() + 60})
    await redis.hset(keys.tenant("t1"), "name", "Acme")  # not renamed
    await redis.delete(keys.SCHEMA)
    for name in [str(k) async for k in redis.scan_iter(match="viva:*")]:
        if _v1(name) != name:
            await redis.rename(name, _v1(name))
    return {"live": live.id, "token": token, "erased": erased.id}


def _cli(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "REDIS_URL": url}
    return subprocess.run(
        [sys.executable, "-m", "server.cli", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


async def _starts(url: str, data_dir: Path) -> None:
    settings = Settings(VIVA_DATA_DIR=data_dir, REDIS_URL=url, VIVA_PRELOAD_MODELS=False)
    app = create_app(settings)
    assert isinstance(app, Starlette)
    async with app.router.lifespan_context(app):
        pass


async def test_migrate_keys_renames_a_version_1_store(
    redis: Redis, valkey_url: str, tmp_path: Path
) -> None:
    before = await _version_1_store(redis)
    live, erased = str(before["live"]), str(before["erased"])
    assert await redis.exists(
        f"viva:session:{live}", f"viva:token:{hash_token(str(before['token']))}"
    )
    assert not await redis.exists(keys.session(live))

    with pytest.raises(migrate.SchemaError, match="viva migrate-keys"):
        await migrate.ensure_schema(redis)
    with pytest.raises(migrate.SchemaError):  # the server refuses to start
        await _starts(valkey_url, tmp_path / "a")
    assert await redis.get(keys.SCHEMA) is None

    done = _cli(valkey_url, "migrate-keys")
    assert done.returncode == 0, done.stderr
    assert "viva:schema = 2" in done.stdout
    assert await redis.get(keys.SCHEMA) == "2"
    assert not await migrate.has_old_keys(redis)

    # Every key under its new name, with what it held, its TTL and the stream's group.
    sessions = SessionStore(redis)
    record = await sessions.authorize(live, str(before["token"]))
    assert record.tenant_id == "t1"
    token_key = keys.session_token(live, hash_token(str(before["token"])))
    assert await redis.ttl(token_key) > 0
    assert [t.text for t in await sessions.turns(live)] == ["Hello"]
    assert 0 < await redis.ttl(keys.session_stream_owner(live)) <= 600
    assert await redis.exists(keys.demographics(live))
    assert await redis.ttl(keys.session_deleted(erased)) > 0
    assert not await guard.is_live(redis, erased)
    groups = await redis.xinfo_groups(keys.WEBHOOKS)
    assert [(g["name"], g["pending"]) for g in groups] == [(keys.WEBHOOK_GROUP, 1)]
    assert await redis.zcard(keys.WEBHOOK_RETRIES) == 1
    assert await redis.hget(keys.tenant("t1"), "name") == "Acme"
    names = {str(k) async for k in redis.scan_iter(match="viva:*")}
    assert {
        keys.session(live),
        keys.session_turns(live),
        keys.session_stream_owner(live),
        token_key,
        keys.demographics(live),
        keys.session_deleted(erased),
        keys.WEBHOOKS,
        keys.WEBHOOK_RETRIES,
    } <= names
    assert not {n for n in names if n.startswith(("viva:token:", "viva:webhooks"))}

    # Idempotent: a second run renames nothing and keeps the version.
    again = _cli(valkey_url, "migrate-keys")
    assert again.returncode == 0, again.stderr
    assert "renamed 0 keys" in again.stdout
    assert {str(k) async for k in redis.scan_iter(match="viva:*")} == names

    await _starts(valkey_url, tmp_path / "b")  # the server starts now


async def test_a_taken_new_name_is_told_and_the_version_left_unset(
    redis: Redis, valkey_url: str
) -> None:
    await redis.set("viva:deleted:ses_x", "1")
    await redis.set(keys.session_deleted("ses_x"), "1")
    done = _cli(valkey_url, "migrate-keys")
    assert done.returncode == 1
    assert "viva:deleted:ses_x" in done.stderr
    assert await redis.get(keys.SCHEMA) is None


async def test_a_new_store_is_set_to_version_2_at_start(
    redis: Redis, valkey_url: str, tmp_path: Path
) -> None:
    await redis.hset(keys.tenant("t1"), "name", "Acme")  # keys that did not change are no bar
    await _starts(valkey_url, tmp_path)
    assert await redis.get(keys.SCHEMA) == "2"


async def test_another_version_refuses_to_start(redis: Redis) -> None:
    await redis.set(keys.SCHEMA, "3")
    with pytest.raises(migrate.SchemaError, match="is 3"):
        await migrate.ensure_schema(redis)
