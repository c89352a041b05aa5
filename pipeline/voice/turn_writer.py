"""A live session's turns to the store, in the order they were committed.

Turn-taking commits a turn (it counts in the transcript at once, so the engine and the next
turn's index see it) and goes on; the write runs behind it as a supervised task. `TurnWriter`
keeps the writes in commit order: each waits for the one before, so an answer committed while the
interviewer's turn is still being written (a slow Redis, or one waiting an outage out) takes the
next index instead of that turn's, and is not refused. An answer is stored as the answer filter
returns it (other voices left out), which waits for the integrity observers: that runs beside
the reply's first audio, not before it. A repaired answer replaces its stored turn.

`settle` waits for the last queued write: the engine should see the answer as stored, and the
session ends only once every committed turn is in.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from pipeline.engine import Turn
from pipeline.voice.ports import TurnLog

__all__ = ["AnswerFilter", "FilteredAnswer", "TurnWriter"]


@dataclass(frozen=True)
class FilteredAnswer:
    """A spoken answer as scoring should see it: `text` without other voices, `meta` for the
    stored turn (what was left out, and when)."""

    text: str
    meta: dict[str, object]


# (turn index, words as `[word, start_s, end_s]` on the session clock, session time the question
# ended) -> the answer to store. Runs after the turn's audio went to the sink.
AnswerFilter = Callable[[int, list[list[object]], float | None], Awaitable[FilteredAnswer]]

Spawn = Callable[[Coroutine[Any, Any, None]], "asyncio.Task[None]"]


class TurnWriter:
    """`transcript` is the session's, shared with turn-taking: the writer appends a stored
    interviewer turn to it and puts a filtered answer in place of the one committed."""

    def __init__(
        self,
        turn_log: TurnLog,
        transcript: list[Turn],
        spawn: Spawn,
        answer_filter: AnswerFilter | None = None,
    ) -> None:
        self.turn_log = turn_log
        self.transcript = transcript
        self.answer_filter = answer_filter
        self._spawn = spawn
        self._pending: asyncio.Task[None] | None = None  # the last turn queued to store
        self._writes: set[asyncio.Task[None]] = set()  # turns queued to store, in order

    def writing(self, task: asyncio.Task[Any]) -> bool:
        """`task` is a queued write (let it finish when the session ends: its turn was
        committed, its reply already sent)."""
        return task in self._writes

    async def settle(self) -> None:
        """Wait for the committed answer still being filtered, or the turn still being written,
        to be stored: turns are stored in order, and the engine should see the answer as
        stored."""
        pending = self._pending
        if pending is not None and pending is not asyncio.current_task():
            await asyncio.shield(pending)

    async def store(self, turn: Turn) -> None:
        """Store a turn (the interviewer's) after those queued, and wait until it is in; the
        transcript has it then."""
        self._queue(functools.partial(self._append, turn))
        await self.settle()

    def store_answer(
        self, turn: Turn, spoken_text: str, typed: list[str], *, replace: bool
    ) -> None:
        """Queue a committed answer (already in the transcript): filtered, then appended, or
        stored over its earlier version (`replace`: a repair)."""
        self._queue(
            functools.partial(self._store_answer, turn, spoken_text, list(typed), replace=replace)
        )

    def _queue(self, write: Callable[[], Awaitable[None]]) -> None:
        """Queue a turn's write behind the one before, as the pending store `settle` waits
        for."""
        previous = self._pending

        async def in_order() -> None:
            if previous is not None:
                await asyncio.wait([previous])
            await write()

        task = self._spawn(in_order())
        self._writes.add(task)
        task.add_done_callback(self._writes.discard)
        self._pending = task

    async def _append(self, turn: Turn) -> None:
        await self.turn_log.append(turn)
        # Stored or already there (a retry): either way the transcript has it now.
        self.transcript.append(turn)

    async def _store_answer(
        self, turn: Turn, spoken_text: str, typed: list[str], *, replace: bool
    ) -> None:
        words = turn.meta.get("words")
        if self.answer_filter is not None and isinstance(words, list) and words:
            question_end_s = next(
                (
                    t.ended_at
                    for t in reversed(self.transcript[: turn.index])
                    if t.role == "interviewer"
                ),
                None,
            )
            answer = await self.answer_filter(turn.index, words, question_end_s)
            turn = dataclasses.replace(
                turn,
                text=" ".join([answer.text, *typed]).strip(),
                meta={**turn.meta, "asr_text": spoken_text, **answer.meta},
            )
        if replace:
            await self.turn_log.replace(turn)
        else:
            await self.turn_log.append(turn)
        if turn.index < len(self.transcript) and self.transcript[turn.index].index == turn.index:
            self.transcript[turn.index] = turn
