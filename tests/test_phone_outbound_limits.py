"""Issue 24 #5: outbound calls only to allowed destinations, and a few per session and per tenant
a day, so that a leaked API key is no toll-fraud dialler. Against a local stand-in for Twilio's
REST API (a real HTTP server)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from server.phone import destinations
from server.settings import Settings
from tests.api_support import Api, running_app
from tests.phone_client import fake_twilio_rest
from tests.test_phone_api import new_session, phone_settings


def place(api: Api, headers: dict[str, str], session_id: str, to: str) -> Any:
    return api.client.post(f"/v1/sessions/{session_id}/call", headers=headers, json={"to": to})


def test_calling_codes_and_the_default_allow_list() -> None:
    assert destinations.calling_code("+15551234567") == "+1"
    assert destinations.calling_code("+79001234567") == "+7"
    assert destinations.calling_code("+442071234567") == "+44"
    assert destinations.calling_code("+35312345678") == "+353"
    us = destinations.allowed_prefixes("", "+15550001111")
    assert us == ("+1",)
    assert destinations.allowed("+14155550100", us)
    assert destinations.allowed("+16135550100", us)  # Canada
    assert not destinations.allowed("+18765550100", us)  # Jamaica: +1, billed abroad
    assert not destinations.allowed("+19005550100", us)  # premium rate
    assert not destinations.allowed("+442071234567", us)
    asked = destinations.allowed_prefixes("+44, +1876", "+15550001111")
    assert destinations.allowed("+18765550100", asked)
    assert not destinations.allowed("+14155550100", asked)
    assert destinations.allowed("+8613800138000", ("*",))
    with pytest.raises(ValidationError, match=r"E\.164 prefix"):
        Settings(VIVA_PHONE_CALL_PREFIXES="+44,uk")


def test_a_destination_outside_the_allow_list_is_refused_before_twilio(tmp_path: Path) -> None:
    with (
        fake_twilio_rest() as (base, requests),
        running_app(phone_settings(tmp_path, api_base=base)) as api,
    ):
        headers = api.tenant()
        session_id = new_session(api, headers)["session"]["id"]
        for to in ("+442071234567", "+18765550100", "+19005550100"):
            refused = place(api, headers, session_id, to)
            assert refused.status_code == 400, (to, refused.text)
            assert refused.json()["error"]["code"] == "destination_not_allowed"
            assert "to" in refused.json()["error"]["fields"]
        assert requests == []  # Twilio was never asked
        assert place(api, headers, session_id, "+14155550100").status_code == 202
        assert len(requests) == 1


def test_calls_per_session_and_per_tenant_a_day_are_capped(tmp_path: Path) -> None:
    settings = phone_settings(tmp_path, VIVA_PHONE_CALLS_PER_TENANT_PER_DAY=4)
    with fake_twilio_rest() as (base, requests):
        settings = settings.model_copy(update={"twilio_api_base": base})
        with running_app(settings) as api:
            assert api.client.app.state.services.settings.phone_calls_per_session == 3  # type: ignore[attr-defined]
            headers = api.tenant()
            first = new_session(api, headers)["session"]["id"]
            for _ in range(3):
                assert place(api, headers, first, "+14155550100").status_code == 202
            capped = place(api, headers, first, "+14155550100")
            assert capped.status_code == 429 and capped.json()["error"]["code"] == "call_limit"
            assert "SESSION" in capped.json()["error"]["message"]
            second = new_session(api, headers)["session"]["id"]
            assert place(api, headers, second, "+14155550100").status_code == 202
            day = place(api, headers, second, "+14155550100")  # the tenant's 5th today
            assert day.status_code == 429 and "TENANT" in day.json()["error"]["message"]
            assert int(day.headers["Retry-After"]) <= 86400
            assert len(requests) == 4
            # Another tenant's calls are its own.
            other = api.tenant("Other")
            theirs = new_session(api, other)["session"]["id"]
            assert place(api, other, theirs, "+14155550100").status_code == 202
