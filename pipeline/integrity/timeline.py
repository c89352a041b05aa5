"""Time ranges on the session clock (seconds since the session started)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class TimeRange:
    start_s: float
    end_s: float

    @property
    def seconds(self) -> float:
        return max(0.0, self.end_s - self.start_s)

    def overlap(self, other: TimeRange) -> float:
        """Seconds shared with `other`."""
        return max(0.0, min(self.end_s, other.end_s) - max(self.start_s, other.start_s))

    def to_dict(self) -> dict[str, float]:
        return {"start_s": round(self.start_s, 2), "end_s": round(self.end_s, 2)}


def merge_ranges(ranges: Iterable[TimeRange], gap_s: float = 0.0) -> list[TimeRange]:
    """Sorted union of `ranges`, joining two that are at most `gap_s` apart."""
    merged: list[TimeRange] = []
    for r in sorted(ranges):
        if merged and r.start_s - merged[-1].end_s <= gap_s:
            last = merged[-1]
            merged[-1] = TimeRange(last.start_s, max(last.end_s, r.end_s))
        else:
            merged.append(r)
    return merged


def total_seconds(ranges: Iterable[TimeRange]) -> float:
    return sum(r.seconds for r in merge_ranges(ranges))
