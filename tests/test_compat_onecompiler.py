"""OneCompiler's AI interviewer embed API (seed 000): the catalogue, users with plans and daily
quotas, sessions, the room opened with the user's token, and the report, its example requests
replayed verbatim."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.api_support import Api, bearer
from tests.compat_schemas import onecompiler as schema
from tests.compat_support import module_app, parse_curl, replay

ANSWERS = [
    "I would put every number in a hash map from value to index, then for each number look up "
    "the complement. That is one pass, linear time and linear extra space for the map.",
    "With two pointers on a sorted array I move the left one up when the sum is too small and "
    "the right one down when it is too big, which is linear time and constant space.",
    "I test the empty array, duplicates, negative numbers and the case with no answer, and I "
    "explain the complexity of each step before I write the code.",
]


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    with module_app(tmp_path_factory) as running:
        yield running


def _user(api: Api, key: str, **body: Any) -> dict[str, Any]:
    response = api.client.post("/v1/users", headers={"X-API-Key": key}, json=body)
    assert response.status_code == 200, response.text
    user: dict[str, Any] = response.json()["user"]
    return user


def _plan(api: Api, key: str, token: str, quota: int | None) -> dict[str, Any]:
    response = api.client.put(
        "/v1/users/plan",
        headers={"X-API-Key": key, "X-User-Token": token},
        json={"plan": "pro", "dailyInterviewQuota": quota},
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


def _error(response: Any, status: int) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["status"] == "error" and body["code"] and body["message"]
    return str(body["message"])


def open_room(api: Api, url: str, user_token: str) -> Any:
    """What the room's page does: the GET answers a page that posts the user's token (in the
    body) to the room's URL without it; the POST answers the redirect into the room."""
    page = api.client.get(url, follow_redirects=False)
    assert page.status_code == 200, page.text
    action = re.search(r'<form id="open" method="post" action="([^"]*)"', page.text)
    assert action is not None and user_token not in action.group(1)
    target = action.group(1).replace("&amp;", "&")
    return api.client.post(
        target,
        content=f"userApiToken={user_token}",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        follow_redirects=False,
    )


def _room_config(page: str) -> dict[str, Any]:
    match = re.search(r'<script type="application/json" id="room-config">(.*?)</script>', page)
    assert match is not None
    config: dict[str, Any] = json.loads(match.group(1))
    return config


def test_the_catalogue_verbatim(api: Api) -> None:
    assert "API key" in _error(replay(api.client, parse_curl(schema.CATALOGUE)), 401)
    key = api.tenant()["X-API-Key"]
    response = replay(api.client, parse_curl(schema.CATALOGUE, {"your_api_key": key}))
    assert response.status_code == 200, response.text
    catalogue = schema.Catalogue.model_validate(response.json())
    assert {p.id for p in catalogue.personas} == schema.PERSONAS
    assert {t.id: t.cat for t in catalogue.tracks}["dsa"] == "technical"
    dsa = {i.id: i for i in catalogue.interviews["dsa"]}["dsa-1"]
    assert dsa.skills == ["Hash maps", "Two pointers"] and dsa.mins > 0
    assert catalogue.interviews["k12_math"][0].grades[0] == "Grade 6"
    assert "grades" not in response.json()["interviews"]["dsa"][0]  # only where there are


