"""The system-design whiteboard, server side (issue 25): the board stored with the session, and
the interviewer shown it.

Keys (server/storage/keys.py): `viva:session:{id}:whiteboard` (hash: the latest `board`, `at`,
`session_s`, `version`) and `viva:session:{id}:whiteboard:snapshots` (list: every saved state,
time-stamped, the latest MAX_SNAPSHOTS); both under the session's prefix, so erased with it.
The route is server/api/whiteboard.py; the reading of a board, pipeline/coding/whiteboard.py.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from typing import Any

from pipeline.coding.whiteboard import Board, describe, has_whiteboard, remark
from pipeline.engine import InterviewPlan, Reply, Turn, TurnEngine
from server.sessions import SessionRecord
from server.storage import guard, keys
from server.storage.store import Redis

MAX_SNAPSHOTS = 200

# Replace the board while the session lives; an unchanged board is not saved again.
# KEYS: record, marker, whiteboard hash, snapshots; ARGV: board, at, session_s, snapshot, cap.
_SAVE = f"""
if not ({guard.LIVE}) then return -1 end
if redis.call('HGET', KEYS[3], 'board') == ARGV[1] then
  return tonumber(redis.call('HGET', KEYS[3], 'version'))
end
redis.call('HSET', KEYS[3], 'board', ARGV[1], 'at', ARGV[2], 'session_s', ARGV[3])
local version = redis.call('HINCRBY', KEYS[3], 'version', 1)
redis.call('RPUSH', KEYS[4], ARGV[4])
redis.call('LTRIM', KEYS[4], -tonumber(ARGV[5]), -1)
return version
"""


def enabled_for(record: SessionRecord) -> bool:
    return has_whiteboard(record.plan.interview_type)


async def _session_seconds(redis: Redis, session_id: str) -> float | None:
    """Seconds on the session's clock (the transcript's time base), if it has started."""
    zero = await redis.get(keys.session_clock(session_id))
    return round(time.time() - float(zero), 3) if zero else None


async def save_board(redis: Redis, session_id: str, board: Board) -> int:
    """Store the board; its version, or -1 when the session is gone."""
    now = time.time()
    session_s = await _session_seconds(redis, session_id)
    wire = json.dumps(board.to_wire(), separators=(",", ":"))
    snapshot = json.dumps(
        {"at": now, "session_s": session_s, **board.to_wire()}, separators=(",", ":")
    )
    names = [
        *guard.live_keys(session_id),
        keys.session_whiteboard(session_id),
        keys.session_whiteboard_snapshots(session_id),
    ]
    args = [wire, repr(now), "" if session_s is None else repr(session_s), snapshot]
    result: Any = await redis.eval(_SAVE, len(names), *names, *args, str(MAX_SNAPSHOTS))
    return int(result)


async def load_board(redis: Redis, session_id: str) -> tuple[Board, dict[str, str]]:
    """The latest board (empty before the first save) and its stored fields."""
    raw = await redis.hgetall(keys.session_whiteboard(session_id))
    stored = {str(k): str(v) for k, v in raw.items()}
    board = Board.from_wire(json.loads(stored["board"])) if stored.get("board") else Board((), ())
    return board, stored


async def snapshots(redis: Redis, session_id: str) -> list[dict[str, Any]]:
    """Every saved state, oldest first (the latest MAX_SNAPSHOTS)."""
    raw = await redis.lrange(keys.session_whiteboard_snapshots(session_id), 0, -1)
    return [json.loads(item) for item in raw]


async def report_section(redis: Redis, record: SessionRecord) -> dict[str, Any] | None:
    """The report's `whiteboard`: the board as the interview ended, its reading, how many times it
    was saved and when last; None outside system-design interviews. Not scored."""
    if not enabled_for(record):
        return None
    board, stored = await load_board(redis, record.id)
    return {
        "drawn": not board.is_empty,
        "description": describe(board),
        "shapes": len(board.shapes),
        "arrows": len(board.arrows),
        "saves": int(stored.get("version", 0)),
        "updated_at": float(stored["at"]) if stored.get("at") else None,
        "session_s": float(stored["session_s"]) if stored.get("session_s") else None,
        "board": board.to_wire(),
    }


def _last_seen_version(transcript: Sequence[Turn]) -> int:
    for turn in reversed(transcript):
        seen = turn.meta.get("whiteboard") if turn.role == "interviewer" else None
        if isinstance(seen, dict) and isinstance(seen.get("version"), int):
            return int(seen["version"])
    return 0


class WhiteboardAwareEngine:
    """The session's engine, shown the whiteboard. After each answer, the interviewer turn's meta
    keeps the board as it was then (shapes, arrows, the reading, its version and time): the
    snapshot the transcript holds. When the board changed since the interviewer last looked, the
    reply starts by saying what it sees ("On your whiteboard, Queue sits between API and
    Workers."). The answer's words, not the drawing, are what the engine analyses and scores."""

    def __init__(self, inner: TurnEngine, redis: Redis, session_id: str) -> None:
        self.inner = inner
        self.redis = redis
        self.session_id = session_id
        self.name = inner.name
        self.version = inner.version

    async def next_reply(self, plan: InterviewPlan, transcript: Sequence[Turn]) -> Reply:
        reply = await self.inner.next_reply(plan, transcript)
        last = transcript[-1] if transcript else None
        if last is None or last.role != "candidate":
            return reply
        board, stored = await load_board(self.redis, self.session_id)
        if board.is_empty:
            return reply
        version = int(stored.get("version", 0))
        seen = {
            "version": version,
            "at": float(stored["at"]) if stored.get("at") else None,
            "session_s": float(stored["session_s"]) if stored.get("session_s") else None,
            "description": describe(board),
            **board.to_wire(),
        }
        if version == _last_seen_version(transcript):
            return reply.with_meta({"whiteboard": seen})
        return reply.opening_with(remark(board), {"whiteboard": seen})
