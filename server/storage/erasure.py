"""Deleting a session everywhere, also while a socket still streams it or a finish scores it.

Order matters:
1. the deletion marker (`viva:deleted:{id}`): from here on, every writer that still runs for the
   session (server/storage/guard.py: turns, integrity evidence, recording references, report, status,
   audit entries, webhooks) drops its write;
2. the queued and retrying webhooks of the session (none can be added after 1);
3. every `viva:session:{id}*` key, the token and the index entries, and the session's
   demographic categories (`viva:demographics:{id}`, kept apart from the session's keys);
4. every recording object of the session, `recordings/{id}/` in the configured store (the local
   directory or S3, server/storage/objectstore.py) and wherever a reference points (a socket still
   recording removes its own objects when it closes, `server.storage.recordings.save_recordings`);
5. the signal to close the session's sockets, in every process (server/security/revocation.py);
6. a content-free "deleted" entry in the tenant's audit log.
"""

from __future__ import annotations

from server import webhooks
from server.security import revocation
from server.services import Services
from server.sessions import SessionRecord, SessionStore
from server.storage import audit_trail, guard, keys
from server.storage.recordings import delete_recordings


async def erase_session(services: Services, record: SessionRecord, actor: str) -> None:
    redis = services.store.redis
    await guard.mark_deleted(redis, record.id)
    await webhooks.forget_session(redis, record.id)
    # Before the keys go: the stored paths may lie outside this data directory.
    await delete_recordings(redis, record.id, services.settings)
    await SessionStore(redis).erase(record)
    await redis.delete(keys.demographics(record.id))
    await delete_recordings(redis, record.id, services.settings)
    await revocation.revoke(redis, record.id, "deleted")
    await audit_trail.record_deletion(redis, record.tenant_id, record.id, actor)
