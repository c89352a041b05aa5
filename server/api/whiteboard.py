"""The system-design whiteboard (issue 25): the room's drawing, stored with the session as
structured shapes and arrows, time-stamped on the session's clock, and read back as sentences
for the interviewer (`pipeline.coding.whiteboard.describe`).

`PUT /v1/sessions/{id}/whiteboard` (the candidate's token) replaces the board; each change is
also kept as a snapshot (the latest 200). `GET` (the token or the tenant's key) answers the
board, its description, when it was saved, and whether the room shows a whiteboard for this
session at all (`enabled`: a system-design interview).
"""

from __future__ import annotations

import json
import time
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from pipeline.coding.whiteboard import MAX_LABEL_CHARS, Board, describe, has_whiteboard
from server import guard, keys
from server.api.access import session_for
from server.api.endpoint import Call, Endpoint
from server.api.errors import Conflict, NotFound
from server.api.schemas import timestamp
from server.sessions import SessionRecord
from server.store import Redis

TAG = "candidate"
MAX_SHAPES = 100
MAX_ARROWS = 200
MAX_SNAPSHOTS = 200
COORDINATE = 100_000.0  # px either way: far beyond any screen, small enough to stay a number
SHAPE_ID = r"^[A-Za-z0-9_-]{1,32}$"


class ShapeIn(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    id: str = Field(pattern=SHAPE_ID, description="unique on the board")
    type: Literal["box", "text"] = Field(description="a box, or a free text label")
    label: str = Field("", max_length=MAX_LABEL_CHARS)
    x: float = Field(ge=-COORDINATE, le=COORDINATE, description="left edge, px")
    y: float = Field(ge=-COORDINATE, le=COORDINATE, description="top edge, px")
    w: float = Field(0, ge=0, le=COORDINATE, description="width, px")
    h: float = Field(0, ge=0, le=COORDINATE, description="height, px")


class ArrowIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid", populate_by_name=True, serialize_by_alias=True, allow_inf_nan=False
    )
    source: str = Field(alias="from", pattern=SHAPE_ID, description="the shape it starts at")
    target: str = Field(alias="to", pattern=SHAPE_ID, description="the shape it points to")
    label: str = Field("", max_length=MAX_LABEL_CHARS)


class WhiteboardIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    shapes: list[ShapeIn] = Field(default_factory=list, max_length=MAX_SHAPES)
    arrows: list[ArrowIn] = Field(default_factory=list, max_length=MAX_ARROWS)

    @model_validator(mode="after")
    def _consistent(self) -> WhiteboardIn:
        ids = [shape.id for shape in self.shapes]
        if len(set(ids)) != len(ids):
            raise ValueError("shape ids must be unique")
        known = set(ids)
        for arrow in self.arrows:
            if arrow.source not in known or arrow.target not in known:
                raise ValueError(f"arrow {arrow.source} -> {arrow.target} names a missing shape")
            if arrow.source == arrow.target:
                raise ValueError("an arrow joins two different shapes")
        return self

    def board(self) -> Board:
        return Board.from_wire(
            {
                "shapes": [shape.model_dump() for shape in self.shapes],
                "arrows": [arrow.model_dump(by_alias=True) for arrow in self.arrows],
            }
        )


class WhiteboardOut(BaseModel):
    session_id: str
    enabled: bool = Field(description="the room shows a whiteboard: a system-design interview")
    shapes: list[ShapeIn]
    arrows: list[ArrowIn]
    description: str = Field(description="the board in sentences, as the interviewer reads it")
    version: int = Field(description="saves so far; 0 before the first")
    updated_at: datetime | None
    session_s: float | None = Field(description="when it was saved, on the transcript's clock")


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


def _out(record: SessionRecord, board: Board, stored: dict[str, str]) -> WhiteboardOut:
    wire = board.to_wire()
    return WhiteboardOut(
        session_id=record.id,
        enabled=enabled_for(record),
        shapes=[ShapeIn.model_validate(shape) for shape in wire["shapes"]],
        arrows=[ArrowIn.model_validate(arrow) for arrow in wire["arrows"]],
        description=describe(board),
        version=int(stored.get("version", 0)),
        updated_at=timestamp(stored.get("at")),
        session_s=float(stored["session_s"]) if stored.get("session_s") else None,
    )


async def get_whiteboard(call: Call[None, None]) -> WhiteboardOut:
    record = await session_for(call)
    board, stored = await load_board(call.redis, record.id)
    return _out(record, board, stored)


async def put_whiteboard(call: Call[WhiteboardIn, None]) -> WhiteboardOut:
    record = await session_for(call)
    if not enabled_for(record):
        raise Conflict(
            "This interview has no whiteboard (only system-design interviews do).",
            code="whiteboard_not_enabled",
        )
    if record.is_finished:
        raise Conflict("The interview is over.", code="session_finished")
    if await save_board(call.redis, record.id, call.body.board()) < 0:
        raise NotFound(f"No session {record.id}.")
    board, stored = await load_board(call.redis, record.id)
    return _out(record, board, stored)


ENDPOINTS = (
    Endpoint(
        "GET",
        "/v1/sessions/{session_id}/whiteboard",
        get_whiteboard,
        "The system-design whiteboard: shapes, arrows and the interviewer's reading of them",
        TAG,
        auth="session",
        response=WhiteboardOut,
    ),
    Endpoint(
        "PUT",
        "/v1/sessions/{session_id}/whiteboard",
        put_whiteboard,
        "Replace the whiteboard (the room sends it as the candidate draws)",
        TAG,
        auth="candidate",
        body=WhiteboardIn,
        response=WhiteboardOut,
        errors=(409,),
        description=(
            f"At most {MAX_SHAPES} shapes (`box` or `text`, labels up to {MAX_LABEL_CHARS} "
            f"characters) and {MAX_ARROWS} arrows between them. Each change is kept as a "
            f"time-stamped snapshot (the latest {MAX_SNAPSHOTS}). 409 `whiteboard_not_enabled` "
            "outside system-design interviews, `session_finished` after the interview."
        ),
    ),
)
