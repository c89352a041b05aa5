"""The turn writer alone (pipeline/voice/turn_writer.py), against a real Valkey.

Turns are written to the session's turn list in Redis the way a live stream stores them
(`SessionStore.store_turn`: append-once by index, so a turn written out of order is refused).
No voice loop, no model: the writer is driven as turn-taking drives it (an interviewer turn
stored, an answer committed while it is still being written, a repair), with writes slowed where
the races are, and what Redis holds at the end is checked.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

import pytest

from pipeline.engine import Turn
from pipeline.voice.turn_writer import FilteredAnswer, TurnWriter
from server.sessions import AppendResult, SessionStore
from server.storage import keys
from server.storage.store import Redis

_sessions = 0


@pytest.fixture
def redis(valkey: Redis) -> Redis:
    """This module's tests need Valkey only (tests/conftest.py `valkey`), no server."""
    return valkey


class RedisTurnLog:
    """A session's turns in Redis (`TurnLog`), each write after `delays[index]` seconds; every
    write's outcome is kept, in the order the writes reached Redis."""

    def __init__(self, redis: Redis, session_id: str, delays: dict[int, float] | None = None):
        self.sessions = SessionStore(redis)
        self.session_id = session_id
        self.delays = delays or {}
        self.outcomes: list[tuple[str, int, AppendResult]] = []
        self.fail: set[int] = set()  # indexes whose write raises

    async def _before(self, turn: Turn) -> None:
        await asyncio.sleep(self.delays.get(turn.index, 0.0))
        if turn.index in self.fail:
            raise ConnectionError("Redis went away")

    async def append(self, turn: Turn) -> bool:
        await self._before(turn)
        result = await self.sessions.store_turn(self.session_id, turn)
        self.outcomes.append(("append", turn.index, result))
        return result is AppendResult.STORED

    async def replace(self, turn: Turn) -> bool:
        await self._before(turn)
        result = await self.sessions.replace_last_turn(self.session_id, turn)
        self.outcomes.append(("replace", turn.index, result))
        return result is AppendResult.STORED

    async def stored(self) -> list[Turn]:
        return await self.sessions.turns(self.session_id)


async def new_session(redis: Redis) -> str:
    global _sessions
    _sessions += 1
    session_id = f"writer-{_sessions}"
    await redis.hset(keys.session(session_id), mapping={"id": session_id, "status": "active"})
    return session_id


