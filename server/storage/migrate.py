"""Key names version 2 (hash tags, for Redis Cluster): `viva migrate-keys` and the start check.

Version 1 named a session's keys `viva:session:<id>...`, its marker `viva:deleted:<id>`, its
demographics `viva:demographics:<id>`, its token `viva:token:<sha256>` and the webhook queue
`viva:webhooks` (`:retry`). Version 2 (server/storage/keys.py) puts the session id between
literal braces, a hash tag: `viva:session:{<id>}...`, `viva:deleted:{<id>}`,
`viva:demographics:{<id>}`, the token under its session `viva:session:{<id>}:token:<sha256>`,
and the queue `viva:{webhooks}` (`:retry`).

`migrate` renames every version-1 key to its version-2 name with RENAMENX (one atomic step per
key; RENAME keeps the TTL, and a stream's consumer groups and pending entries with it), then sets
`viva:schema` to 2. It is idempotent: run again, it finds nothing to rename. Run it with every
`viva` process stopped, on the one master (a cluster refuses a RENAME across slots): an older
server would keep writing the old names, a newer one refuses to start until it is done.

`ensure_schema` is the start check: a store at version 2 passes; an empty one (no version-1
key) is set to 2; one that still holds version-1 keys, or names another version, refuses with
the command to run.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from redis.exceptions import ResponseError

from server.storage import keys
from server.storage.store import Redis, StoreError

log = logging.getLogger(__name__)

_OLD_WEBHOOKS = keys.PREFIX + "webhooks"
_OLD_WEBHOOK_RETRIES = keys.PREFIX + "webhooks:retry"
# prefix of a version-1 name -> its version-2 form given the session id and the rest
_TAGGED = ("session:", "deleted:", "demographics:")
_OLD_TOKEN = keys.PREFIX + "token:"
_SCAN_COUNT = 1000


class SchemaError(StoreError):
    """The store's key names are not the ones this server uses."""


@dataclass
class Migration:
    renamed: int = 0
    conflicts: list[str] = field(default_factory=list)  # old names whose new name existed
    schema_set: bool = False


def new_name(old: str, value: str | None = None) -> str | None:
    """The version-2 name of a version-1 key, or None if `old` is not one. `value`: a token
    key's value (its session id), which the token's new name needs."""
    if old == _OLD_WEBHOOKS:
        return keys.WEBHOOKS
    if old == _OLD_WEBHOOK_RETRIES:
        return keys.WEBHOOK_RETRIES
    if old.startswith(_OLD_TOKEN):
        if not value:
            return None
        return keys.session_token(value, old.removeprefix(_OLD_TOKEN))
    for kind in _TAGGED:
        prefix = keys.PREFIX + kind
        if not old.startswith(prefix):
            continue
        rest = old.removeprefix(prefix)
        if not rest or rest.startswith("{"):  # already version 2
            return None
        session_id, colon, suffix = rest.partition(":")
        return f"{prefix}{{{session_id}}}{colon}{suffix}"
    return None


async def _old_keys(redis: Redis) -> AsyncIterator[str]:
    """Every version-1 name in the store (a name may come twice: SCAN's guarantee)."""
    for kind in (*_TAGGED, "token:"):
        async for name in redis.scan_iter(match=f"{keys.PREFIX}{kind}*", count=_SCAN_COUNT):
            name = str(name)
            if kind == "token:" or new_name(name) is not None:
                yield name
    for name in (_OLD_WEBHOOKS, _OLD_WEBHOOK_RETRIES):
        if await redis.exists(name):
            yield name


async def has_old_keys(redis: Redis) -> bool:
    async for _ in _old_keys(redis):
        return True
    return False


async def migrate(redis: Redis) -> Migration:
    """Rename every version-1 key (see the module's docstring), then set `viva:schema` to 2
    unless a new name was already taken (then the old key stays, and the conflicts are told)."""
    result = Migration()
    async for old in _old_keys(redis):
        value = None
        if old.startswith(_OLD_TOKEN):
            value = await redis.get(old)
            if value is None:  # expired (or renamed) since the scan
                continue
        new = new_name(old, str(value) if value is not None else None)
        if new is None:
            continue
        try:
            moved = await redis.renamenx(old, new)
        except ResponseError as exc:  # gone since the scan (expired, or seen twice)
            if "no such key" not in str(exc).lower():
                raise
            continue
        if moved:
            result.renamed += 1
        else:
            result.conflicts.append(old)
    if not result.conflicts:
        await redis.set(keys.SCHEMA, keys.SCHEMA_VERSION)
        result.schema_set = True
    return result


async def ensure_schema(redis: Redis) -> None:
    """The start check (see the module's docstring); SchemaError when the server must not
    start."""
    stored = await redis.get(keys.SCHEMA)
    version = None if stored is None else str(stored)
    if version == str(keys.SCHEMA_VERSION):
        return
    if version is not None:
        raise SchemaError(
            f"{keys.SCHEMA} is {version}, this server uses key names version "
            f"{keys.SCHEMA_VERSION}: run the matching version of Viva Voce"
        )
    if await has_old_keys(redis):
        raise SchemaError(
            f"the store holds keys under their old names ({keys.SCHEMA} is not "
            f"{keys.SCHEMA_VERSION}): stop every viva process and run `viva migrate-keys` once, "
            "then start the servers again (docs/deploy.md)"
        )
    # A new store (nothing under the old names): set the version only if no one else did.
    await redis.set(keys.SCHEMA, keys.SCHEMA_VERSION, nx=True)
    version = str(await redis.get(keys.SCHEMA))
    if version != str(keys.SCHEMA_VERSION):
        raise SchemaError(f"{keys.SCHEMA} is {version}, not {keys.SCHEMA_VERSION}")
