"""Session ids from a path or a body are checked at the edge (issue 24, #8): a crafted id such as
`<id>:turns` names another Redis key of another type, and answered 500. Every route that takes a
session id answers 404 (400 for a body field) in its own error shape, never 500."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from server.api import ENDPOINTS
from server.sessions import SessionNotFound, SessionStore, is_session_id, new_session_id
from server.settings import Settings
from tests.api_support import Api, bearer, running_app
from tests.compat_support import module_app

BODIES = {
    "give_consent": {"accepted": True, "version": "2026-01"},
    "post_message": {"text": "An answer."},
    "review_session": {"reviewer": "hm-7", "decision": "advance", "reason": "Checked."},
    "call_candidate": {"to": "+15551234567"},
    "record_demographics": {"sex": "female"},
}


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    with module_app(tmp_path_factory) as running:
        yield running


def _session(api: Api, headers: dict[str, str]) -> tuple[str, str]:
    body = {"interview_id": "backend-1", "mode": "chat", "cv_text": "Ten years of Python."}
    created = api.client.post("/v1/sessions", headers=headers, json=body)
    assert created.status_code == 201, created.text
    return created.json()["session"]["id"], created.json()["token"]


def _crafted(session_id: str) -> list[str]:
    # Each names an existing key of another type (list, stream, string) or none at all.
    return [f"{session_id}:{suffix}" for suffix in ("turns", "audit", "report", "reviews")] + [
        session_id.upper(),
        session_id + "0",
        "ses_nope",
    ]


def test_the_format_is_the_one_ids_are_made_in() -> None:
    assert all(is_session_id(new_session_id()) for _ in range(100))
    for bad in ("ses_", "ses_" + "0" * 19, "ses_" + "0" * 20 + "\n", "ses_" + "g" * 20, "x"):
        assert not is_session_id(bad), bad


def test_crafted_ids_answer_404_on_every_endpoint(api: Api) -> None:
    headers = api.tenant("Crafted")
    session_id, token = _session(api, headers)
    # A real interview with a stored turn, report and audit behind the crafted keys.
    api.client.post(
        f"/v1/sessions/{session_id}/consent", headers=bearer(token), json=BODIES["give_consent"]
    )
    api.client.post(f"/v1/sessions/{session_id}/start", headers=bearer(token))
    with_ids = [e for e in ENDPOINTS if "session_id" in e.path_params]
    assert len(with_ids) >= 15
    seen: list[str] = []
    for e in with_ids:
        for creds in (headers, bearer(token), {"Cookie": f"session={token}"}):
            for crafted in _crafted(session_id):
                path = e.path.format(session_id=crafted)
                body: Any = BODIES.get(e.handler.__name__)
                response = api.client.request(e.method, path, headers=creds, json=body)
                where = f"{e.method} {path} answered {response.status_code}: {response.text[:200]}"
                assert response.status_code == 404, where
                assert response.headers["content-type"].startswith("application/json"), where
                seen.append(e.path)
    assert "/session/{session_id}/interview" in seen  # the compat routes are among them


def test_crafted_ids_on_the_room_routes_answer_404(api: Api) -> None:
    headers = api.tenant("Room")
    session_id, token = _session(api, headers)
    user = api.client.post("/v1/users", headers={"X-API-Key": headers["X-API-Key"]}, json={})
    user_token = user.json()["user"]["api"]["token"]
    for crafted in _crafted(session_id):
        for path in (f"/embed/{crafted}", f"/embed/ai-interviewer/{crafted}"):
            assert api.client.get(path).status_code == 404, path
        room = api.client.get(
            f"/embed/ai-interviewer/{crafted}?userApiToken={user_token}", follow_redirects=False
        )
        assert room.status_code == 404, room.text
        info = api.client.get(f"/embed/api/{crafted}", headers=bearer(token))
        assert info.status_code == 404 and info.json()["error"]["code"] == "session_not_found"


def test_a_crafted_id_in_liyas_body_is_a_400(api: Api) -> None:
    key = api.tenant("Liya")["X-API-Key"]
    session_id, _ = _session(api, {"X-API-Key": key})
    for crafted in _crafted(session_id):
        body = {"input": {"user_id": "usr_1", "message": "An answer."}, "session_id": crafted}
        response = api.client.post(
            "/v1/hiring/mock-interview", headers={"x-api-key": key}, json=body
        )
        assert response.status_code == 400, response.text
        assert response.json()["success"] is False


def test_the_store_takes_a_key_of_another_type_for_no_session(api: Api) -> None:
    """The stream's path is not format-checked (its tests name sessions freely): the store itself
    finds no session behind a key that is not a session's hash."""
    headers = api.tenant("Stream")
    session_id, token = _session(api, headers)
    api.client.post(
        f"/v1/sessions/{session_id}/consent", headers=bearer(token), json=BODIES["give_consent"]
    )
    api.client.post(f"/v1/sessions/{session_id}/start", headers=bearer(token))
    store = SessionStore(api.redis)
    with pytest.raises(SessionNotFound):
        api.run(store.get, f"{session_id}:turns")
    with pytest.raises(SessionNotFound):
        api.run(store.authorize, f"{session_id}:audit", token)


