"""The phone channel's edges without models: phone sessions and their PIN, the signed voice
webhook (PIN flow, refusals), the Media Streams handshake, one-time stream tokens, and the
outbound call request against a local HTTP server standing in for Twilio's REST API."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from server.phone import credentials
from server.settings import Settings
from server.storage import audit_trail
from tests.api_support import Api, running_app
from tests.phone_client import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    CALLER,
    PHONE_NUMBER,
    Twiml,
    call_params,
    fake_twilio_rest,
    new_call_sid,
    post_webhook,
    sign,
    twilio_env,
)

PUBLIC = "http://testserver"
VOICE = f"{PUBLIC}/v1/phone/twilio/voice"


def phone_settings(tmp_path: Path, api_base: str = "http://127.0.0.1:9", **extra: Any) -> Settings:
    values: dict[str, Any] = {
        "VIVA_DATA_DIR": tmp_path / "data",
        "REDIS_URL": None,
        "VIVA_PRELOAD_MODELS": False,
        "VIVA_PUBLIC_URL": PUBLIC,
        **twilio_env(api_base),
        **extra,
    }
    return Settings(**values)


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Api]:
    with running_app(phone_settings(tmp_path)) as running:
        yield running


def new_session(api: Api, headers: dict[str, str], mode: str = "phone") -> dict[str, Any]:
    created = api.client.post(
        "/v1/sessions",
        headers=headers,
        json={"interview_id": "behavioral-1", "mode": mode, "candidate": {"name": "Ada"}},
    )
    assert created.status_code == 201, created.text
    return dict(created.json())


def dial_in(client: TestClient, pin: str, call_sid: str) -> Twiml:
    """An inbound call: the first webhook, then the PIN keyed into the Gather."""
    status, xml = post_webhook(client, VOICE, call_params(call_sid))
    assert status == 200, xml
    action = Twiml(xml).gather_action
    assert action == f"{VOICE}?step=pin"
    status, xml = post_webhook(client, action, call_params(call_sid, Digits=pin))
    assert status == 200, xml
    return Twiml(xml)


def test_phone_session_pin_connects_a_call_with_a_one_time_stream_token(api: Api) -> None:
    headers = api.tenant()
    access = new_session(api, headers)
    session_id, token, pin = access["session"]["id"], access["token"], access["phone_pin"]
    assert pin.isdigit() and len(pin) == credentials.PIN_DIGITS == 12
    assert new_session(api, headers, mode="voice")["phone_pin"] is None

    twiml = dial_in(api.client, pin, new_call_sid())
    assert twiml.verbs() == ["Connect", "Hangup"]
    assert twiml.stream is not None
    url, parameters = twiml.stream
    # The URL ends in a one-time nonce: no token, no PIN, no session in it.
    assert url.startswith("ws://testserver/v1/phone/twilio/stream/")
    nonce = url.rsplit("/", 1)[1]
    assert len(nonce) >= 32 and nonce not in (token, pin, session_id)
    stream_token = parameters["stream_token"]
    assert len(stream_token) >= 40 and stream_token not in (token, pin)

    # The session shows the call with the number masked; the audit log has it in full.
    view = api.client.get(f"/v1/sessions/{session_id}", headers=headers).json()
    assert view["mode"] == "phone"
    assert view["phone"]["number"] == "•••4567" and view["phone"]["direction"] == "inbound"
    assert CALLER not in json.dumps(view)
    entries = api.run(audit_trail.entries, api.redis, session_id)
    call = next(e for e in entries if e.action == "phone_call")
    assert call.detail["number"] == CALLER and call.detail["channel"] == "phone"

    # The stream token is good once.
    first = api.run(credentials.take_stream_token, api.redis, stream_token)
    assert first is not None and first.session_id == session_id
    assert api.run(credentials.take_stream_token, api.redis, stream_token) is None


def test_unsigned_tampered_and_foreign_webhooks_are_refused(api: Api) -> None:
    pin = new_session(api, api.tenant())["phone_pin"]
    call_sid = new_call_sid()
    params = call_params(call_sid, Digits=pin)
    action = f"{VOICE}?step=pin"
    assert post_webhook(api.client, action, params, signature=None)[0] == 403
    assert post_webhook(api.client, action, params, signature="")[0] == 403
    # Signed for other parameters (a tampered PIN), another URL, or with another account's token.
    tampered = sign(action, call_params(call_sid, Digits="00000000"))
    assert post_webhook(api.client, action, params, signature=tampered)[0] == 403
    assert post_webhook(api.client, action, params, signature=sign(VOICE, params))[0] == 403
    wrong_key = sign(action, params, token="another-token")
    assert post_webhook(api.client, action, params, signature=wrong_key)[0] == 403
    foreign = {**params, "AccountSid": "AC" + "9" * 32}
    assert post_webhook(api.client, action, foreign)[0] == 403
    # Correctly signed: connected.
    status, xml = post_webhook(api.client, action, params)
    assert status == 200 and Twiml(xml).stream is not None


def test_a_wrong_pin_three_times_hangs_up(api: Api) -> None:
    pin = new_session(api, api.tenant())["phone_pin"]
    wrong = "1" * 8 if pin != "1" * 8 else "2" * 8
    call_sid = new_call_sid()
    action = f"{VOICE}?step=pin"
    for attempt in range(3):
        # The second try sends no digits at all (the Gather timed out and redirected).
        digits = {} if attempt == 1 else {"Digits": wrong}
        status, xml = post_webhook(api.client, action, call_params(call_sid, **digits))
        twiml = Twiml(xml)
        assert status == 200
        assert "not valid" in twiml.said()
        if attempt < 2:
            assert twiml.gather_action == action and "Hangup" not in twiml.verbs()
        else:
            assert twiml.verbs() == ["Say", "Hangup"] and twiml.stream is None
    # Another call may still use the right PIN.
    assert dial_in(api.client, pin, new_call_sid()).stream is not None


@pytest.mark.models
def test_a_finished_session_is_not_reopened_by_its_pin(api: Api) -> None:
    headers = api.tenant()
    access = new_session(api, headers)
    session_id = access["session"]["id"]
    ended = api.client.post(
        f"/v1/sessions/{session_id}/end", headers={"Authorization": f"Bearer {access['token']}"}
    )
    assert ended.status_code == 200, ended.text
    twiml = dial_in(api.client, access["phone_pin"], new_call_sid())
    assert twiml.stream is None and "already complete" in twiml.said()


def _ws_start(ws: Any, stream_token: str, call_sid: str) -> None:
    ws.send_text(json.dumps({"event": "connected", "protocol": "Call", "version": "1.0.0"}))
    ws.send_text(
        json.dumps(
            {
                "event": "start",
                "sequenceNumber": "1",
                "streamSid": "MZ1",
                "start": {
                    "accountSid": ACCOUNT_SID,
                    "streamSid": "MZ1",
                    "callSid": call_sid,
                    "tracks": ["inbound"],
                    "customParameters": {"stream_token": stream_token},
                    "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1},
                },
            }
        )
    )


def test_media_stream_handshake_needs_a_signature_and_a_token_for_this_call(api: Api) -> None:
    headers = api.tenant()
    pin = new_session(api, headers)["phone_pin"]
    stream = dial_in(api.client, pin, new_call_sid()).stream
    assert stream is not None
    stream_url = stream[0]
    path = stream_url.removeprefix("ws://testserver")
    for refused_headers in ({}, {"X-Twilio-Signature": sign(stream_url, {}, token="nope")}):
        with (
            pytest.raises(WebSocketDisconnect) as refused,
            api.client.websocket_connect(path, headers=refused_headers),
        ):
            pass
        assert refused.value.code == 1008

    # A made-up token, and the real token presented by another call: closed at the start.
    for wrong_token in (True, False):
        call_sid = new_call_sid()
        stream = dial_in(api.client, new_session(api, headers)["phone_pin"], call_sid).stream
        assert stream is not None
        url, stream_token = stream[0], stream[1]["stream_token"]
        signed = {"X-Twilio-Signature": sign(url, {})}
        token, sid = ("made-up", call_sid) if wrong_token else (stream_token, new_call_sid())
        with api.client.websocket_connect(
            url.removeprefix("ws://testserver"), headers=signed
        ) as ws:
            _ws_start(ws, token, sid)
            with pytest.raises(WebSocketDisconnect) as closed:
                ws.receive_text()
            assert closed.value.code == 1008
    # The real token was spent by that last try: it never opens a stream again.
    assert api.run(credentials.take_stream_token, api.redis, stream_token) is None


def test_outbound_call_asks_twilio_rest_and_the_answered_call_connects(tmp_path: Path) -> None:
    with (
        fake_twilio_rest() as (base, requests),
        running_app(phone_settings(tmp_path, api_base=base)) as api,
    ):
        headers = api.tenant()
        access = new_session(api, headers, mode="voice")
        session_id, token = access["session"]["id"], access["token"]
        placed = api.client.post(
            f"/v1/sessions/{session_id}/call", headers=headers, json={"to": "+15557654321"}
        )
        assert placed.status_code == 202, placed.text
        body = placed.json()
        assert body["to"] == "•••4321" and body["call_sid"].startswith("CA")

        assert len(requests) == 1
        request = requests[0]
        assert request.method == "POST"
        assert request.path == f"/2010-04-01/Accounts/{ACCOUNT_SID}/Calls.json"
        expected = base64.b64encode(f"{ACCOUNT_SID}:{AUTH_TOKEN}".encode()).decode()
        assert request.headers["Authorization"] == f"Basic {expected}"
        assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
        form = request.form
        assert form["To"] == "+15557654321" and form["From"] == PHONE_NUMBER
        assert form["Method"] == "POST"
        webhook = form["Url"]
        assert webhook.startswith(f"{VOICE}?ticket=")
        assert token not in webhook and session_id not in webhook

        # Twilio fetches the Url once the candidate answers (signed, the call Twilio created).
        answered = call_params(
            body["call_sid"], Direction="outbound-api", From=PHONE_NUMBER, To="+15557654321"
        )
        status, xml = post_webhook(api.client, webhook, answered)
        assert status == 200 and Twiml(xml).stream is not None
        # The ticket was used: the same Url connects nothing again.
        status, xml = post_webhook(api.client, webhook, answered)
        assert status == 200 and Twiml(xml).stream is None and "Hangup" in Twiml(xml).verbs()

        entries = api.run(audit_trail.entries, api.redis, session_id)
        requested = next(e for e in entries if e.action == "phone_call_requested")
        assert requested.detail["number"] == "+15557654321"
        view = api.client.get(f"/v1/sessions/{session_id}", headers=headers).json()
        assert view["phone"]["number"] == "•••4321" and view["phone"]["direction"] == "outbound"


def test_outbound_call_errors(tmp_path: Path) -> None:
    with (
        fake_twilio_rest(status=400) as (base, requests),
        running_app(phone_settings(tmp_path, api_base=base)) as api,
    ):
        headers = api.tenant()
        session_id = new_session(api, headers)["session"]["id"]
        url = f"/v1/sessions/{session_id}/call"
        bad = api.client.post(url, headers=headers, json={"to": "555-1234"})
        assert bad.status_code == 400 and "to" in bad.json()["error"]["fields"]
        refused = api.client.post(url, headers=headers, json={"to": "+15557654321"})
        assert refused.status_code == 502, refused.text
        assert refused.json()["error"]["code"] == "phone_provider_error"
        assert "21211" in refused.json()["error"]["message"]
        assert len(requests) == 1
        chat = new_session(api, headers, mode="chat")["session"]["id"]
        conflict = api.client.post(
            f"/v1/sessions/{chat}/call", headers=headers, json={"to": "+15557654321"}
        )
        assert conflict.status_code == 409

    with running_app(phone_settings(tmp_path, TWILIO_AUTH_TOKEN="")) as api:
        headers = api.tenant()
        session_id = new_session(api, headers)["session"]["id"]
        off = api.client.post(
            f"/v1/sessions/{session_id}/call", headers=headers, json={"to": "+15557654321"}
        )
        assert off.status_code == 503
        # The webhook refuses everything while the channel is off.
        assert post_webhook(api.client, VOICE, call_params(new_call_sid()))[0] == 503


def test_a_number_keying_wrong_pins_across_calls_is_turned_away(api: Api) -> None:
    pin = new_session(api, api.tenant())["phone_pin"]
    wrong = "1" * 8 if pin != "1" * 8 else "2" * 8
    action = f"{VOICE}?step=pin"
    for _ in range(credentials.MAX_CALLER_PIN_TRIES):
        post_webhook(api.client, action, call_params(new_call_sid(), Digits=wrong))
    # Even the right PIN, from that number, on a new call: turned away at the first webhook.
    status, xml = post_webhook(api.client, VOICE, call_params(new_call_sid()))
    assert status == 200 and Twiml(xml).verbs() == ["Say", "Hangup"]
    other = {**call_params(new_call_sid(), Digits=pin), "From": "+15559990000"}
    assert Twiml(post_webhook(api.client, action, other)[1]).stream is not None