class Supervisor:
    """The loop's part: starts the writer's tasks and hears of their failures."""

    def __init__(self) -> None:
        self.tasks: list[asyncio.Task[None]] = []
        self.failures: list[BaseException] = []

    def spawn(self, coro: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task = asyncio.get_running_loop().create_task(coro)
        self.tasks.append(task)
        task.add_done_callback(self._done)
        return task

    def _done(self, task: asyncio.Task[None]) -> None:
        if not task.cancelled() and task.exception() is not None:
            self.failures.append(task.exception())  # type: ignore[arg-type]


def interviewer(index: int, ended_at: float = 0.0) -> Turn:
    return Turn(
        index=index,
        role="interviewer",
        text=f"Question {index}?",
        question_index=index // 2,
        started_at=ended_at - 1,
        ended_at=ended_at,
    )


def answer(index: int, text: str, words: list[list[object]] | None = None) -> Turn:
    return Turn(
        index=index,
        role="candidate",
        text=text,
        kind="answer",
        source="voice",
        meta={"words": words or [[w, 10.0 + i, 10.5 + i] for i, w in enumerate(text.split())]},
    )


async def test_an_answer_committed_while_the_question_is_written_is_stored_after_it(
    redis: Redis,
) -> None:
    """The interviewer's turn is slow to write (a slow Redis); the answer to it is committed
    meanwhile and slow to filter, and the next question is stored while that runs. All three
    reach Redis in commit order, none refused (append-once by index would refuse any other)."""
    log = RedisTurnLog(redis, await new_session(redis), delays={0: 0.3})
    supervisor = Supervisor()
    filtered = asyncio.Event()

    async def slow_filter(index: int, words: list[list[object]], _: float | None) -> FilteredAnswer:
        await asyncio.sleep(0.3)
        filtered.set()
        return FilteredAnswer(" ".join(str(w[0]) for w in words), {})

    transcript: list[Turn] = []
    writer = TurnWriter(log, transcript, supervisor.spawn, slow_filter)
    question = asyncio.create_task(writer.store(interviewer(0, ended_at=5.0)))
    await asyncio.sleep(0.05)
    assert transcript == []  # not in until stored
    await writer.settle()  # as the reply does before building the answer's turn
    assert [t.index for t in transcript] == [0]
    committed = answer(len(transcript), "I led the migration")
    transcript.append(committed)
    writer.store_answer(committed, "I led the migration", [], replace=False)
    await writer.store(interviewer(2, ended_at=20.0))  # waits for the answer to be stored

    assert filtered.is_set() and question.done()
    assert log.outcomes == [
        ("append", 0, AppendResult.STORED),
        ("append", 1, AppendResult.STORED),
        ("append", 2, AppendResult.STORED),
    ]
    assert [(t.index, t.role) for t in await log.stored()] == [
        (0, "interviewer"),
        (1, "candidate"),
        (2, "interviewer"),
    ]
    assert [t.index for t in transcript] == [0, 1, 2]
    assert supervisor.failures == []


async def test_an_answer_is_stored_as_the_filter_returns_it(redis: Redis) -> None:
    log = RedisTurnLog(redis, await new_session(redis))
    supervisor = Supervisor()
    asked: list[tuple[int, list[list[object]], float | None]] = []

    async def without_other_voice(
        index: int, words: list[list[object]], question_end_s: float | None
    ) -> FilteredAnswer:
        asked.append((index, words, question_end_s))
        kept = [str(w[0]) for w in words if w[0] != "psst"]
        return FilteredAnswer(" ".join(kept), {"left_out": [["psst", 11.0, 11.5]]})

    transcript: list[Turn] = []
    writer = TurnWriter(log, transcript, supervisor.spawn, without_other_voice)
    await writer.store(interviewer(0, ended_at=7.5))
    committed = answer(1, "yes psst indeed")
    transcript.append(committed)
    writer.store_answer(committed, "yes psst indeed", ["(typed)"], replace=False)
    await writer.settle()

    assert asked == [(1, committed.meta["words"], 7.5)]  # the question's end, for the filter
    stored = (await log.stored())[1]
    assert stored.text == "yes indeed (typed)"
    assert stored.meta["asr_text"] == "yes psst indeed"
    assert stored.meta["left_out"] == [["psst", 11.0, 11.5]]
    assert stored.meta["words"] == committed.meta["words"]
    assert transcript[1] == stored  # the engine sees the answer as stored
    assert supervisor.failures == []


async def test_a_repaired_answer_replaces_its_stored_turn(redis: Redis) -> None:
    log = RedisTurnLog(redis, await new_session(redis))
    supervisor = Supervisor()
    transcript: list[Turn] = []
    writer = TurnWriter(log, transcript, supervisor.spawn)
    await writer.store(interviewer(0))
    first = answer(1, "I led it")
    transcript.append(first)
    writer.store_answer(first, first.text, [], replace=False)
    await writer.settle()
    # The candidate went on as the reply began: the reply is dropped, the answer reopened.
    repaired = answer(1, "I led it and it shipped")
    transcript[1] = repaired
    writer.store_answer(repaired, repaired.text, [], replace=True)
    await writer.store(interviewer(2))

    assert [o[:2] for o in log.outcomes] == [
        ("append", 0),
        ("append", 1),
        ("replace", 1),
        ("append", 2),
    ]
    assert all(o[2] is AppendResult.STORED for o in log.outcomes)
    stored = await log.stored()
    assert [t.text for t in stored] == ["Question 0?", "I led it and it shipped", "Question 2?"]


async def test_queued_writes_are_known_and_a_failed_one_reaches_the_supervisor(
    redis: Redis,
) -> None:
    """The loop lets queued writes finish when the session ends (`writing`), and a write that
    fails ends the session through the supervisor; whoever waits for it hears of it too."""
    log = RedisTurnLog(redis, await new_session(redis), delays={1: 0.2})
    log.fail = {1}
    supervisor = Supervisor()
    transcript: list[Turn] = []
    writer = TurnWriter(log, transcript, supervisor.spawn)
    await writer.store(interviewer(0))
    (done,) = supervisor.tasks
    assert not writer.writing(done)  # written: nothing left to wait for

    committed = answer(1, "I led it")
    transcript.append(committed)
    writer.store_answer(committed, committed.text, [], replace=False)
    queued = supervisor.tasks[-1]
    assert writer.writing(queued)
    with pytest.raises(ConnectionError):
        await writer.settle()
    assert not writer.writing(queued)
    assert [type(e) for e in supervisor.failures] == [ConnectionError]
    assert [t.index for t in await log.stored()] == [0]
