"""The time complexity a candidate states in the spoken (or typed) explanation of their code, as
Whisper writes it ("O(n log n)", "O of n squared", "big O of N", "linear time", "quadratic"),
compared with the static reading of the submitted code (pipeline/coding/complexity.py).

The comparison is evidence for the report and a reason for the interviewer to ask again ("You
said O(n); reading your code I see two nested loops…"), not a score: the reading is an estimate
(its agreement with hand labels is in BENCHMARKS.md, "Coding round").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from pipeline.coding.complexity import growth

# What follows "O of" / "order" when it is spoken, and the words that name a growth alone.
_SPOKEN_TERMS = {
    "n log n": "O(n log n)",
    "n squared": "O(n^2)",
    "n cubed": "O(n^3)",
    "n square": "O(n^2)",
    "log n": "O(log n)",
    "one": "O(1)",
    "1": "O(1)",
    "n": "O(n)",
    "2 to the n": "O(2^n)",
    "two to the n": "O(2^n)",
}
_WORDS = {
    "constant time": "O(1)",
    "logarithmic": "O(log n)",
    "linearithmic": "O(n log n)",
    "n log n": "O(n log n)",
    "linear": "O(n)",
    "n squared": "O(n^2)",
    "quadratic": "O(n^2)",
    "n cubed": "O(n^3)",
    "cubic": "O(n^3)",
    "exponential": "O(2^n)",
}
_N = r"(?:n|and|en)"  # Whisper writes a spoken "n" as "n", or "and"/"en" after "of"
_WRITTEN = re.compile(r"\bo\s*\(\s*([^()]{1,24}(?:\([^()]{0,8}\))?[^()]{0,8})\)")
_SPOKEN = re.compile(
    r"\b(?:big\s+)?(?:o|oh|order)\s+(?:of\s+)?("
    + "|".join(re.escape(t).replace("n", _N) if t != "one" else "one" for t in _SPOKEN_TERMS)
    + r")\b"
)
_NAMED = re.compile(r"\b(" + "|".join(re.escape(w) for w in _WORDS) + r")\b")
SPACE_WORDS = re.compile(r"\b(space|memory|extra)\b")
TIME_WORD = re.compile(r"\b(time|runtime|run time|runs)\b")
NEAR = 28  # characters around a statement read for "time" or "space"


@dataclass(frozen=True)
class Statement:
    big_o: str  # "O(n^2)"
    quote: str  # the words it was read from
    start: int


def _spoken_term(text: str) -> str | None:
    text = re.sub(r"\b(?:and|en)\b", "n", " ".join(text.split()))
    return _SPOKEN_TERMS.get(text)


def statements(text: str) -> list[Statement]:
    """Every growth the text names, in order."""
    lowered = text.lower().replace("²", "^2").replace("³", "^3")
    found: dict[int, Statement] = {}
    for match in _WRITTEN.finditer(lowered):
        try:
            growth(f"O({match.group(1)})")
        except ValueError:
            continue
        found[match.start()] = Statement(
            _canonical(f"O({match.group(1)})"), text[match.start() : match.end()], match.start()
        )
    for match in _SPOKEN.finditer(lowered):
        term = _spoken_term(match.group(1))
        if term is not None and not _covered(found, match.start(), match.end()):
            found[match.start()] = Statement(term, text[match.start() : match.end()], match.start())
    for match in _NAMED.finditer(lowered):
        if not _covered(found, match.start(), match.end()):
            big_o = _WORDS[match.group(1)]
            found[match.start()] = Statement(
                big_o, text[match.start() : match.end()], match.start()
            )
    return [found[k] for k in sorted(found)]


def _covered(found: dict[int, Statement], start: int, end: int) -> bool:
    return any(
        s.start <= start < s.start + len(s.quote) or start <= s.start < end for s in found.values()
    )


def _canonical(text: str) -> str:
    """The estimator's notation for a growth ("O(n*log(n))" -> "O(n log n)")."""
    exponential, degree, logs = growth(text)
    if exponential:
        return "O(2^n)"
    parts = []
    if degree:
        parts.append("n" if degree == 1 else f"n^{degree}")
    if logs:
        parts.append("log n" if logs == 1 else f"log^{logs} n")
    return f"O({' '.join(parts) or '1'})"


def stated_time(text: str) -> Statement | None:
    """The time complexity the text states: of the statements not about space, the last one
    said next to "time", else the last one (a candidate who corrects themselves ends on the
    answer they mean)."""
    lowered = text.lower()
    timed: list[Statement] = []
    others: list[Statement] = []
    found = statements(text)
    for k, s in enumerate(found):
        # The words around it, up to the statements beside it: theirs are not its own.
        previous_end = found[k - 1].start + len(found[k - 1].quote) if k else 0
        next_start = found[k + 1].start if k + 1 < len(found) else len(text)
        end = s.start + len(s.quote)
        before = lowered[max(previous_end, s.start - NEAR) : s.start]
        after = lowered[end : min(next_start, end + NEAR)]
        # "O(n) space", "space is O(n)": about memory, unless "time" is said closer.
        after_space, after_time = SPACE_WORDS.search(after), TIME_WORD.search(after)
        if after_space and (not after_time or after_space.start() < after_time.start()):
            continue
        if not after_time and _last(SPACE_WORDS, before) > _last(TIME_WORD, before):
            continue
        (timed if after_time or _last(TIME_WORD, before) >= 0 else others).append(s)
    chosen = timed or others
    return chosen[-1] if chosen else None


def _last(pattern: re.Pattern[str], text: str) -> int:
    found = [m.start() for m in pattern.finditer(text)]
    return found[-1] if found else -1


def compare(answer: str | None, reading: dict[str, Any] | None) -> dict[str, Any] | None:
    """What the candidate said of the time complexity against the code's reading: None when
    they said none; `agrees` None when the code was not read."""
    stated = stated_time(answer or "")
    if stated is None:
        return None
    read = reading.get("estimate") if reading else None
    return {
        "said": stated.big_o,
        "quote": stated.quote,
        "reading": read,
        "agrees": None if read is None else growth(read) == growth(stated.big_o),
    }
