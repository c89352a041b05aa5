"""The server's own secret: the key of the keyed hashes it stores (phone PINs, issue 24 #13).

Kept outside Redis, so that a copy of the store (its append-only file, a dump, a replica) holds
no key to test guesses against: `VIVA_SECRET_KEY` when set (every process sharing a `REDIS_URL`
must then be given the same one), else `$VIVA_DATA_DIR/secret.key`, 32 random bytes made on the
first start, mode 0600 in a 0700 directory.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import threading
from pathlib import Path

from server.settings import Settings
from server.storage.store import private_dir

FILE_NAME = "secret.key"
_cache: dict[str, bytes] = {}
_lock = threading.Lock()


def _from_file(data_dir: Path) -> bytes:
    private_dir(data_dir)
    path = data_dir / FILE_NAME
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        fd = -1
    if fd < 0:
        os.chmod(path, 0o600)
        key = path.read_bytes()
        if len(key) < 32:
            raise RuntimeError(f"{path} holds fewer than 32 bytes: remove it to make a new key")
        return key
    key = secrets.token_bytes(32)
    with os.fdopen(fd, "wb") as out:
        out.write(key)
    return key


def server_key(settings: Settings) -> bytes:
    """The key (read once per process and place)."""
    if settings.secret_key:
        return hashlib.sha256(settings.secret_key.encode()).digest()
    where = str(Path(settings.data_dir).resolve())
    with _lock:
        if where not in _cache:
            _cache[where] = _from_file(Path(settings.data_dir))
        return _cache[where]


def keyed_hash(key: bytes, purpose: str, text: str) -> str:
    """HMAC-SHA256 of `text` under `key`, separated by purpose."""
    return hmac.new(key, f"{purpose}\0{text}".encode(), hashlib.sha256).hexdigest()
