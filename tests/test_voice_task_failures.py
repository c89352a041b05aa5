"""A voice-loop task that fails after the loop has ended (the socket went while it was sending
the `finished` message, found by the fault fuzzer) is retrieved and logged in one line, not left
for asyncio to print as "Task exception was never retrieved" with a traceback."""

from __future__ import annotations

import asyncio
import gc
import logging
from types import SimpleNamespace
from typing import Any

import pytest

from pipeline.voice.loop import VoiceLoop


async def _fail() -> None:
    raise ConnectionError("the socket went")


@pytest.mark.parametrize("loop_ended", [True, False])
async def test_a_failed_task_is_always_retrieved(
    loop_ended: bool, caplog: pytest.LogCaptureFixture
) -> None:
    running = asyncio.get_running_loop()
    unretrieved: list[dict[str, Any]] = []
    running.set_exception_handler(lambda _, context: unretrieved.append(context))
    done: asyncio.Future[None] = running.create_future()
    if loop_ended:
        done.set_result(None)
    task = running.create_task(_fail())
    owner = SimpleNamespace(_tasks={task}, _done=done, session_id="s-1")
    with caplog.at_level(logging.INFO, logger="pipeline.voice.loop"):
        while not task.done():
            await asyncio.sleep(0)
        VoiceLoop._task_done(owner, task)  # type: ignore[arg-type]
    del task
    gc.collect()
    running.set_exception_handler(None)

    assert unretrieved == []
    assert owner._tasks == set()
    if loop_ended:
        assert "a task failed after the loop ended" in caplog.text
    else:  # a live loop ends with the failure
        assert isinstance(done.exception(), ConnectionError)
