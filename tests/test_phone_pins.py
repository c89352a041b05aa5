"""Issue 24 #1: phone PINs cannot be guessed at scale. 12 digits under a keyed hash, living at
most VIVA_PHONE_PIN_TTL_S; wrong PINs budgeted per call, per caller number and for the whole
server (callers with no caller ID together a third of it, never one shared per-number counter);
every lock-out audited and counted."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import REGISTRY

from server.phone import credentials
from server.storage import keys
from tests.api_support import Api, running_app
from tests.phone_client import CALLER, Twiml, call_params, new_call_sid, pin_key, post_webhook
from tests.test_phone_api import VOICE, new_session, phone_settings

ACTION = f"{VOICE}?step=pin"


def _app(tmp_path: Path, **extra: Any) -> Iterator[Api]:
    with running_app(phone_settings(tmp_path, **extra)) as running:
        yield running


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Api]:
    yield from _app(tmp_path, VIVA_PHONE_PIN_GUESSES_PER_HOUR=9)  # anonymous share: 3


def lockouts(scope: str) -> float:
    value = REGISTRY.get_sample_value("viva_phone_pin_lockouts_total", {"scope": scope})
    return value or 0.0


def wrong_of(pin: str) -> str:
    return (
        "1" * credentials.PIN_DIGITS
        if pin != "1" * credentials.PIN_DIGITS
        else "2" * credentials.PIN_DIGITS
    )


def guess(api: Api, digits: str, caller: str, call_sid: str | None = None) -> Twiml:
    params = {**call_params(call_sid or new_call_sid(), Digits=digits), "From": caller}
    status, xml = post_webhook(api.client, ACTION, params)
    assert status == 200, xml
    return Twiml(xml)


def test_a_pin_is_12_digits_under_a_keyed_hash_and_lives_a_day(api: Api) -> None:
    pin = new_session(api, api.tenant())["phone_pin"]
    assert pin.isdigit() and len(pin) == 12
    # Not the plain SHA-256 of the PIN (a copy of the store would give it away in 10^12 hashes
    # at most, 10^8 before): the HMAC under a key that is not in Redis.
    assert api.run(api.redis.exists, keys.phone_pin(hashlib.sha256(pin.encode()).hexdigest())) == 0
    keyed = keys.phone_pin(credentials.pin_hash(pin_key(), pin))
    ttl = api.run(api.redis.ttl, keyed)
    assert 0 < ttl <= 24 * 3600  # not the token's 7 days


def test_a_pin_never_outlives_the_sessions_token(tmp_path: Path) -> None:
    for api in _app(tmp_path, VIVA_SESSION_TOKEN_TTL_S=600):
        pin = new_session(api, api.tenant())["phone_pin"]
        keyed = keys.phone_pin(credentials.pin_hash(pin_key(), pin))
        assert 0 < api.run(api.redis.ttl, keyed) <= 600


def test_withheld_numbers_share_no_per_number_lock_out(tmp_path: Path) -> None:
    for api in _app(tmp_path, VIVA_PHONE_PIN_GUESSES_PER_HOUR=120):
        pin = new_session(api, api.tenant())["phone_pin"]
        wrong = wrong_of(pin)
        # Eleven wrong PINs from each form of withheld number (Twilio's From is "" or a stand-in number).
        for withheld in ("", "+266696687"):
            for _ in range(11):
                guess(api, wrong, withheld)
        # Another caller with a withheld number is still asked for the PIN and gets in.
        for withheld in ("", "+266696687"):
            other = {**call_params(new_call_sid()), "From": withheld}
            assert Twiml(post_webhook(api.client, VOICE, other)[1]).gather_action == ACTION
        assert guess(api, pin, "").stream is not None


def test_the_third_wrong_pin_of_a_call_is_a_lock_out_audited_and_counted(api: Api) -> None:
    pin = new_session(api, api.tenant())["phone_pin"]
    before = lockouts("call")
    call_sid = new_call_sid()
    for _ in range(3):
        twiml = guess(api, wrong_of(pin), CALLER, call_sid)
    assert twiml.verbs() == ["Say", "Hangup"]
    assert lockouts("call") == before + 1
    logged = api.run(credentials.lockouts, api.redis)
    assert logged[-1]["scope"] == "call" and logged[-1]["call_sid"] == call_sid
    assert logged[-1]["caller"] == "•••4567"  # masked


def test_the_servers_hourly_budget_stops_the_pin_being_looked_at(api: Api) -> None:
    """Nine wrong PINs from nine numbers: the tenth caller, with the right PIN, is turned away
    without the PIN being checked (a distributed guesser learns nothing more this hour)."""
    pin = new_session(api, api.tenant())["phone_pin"]
    for n in range(9):
        guess(api, wrong_of(pin), f"+1555000{n:04d}")
    before = lockouts("global")
    first = {**call_params(new_call_sid()), "From": "+15559876543"}
    assert Twiml(post_webhook(api.client, VOICE, first)[1]).verbs() == ["Say", "Hangup"]
    right = guess(api, pin, "+15559876543")
    assert right.stream is None and "Too many attempts" in right.said()
    assert lockouts("global") == before + 2
    assert [e["scope"] for e in api.run(credentials.lockouts, api.redis)][-2:] == [
        "global",
        "global",
    ]


def test_one_withheld_caller_cannot_lock_out_callers_who_show_their_number(api: Api) -> None:
    pin = new_session(api, api.tenant())["phone_pin"]
    before = lockouts("anonymous")
    for _ in range(3):  # a third of the budget of 9
        guess(api, wrong_of(pin), "")
    assert "Too many attempts" in guess(api, pin, "").said()
    assert lockouts("anonymous") == before + 1
    # A caller showing their number still gets in: the server's budget is not spent.
    assert guess(api, pin, CALLER).stream is not None


def test_one_number_cannot_spend_the_servers_budget(tmp_path: Path) -> None:
    for api in _app(tmp_path, VIVA_PHONE_PIN_GUESSES_PER_HOUR=12):
        pin = new_session(api, api.tenant())["phone_pin"]
        for _ in range(credentials.MAX_CALLER_PIN_TRIES + 5):  # the number is cut off at 10
            guess(api, wrong_of(pin), CALLER)
        first = post_webhook(api.client, VOICE, call_params(new_call_sid()))[1]
        assert Twiml(first).verbs() == ["Say", "Hangup"]  # that number: turned away at once
        assert guess(api, pin, CALLER).stream is None
        assert guess(api, pin, "+15550009999").stream is not None  # anyone else: yes


def test_a_reinvite_revokes_the_pin_and_hands_out_a_new_one(api: Api) -> None:
    """Issue 24 #3: after a reinvite the old PIN opens nothing; the new one does."""
    headers = api.tenant()
    access = new_session(api, headers)
    session_id, old_pin = access["session"]["id"], access["phone_pin"]
    again = api.client.post(f"/v1/sessions/{session_id}/reinvite", headers=headers)
    assert again.status_code == 200, again.text
    new_pin = again.json()["phone_pin"]
    assert new_pin and new_pin != old_pin and len(new_pin) == credentials.PIN_DIGITS
    refused = guess(api, old_pin, CALLER)
    assert refused.stream is None and "not valid" in refused.said()
    assert guess(api, new_pin, CALLER).stream is not None
    # A voice session's reinvite has no PIN to give.
    voice = new_session(api, headers, mode="voice")["session"]["id"]
    reinvited = api.client.post(f"/v1/sessions/{voice}/reinvite", headers=headers)
    assert reinvited.status_code == 200 and reinvited.json()["phone_pin"] is None