@pytest.mark.models
def test_a_users_interview_from_session_to_room_to_report(api: Api) -> None:
    key = api.tenant("OneCompiler customer")["X-API-Key"]
    user = _user(api, key, name="Ada", email="ada@example.com", externalId="app-user-1")
    token = user["api"]["token"]
    assert user["plan"] == {"name": "default", "dailyInterviewQuota": None}
    mine = {"your_api_key": key, "users_api_token": token}

    # The seed's request verbatim (voice), then a chat one to answer here by typing.
    created = replay(api.client, parse_curl(schema.CREATE_SESSION, mine))
    assert created.status_code == 200, created.text
    voice = schema.SessionCreated.model_validate(created.json())
    assert voice.session.interviewId == "dsa-1" and voice.session.status == "active"
    assert urlsplit(voice.embedUrl).path == f"/embed/ai-interviewer/{voice.session.id}"
    chat_body = parse_curl(schema.CREATE_SESSION, mine).json() | {"mode": "chat"}
    chat = api.client.post(
        "/v1/ai-interviewer/sessions",
        headers={"X-API-Key": key, "X-User-Token": token},
        json=chat_body,
    )
    session = schema.SessionCreated.model_validate(chat.json()).session
    session_id = session.id

    # The iFrame's src verbatim: the user's token opens the room, exchanged for the session's
    # own token in the fragment; events will carry OneCompiler's source.
    src = urlsplit(
        schema.IFRAME_SRC.replace("44s2rmqbh", session_id).replace("users_api_token", token)
    )
    opened = open_room(api, f"{src.path}?{src.query}", token)
    assert opened.status_code == 303, opened.text
    target = urlsplit(opened.headers["location"])
    assert token not in opened.headers["location"]
    assert parse_qs(target.query) == {"interviewEvents": ["true"], "events": ["oc-interview"]}
    session_token = parse_qs(target.fragment)["token"][0]
    room = api.client.get(f"{target.path}?{target.query}")
    assert room.status_code == 200
    assert _room_config(room.text)["eventSource"] == "oc-interview"
    native_room = api.client.get(f"/embed/{session_id}?interviewEvents=true")
    assert _room_config(native_room.text)["eventSource"] == "viva-interview"

    # What the room does with that token (chat mode, typed here).
    candidate = bearer(session_token)
    consent = {"accepted": True, "version": "2026-01"}
    assert api.client.post(
        f"/v1/sessions/{session_id}/consent", headers=candidate, json=consent
    ).is_success
    reply = api.client.post(f"/v1/sessions/{session_id}/start", headers=candidate).json()
    answered = 0
    while not reply["is_complete"] and answered < 30:
        response = api.client.post(
            f"/v1/sessions/{session_id}/messages",
            headers=candidate,
            json={"text": ANSWERS[answered % len(ANSWERS)]},
        )
        assert response.status_code == 200, response.text
        reply = response.json()
        answered += 1
    assert reply["is_complete"]

    running = replay(
        api.client, parse_curl(schema.GET_SESSION, mine | {"44s2rmqbh": voice.session.id})
    )
    assert schema.SessionRead.model_validate(running.json()).session.feedback is None
    read = replay(api.client, parse_curl(schema.GET_SESSION, mine | {"44s2rmqbh": session_id}))
    assert read.status_code == 200, read.text
    result = schema.SessionRead.model_validate(read.json()).session
    assert result.id == session_id and result.status == "completed"
    assert result.feedback is not None and result.score == result.feedback.score
    report = api.client.get(f"/v1/sessions/{session_id}", headers={"X-API-Key": key}).json()
    native = report["report"]
    assert result.feedback.verdict == native["verdict"]
    assert [s.name for s in result.feedback.skills] == [c["name"] for c in native["competencies"]]
    assert [q.q for q in result.feedback.questions] == [q["question"] for q in native["questions"]]
    assert report["candidate"]["external_id"] == "app-user-1"


def test_the_users_plan_quota_is_enforced(api: Api) -> None:
    key = api.tenant()["X-API-Key"]
    token = _user(api, key, name="Bo")["api"]["token"]
    plan = _plan(api, key, token, 1)
    assert plan["user"]["plan"] == {"name": "pro", "dailyInterviewQuota": 1}
    assert "api" not in plan["user"] or plan["user"]["api"] is None  # the token shows once
    mine = {"your_api_key": key, "users_api_token": token}
    assert replay(api.client, parse_curl(schema.CREATE_SESSION, mine)).status_code == 200
    over = replay(api.client, parse_curl(schema.CREATE_SESSION, mine))
    assert "1 interviews a day" in _error(over, 429) and int(over.headers["Retry-After"]) > 0
    # A refused session uses none of the quota; a bigger plan opens more at once.
    _plan(api, key, token, 2)
    assert replay(api.client, parse_curl(schema.CREATE_SESSION, mine)).status_code == 200
    _error(replay(api.client, parse_curl(schema.CREATE_SESSION, mine)), 429)
    _plan(api, key, token, None)
    assert replay(api.client, parse_curl(schema.CREATE_SESSION, mine)).status_code == 200
    # Another user of the same tenant has their own quota.
    other = _user(api, key)["api"]["token"]
    _plan(api, key, other, 0)
    _error(
        replay(api.client, parse_curl(schema.CREATE_SESSION, {**mine, "users_api_token": other})),
        429,
    )


