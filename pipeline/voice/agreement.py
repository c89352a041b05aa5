"""LocalAgreement-2: show only the words two consecutive hypotheses agree on, so partial
captions grow and never flicker (as in whisper_streaming)."""

from __future__ import annotations

import re

_PUNCT = re.compile(r"[^\w']+")


def _norm(word: str) -> str:
    return _PUNCT.sub("", word.lower())


class LocalAgreement:
    def __init__(self) -> None:
        self._previous: list[str] = []
        self.stable: list[str] = []

    def update(self, hypothesis: str) -> str | None:
        """Add a hypothesis of the whole turn so far; the stable text when it grew, else None."""
        words = hypothesis.split()
        agreed = 0
        for old, new in zip(self._previous, words, strict=False):
            if _norm(old) != _norm(new):
                break
            agreed += 1
        self._previous = words
        if agreed <= len(self.stable):
            return None
        self.stable = words[:agreed]
        return " ".join(self.stable)
