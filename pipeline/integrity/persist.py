"""A socket's integrity evidence as bytes, so that the session's next socket (or a restarted
server) goes on from it instead of enrolling the candidate again.

Speaker embeddings go as float16 (512 bytes per 0.4 s window; with base64, as Redis holds it,
about 117 KB per minute of speech: `make bench`); everything else as JSON. Both in one `.npz`, read back without
pickle.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field

import numpy as np

from pipeline.integrity.embeddings import Window
from pipeline.integrity.speakers import Segment, TrackerDelta
from pipeline.integrity.timeline import TimeRange
from pipeline.integrity.words import CandidateWords, ExcludedSpeech, Word

EMBEDDING_SIZE = 256


@dataclass(frozen=True)
class StoredAnswer:
    """One answer's candidate-only words and the pause before it (None when unknown)."""

    words: CandidateWords
    latency_s: float | None


@dataclass(frozen=True)
class IntegrityDelta:
    tracker: TrackerDelta = field(default_factory=TrackerDelta)
    answers: dict[int, StoredAnswer] = field(default_factory=dict)

    @property
    def is_empty(self) -> bool:
        t = self.tracker
        return not (t.segments or t.interviewer or t.playback or self.answers)


def encode(delta: IntegrityDelta) -> bytes:
    tracker = delta.tracker
    windows = [w for s in tracker.segments for w in s.windows] + list(tracker.interviewer)
    meta = {
        "segments": [
            [s.turn, s.range.start_s, s.range.end_s, [[w.start_s, w.end_s] for w in s.windows]]
            for s in tracker.segments
        ],
        "interviewer": [[w.start_s, w.end_s] for w in tracker.interviewer],
        "playback": [[r.start_s, r.end_s] for r in tracker.playback],
        "answers": {
            str(turn): {
                "kept": [[w.text, w.start_s, w.end_s] for w in answer.words.kept],
                "excluded": [[e.text, e.start_s, e.end_s, e.reason] for e in answer.words.excluded],
                "latency_s": answer.latency_s,
            }
            for turn, answer in delta.answers.items()
        },
    }
    embeddings = (
        np.stack([w.embedding for w in windows]).astype(np.float16)
        if windows
        else np.zeros((0, EMBEDDING_SIZE), np.float16)
    )
    buffer = io.BytesIO()
    np.savez(buffer, meta=np.array(json.dumps(meta)), embeddings=embeddings)
    return buffer.getvalue()


def decode(blob: bytes) -> IntegrityDelta:
    with np.load(io.BytesIO(blob), allow_pickle=False) as stored:
        meta = json.loads(str(stored["meta"]))
        embeddings = stored["embeddings"].astype(np.float32)
    norms = np.linalg.norm(embeddings, axis=1, keepdims=True)
    embeddings = embeddings / np.where(norms > 0, norms, 1.0)
    rows = iter(embeddings)

    def windows(spans: list[list[float]]) -> tuple[Window, ...]:
        return tuple(Window(float(a), float(b), next(rows)) for a, b in spans)

    segments = tuple(
        Segment(int(turn), TimeRange(float(start), float(end)), windows(spans))
        for turn, start, end, spans in meta["segments"]
    )
    interviewer = windows(meta["interviewer"])
    answers = {
        int(turn): StoredAnswer(
            CandidateWords(
                kept=tuple(Word(str(t), float(a), float(b)) for t, a, b in answer["kept"]),
                excluded=tuple(
                    ExcludedSpeech(str(t), float(a), float(b), str(r))
                    for t, a, b, r in answer["excluded"]
                ),
            ),
            answer["latency_s"],
        )
        for turn, answer in meta["answers"].items()
    }
    return IntegrityDelta(
        TrackerDelta(
            segments, interviewer, tuple(TimeRange(float(a), float(b)) for a, b in meta["playback"])
        ),
        answers,
    )
