"""Every Redis key the server uses, in one place.

All keys start with `viva:`. Per-session keys share the `viva:session:{id}` prefix so that
deleting a session is one SCAN over that prefix plus the index entries listed here.

| key | type | what |
| --- | --- | --- |
| `viva:tenant:{tenant_id}` | hash | tenant record: name, created_at, revoked, key_prefix |
| `viva:tenants` | set | all tenant ids |
| `viva:apikey:{sha256(key)}` | string | tenant id for an API key (the key itself is never stored) |
| `viva:session:{id}` | hash | session record: tenant, status, mode, plan, token hash, expiry |
| `viva:session:{id}:turns` | list | completed turns (JSON), append-once by index |
| `viva:session:{id}:stream` | string | id of the socket streaming the session now |
| `viva:token:{sha256(token)}` | string | session id for a session token; TTL = token expiry |
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


def session(session_id: str) -> str:
    """hash: the session record (see server/sessions.py)."""
    return session_prefix(session_id)


def session_turns(session_id: str) -> str:
    """list: completed turns as JSON, index i at position i (append-once)."""
    return f"{session_prefix(session_id)}:turns"


def session_token(token_hash: str) -> str:
    """string: session id for a session token's SHA-256; expires with the token."""
    return f"{PREFIX}token:{token_hash}"


def session_stream_owner(session_id: str) -> str:
    """string: id of the WebSocket currently streaming this session."""
    return f"{session_prefix(session_id)}:stream"
