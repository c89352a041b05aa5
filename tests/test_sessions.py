from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from pipeline.engine import InterviewPlan, Question, ScriptedEngine, Turn
from server.sessions import InvalidToken, SessionNotFound, SessionRecord, SessionStore
from server.storage import keys
from server.storage.store import Store


@pytest.fixture
async def sessions(tmp_path: Path) -> AsyncIterator[SessionStore]:
    store = Store(None, tmp_path)
    await store.open()
    yield SessionStore(store.redis)
    await store.close()


PLAN = InterviewPlan(
    questions=(Question("q1", "Tell me about yourself."), Question("q2", "Why us?"))
)


async def test_token_opens_only_its_session(sessions: SessionStore) -> None:
    _record, token = await sessions.create(SessionRecord(id="s1", tenant_id="t1", plan=PLAN))
    _other, other_token = await sessions.create(SessionRecord(id="s2", tenant_id="t1", plan=PLAN))
    assert len(token) >= 43  # 256 bits, url-safe base64
    assert (await sessions.authorize("s1", token)).plan == PLAN
    with pytest.raises(InvalidToken):
        await sessions.authorize("s1", other_token)
    with pytest.raises(InvalidToken):
        await sessions.authorize("s1", "wrong")
    with pytest.raises(SessionNotFound):
        await sessions.authorize("nope", token)


async def test_expired_token_is_refused(sessions: SessionStore) -> None:
    _, token = await sessions.create(
        SessionRecord(id="s3", tenant_id="t1", plan=PLAN), token_ttl_s=1
    )
    await sessions.redis.hset(keys.session("s3"), "expires_at", "1.0")
    with pytest.raises(InvalidToken):
        await sessions.authorize("s3", token)


async def test_turns_are_stored_once(sessions: SessionStore) -> None:
    await sessions.create(SessionRecord(id="s4", tenant_id="t1", plan=PLAN))
    first = Turn(index=0, role="interviewer", text="Hello", question_index=0, kind="opening")
    assert await sessions.append_turn("s4", first)
    assert not await sessions.append_turn("s4", first)  # a retry stores nothing
    skipped = Turn(index=5, role="candidate", text="out of order")
    assert not await sessions.append_turn("s4", skipped)
    assert await sessions.turns("s4") == [first]


async def test_scripted_engine_runs_a_plan_and_resumes() -> None:
    engine = ScriptedEngine()
    transcript: list[Turn] = []

    async def say(reply_turn_kind: str | None = None) -> Turn:
        reply = await engine.next_reply(PLAN, transcript)
        text = " ".join([s async for s in reply.sentences()])
        turn = Turn(
            len(transcript), "interviewer", text, reply.move.question_index, reply.move.kind
        )
        transcript.append(turn)
        return turn

    opening = await say()
    assert opening.kind == "opening" and "Tell me about yourself." in opening.text
    resumed = await engine.next_reply(PLAN, transcript)  # no answer yet: same question again
    assert resumed.move.question_index == 0
    transcript.append(Turn(len(transcript), "candidate", "I build things."))
    assert (await say()).question_index == 1
    transcript.append(Turn(len(transcript), "candidate", "You build things."))
    closing = await engine.next_reply(PLAN, transcript)
    assert closing.move.kind == "closing" and closing.move.is_complete
