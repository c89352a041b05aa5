"""One live session's time: the audio received, and the wall clock only where wall time is meant.

A live session reads two clocks, and mixing them was a bug: a client that sends no audio while
the interviewer speaks (half duplex), or a network that holds frames back and then delivers them
in a burst, shifts the audio received against the wall clock by the length of the gap, and a
pause measured from a word on one clock to "now" on the other came out seconds long.

- **The audio clock** (seconds of candidate audio received, from the first sample this connection
  got): what the candidate did. Turn-taking reads only this: a pause is so many seconds of audio
  heard after the last voiced frame; a gap in the input (no frames) adds nothing to it, and frames
  that arrive late are the audio they are, in order.
- **The wall clock** (`wall`, injectable: tests run on virtual time): what really takes time. The
  interviewer's audio is paced on it, the client's playback, a signal's arrival (`answer_done`),
  how long the models took, and a client that has sent nothing for a long time.

Where the two meet (the end of speech in `metrics`, turn and word times stored on the session's
timeline, the repair window) an audio position is mapped to the wall time it was captured at:
audio cannot arrive before it was captured, so within a stretch of audio sent without a gap the
earliest "arrival minus position" seen is the best anchor; a frame that arrives later than that
anchor allows starts a new stretch (the client skipped audio, or a stall began), and a burst that
brings the new stretch's anchor back to the old one shows it was a stall (no audio skipped), so
the two merge again. A client dropping bits of audio too small to see as gaps moves the anchor
up once a whole window of arrivals shows it (`DRIFT_S`).
"""

from __future__ import annotations

import asyncio
import bisect
import time
from collections import deque
from collections.abc import Callable

__all__ = ["GAP_S", "SessionClock"]

# A frame arriving this much later than continuous capture allows marks a gap (or the start of a
# stall): network jitter stays below it, a half-duplex client mutes for a whole interviewer turn.
GAP_S = 0.5
# Stretches whose anchors end this close are one: the gap between them was jitter at most, and a
# jittery network must not leave thousands of stretches behind.
MERGE_S = 0.05
# A client that drops bits of audio now and then (a glitching audio callback) or whose clock runs
# slow falls behind its anchor without a gap large enough to see: when no frame in the last
# `DRIFT_WINDOW_S` came as early as the anchor says, the anchor moves up to the earliest of them.
DRIFT_WINDOW_S = 3.0
DRIFT_S = 0.1
_EPS = 1e-6


class SessionClock:
    """Session-relative seconds (`offset_s` when this connection started, on the wall clock),
    the audio clock of this connection, and the mapping between them."""

    def __init__(self, offset_s: float, wall: Callable[[], float] = time.monotonic) -> None:
        self.offset_s = offset_s
        self.wall = wall
        self._origin = wall()
        self.received_s = 0.0  # audio received (input bytes), seconds
        self.heard_s = 0.0  # audio processed (frames through the VAD), seconds
        self.last_arrival: float | None = None  # wall time audio last arrived
        self._starts: list[float] = []  # audio position where each stretch starts
        self._anchors: list[float] = []  # wall time of audio position 0, per stretch
        self._waiters: list[tuple[float, asyncio.Future[None]]] = []
        # (arrival, anchor it allows) over the last DRIFT_WINDOW_S; the first is their minimum
        self._recent: deque[tuple[float, float]] = deque()
        self._stretch_began = 0.0  # wall time the current stretch began

    # -- the wall clock ------------------------------------------------------------------------

    def now_s(self) -> float:
        """Session seconds now, by the wall clock."""
        return self.offset_s + self.wall() - self._origin

    # -- the audio clock -----------------------------------------------------------------------

    def audio_arrived(self, seconds: float) -> None:
        """`seconds` more input audio arrived now."""
        now = self.wall()
        start = self.received_s
        self.received_s = end = start + seconds
        self.last_arrival = now
        anchor = now - end  # its last sample was captured at `now` at the latest
        earliest = self._earliest_recent(now, anchor)
        if not self._anchors or anchor > self._anchors[-1] + GAP_S:
            self._new_stretch(start, anchor)
            return
        if earliest > self._anchors[-1] + DRIFT_S and self._window_full(now):
            self._new_stretch(start, earliest)
            return
        if anchor < self._anchors[-1]:
            self._anchors[-1] = anchor
            # A burst this large shows the gap before the stretch was a stall: no audio skipped.
            while len(self._anchors) > 1 and self._anchors[-1] <= self._anchors[-2] + MERGE_S:
                merged = self._anchors.pop()
                self._starts.pop()
                self._anchors[-1] = min(self._anchors[-1], merged)

    def _new_stretch(self, start: float, anchor: float) -> None:
        now = self.wall()
        self._starts.append(start)
        self._anchors.append(anchor)
        self._stretch_began = now
        self._recent.clear()
        self._recent.append((now, anchor))

    def _earliest_recent(self, now: float, anchor: float) -> float:
        """The lowest anchor that arrivals in the last DRIFT_WINDOW_S allow (a monotonic deque:
        its first entry is the minimum)."""
        while self._recent and self._recent[-1][1] >= anchor:
            self._recent.pop()
        self._recent.append((now, anchor))
        while self._recent[0][0] < now - DRIFT_WINDOW_S:
            self._recent.popleft()
        return self._recent[0][1]

    def _window_full(self, now: float) -> bool:
        """The current stretch has lasted a whole window (a young one is still settling)."""
        return bool(self._anchors) and now - DRIFT_WINDOW_S >= self._stretch_began

    def heard(self, position_s: float) -> None:
        """Audio up to `position_s` has been through the VAD: wake who waits for it."""
        self.heard_s = max(self.heard_s, position_s)
        due = [w for w in self._waiters if w[0] <= self.heard_s + _EPS]
        for waiter in due:
            self._waiters.remove(waiter)
            if not waiter[1].done():
                waiter[1].set_result(None)

    async def until_heard(self, position_s: float) -> None:
        """Until the audio up to `position_s` has been heard; a gap in the input only delays
        this. (The loop's quiet watch ends a turn whose client stopped sending.)"""
        if self.heard_s + _EPS >= position_s:
            return
        waiter = (position_s, asyncio.get_running_loop().create_future())
        self._waiters.append(waiter)
        try:
            await waiter[1]
        finally:
            if waiter in self._waiters:
                self._waiters.remove(waiter)

    def input_done(self) -> None:
        """The audio that arrived has been processed: from now the input may be quiet. (While
        the server itself holds the input up, say a barge-in waiting for the turn before it to
        be stored, frames wait in the socket: that is not the client going quiet.)"""
        self.last_arrival = self.wall()

    def quiet_s(self) -> float:
        """Wall seconds since the input was last ready for more audio and none came (since this
        clock started, before any)."""
        last = self.last_arrival if self.last_arrival is not None else self._origin
        return self.wall() - last

    # -- between the two -----------------------------------------------------------------------

    def wall_of(self, position_s: float) -> float:
        """The wall time audio position `position_s` was captured at (best estimate so far)."""
        if not self._anchors:
            return self.wall()
        i = max(0, bisect.bisect_right(self._starts, position_s) - 1)
        return self._anchors[i] + position_s

    def session_of(self, position_s: float) -> float:
        """Audio position -> session seconds (stored turn and word times)."""
        return self.offset_s + self.wall_of(position_s) - self._origin
