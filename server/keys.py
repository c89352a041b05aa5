"""Every Redis key the server uses, in one place.

All keys start with `viva:`. Per-session keys share the `viva:session:{id}` prefix so that
deleting a session is one SCAN over that prefix plus the index entries listed here.

| key | type | what |
| --- | --- | --- |
| `viva:tenant:{tenant_id}` | hash | tenant record: name, created_at, revoked, key_prefix |
| `viva:tenants` | set | all tenant ids |
| `viva:apikey:{sha256(key)}` | string | tenant id for an API key (the key itself is never stored) |
"""

from __future__ import annotations

PREFIX = "viva:"
TENANTS = PREFIX + "tenants"


def tenant(tenant_id: str) -> str:
    return f"{PREFIX}tenant:{tenant_id}"


def api_key(key_hash: str) -> str:
    return f"{PREFIX}apikey:{key_hash}"


def session_prefix(session_id: str) -> str:
    return f"{PREFIX}session:{session_id}"
