"""Words after which a speaker usually goes on (a trailing conjunction, a filler, a number being
read): the turn policy waits longer after them."""

from __future__ import annotations

import re

# Words after which a speaker usually goes on.
CONTINUATION_WORDS = frozenset(
    [
        "and",
        "or",
        "but",
        "so",
        "because",
        "um",
        "uh",
        "er",
        "erm",
        "hmm",
        "like",
        "the",
        "a",
        "an",
        "to",
        "of",
        "with",
        "for",
        "in",
        "on",
        "my",
        "our",
        "then",
        "that",
        "which",
        "if",
        "when",
        "while",
        "although",
        "though",
    ]
)
NUMBER_WORDS = frozenset(
    [
        "zero",
        "one",
        "two",
        "three",
        "four",
        "five",
        "six",
        "seven",
        "eight",
        "nine",
        "ten",
        "eleven",
        "twelve",
        "thirteen",
        "fourteen",
        "fifteen",
        "sixteen",
        "seventeen",
        "eighteen",
        "nineteen",
        "twenty",
        "thirty",
        "forty",
        "fifty",
        "sixty",
        "seventy",
        "eighty",
        "ninety",
        "hundred",
        "thousand",
        "million",
        "point",
    ]
)
_WORD = re.compile(r"[\w']+")


def looks_unfinished(text: str) -> bool:
    stripped = text.strip()
    if not stripped:
        return False
    if stripped.endswith(("...", "…", ",", "-", "—")):
        return True
    words = _WORD.findall(stripped.lower())
    if not words:
        return False
    last = words[-1]
    return last in CONTINUATION_WORDS or last in NUMBER_WORDS or last.isdigit()
