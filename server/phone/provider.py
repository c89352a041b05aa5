"""Twilio, the provider: signatures on what it sends us, the TwiML we answer with, the REST call
that dials a candidate.

Twilio signs every webhook and the Media Streams WebSocket handshake with `X-Twilio-Signature`:
HMAC-SHA1 (the account's auth token) over the URL it requested and the sorted POST parameters.
The URL is the one we gave Twilio, so it is rebuilt from `VIVA_PUBLIC_URL` (behind a proxy the
request's own URL differs), with the query string exactly as it arrived.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import httpx
from starlette.datastructures import MultiDict
from starlette.requests import HTTPConnection
from twilio.request_validator import RequestValidator
from twilio.twiml.voice_response import Connect, Gather, VoiceResponse

from server.settings import Settings

VOICE_PATH = "/v1/phone/twilio/voice"
STREAM_PATH = "/v1/phone/twilio/stream"
SIGNATURE_HEADER = "x-twilio-signature"
STREAM_TOKEN_PARAMETER = "stream_token"
SAY_LANGUAGE = "en-US"


def configured(settings: Settings) -> bool:
    return bool(settings.twilio_account_sid and settings.twilio_auth_token)


def public_url(settings: Settings, path: str, *, websocket: bool = False) -> str:
    base = settings.base_url()
    if websocket:
        base = "wss" + base[5:] if base.startswith("https") else "ws" + base[4:]
    return base + path


def requested_url(settings: Settings, conn: HTTPConnection, *, websocket: bool = False) -> str:
    """The URL Twilio requested, as Twilio saw it (its public form)."""
    url = public_url(settings, conn.url.path, websocket=websocket)
    query = conn.url.query
    return f"{url}?{query}" if query else url


def signature_valid(
    settings: Settings, url: str, params: Mapping[str, str] | MultiDict, signature: str | None
) -> bool:
    """Twilio signed this request (url and POST parameters) with our auth token."""
    if not signature or not settings.twilio_auth_token:
        return False
    return bool(RequestValidator(settings.twilio_auth_token).validate(url, params, signature))


# -- TwiML --------------------------------------------------------------------------------------


def _xml(response: VoiceResponse) -> str:
    return str(response.to_xml())


def gather_pin(settings: Settings, prompt: str, digits: int) -> str:
    """Ask for the PIN; no input at all counts as a wrong PIN (the redirect posts no Digits)."""
    action = public_url(settings, VOICE_PATH) + "?step=pin"
    response = VoiceResponse()
    gather = Gather(
        input="dtmf",
        num_digits=digits,
        finish_on_key="#",
        timeout=10,
        action=action,
        method="POST",
    )
    gather.say(prompt, language=SAY_LANGUAGE)
    response.append(gather)
    response.redirect(action, method="POST")
    return _xml(response)


def say_and_hang_up(text: str) -> str:
    response = VoiceResponse()
    response.say(text, language=SAY_LANGUAGE)
    response.hangup()
    return _xml(response)


def connect_stream(settings: Settings, stream_token: str, nonce: str) -> str:
    """Connect the call to our Media Streams socket (bidirectional); the one-time token goes as
    a custom parameter, never in the URL; the URL ends in a one-time nonce, which the
    handshake's signature covers. When the socket closes, the call ends."""
    response = VoiceResponse()
    connect = Connect()
    stream = connect.stream(url=public_url(settings, f"{STREAM_PATH}/{nonce}", websocket=True))
    stream.parameter(name=STREAM_TOKEN_PARAMETER, value=stream_token)
    response.append(connect)
    response.hangup()
    return _xml(response)


# -- REST: dialling out -------------------------------------------------------------------------


class ProviderError(Exception):
    """Twilio refused or could not be reached; the message is safe to show the tenant."""


@dataclass(frozen=True)
class PlacedCall:
    sid: str
    status: str


async def place_call(settings: Settings, to: str, webhook_url: str) -> PlacedCall:
    """`POST /2010-04-01/Accounts/{sid}/Calls.json` (form-encoded, HTTP basic auth with the
    account SID and auth token): Twilio dials `to` and fetches `webhook_url` when answered."""
    sid = settings.twilio_account_sid
    url = f"{settings.twilio_api_base.rstrip('/')}/2010-04-01/Accounts/{sid}/Calls.json"
    form = {"To": to, "From": settings.twilio_phone_number, "Url": webhook_url, "Method": "POST"}
    try:
        async with httpx.AsyncClient(timeout=settings.twilio_timeout_s) as client:
            reply = await client.post(url, data=form, auth=(sid, settings.twilio_auth_token))
    except httpx.HTTPError as exc:
        raise ProviderError(f"Twilio could not be reached ({type(exc).__name__}).") from exc
    if reply.status_code >= 300:
        detail = ""
        try:
            body = reply.json()
            detail = f": {body.get('code')} {body.get('message')}"[:300]
        except ValueError:
            pass
        raise ProviderError(f"Twilio refused the call (HTTP {reply.status_code}){detail}.")
    try:
        body = reply.json()
        return PlacedCall(str(body["sid"]), str(body.get("status", "queued")))
    except (ValueError, KeyError, TypeError) as exc:
        raise ProviderError("Twilio's answer had no call sid.") from exc
