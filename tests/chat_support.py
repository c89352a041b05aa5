"""Running a whole chat-mode interview through the REST API, as the room does."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from tests.api_support import Api, bearer


@dataclass
class ChatRun:
    session_id: str
    token: str
    replies: list[dict[str, Any]] = field(default_factory=list)  # the interviewer's, in order
    answers: list[str] = field(default_factory=list)  # what was sent, in order

    @property
    def flow(self) -> list[tuple[str, int | None]]:
        """(kind, question index) of each interviewer turn: which questions were asked."""
        return [(r["kind"], r["question_index"]) for r in self.replies]


def open_chat(api: Api, headers: dict[str, str], body: dict[str, Any]) -> tuple[str, str]:
    """A chat session the candidate consented to: (session id, token)."""
    created = api.client.post("/v1/sessions", headers=headers, json={"mode": "chat", **body})
    assert created.status_code == 201, created.text
    session_id, token = created.json()["session"]["id"], created.json()["token"]
    consent = api.client.post(
        f"/v1/sessions/{session_id}/consent",
        headers=bearer(token),
        json={"accepted": True, "version": "2026-01"},
    )
    assert consent.status_code == 200, consent.text
    return session_id, token


def run_chat(
    api: Api,
    headers: dict[str, str],
    body: dict[str, Any],
    answer: Callable[[dict[str, Any], int], str] | Sequence[str],
    *,
    max_answers: int = 12,
) -> ChatRun:
    """Start the interview and answer until it closes. `answer`: the answers in order (cycled),
    or a function of the interviewer's reply and how many answers were given."""
    session_id, token = open_chat(api, headers, body)
    run = ChatRun(session_id, token)
    candidate = bearer(token)
    reply = api.client.post(f"/v1/sessions/{session_id}/start", headers=candidate).json()
    run.replies.append(reply)
    while not reply["is_complete"]:
        assert len(run.answers) < max_answers, run.flow
        if callable(answer):
            text = answer(reply, len(run.answers))
        else:
            text = answer[len(run.answers) % len(answer)]
        response = api.client.post(
            f"/v1/sessions/{session_id}/messages", headers=candidate, json={"text": text}
        )
        assert response.status_code == 200, response.text
        reply = response.json()
        run.answers.append(text)
        run.replies.append(reply)
    return run


def session_view(api: Api, headers: dict[str, str], session_id: str) -> dict[str, Any]:
    response = api.client.get(f"/v1/sessions/{session_id}", headers=headers)
    assert response.status_code == 200, response.text
    view: dict[str, Any] = response.json()
    return view