def test_anonymous_callers_cannot_tell_a_missing_session_from_one_they_may_not_see(
    api: Api,
) -> None:
    """Issue 24, #9: 403 vs 404 on the CV/JD route, 401 vs 404 on `/embed/api/{id}`."""
    headers = api.tenant("Existence")
    session_id, _ = _session(api, headers)
    _, other_token = _session(api, headers)
    missing = "ses_" + "0" * 20
    for creds in ({}, bearer("nope"), bearer(other_token), {"Cookie": f"session={other_token}"}):
        for method, path in (
            ("GET", "/session/{}/interview"),
            ("POST", "/session/{}/message"),
            ("GET", "/embed/api/{}"),
        ):
            seen = api.client.request(method, path.format(session_id), headers=creds)
            unseen = api.client.request(method, path.format(missing), headers=creds)
            where = f"{method} {path} with {creds}: {seen.status_code} vs {unseen.status_code}"
            assert seen.status_code == unseen.status_code, where
            assert seen.status_code in (401, 403), where
            assert seen.json() == unseen.json(), where


def test_crafted_ids_on_the_demo_report_answer_404(settings: Settings) -> None:
    with running_app(settings.model_copy(update={"demo_enabled": True})) as demo:
        headers = demo.tenant("Demo")
        session_id, token = _session(demo, headers)
        for crafted in _crafted(session_id):
            report = demo.client.get(f"/demo/sessions/{crafted}/report", headers=bearer(token))
            assert report.status_code == 404, report.text
            assert report.json()["error"]["code"] == "session_not_found"


def test_crafted_interview_ids_answer_404(api: Api) -> None:
    """The same for interview ids: `int_…:invites` is the link's counter, a string."""
    headers = api.tenant("Interviews")
    body = {"name": "Open", "invite_sessions": 5}
    interview_id = api.client.post("/v1/interviews", headers=headers, json=body).json()[
        "interview_id"
    ]
    assert api.client.post(f"/join/{interview_id}", follow_redirects=False).status_code == 303
    for crafted in (f"{interview_id}:invites", f"{interview_id}:invites:ratelimit:1"):
        for method in ("GET", "PATCH", "DELETE"):
            response = api.client.request(
                method, f"/v1/interviews/{crafted}", headers=headers, json={"name": "x"}
            )
            assert response.status_code == 404, (method, response.text)
        for method in ("GET", "POST"):
            joined = api.client.request(method, f"/join/{crafted}", follow_redirects=False)
            assert joined.status_code == 404, (method, joined.text)
        created = api.client.post("/v1/sessions", headers=headers, json={"interview_id": crafted})
        assert created.status_code == 404, created.text
        audit = api.client.get(
            "/v1/audits/impact-ratios", headers=headers, params={"interview_id": crafted}
        )
        assert audit.status_code == 404, audit.text
