"""An asyncio event loop on virtual time, for timeline tests that prove nothing by waiting.

`loop.time()` starts at 0 and moves only when every task is waiting on a timer: it then jumps to
the next timer at once (as trio's `MockClock(autojump_threshold=0)`). Sockets and the loop's own
self-pipe are still polled for real, without blocking. So a test of a 60 s interview timeline
runs in the CPU time its callbacks take, and runs the same on a busy machine: nothing depends on
how fast the wall clock moves. Code under test must read time from the loop (`loop.time()`,
`asyncio.sleep`, `asyncio.wait_for`), never from `time.monotonic()`; and it must not wait on
threads (an executor's result would arrive at an arbitrary virtual time).

Async tests marked `pytest.mark.virtual_time` run on it (tests/conftest.py); a sync test can
`run_virtual(coro)`.
"""

from __future__ import annotations

import asyncio
import selectors
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


class _AutojumpSelector(selectors.DefaultSelector):
    """Polls without blocking; a wait for a timer advances the loop's virtual time instead."""

    def __init__(self) -> None:
        super().__init__()
        self.loop: VirtualTimeLoop | None = None

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        ready = super().select(0)
        if ready or timeout is None or self.loop is None:
            # Nothing scheduled at all: only I/O can wake the loop, so wait for it for real.
            return ready or super().select(timeout)
        if timeout > 0:
            self.loop.advance(timeout)
        return ready


class VirtualTimeLoop(asyncio.SelectorEventLoop):
    def __init__(self) -> None:
        selector = _AutojumpSelector()
        super().__init__(selector)
        selector.loop = self
        self._now = 0.0

    def time(self) -> float:
        return self._now

    def advance(self, seconds: float) -> None:
        self._now += seconds


def run_virtual(coro: Coroutine[Any, Any, T]) -> T:
    """Run `coro` to completion on a fresh virtual-time loop."""
    loop = VirtualTimeLoop()
    try:
        return loop.run_until_complete(coro)
    finally:
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()
