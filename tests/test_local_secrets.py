"""Issue 24 #13: local secrets. The embedded Valkey asks for a generated password; the data
directory is the owner's alone (0700 directories, 0600 files); the server's key for stored
keyed hashes lives in a 0600 file outside Redis (or VIVA_SECRET_KEY)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
import redis as sync_redis

from server.security.secret_key import FILE_NAME, keyed_hash, server_key
from server.settings import Settings
from server.storage.store import PASSWORD_FILE, EmbeddedValkey, embedded_url


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_embedded_valkey_wants_its_password_and_its_files_are_the_owners(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    data.mkdir(mode=0o755)
    (data / "recordings").mkdir(mode=0o755)
    (data / "recordings" / "old.wav").write_bytes(b"RIFF")
    os.chmod(data / "recordings" / "old.wav", 0o644)
    valkey = EmbeddedValkey(data)
    url = valkey.start()
    try:
        password = (data / "redis" / PASSWORD_FILE).read_text().strip()
        assert len(password) >= 40 and f":{password}@" in url
        assert embedded_url(data) == url
        with sync_redis.Redis.from_url(url) as client:
            assert client.ping()
            client.set("probe", "1")
        bare = url.replace(f":{password}@", "")
        with (
            sync_redis.Redis.from_url(bare) as anonymous,
            pytest.raises(sync_redis.exceptions.AuthenticationError),
        ):
            anonymous.get("probe")
        wrong = url.replace(password, "not-the-password")
        with (
            sync_redis.Redis.from_url(wrong) as guesser,
            pytest.raises(sync_redis.exceptions.AuthenticationError),
        ):
            guesser.get("probe")
        # The CLI beside the running server attaches to it, with the password.
        assert EmbeddedValkey(data).start() == url
        # The data directory is the owner's alone, and the Valkey's directory throughout;
        # other files in the data directory are not touched (they cannot be reached).
        assert mode(data) == 0o700
        for path in [data / "redis", *(data / "redis").rglob("*")]:
            if path.is_symlink() or not path.exists():
                continue
            want = 0o700 if path.is_dir() else 0o600
            assert mode(path) == want, (path, oct(mode(path)))
        assert mode(data / "recordings" / "old.wav") == 0o644
    finally:
        valkey.stop()


def test_a_shared_directory_given_as_the_data_directory_is_left_alone(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(shared, 0o1777)  # as /tmp
    valkey = EmbeddedValkey(shared)
    valkey.start()
    try:
        assert mode(shared) == 0o1777
        assert mode(shared / "redis") == 0o700
    finally:
        valkey.stop()


def test_the_server_key_is_a_private_file_or_the_setting(tmp_path: Path) -> None:
    settings = Settings(VIVA_DATA_DIR=tmp_path / "keyed")
    key = server_key(settings)
    path = tmp_path / "keyed" / FILE_NAME
    assert len(key) == 32 and path.read_bytes() == key
    assert mode(path) == 0o600 and mode(tmp_path / "keyed") == 0o700
    assert server_key(Settings(VIVA_DATA_DIR=tmp_path / "keyed")) == key  # kept
    other = server_key(Settings(VIVA_DATA_DIR=tmp_path / "other"))
    assert other != key
    given = server_key(Settings(VIVA_DATA_DIR=tmp_path / "x", VIVA_SECRET_KEY="shared"))
    assert given == server_key(Settings(VIVA_DATA_DIR=tmp_path / "y", VIVA_SECRET_KEY="shared"))
    assert not (tmp_path / "x" / FILE_NAME).exists()
    # Keyed: the same PIN under two keys, and no plain hash.
    assert keyed_hash(key, "phone-pin", "123456789012") != keyed_hash(
        other, "phone-pin", "123456789012"
    )
