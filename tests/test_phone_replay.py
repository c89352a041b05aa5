"""Issue 24 #4: Twilio requests cannot be replayed. A CallSid connects to one stream; the stream
URL ends in a one-time nonce that the handshake's signature covers, spent by the first
handshake, so a captured `X-Twilio-Signature` opens nothing again."""

from __future__ import annotations

import pytest
from starlette.websockets import WebSocketDisconnect

from tests.api_support import Api
from tests.phone_client import Twiml, call_params, new_call_sid, post_webhook, sign
from tests.test_phone_api import VOICE, _ws_start, api, new_session  # noqa: F401 (fixture)

PUBLIC_WS = "ws://testserver"


def test_the_same_signed_pin_step_twice_gives_one_stream(api: Api) -> None:  # noqa: F811
    pin = new_session(api, api.tenant())["phone_pin"]
    params = call_params(new_call_sid(), Digits=pin)
    signature = sign(f"{VOICE}?step=pin", params)
    first = post_webhook(api.client, f"{VOICE}?step=pin", params, signature=signature)
    replay = post_webhook(api.client, f"{VOICE}?step=pin", params, signature=signature)
    assert first[0] == replay[0] == 200
    assert Twiml(first[1]).stream is not None
    assert Twiml(replay[1]).stream is None and Twiml(replay[1]).verbs() == ["Say", "Hangup"]


def test_a_captured_handshake_signature_opens_nothing_again(api: Api) -> None:  # noqa: F811
    pin = new_session(api, api.tenant())["phone_pin"]
    call_sid = new_call_sid()
    params = call_params(call_sid, Digits=pin)
    stream = Twiml(post_webhook(api.client, f"{VOICE}?step=pin", params)[1]).stream
    assert stream is not None
    url = stream[0]
    path = url.removeprefix(PUBLIC_WS)
    captured = {"X-Twilio-Signature": sign(url, {})}
    # The first handshake is accepted (then closed at its made-up start).
    with api.client.websocket_connect(path, headers=captured) as ws:
        _ws_start(ws, "made-up", call_sid)
        with pytest.raises(WebSocketDisconnect):
            ws.receive_text()
    # The same URL and signature again: refused before the upgrade.
    with (
        pytest.raises(WebSocketDisconnect) as refused,
        api.client.websocket_connect(path, headers=captured),
    ):
        pass
    assert refused.value.code == 1008
    # The old fixed URL, correctly signed, is no stream at all.
    bare = "/v1/phone/twilio/stream"
    with (
        pytest.raises(WebSocketDisconnect),
        api.client.websocket_connect(
            bare, headers={"X-Twilio-Signature": sign(PUBLIC_WS + bare, {})}
        ),
    ):
        pass
