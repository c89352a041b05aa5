"""Where recordings are kept: a local directory (the default) or any S3-compatible object store.

One interface, two implementations, so recordings have one code path (server/storage/recordings.py):
objects named by `/`-separated keys, written whole (never appended to, never overwritten by
another writer: every writer names its own objects), listed by prefix, deleted by prefix.

- `LocalStore`: files under a directory, `VIVA_DATA_DIR` unless told otherwise.
- `S3Store`: `VIVA_STORAGE_URL=s3://bucket/prefix`, through boto3 (AWS S3, MinIO, SeaweedFS,
  Ceph RGW, GCS interoperability...). `VIVA_S3_ENDPOINT` names a server other than AWS (then
  path-style addressing: `endpoint/bucket/key`, which every one of those accepts);
  `VIVA_S3_REGION` its region. Credentials come from boto3's standard chain: the
  `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY` (/ `AWS_SESSION_TOKEN`) variables, an
  `AWS_PROFILE` in the shared config files, or the machine's role (EC2, ECS, EKS); none is read
  from a `VIVA_` variable, so no secret sits in the server's own settings.

Every method blocks (file or network I/O): call it from a worker thread
(`asyncio.to_thread`), never on the event loop.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
from functools import lru_cache
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from server.settings import Settings


class StorageError(RuntimeError):
    """A storage URL that cannot be used, or a key that is not a safe object name."""


class ObjectStore(Protocol):
    """Objects by key, e.g. `recordings/ses_…/candidate/….seg`."""

    @property
    def url(self) -> str:
        """Where the store's keys start: `file:///abs/dir` or `s3://bucket/prefix`."""
        ...

    def put(self, key: str, data: bytes) -> None: ...

    def get(self, key: str) -> bytes: ...

    def list(self, prefix: str) -> list[str]:
        """The keys under `prefix` (a key prefix, usually ending in `/`), sorted."""
        ...

    def delete_prefix(self, prefix: str) -> int:
        """Delete every object under `prefix`; how many there were."""
        ...

    def check(self) -> None:
        """Raise when the store cannot be used now (readiness, server/ops/health.py): quick,
        one attempt, writes nothing."""
        ...


def _check_key(key: str) -> str:
    parts = PurePosixPath(key).parts
    if not key or key.startswith("/") or any(p in ("..", ".") for p in parts) or "\\" in key:
        raise StorageError(f"{key!r} is not a safe object key")
    return key


class LocalStore:
    """Objects as files under `root`; a key's `/` are directories. Writes are atomic (a
    temporary file renamed into place), so a reader never sees half an object."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root).resolve()

    @property
    def url(self) -> str:
        return self.root.as_uri()

    def path(self, key: str) -> Path:
        return self.root / _check_key(key)

    def put(self, key: str, data: bytes) -> None:
        path = self.path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=path.suffix)
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def get(self, key: str) -> bytes:
        return self.path(key).read_bytes()

    def list(self, prefix: str) -> list[str]:
        base, directory = self._prefix_dir(prefix)
        if not directory.is_dir():
            return []
        keys = (
            path.relative_to(self.root).as_posix()
            for path in directory.rglob("*")
            if path.is_file() and not path.name.startswith(".tmp-")
        )
        return sorted(key for key in keys if key.startswith(base))

    def delete_prefix(self, prefix: str) -> int:
        """Delete the objects under `prefix`; a prefix ending in `/` takes its directory with it
        (also stray files no key names, such as an interrupted write's temporary file)."""
        keys = self.list(prefix)
        base, directory = self._prefix_dir(prefix)
        if base.endswith("/") and directory.is_dir():
            shutil.rmtree(directory, ignore_errors=True)
        else:
            for key in keys:
                self.path(key).unlink(missing_ok=True)
        return len(keys)

    def check(self) -> None:
        """The directory, or the nearest directory above it that exists (the first recording
        makes the rest), is one this process may write in."""
        here = self.root
        while not here.exists() and here != here.parent:
            here = here.parent
        if not here.is_dir():
            raise StorageError(f"{here} is not a directory")
        if not os.access(here, os.W_OK | os.X_OK):
            raise StorageError(f"{here} is not writable by this process")

    def _prefix_dir(self, prefix: str) -> tuple[str, Path]:
        _check_key(prefix.rstrip("/") or "x")
        directory = self.root / prefix if prefix.endswith("/") else (self.root / prefix).parent
        return prefix, directory


class S3Store:
    """Objects in a bucket, under an optional key prefix, through one boto3 client (boto3
    clients are thread-safe; botocore retries throttling and 5xx answers, up to 5 attempts)."""

    def __init__(self, bucket: str, prefix: str = "", client: Any = None, **options: str) -> None:
        if not bucket:
            raise StorageError("an s3:// storage URL needs a bucket: s3://bucket/prefix")
        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self._endpoint = options.get("endpoint", "")
        self._region = options.get("region", "")
        self.client = client if client is not None else _s3_client(self._endpoint, self._region)
        # `check` asks once, with short timeouts: the main client's retries (5 attempts with
        # backoff) would hold a health check for many seconds while the store is down.
        self._probe_client: Any = client
        self._probe_lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}".rstrip("/")

    def _key(self, key: str) -> str:
        return self.prefix + _check_key(key)

    def put(self, key: str, data: bytes) -> None:
        self.client.put_object(Bucket=self.bucket, Key=self._key(key), Body=data)

    def get(self, key: str) -> bytes:
        answer = self.client.get_object(Bucket=self.bucket, Key=self._key(key))
        body: bytes = answer["Body"].read()
        return body

    def list(self, prefix: str) -> list[str]:
        full = self.prefix + prefix
        keys: list[str] = []
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=full
        )
        for page in pages:
            keys.extend(item["Key"][len(self.prefix) :] for item in page.get("Contents", ()))
        return sorted(keys)

    def delete_prefix(self, prefix: str) -> int:
        keys = self.list(prefix)
        for start in range(0, len(keys), 1000):  # DeleteObjects takes at most 1000 keys
            batch = keys[start : start + 1000]
            answer = self.client.delete_objects(
                Bucket=self.bucket,
                Delete={"Objects": [{"Key": self._key(k)} for k in batch], "Quiet": True},
            )
            errors = answer.get("Errors") or []
            if errors:
                first = errors[0]
                raise StorageError(
                    f"could not delete {len(errors)} objects under {self.url}/{prefix}, "
                    f"e.g. {first.get('Key')}: {first.get('Code')} {first.get('Message')}"
                )
        return len(keys)

    def check(self) -> None:
        """One ListObjectsV2 of at most one key under the store's prefix: the server reaches the
        endpoint, the bucket exists and the credentials may list it (as reading and deleting a
        recording need). Raises botocore's error (EndpointConnectionError, ClientError with
        NoSuchBucket or AccessDenied, a timeout...)."""
        with self._probe_lock:
            if self._probe_client is None:
                self._probe_client = _s3_client(self._endpoint, self._region, probe=True)
            probe = self._probe_client
        probe.list_objects_v2(Bucket=self.bucket, Prefix=self.prefix, MaxKeys=1)

    def ensure_bucket(self) -> None:
        """Create the bucket when it is missing (for tests and first runs)."""
        try:
            self.client.head_bucket(Bucket=self.bucket)
        except self.client.exceptions.ClientError:
            self.client.create_bucket(Bucket=self.bucket)


