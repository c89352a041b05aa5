"""Attribution from another diarizer's speaker turns (the optional pyannote backend).

Such a diarizer labels whole recordings with anonymous speakers; here its turns are laid over
the candidate's voiced segments, and the speaker heard most in the candidate's first `enrol_s`
of speech is the candidate.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from pipeline.integrity.speakers import FRAME_S, Attribution, LabelledRange, SpeakerLabel, join
from pipeline.integrity.timeline import TimeRange


def attribution_from_turns(
    turns: Sequence[tuple[float, float, str]],
    segments: Sequence[tuple[int, TimeRange]],
    enrol_s: float = 6.0,
) -> Attribution:
    """Label each 0.1 s of the `(turn, range)` segments: the candidate where the candidate's
    speaker is active, another voice where only someone else is, unknown where no one is."""
    frames = [
        (turn, float(t))
        for turn, span in segments
        for t in np.arange(span.start_s, span.end_s, FRAME_S)
    ]
    active = [{s for a, b, s in turns if a <= t + FRAME_S / 2 < b} for _, t in frames]
    enrolment = [speakers for speakers in active if speakers][: int(enrol_s / FRAME_S)]
    heard = [s for speakers in enrolment for s in speakers]
    if not heard:
        ranges = [LabelledRange(r.start_s, r.end_s, "unknown", turn) for turn, r in segments]
        return Attribution(tuple(ranges), enrolled=False)
    candidate = max(set(heard), key=heard.count)
    labelled = []
    for (turn, t), speakers in zip(frames, active, strict=True):
        label: SpeakerLabel = (
            "candidate" if candidate in speakers else "other" if speakers else "unknown"
        )
        labelled.append(LabelledRange(t, t + FRAME_S, label, turn))
    return Attribution(tuple(join(labelled)), enrolled=True)
