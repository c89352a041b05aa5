"""`POST /v1/phone/twilio/voice`: Twilio's voice webhook, for inbound calls and answered
outbound ones. Every request must carry a valid `X-Twilio-Signature` (403 otherwise).

- Inbound: `<Gather>` the session's PIN (digits, then `#` or the 12th digit). A wrong PIN asks
  again; the third wrong PIN of a call (or the tenth of a caller number within the hour) hangs
  up, and past the server's hourly budget (server/phone/credentials.py) no PIN is looked at. The right
  one connects the call to the Media Streams socket with a one-time stream token.
- Outbound (`?ticket=`, the URL `POST /v1/sessions/{id}/call` gave Twilio): connects at once.
"""

from __future__ import annotations

import logging
import time
from urllib.parse import parse_qsl

from starlette.datastructures import MultiDict
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from server.http.body import read_body
from server.http.errors import ApiError
from server.phone import credentials, provider
from server.security.secret_key import server_key
from server.services import Services
from server.sessions import SessionNotFound, SessionRecord, SessionStore
from server.storage import audit_trail

log = logging.getLogger(__name__)

MAX_WEBHOOK_BYTES = 64 * 1024
WELCOME = (
    "Welcome to your interview. Please enter your {digits} digit interview PIN, "
    "then press the pound key."
)
WRONG_PIN = "That PIN is not valid. Please try again."
NO_MORE_TRIES = "That PIN is not valid. Goodbye."
FINISHED = "This interview is already complete. Thank you, goodbye."
UNAVAILABLE = "This interview is not available. Goodbye."
CALL_AGAIN_LATER = "Too many attempts. Please try again later. Goodbye."


def _twiml(xml: str) -> Response:
    return Response(xml, media_type="application/xml")


async def voice_webhook(request: Request) -> Response:
    services: Services = request.app.state.services
    settings = services.settings
    if not provider.configured(settings):
        return PlainTextResponse("the phone channel is not configured", status_code=503)
    try:
        raw = await read_body(request, MAX_WEBHOOK_BYTES)
    except ApiError as exc:
        return exc.response()
    params = MultiDict(parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True))
    url = provider.requested_url(settings, request)
    signature = request.headers.get(provider.SIGNATURE_HEADER)
    if not provider.signature_valid(settings, url, params, signature):
        log.warning("phone webhook refused: %s signature", "no" if not signature else "wrong")
        return PlainTextResponse("invalid signature", status_code=403)
    if params.get("AccountSid") != settings.twilio_account_sid:
        return PlainTextResponse("another account", status_code=403)
    redis = services.store.redis
    call_sid = params.get("CallSid", "")
    ticket = request.query_params.get("ticket")
    if ticket is not None:
        return await _outbound_answered(services, params, ticket, call_sid)
    caller = params.get("From", "")
    budget = settings.phone_pin_guesses_per_hour
    scope = await credentials.locked_out(redis, caller, budget)
    if scope is not None:  # past a budget the PIN is not even looked at
        await credentials.record_lockout(redis, scope, call_sid, caller)
        return _twiml(provider.say_and_hang_up(CALL_AGAIN_LATER))
    if request.query_params.get("step") != "pin":
        welcome = WELCOME.format(digits=credentials.PIN_DIGITS)
        return _twiml(provider.gather_pin(settings, welcome, credentials.PIN_DIGITS))
    pin = params.get("Digits", "")
    key = server_key(settings)
    session_id = await credentials.session_for_pin(redis, key, pin)
    record = await _session(services, session_id)
    if record is None:
        if session_id is not None:
            await credentials.forget_pin(redis, key, pin)  # its session was erased
        tries, caller_tries = await credentials.wrong_pin(redis, call_sid, caller)
        if tries >= credentials.MAX_PIN_TRIES or caller_tries >= credentials.MAX_CALLER_PIN_TRIES:
            scope = "call" if tries >= credentials.MAX_PIN_TRIES else "caller"
            await credentials.record_lockout(redis, scope, call_sid, caller)
            return _twiml(provider.say_and_hang_up(NO_MORE_TRIES))
        return _twiml(provider.gather_pin(settings, WRONG_PIN, credentials.PIN_DIGITS))
    if record.is_finished:
        return _twiml(provider.say_and_hang_up(FINISHED))
    return _twiml(await _connect(services, record, call_sid, "inbound", caller))


async def _session(services: Services, session_id: str | None) -> SessionRecord | None:
    if session_id is None:
        return None
    try:
        return await SessionStore(services.store.redis).get(session_id)
    except SessionNotFound:
        return None  # erased: its PIN opens nothing


async def _outbound_answered(
    services: Services, params: MultiDict, ticket: str, call_sid: str
) -> Response:
    taken = await credentials.take_ticket(services.store.redis, ticket, call_sid)
    record = await _session(services, taken["session_id"]) if taken else None
    if taken is None or record is None:
        return _twiml(provider.say_and_hang_up(UNAVAILABLE))
    if record.is_finished:
        return _twiml(provider.say_and_hang_up(FINISHED))
    return _twiml(await _connect(services, record, call_sid, "outbound", str(taken["number"])))


async def _connect(
    services: Services, record: SessionRecord, call_sid: str, direction: str, number: str
) -> str:
    """Audit the call (the full number: only here), show it masked on the session, and hand
    Twilio a one-time token and stream URL. A CallSid connects once: a replayed request is
    hung up on."""
    redis = services.store.redis
    if not await credentials.claim_call(redis, call_sid):
        log.warning("phone webhook: call %s already connected (a replay?)", call_sid)
        return provider.say_and_hang_up(UNAVAILABLE)
    await audit_trail.record(
        redis,
        record.id,
        "phone_call",
        "candidate",
        channel="phone",
        direction=direction,
        number=number,
        call_sid=call_sid,
    )
    sessions = SessionStore(redis)
    phone = dict(record.extra.get("phone") or {})
    phone.update(
        channel="phone",
        number=credentials.mask_number(number),
        direction=direction,
        calls=int(phone.get("calls", 0)) + 1,
        last_call_at=time.time(),
    )
    await sessions.set_extra(record.id, {**record.extra, "phone": phone})
    token = await credentials.issue_stream_token(
        redis, credentials.CallInfo(record.id, call_sid, direction, number)
    )
    nonce = await credentials.issue_stream_nonce(redis, call_sid)
    return provider.connect_stream(services.settings, token, nonce)


routes = [Route(provider.VOICE_PATH, voice_webhook, methods=["POST"])]