PROBE_CONNECT_TIMEOUT_S = 1.5
PROBE_READ_TIMEOUT_S = 2.0


def _s3_client(endpoint: str = "", region: str = "", probe: bool = False) -> Any:
    """The store's client; `probe`: one for `S3Store.check`, one attempt and short timeouts."""
    import boto3
    from botocore.config import Config

    config = Config(
        retries={"max_attempts": 1 if probe else 5, "mode": "standard"},
        s3={"addressing_style": "path" if endpoint else "auto"},
        connect_timeout=PROBE_CONNECT_TIMEOUT_S if probe else 5,
        read_timeout=PROBE_READ_TIMEOUT_S if probe else 30,
        max_pool_connections=4 if probe else 32,
    )
    return boto3.session.Session().client(
        "s3",
        endpoint_url=endpoint or None,
        region_name=region or None,
        config=config,
    )


def parse_storage_url(url: str) -> tuple[str, str]:
    """`s3://bucket/prefix` -> ("bucket", "prefix"); anything else is refused."""
    parts = urlsplit(url)
    if parts.scheme != "s3" or not parts.netloc or parts.query or parts.fragment:
        raise StorageError(
            f"VIVA_STORAGE_URL={url!r}: expected s3://bucket or s3://bucket/prefix "
            "(or leave it unset for VIVA_DATA_DIR)"
        )
    return parts.netloc, parts.path.strip("/")


@lru_cache(maxsize=16)
def _open(url: str, data_dir: str, endpoint: str, region: str) -> ObjectStore:
    if not url:
        return LocalStore(Path(data_dir))
    bucket, prefix = parse_storage_url(url)
    return S3Store(bucket, prefix, endpoint=endpoint, region=region)


def open_store(settings: Settings) -> ObjectStore:
    """The store `settings` name, one per process and configuration (its client is reused)."""
    return _open(
        settings.storage_url, str(settings.data_dir), settings.s3_endpoint, settings.s3_region
    )


def store_at(url: str, settings: Settings) -> tuple[ObjectStore, str]:
    """A location written earlier (`{store.url}/{key prefix}`) -> its store and key prefix,
    reached with this process's endpoint and credentials: the recording references kept in
    Redis stay readable after `VIVA_STORAGE_URL` changes."""
    configured = open_store(settings)
    base = configured.url.rstrip("/") + "/"
    if url.startswith(base):
        return configured, url[len(base) :]
    parts = urlsplit(url)
    if parts.scheme == "file":
        path = Path(parts.path)
        return LocalStore(path.parent), path.name + ("/" if url.endswith("/") else "")
    if parts.scheme == "s3":
        bucket, key = parse_storage_url(f"s3://{parts.netloc}")[0], parts.path.lstrip("/")
        store = _open(f"s3://{bucket}", "", settings.s3_endpoint, settings.s3_region)
        return store, key
    raise StorageError(f"{url!r} is not a storage location")
