"""`POST /v1/sessions/{session_id}/call`: Twilio dials the candidate; when they answer, the
voice webhook connects the call to the session's interview (server/phone/webhook.py).

Where and how often (issue 24 #5): only to the prefixes `VIVA_PHONE_CALL_PREFIXES` allows
(server/phone/destinations.py; 400 `destination_not_allowed`), at most
`VIVA_PHONE_CALLS_PER_SESSION` calls a session and `VIVA_PHONE_CALLS_PER_TENANT_PER_DAY` a tenant
per UTC day (429 `call_limit`): a leaked key is no toll-fraud dialler.

Declared in `server/api/sessions.py`; built on the HTTP edges' shared kit (server/http/).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from server.http.access import session_for
from server.http.endpoint import Call
from server.http.errors import BadRequest, Conflict, TooManyRequests
from server.phone import credentials, destinations, provider
from server.phone.errors import PhoneUnavailable, ProviderFailed
from server.storage import audit_trail

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
    prefixes = destinations.allowed_prefixes(
        settings.phone_call_prefixes, settings.twilio_phone_number
    )
    if not destinations.allowed(to, prefixes):
        raise BadRequest(
            "The server does not call that destination (VIVA_PHONE_CALL_PREFIXES).",
            fields={"to": f"allowed: {', '.join(prefixes) or 'none'}"},
            code="destination_not_allowed",
        )
    refused = await credentials.count_call(
        call.redis,
        record.id,
        call.tenant.tenant_id,
        per_session=settings.phone_calls_per_session,
        per_tenant_day=settings.phone_calls_per_tenant_per_day,
    )
    if refused is not None:
        scope, retry_after_s = refused
        raise TooManyRequests(
            f"No more calls for this {scope} (VIVA_PHONE_CALLS_PER_"
            f"{'SESSION' if scope == 'session' else 'TENANT_PER_DAY'}).",
            retry_after_s=retry_after_s,
            code="call_limit",
        )
    ticket = await credentials.issue_ticket(call.redis, record.id, to)
    webhook = provider.public_url(settings, provider.VOICE_PATH) + f"?ticket={ticket}"
    try:
        placed = await provider.place_call(settings, to, webhook)
    except provider.ProviderError as exc:
        raise ProviderFailed(str(exc)) from exc
    await credentials.bind_ticket(call.redis, ticket, placed.sid)
    await audit_trail.record(
        call.redis,
        record.id,
        "phone_call_requested",
        call.tenant.actor,
        channel="phone",
        number=to,
        call_sid=placed.sid,
    )
    return CallPlaced(
        session_id=record.id,
        call_sid=placed.sid,
        status=placed.status,
        to=credentials.mask_number(to),
    )
