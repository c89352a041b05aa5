"""The system-design whiteboard (issue 25): the room's drawing, stored with the session as
structured shapes and arrows, time-stamped on the session's clock, and read back as sentences
for the interviewer (`pipeline.coding.whiteboard.describe`).

`PUT /v1/sessions/{id}/whiteboard` (the candidate's token) replaces the board; each change is
also kept as a snapshot (the latest 200; storage in server/whiteboard.py). `GET` (the token or the tenant's key) answers the
board, its description, when it was saved, and whether the room shows a whiteboard for this
session at all (`enabled`: a system-design interview).
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from pipeline.coding.whiteboard import MAX_LABEL_CHARS, Board, describe
from server.api.schemas import timestamp
from server.http.access import session_for
from server.http.endpoint import Call, Endpoint
from server.http.errors import Conflict, NotFound
from server.sessions import SessionRecord
from server.whiteboard import MAX_SNAPSHOTS, enabled_for, load_board, save_board

TAG = "candidate"
MAX_SHAPES = 100
MAX_ARROWS = 200
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
