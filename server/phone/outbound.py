"""`POST /v1/sessions/{session_id}/call`: Twilio dials the candidate; when they answer, the
voice webhook connects the call to the session's interview (server/phone/webhook.py).

Declared in `server/api/sessions.py`, which imports this module while the `server.api` package
is loading: the API's own modules are imported here only when a call is made.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field

from server import audit
from server.phone import provider, store

if TYPE_CHECKING:
    from server.api.endpoint import Call

E164 = r"^\+[1-9][0-9]{6,14}$"


class CallCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    to: str = Field(pattern=E164, description="the candidate's number, E.164 (+15551234567)")


class CallPlaced(BaseModel):
    session_id: str
    call_sid: str = Field(description="Twilio's id of the call")
    status: str = Field(description="Twilio's call status (queued, ringing...)")
    to: str = Field(description="the number called, masked (last 4 digits)")


async def call_candidate(call: Call[CallCreate, None]) -> CallPlaced:
    from server.api.access import session_for
    from server.api.errors import Conflict
    from server.phone.errors import PhoneUnavailable, ProviderFailed

    record = await session_for(call)
    settings = call.services.settings
    if not provider.configured(settings) or not settings.twilio_phone_number:
        raise PhoneUnavailable(
            "The phone channel is not configured (TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN, "
            "TWILIO_PHONE_NUMBER)."
        )
    if record.mode == "chat":
        raise Conflict("A chat session cannot be interviewed by phone.", code="chat_session")
    if record.is_finished:
        raise Conflict("The interview is over.", code="session_finished")
    to = call.body.to
    ticket = await store.issue_ticket(call.redis, record.id, to)
    webhook = provider.public_url(settings, provider.VOICE_PATH) + f"?ticket={ticket}"
    try:
        placed = await provider.place_call(settings, to, webhook)
    except provider.ProviderError as exc:
        raise ProviderFailed(str(exc)) from exc
    await store.bind_ticket(call.redis, ticket, placed.sid)
    await audit.record(
        call.redis,
        record.id,
        "phone_call_requested",
        call.tenant.actor,
        channel="phone",
        number=to,
        call_sid=placed.sid,
    )
    return CallPlaced(
        session_id=record.id, call_sid=placed.sid, status=placed.status, to=store.mask_number(to)
    )
