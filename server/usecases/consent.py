"""The AI disclosure and the candidate's consent to it: nothing the candidate answers is
processed before it (REST, the compat adapters, the browser stream and the phone all ask it)."""

from __future__ import annotations

import json
import time
from typing import Any

from server.sessions import SessionStore
from server.storage import audit_trail
from server.storage.store import Redis

DISCLOSURE_VERSION = "2026-01"
DISCLOSURE_TEXT = (
    "This interview is conducted by an AI interviewer. Your voice (or typed answers) is "
    "transcribed and recorded, and your answers are scored against the interview's rubric to "
    "produce a report for the organisation that invited you. Your name and any metadata are "
    "never used for scoring. The organisation may delete the session, its recordings and its "
    "report at any time."
)


async def consent_of(redis: Redis, session_id: str) -> dict[str, Any] | None:
    """The consent given (`version`, `at`), or None."""
    return await SessionStore(redis).consent(session_id)


async def give_consent(
    redis: Redis,
    session_id: str,
    version: str,
    actor: str,
    *,
    channel: str | None = None,
    **detail: Any,
) -> None:
    """Record consent to the disclosure `version`, once, with its `consented` audit entry, while
    the session is there. `channel`: where it was given when not in the room (`phone`: the 1
    key), kept with the consent and in the entry; `detail`: who attested it, and how, when not
    the candidate. Given again: nothing changes."""
    sessions = SessionStore(redis)
    if await sessions.consent(session_id) is not None:
        return
    where = {"channel": channel} if channel else {}
    given = {"version": version, "at": time.time(), **where}
    await sessions.set_fields(session_id, consent=json.dumps(given))
    await audit_trail.record(
        redis, session_id, "consented", actor, version=version, **where, **detail
    )
