"""Scoring attribution against a reference (RTTM): frame-level DER and attribution accuracy.

Used by the tests and the benchmark. Frames are 10 ms; no forgiveness collar around
reference boundaries, so the figures are on the strict side.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import permutations
from pathlib import Path

import numpy as np

from pipeline.integrity.speakers import LabelledRange

STEP_S = 0.01


@dataclass(frozen=True)
class SpeakerTurn:
    start_s: float
    end_s: float
    speaker: str


@dataclass(frozen=True)
class Score:
    der: float  # (missed + false alarm + confusion) / reference speech, overlap counted per speaker
    attribution_accuracy: float  # share of single-speaker reference frames labelled right
    mapping: dict[str, str]  # hypothesis label -> reference speaker


def read_rttm(path: Path) -> list[SpeakerTurn]:
    turns = []
    for line in path.read_text().splitlines():
        fields = line.split()
        if fields and fields[0] == "SPEAKER":
            start, duration = float(fields[3]), float(fields[4])
            turns.append(SpeakerTurn(start, start + duration, fields[7]))
    return turns


def _activity(spans: Sequence[tuple[float, float]], frames: int) -> np.ndarray:
    active = np.zeros(frames, dtype=bool)
    for start, end in spans:
        active[round(start / STEP_S) : round(end / STEP_S)] = True
    return active


def score(reference: Sequence[SpeakerTurn], hypothesis: Sequence[LabelledRange]) -> Score:
    """Score "candidate"/"other" ranges against reference speakers under the best mapping of
    labels to speakers. "echo" and "unknown" ranges count as speech with no speaker."""
    duration = max([t.end_s for t in reference] + [r.end_s for r in hypothesis])
    frames = int(np.ceil(duration / STEP_S)) + 1
    speakers = sorted({t.speaker for t in reference})
    ref = np.stack(
        [
            _activity([(t.start_s, t.end_s) for t in reference if t.speaker == s], frames)
            for s in speakers
        ]
    )
    labels = ["candidate", "other"]
    hyp = np.stack(
        [
            _activity([(r.start_s, r.end_s) for r in hypothesis if r.label == lab], frames)
            for lab in labels
        ]
    )
    hyp_speech = _activity([(r.start_s, r.end_s) for r in hypothesis], frames)
    n_ref = ref.sum(axis=0)
    n_hyp = np.maximum(hyp.sum(axis=0), hyp_speech.astype(int))
    single = n_ref == 1
    best: tuple[float, float, dict[str, str]] | None = None
    padded = speakers + [""] * max(0, len(labels) - len(speakers))
    for chosen in permutations(padded, len(labels)):
        mapping = {lab: spk for lab, spk in zip(labels, chosen, strict=True) if spk}
        correct = np.zeros(frames, dtype=int)
        for lab, spk in mapping.items():
            correct += hyp[labels.index(lab)] & ref[speakers.index(spk)]
        der = float((np.maximum(n_ref, n_hyp) - correct).sum() / n_ref.sum())
        accuracy = float(correct[single].sum() / single.sum())
        if best is None or der < best[0]:
            best = (der, accuracy, mapping)
    assert best is not None
    return Score(der=best[0], attribution_accuracy=best[1], mapping=best[2])
