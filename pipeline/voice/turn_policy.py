"""When a spoken answer is over, and when speech after it still belongs to it.

Pure decisions on numbers and words, so they are tested on timelines without audio. The voice
loop asks two questions:

- `end_after`: how long must the candidate be silent before their answer ends, given what they
  have said so far? A pause is not an end: only the patience window ends an answer, unless the
  end is clear sooner (a spoken closing such as "that's my answer") or the question's time is up
  (then the next short pause wraps the answer up, never a cut mid-word). An open-ended question
  (the coding round's: the candidate is silent for minutes while typing) has no patience window
  and no spoken closing: only a signal or its time limit ends the answer.
- `is_repair`: the interviewer has begun replying and the candidate speaks again; is that the
  same answer going on (drop the reply, extend the answer) or a new turn (a barge-in)?

The `answer_done` signal needs no decision: it ends the open answer at once (so do a typed answer
and, on the coding question, a code submission).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from enum import StrEnum

from pipeline.voice.endpoint import looks_unfinished


class TurnEnd(StrEnum):
    """What ended a candidate turn (the `end` field of the `metrics` message)."""

    SIGNAL = "signal"  # answer_done, or a typed answer
    CUE = "cue"  # a spoken closing
    SILENCE = "silence"  # the patience window ran out
    LIMIT = "limit"  # the question's time was up: the next short pause ended it


@dataclass(frozen=True)
class TurnPolicyConfig:
    patience_s: float = 2.0  # silence that ends an answer (scaled per persona)
    unfinished_extra_s: float = 1.0  # more after "and", "because", a number being read...
    # An answer still short for its question gets more patience: the candidate is likely
    # collecting their thoughts, not done.
    short_answer_fraction: float = 0.15  # of the question's time limit
    short_answer_extra_s: float = 1.0
    cue_silence_s: float = 1.0  # after a spoken closing ("so yeah, that's my answer")
    limit_silence_s: float = 0.6  # past the time limit: the next short pause ends the answer
    # Past the limit by this much the answer ends even without a pause: a backstop against a
    # candidate (or a noise) that never stops, so one turn cannot cost without bound.
    hard_limit_grace_s: float = 30.0
    repair_window_s: float = 3.0  # speech this soon after the reply began continues the answer
    # Wall time with no audio at all after which the client is taken to have gone (or muted for
    # good) and its open answer ends as after silence. A gap shorter than this ends nothing (a
    # half-duplex client's mute, a network stall): longer than the stalls clients survive.
    input_quiet_s: float = 6.0


# Spoken closings, matched at the very end of the words so far (punctuation ignored).
_CLOSINGS = (
    r"that'?s it",
    r"that'?s all",
    r"that'?s (?:my|the) answer",
    r"that'?s about it",
    r"that'?s everything",
    r"(?:and )?that'?s (?:all|it) (?:from me|i have|i've got)",
    r"that would be (?:it|all|my answer)",
    r"i'?m done",
    r"i'?m finished",
    r"i think that'?s it",
    r"does that answer (?:it|your question|the question)",
    r"i hope that answers (?:it|your question|the question)",
    r"that'?s how i would (?:do|approach|handle) it",
)
_CLOSING_AT_END = re.compile(r"(?:^|\b)(?:" + "|".join(_CLOSINGS) + r")\s*$")
_NOT_WORD = re.compile(r"[^\w'\s]+")


def spoken_closing(text: str) -> bool:
    """The words so far end with a phrase people use to hand the turn back."""
    plain = " ".join(_NOT_WORD.sub(" ", text.lower().replace("’", "'")).split())
    return bool(_CLOSING_AT_END.search(plain))


@dataclass(frozen=True)
class EndRule:
    silence_s: float  # silence after the last voiced audio that ends the answer (inf: none)
    reason: TurnEnd


class TurnPolicy:
    def __init__(self, config: TurnPolicyConfig | None = None, patience_scale: float = 1.0):
        self.config = config or TurnPolicyConfig()
        self.patience_scale = patience_scale

    def end_after(
        self, text: str, answer_s: float, time_limit_s: float | None, *, open_ended: bool = False
    ) -> EndRule:
        """The silence that ends an answer whose words so far are `text`, spoken for
        `answer_s` seconds (first voiced audio to last), to a question of `time_limit_s`.

        `open_ended`: the question's answers are not ended by silence (the coding round: the
        candidate codes quietly for minutes) nor by a spoken closing ("that's it" said of one
        step of the code), only by a signal or the time limit, which counts the silence since
        the last word too (the answer's first voiced audio plus the limit)."""
        cfg = self.config
        if time_limit_s is not None and answer_s >= time_limit_s:
            return EndRule(cfg.limit_silence_s, TurnEnd.LIMIT)
        if open_ended:
            if time_limit_s is None:
                return EndRule(math.inf, TurnEnd.LIMIT)  # a signal only
            return EndRule(max(time_limit_s - answer_s, cfg.limit_silence_s), TurnEnd.LIMIT)
        if spoken_closing(text):
            return EndRule(cfg.cue_silence_s, TurnEnd.CUE)
        silence = cfg.patience_s * self.patience_scale
        if looks_unfinished(text):
            silence += cfg.unfinished_extra_s
        if time_limit_s is not None and answer_s < cfg.short_answer_fraction * time_limit_s:
            silence += cfg.short_answer_extra_s
        return EndRule(silence, TurnEnd.SILENCE)

    def over_hard_limit(self, answer_s: float, time_limit_s: float | None) -> bool:
        """Past the limit and its grace: end the answer now, paused or not."""
        return (
            time_limit_s is not None and answer_s >= time_limit_s + self.config.hard_limit_grace_s
        )

    def is_repair(self, since_reply_s: float) -> bool:
        """Speech `since_reply_s` after the interviewer's reply began continues the answer."""
        return since_reply_s < self.config.repair_window_s
