"""Issue 24 #11: OneCompiler's user tokens. A GET of the room changes nothing (a link preview or
a prefetch no longer mints a session token and closes the candidate's room), the user's token
leaves the frame's URL at once and travels only in a POST body, and neither the room nor
`GET /v1/ai-interviewer/sessions/{id}` opens another tenant's session that names the user."""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import pytest

from server.storage import audit_trail, keys
from tests.api_support import Api
from tests.compat_support import module_app
from tests.test_compat_onecompiler import _user, open_room


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    with module_app(tmp_path_factory) as running:
        yield running


def _session(api: Api, key: str, token: str) -> str:
    created = api.client.post(
        "/v1/ai-interviewer/sessions",
        headers={"X-API-Key": key, "X-User-Token": token},
        json={"interviewId": "dsa-1", "mode": "chat"},
    )
    assert created.status_code == 200, created.text
    return str(created.json()["session"]["_id"])


def test_a_get_of_the_room_changes_nothing(api: Api) -> None:
    key = api.tenant()["X-API-Key"]
    token = _user(api, key)["api"]["token"]
    session_id = _session(api, key, token)
    url = f"/embed/ai-interviewer/{session_id}?userApiToken={token}&interviewEvents=true"
    # The candidate opens the room: a session token in the fragment.
    opened = open_room(api, url, token)
    assert opened.status_code == 303
    room_token = parse_qs(urlsplit(opened.headers["location"]).fragment)["token"][0]
    before = api.run(api.redis.hget, keys.session(session_id), "token_hash")
    # Then the link is previewed, prefetched, reloaded by a crawler: GETs only.
    for _ in range(3):
        page = api.client.get(url, follow_redirects=False)
        assert page.status_code == 200
    assert api.run(api.redis.hget, keys.session(session_id), "token_hash") == before
    info = api.client.get(
        f"/embed/api/{session_id}", headers={"Authorization": f"Bearer {room_token}"}
    )
    assert info.status_code == 200, info.text  # the candidate's room token still works
    opened_entries = [
        e for e in api.run(audit_trail.entries, api.redis, session_id) if e.action == "room_opened"
    ]
    assert len(opened_entries) == 1


def test_the_user_token_leaves_the_url_and_goes_only_in_a_post_body(api: Api) -> None:
    key = api.tenant()["X-API-Key"]
    token = _user(api, key)["api"]["token"]
    session_id = _session(api, key, token)
    page = api.client.get(
        f"/embed/ai-interviewer/{session_id}?userApiToken={token}&interviewEvents=true"
    )
    assert page.headers["Cache-Control"] == "no-store"
    assert page.headers["Referrer-Policy"] == "no-referrer"
    csp = page.headers["Content-Security-Policy"]
    nonce = re.search(r"'nonce-([^']+)'", csp)
    assert nonce is not None and f'<script nonce="{nonce.group(1)}">' in page.text
    assert "frame-ancestors" in csp and "form-action 'self'" in csp
    action = f"/embed/ai-interviewer/{session_id}?interviewEvents=true"
    assert f'action="{action}"' in page.text and f'history.replaceState(null, "", "{action}")' in (
        page.text
    )
    assert 'method="post"' in page.text
    # A POST without the right token opens nothing.
    for body in ("", "userApiToken=ocu_wrong", "userApiToken=" + "x" * 5000):
        refused = api.client.post(
            action,
            content=body,
            headers={"Content-Type": "application/x-www-form-urlencoded"},
            follow_redirects=False,
        )
        assert refused.status_code in (404, 413), body[:30]


def test_another_tenants_session_naming_the_user_is_not_theirs(api: Api) -> None:
    key = api.tenant("OneCompiler customer")["X-API-Key"]
    user = _user(api, key)
    token = user["api"]["token"]
    # Another tenant makes a native session whose metadata names this user.
    other = api.tenant("Someone else")
    created = api.client.post(
        "/v1/sessions",
        headers=other,
        json={"interview_id": "dsa-1", "mode": "chat", "metadata": {"oc.user_id": user["_id"]}},
    )
    assert created.status_code == 201, created.text
    theirs = created.json()["session"]["id"]
    read = api.client.get(
        f"/v1/ai-interviewer/sessions/{theirs}", headers={"X-API-Key": key, "X-User-Token": token}
    )
    assert read.status_code == 404, read.text
    url = f"/embed/ai-interviewer/{theirs}?userApiToken={token}"
    assert api.client.get(url, follow_redirects=False).status_code == 404
    taken = api.client.post(
        f"/embed/ai-interviewer/{theirs}",
        content=f"userApiToken={token}",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        follow_redirects=False,
    )
    assert taken.status_code == 404
    assert not any(
        e.action == "room_opened" for e in api.run(audit_trail.entries, api.redis, theirs)
    )
