"""The system-design whiteboard (issue 25): the interviewer's reading of a board, and the
route that stores it with the session (validation, caps, who may write, snapshots, erasure)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Sequence
from typing import Any

import pytest

from pipeline.coding.whiteboard import Arrow, Board, Shape, describe, remark
from pipeline.engine import InterviewPlan, Move, Reply, Turn
from server.settings import Settings
from server.storage import keys
from server.whiteboard import WhiteboardAwareEngine
from tests.api_support import Api, bearer, running_app


def box(id: str, label: str, x: float, y: float = 0) -> dict[str, Any]:
    return {"id": id, "type": "box", "label": label, "x": x, "y": y, "w": 120, "h": 60}


PIPELINE = {
    "shapes": [
        box("api", "API", 0),
        box("q", "Queue", 200),
        box("w", "Workers", 400),
        box("db", "Database", 600),
        box("cache", "Cache", 0, 200),
        {"id": "n1", "type": "text", "label": "retry 3 times", "x": 200, "y": 120, "w": 0, "h": 0},
    ],
    "arrows": [
        {"from": "api", "to": "q", "label": "enqueue jobs"},
        {"from": "q", "to": "w", "label": ""},
        {"from": "w", "to": "db", "label": ""},
    ],
}


# --- the reading -----------------------------------------------------------------------------


def test_a_pipeline_reads_as_boxes_arrows_and_what_sits_between() -> None:
    text = describe(Board.from_wire(PIPELINE))
    assert text == (
        "The candidate drew 5 boxes and 3 arrows: API, Queue, Workers, Database and Cache. "
        'Arrows go from API to Queue ("enqueue jobs"), Queue to Workers and Workers to Database. '
        "Queue sits between API and Workers and Workers sits between Queue and Database. "
        "Not connected: Cache. "
        'Notes on the board: "retry 3 times".'
    )


def test_reading_order_is_rows_then_left_to_right_not_drawing_order() -> None:
    shapes = (
        Shape("b", "box", "Right", 300, 5, 100, 50),
        Shape("c", "box", "Below", 0, 200, 100, 50),
        Shape("a", "box", "Left", 0, 0, 100, 50),
    )
    assert describe(Board(shapes, ())) == "The candidate drew 3 boxes: Left, Right and Below."


def test_unlabelled_boxes_empty_boards_and_long_boards() -> None:
    assert describe(Board((), ())) == ""
    two = (Shape("a", "box", " ", 0, 0, 1, 1), Shape("b", "box", "", 100, 0, 1, 1))
    assert describe(Board(two, (Arrow("a", "b"),))) == (
        "The candidate drew 2 boxes and 1 arrow: an unlabelled box (1) and an unlabelled box (2). "
        "Arrows go from an unlabelled box (1) to an unlabelled box (2)."
    )
    many = tuple(Shape(f"s{i}", "box", f"S{i}", i * 200, 0, 1, 1) for i in range(20))
    text = describe(Board(many, ()))
    assert text.startswith("The candidate drew 20 boxes: S0, S1,") and "S11 and 8 more." in text
    assert "S12" not in text


def test_the_interviewers_remark_is_one_short_sentence() -> None:
    assert (
        remark(Board.from_wire(PIPELINE))
        == "On your whiteboard, Queue sits between API and Workers."
    )
    lone = tuple(Shape(f"s{i}", "box", f"S{i}", i * 200, 0, 1, 1) for i in range(7))
    assert remark(Board(lone, ())) == "On your whiteboard I see S0, S1, S2, S3, S4 and 2 more."
    note = (Shape("n", "text", "cache?", 0, 0, 40, 20),)
    assert remark(Board(note, ())) == "I see the notes on your whiteboard."
    assert remark(Board((), ())) == ""


def test_wire_form_round_trips() -> None:
    board = Board.from_wire(PIPELINE)
    assert Board.from_wire(board.to_wire()) == board
    assert board.to_wire()["arrows"][0] == {"from": "api", "to": "q", "label": "enqueue jobs"}


# --- the route -------------------------------------------------------------------------------


@pytest.fixture
def api(settings: Settings) -> Iterator[Api]:
    with running_app(settings) as running:
        yield running


def session_of(api: Api, headers: dict[str, str], kind: str) -> tuple[str, str]:
    interview = api.client.post(
        "/v1/interviews",
        headers=headers,
        json={"name": "Design", "type": kind, "questions": [{"question": "Design a queue."}]},
    )
    assert interview.status_code == 201, interview.text
    created = api.client.post(
        "/v1/sessions", headers=headers, json={"interview_id": interview.json()["interview_id"]}
    )
    assert created.status_code == 201, created.text
    return created.json()["session"]["id"], created.json()["token"]


def test_the_candidate_draws_and_the_tenant_reads_it_back(api: Api) -> None:
    client, headers = api.client, api.tenant()
    session_id, token = session_of(api, headers, "system_design")
    path = f"/v1/sessions/{session_id}/whiteboard"

    room = client.get(f"/embed/api/{session_id}", headers=bearer(token)).json()
    assert room["workspace"] == {"code": False, "whiteboard": True}  # the room shows the board
    empty = client.get(path, headers=bearer(token)).json()
    assert empty["enabled"] is True and empty["version"] == 0 and empty["shapes"] == []
    assert empty["description"] == "" and empty["updated_at"] is None

    saved = client.put(path, headers=bearer(token), json=PIPELINE)
    assert saved.status_code == 200, saved.text
    assert saved.json()["version"] == 1
    read = client.get(path, headers=headers).json()  # the tenant's key
    assert read["shapes"] == [{**s, "label": s["label"]} for s in PIPELINE["shapes"]]
    assert read["arrows"] == PIPELINE["arrows"]
    assert "Queue sits between API and Workers" in read["description"]
    assert read["updated_at"] is not None

    # The same board again is no new version; a changed one is, and both are snapshots.
    assert client.put(path, headers=bearer(token), json=PIPELINE).json()["version"] == 1
    moved = {**PIPELINE, "arrows": PIPELINE["arrows"][:1]}
    assert client.put(path, headers=bearer(token), json=moved).json()["version"] == 2
    snapshots = api.run(api.redis.lrange, keys.session_whiteboard_snapshots(session_id), 0, -1)
    assert len(snapshots) == 2

    # Only the candidate draws: the tenant's key may read but not write.
    assert client.put(path, headers=headers, json=PIPELINE).status_code == 403

    # Erasing the session takes the board with it.
    assert client.delete(f"/v1/sessions/{session_id}", headers=headers).status_code in (200, 204)
    assert api.scan(f"{keys.session_whiteboard(session_id)}*") == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"shapes": [box("a", "A", 0), box("a", "B", 10)]}, "unique"),
        ({"shapes": [box("a", "A", 0)], "arrows": [{"from": "a", "to": "zz"}]}, "missing"),
        ({"shapes": [box("a", "A", 0)], "arrows": [{"from": "a", "to": "a"}]}, "different"),
        ({"shapes": [box("a b", "A", 0)]}, "shapes.0.id"),
        ({"shapes": [{**box("a", "A", 0), "type": "circle"}]}, "shapes.0.type"),
        ({"shapes": [box("a", "x" * 81, 0)]}, "shapes.0.label"),
        ({"shapes": [box("a", "A", 1e9)]}, "shapes.0.x"),
        ({"shapes": [box(f"s{i}", "", i) for i in range(101)]}, "shapes"),
        ({"shapes": [], "extra": 1}, "extra"),
    ],
)
def test_bad_boards_are_refused_with_the_field(api: Api, body: dict[str, Any], field: str) -> None:
    headers = api.tenant()
    session_id, token = session_of(api, headers, "system_design")
    answer = api.client.put(
        f"/v1/sessions/{session_id}/whiteboard", headers=bearer(token), json=body
    )
    assert answer.status_code == 400, answer.text
    assert field in answer.text
    assert (
        api.client.get(f"/v1/sessions/{session_id}/whiteboard", headers=headers).json()["version"]
        == 0
    )


def test_not_a_number_is_refused(api: Api) -> None:
    headers = api.tenant()
    session_id, token = session_of(api, headers, "system_design")
    raw = '{"shapes": [{"id": "a", "type": "box", "label": "", "x": NaN, "y": 0}]}'
    answer = api.client.put(
        f"/v1/sessions/{session_id}/whiteboard",
        headers={**bearer(token), "Content-Type": "application/json"},
        content=raw,
    )
    assert answer.status_code == 400, answer.text


def test_no_whiteboard_outside_system_design_and_none_for_another_tenant(api: Api) -> None:
    headers = api.tenant()
    session_id, token = session_of(api, headers, "behavioral")
    path = f"/v1/sessions/{session_id}/whiteboard"
    assert api.client.get(path, headers=bearer(token)).json()["enabled"] is False
    room = api.client.get(f"/embed/api/{session_id}", headers=bearer(token)).json()
    assert room["workspace"]["whiteboard"] is False
    refused = api.client.put(path, headers=bearer(token), json=PIPELINE)
    assert (
        refused.status_code == 409 and refused.json()["error"]["code"] == "whiteboard_not_enabled"
    )
    assert api.client.get(path, headers=api.tenant("Other")).status_code == 404
    assert api.client.get(path).status_code == 401


# --- the interviewer shown the board ---------------------------------------------------------


class SaysNext:
    """An engine that always asks the same next question."""

    name = "fixed"
    version = "1"

    async def next_reply(self, plan: InterviewPlan, transcript: Sequence[Turn]) -> Reply:
        async def words() -> AsyncIterator[str]:
            yield "What happens when a worker fails?"

        return Reply(Move("follow_up", 0, False), words(), None, {"engine": "fixed"})


def test_the_interviewer_remarks_on_a_changed_board_only(api: Api) -> None:
    headers = api.tenant()
    session_id, token = session_of(api, headers, "system_design")
    path = f"/v1/sessions/{session_id}/whiteboard"
    engine = WhiteboardAwareEngine(SaysNext(), api.redis, session_id)
    plan = InterviewPlan(questions=())

    async def reply_to(transcript: list[Turn]) -> tuple[str, dict[str, object]]:
        reply = await engine.next_reply(plan, transcript)
        return " ".join([s async for s in reply.sentences()]), reply.meta

    asked = Turn(0, "interviewer", "Design a job queue.", question_index=0, kind="question")
    answered = [asked, Turn(1, "candidate", "An API, a queue and workers.", question_index=0)]
    # Nothing drawn: the inner engine's reply, untouched.
    assert api.run(reply_to, answered) == (
        "What happens when a worker fails?",
        {"engine": "fixed"},
    )

    assert api.client.put(path, headers=bearer(token), json=PIPELINE).status_code == 200
    said, meta = api.run(reply_to, answered)
    assert said == (
        "On your whiteboard, Queue sits between API and Workers. What happens when a worker fails?"
    )
    seen = meta["whiteboard"]
    assert isinstance(seen, dict) and seen["version"] == 1 and seen["arrows"] == PIPELINE["arrows"]
    assert meta["engine"] == "fixed"

    # The next answer with the board unchanged: kept in the meta again, not said again.
    looked = Turn(2, "interviewer", said, question_index=0, kind="follow_up", meta=meta)
    later = [*answered, looked, Turn(3, "candidate", "It retries.", question_index=0)]
    said_again, meta_again = api.run(reply_to, later)
    assert said_again == "What happens when a worker fails?"
    assert meta_again["whiteboard"] == seen
    # After the interviewer's own turn (a resumed question), nothing is added.
    assert api.run(reply_to, answered[:1])[1] == {"engine": "fixed"}
