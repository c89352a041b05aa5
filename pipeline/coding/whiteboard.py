"""The system-design whiteboard as the interviewer reads it.

The room's drawing surface sends its state as structured shapes and labels (boxes, free text,
arrows between boxes); `describe` turns a board into the sentences an interviewer would say
about it: what was drawn, what connects to what, what sits between what ("Queue sits between
API and Workers"). Positions matter only for reading order (top to bottom, left to right), never
for meaning. Pure: no I/O, deterministic.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

ShapeType = Literal["box", "text"]

# How much of a board the description names before it says "and N more": a sentence the
# interviewer (and a language model's prompt) can take in.
MAX_NAMED = 12
MAX_LABEL_CHARS = 80
# The interviews whose room shows a whiteboard.
WHITEBOARD_TYPES = frozenset({"system_design"})


def has_whiteboard(interview_type: str) -> bool:
    return interview_type in WHITEBOARD_TYPES


@dataclass(frozen=True)
class Shape:
    id: str
    type: ShapeType
    label: str
    x: float
    y: float
    w: float
    h: float


@dataclass(frozen=True)
class Arrow:
    source: str  # a shape id ("from" on the wire)
    target: str  # a shape id ("to")
    label: str = ""


@dataclass(frozen=True)
class Board:
    shapes: tuple[Shape, ...]
    arrows: tuple[Arrow, ...]

    @classmethod
    def from_wire(cls, data: Mapping[str, Any]) -> Board:
        """A board from its stored JSON form (`to_wire`), already validated."""
        shapes = tuple(
            Shape(
                id=str(s["id"]),
                type=s["type"],
                label=str(s.get("label", "")),
                x=float(s["x"]),
                y=float(s["y"]),
                w=float(s.get("w", 0)),
                h=float(s.get("h", 0)),
            )
            for s in data.get("shapes", ())
        )
        arrows = tuple(
            Arrow(str(a["from"]), str(a["to"]), str(a.get("label", "")))
            for a in data.get("arrows", ())
        )
        return cls(shapes, arrows)

    def to_wire(self) -> dict[str, Any]:
        return {
            "shapes": [
                {
                    "id": s.id,
                    "type": s.type,
                    "label": s.label,
                    "x": s.x,
                    "y": s.y,
                    "w": s.w,
                    "h": s.h,
                }
                for s in self.shapes
            ],
            "arrows": [{"from": a.source, "to": a.target, "label": a.label} for a in self.arrows],
        }

    @property
    def is_empty(self) -> bool:
        return not self.shapes


def _clean(label: str) -> str:
    return " ".join(label.split())[:MAX_LABEL_CHARS]


def _reading_order(shapes: Iterable[Shape]) -> list[Shape]:
    """Top to bottom in rows, each row left to right: a shape whose middle lies within the
    height of a row's first shape is on that row (boxes drawn roughly level read together)."""
    rows: list[list[Shape]] = []
    for shape in sorted(shapes, key=lambda s: (s.y, s.x, s.id)):
        middle = shape.y + shape.h / 2
        if rows and middle <= rows[-1][0].y + max(rows[-1][0].h, 1):
            rows[-1].append(shape)
        else:
            rows.append([shape])
    return [shape for row in rows for shape in sorted(row, key=lambda s: (s.x, s.id))]


def _series(items: Sequence[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def _capped(items: Sequence[str]) -> list[str]:
    if len(items) <= MAX_NAMED:
        return list(items)
    return [*items[:MAX_NAMED], f"{len(items) - MAX_NAMED} more"]


def _plural(count: int, one: str, many: str) -> str:
    return f"{count} {one if count == 1 else many}"


def describe(board: Board) -> str:
    """What the candidate drew, in sentences for the interviewer; "" for an empty board."""
    if board.is_empty:
        return ""
    ordered = _reading_order(board.shapes)
    boxes = [s for s in ordered if s.type == "box"]
    notes = [s for s in ordered if s.type == "text" and _clean(s.label)]
    names: dict[str, str] = {}
    unlabelled = 0
    for box in boxes:
        label = _clean(box.label)
        if not label:
            unlabelled += 1
            label = f"an unlabelled box ({unlabelled})"
        names[box.id] = label
    for note in notes:
        names[note.id] = f'the note "{_clean(note.label)}"'
    arrows = [a for a in board.arrows if a.source in names and a.target in names]

    sentences: list[str] = []
    if boxes:
        drawn = _plural(len(boxes), "box", "boxes")
        links = f" and {_plural(len(arrows), 'arrow', 'arrows')}" if arrows else ""
        sentences.append(
            f"The candidate drew {drawn}{links}: {_series(_capped([names[b.id] for b in boxes]))}."
        )
    if arrows:
        described = []
        for arrow in arrows:
            text = f"{names[arrow.source]} to {names[arrow.target]}"
            label = _clean(arrow.label)
            described.append(f'{text} ("{label}")' if label else text)
        sentences.append(f"Arrows go from {_series(_capped(described))}.")
        between = _between(boxes, arrows, names)
        if between:
            sentences.append(_series(_capped(between)) + ".")
    lone = [names[b.id] for b in boxes if not any(b.id in (a.source, a.target) for a in arrows)]
    if arrows and lone:
        sentences.append(f"Not connected: {_series(_capped(lone))}.")
    if notes:
        quoted = [f'"{_clean(n.label)}"' for n in notes]
        sentences.append(f"Notes on the board: {_series(_capped(quoted))}.")
    return " ".join(sentences)


def remark(board: Board) -> str:
    """One short sentence the interviewer says about the board, to the candidate: what sits
    between what when something does, else the boxes drawn. "" for an empty board."""
    if board.is_empty:
        return ""
    boxes = [s for s in _reading_order(board.shapes) if s.type == "box"]
    names = {b.id: _clean(b.label) or "an unlabelled box" for b in boxes}
    arrows = [a for a in board.arrows if a.source in names and a.target in names]
    between = _between(boxes, arrows, names)
    if between:
        return f"On your whiteboard, {between[0]}."
    if boxes:
        shown = [names[b.id] for b in boxes[:5]]
        more = len(boxes) - len(shown)
        listed = _series([*shown, f"{more} more"] if more else shown)
        return f"On your whiteboard I see {listed}."
    return "I see the notes on your whiteboard."


def _between(
    boxes: Sequence[Shape], arrows: Sequence[Arrow], names: Mapping[str, str]
) -> list[str]:
    """A box with arrows in from some boxes and out to others sits between them: the reading a
    pipeline (API -> queue -> workers) calls for."""
    found = []
    for box in boxes:
        sources = _unique(
            names[a.source] for a in arrows if a.target == box.id and a.source != box.id
        )
        targets = _unique(
            names[a.target] for a in arrows if a.source == box.id and a.target != box.id
        )
        if sources and targets:
            found.append(f"{names[box.id]} sits between {_series(sources)} and {_series(targets)}")
    return found


def _unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))