def test_users_are_synced_by_external_id_and_tokens_open_only_their_own(api: Api) -> None:
    key, other_key = api.tenant()["X-API-Key"], api.tenant()["X-API-Key"]
    first = _user(api, key, externalId="u-1", name="Cy")
    again = _user(api, key, externalId="u-1", name="Cy Young")
    assert again["_id"] == first["_id"] and again["name"] == "Cy Young"
    old, token = first["api"]["token"], again["api"]["token"]
    assert old != token
    headers = {"X-API-Key": key, "X-User-Token": old}
    body = {"interviewId": "dsa-1"}
    _error(api.client.post("/v1/ai-interviewer/sessions", headers=headers, json=body), 401)
    # Another tenant's key with this user's token: the user is not theirs.
    foreign = {"X-API-Key": other_key, "X-User-Token": token}
    _error(api.client.post("/v1/ai-interviewer/sessions", headers=foreign, json=body), 401)

    mine = {"X-API-Key": key, "X-User-Token": token}
    created = api.client.post("/v1/ai-interviewer/sessions", headers=mine, json=body).json()
    session_id = created["session"]["_id"]
    stranger = _user(api, key)["api"]["token"]
    theirs = {"X-API-Key": key, "X-User-Token": stranger}
    _error(api.client.get(f"/v1/ai-interviewer/sessions/{session_id}", headers=theirs), 404)
    # The stranger's token opens no room of this session.
    room = api.client.get(
        f"/embed/ai-interviewer/{session_id}?userApiToken={stranger}", follow_redirects=False
    )
    assert room.status_code == 404
    # The plan by user id, from the tenant's key alone.
    by_id = api.client.put(
        "/v1/users/plan",
        headers={"X-API-Key": key},
        json={"userId": first["_id"], "plan": "team", "dailyInterviewQuota": 5},
    )
    assert by_id.status_code == 200 and by_id.json()["user"]["plan"]["name"] == "team"
    elsewhere = api.client.put(
        "/v1/users/plan",
        headers={"X-API-Key": other_key},
        json={"userId": first["_id"], "plan": "team", "dailyInterviewQuota": 5},
    )
    _error(elsewhere, 404)


def test_session_errors_in_onecompilers_shape(api: Api) -> None:
    key = api.tenant()["X-API-Key"]
    token = _user(api, key)["api"]["token"]
    headers = {"X-API-Key": key, "X-User-Token": token}
    post = "/v1/ai-interviewer/sessions"
    assert "grade" in _error(
        api.client.post(post, headers=headers, json={"interviewId": "k12_math-1"}), 400
    )
    graded = api.client.post(
        post, headers=headers, json={"interviewId": "k12_math-1", "grade": "Grade 7"}
    )
    assert graded.status_code == 200, graded.text
    assert "nope" in _error(
        api.client.post(post, headers=headers, json={"interviewId": "nope"}), 404
    )
    assert "personaId" in _error(
        api.client.post(post, headers=headers, json={"interviewId": "dsa-1", "personaId": "zed"}),
        400,
    )
    _error(api.client.post(post, headers={"X-API-Key": key}, json={"interviewId": "dsa-1"}), 401)


def test_a_session_token_in_the_oc_room_url_still_opens_the_native_room(api: Api) -> None:
    headers = api.tenant()
    created = api.client.post(
        "/v1/sessions", headers=headers, json={"interview_id": "dsa-1", "mode": "chat"}
    ).json()
    session_id, token = created["session"]["id"], created["token"]
    opened = api.client.get(
        f"/embed/ai-interviewer/{session_id}?userApiToken={token}&interviewEvents=true",
        follow_redirects=False,
    )
    assert opened.status_code == 303
    assert opened.headers["location"] == (
        f"/embed/ai-interviewer/{session_id}?interviewEvents=true#token={token}"
    )
