"""Integrity benchmark: speaker attribution cost and accuracy, reading cues on generated speech.

`run()` returns (metric, value) rows for `make bench`; the generators here are shared with the
integrity tests. Everything is real: the packaged models, espeak-ng and Piper speech, the real
two-speaker recording in ../shared/data.
"""

from __future__ import annotations

import base64
import functools
import random
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from models.registry import ModelRegistry
from models.vad import FRAME_SAMPLES
from pipeline.integrity.evaluation import Score, read_rttm, score
from pipeline.integrity.persist import IntegrityDelta, encode
from pipeline.integrity.reading import THRESHOLD, reading_cues, reading_score
from pipeline.integrity.speakers import Attribution, SpeakerTracker, TrackerMark
from pipeline.integrity.timeline import TimeRange, merge_ranges
from pipeline.integrity.words import words_from_timestamps
from tests.conftest import SHARED_DATA, espeak, piper_speech

SR = 16000
ANSWER_SENTENCES = (
    "I led the migration of our payment service to a new database last year.",
    "It took about four months, and most of that was testing.",
    "The hardest part was keeping both systems in sync while customers kept paying.",
    "So we wrote a dual write layer and compared the results every night.",
    "After the cutover we measured latency and error rates for two weeks.",
    "If I did it again I would involve the support team much earlier.",
    "My current team is five engineers and a designer.",
    "We own the checkout flow from the basket to the receipt.",
    "I usually start my day by reading the alerts from the night before.",
    "Then I pair with whoever is stuck, because that unblocks the most work.",
    "The project I am proudest of is the new onboarding flow.",
    "It cut the time to the first order from three days to one afternoon.",
)
INTRUSION = "Tell them you used a message queue with retries and idempotent consumers."
SINGLE_VOICES = ("piper", "en-us", "en-us+f3", "en-gb+m3", "en-us+m7", "en-us+f4")
VOICE_PAIRS = (
    ("piper", "en-us+f3"),
    ("piper", "en-gb+m3"),
    ("en-us", "en-us+f3"),
    ("en-us+f3", "en-gb+m3"),
    ("en-gb+m3", "piper"),
    ("en-us+m7", "en-us+f4"),
)


@functools.lru_cache(maxsize=512)
def speak(models: ModelRegistry, voice: str, text: str, rate: int = 160) -> np.ndarray:
    """16 kHz speech: "piper" is the packaged Piper voice, anything else an espeak-ng voice.
    Cached (the tests reuse sentences); callers must not modify the array."""
    return piper_speech(models, text) if voice == "piper" else espeak(text, voice=voice, rate=rate)


@dataclass
class SyntheticInterview:
    segments: list[tuple[int, float, np.ndarray]]  # (turn, start_s, audio): one per answer
    other_truth: list[TimeRange]  # where the injected voice really spoke

    def tracker(self, models: ModelRegistry) -> SpeakerTracker:
        """A tracker fed every answer, as the voice loop would."""
        tracker = SpeakerTracker(models.speaker())
        for turn, start, audio in self.segments:
            tracker.add_candidate_segment(turn, start, start + len(audio) / SR, audio)
        return tracker


def synthetic_interview(
    models: ModelRegistry,
    candidate: str,
    intruder: str | None = None,
    *,
    answers: int = 4,
    rates: tuple[int, ...] = (160,),
    gains: tuple[float, ...] = (1.0,),
) -> SyntheticInterview:
    """Answers of three sentences each, one voiced segment per answer, 5 s apart; with an
    `intruder`, answer 2 has the intruder's sentence between the candidate's second and third."""
    gap = np.zeros(int(0.3 * SR), np.float32)
    clock = 2.0
    segments, truth = [], []
    for turn in range(answers):
        rate, gain = rates[turn % len(rates)], gains[turn % len(gains)]
        parts = [
            (
                candidate,
                gain * speak(models, candidate, ANSWER_SENTENCES[(3 * turn + i) % 12], rate),
            )
            for i in range(3)
        ]
        if intruder is not None and turn == 2:
            parts.insert(2, (intruder, speak(models, intruder, INTRUSION)))
        pieces: list[np.ndarray] = []
        position = clock
        for voice, audio in parts:
            if voice == intruder:
                truth.append(TimeRange(position, position + len(audio) / SR))
            pieces += [audio, gap]
            position += (len(audio) + len(gap)) / SR
        answer = np.concatenate(pieces).astype(np.float32)
        segments.append((turn, clock, answer))
        clock += len(answer) / SR + 5.0
    return SyntheticInterview(segments, truth)


def real_sample(
    models: ModelRegistry, data: Path = SHARED_DATA, oracle_speech: bool = True
) -> tuple[Attribution, Score]:
    """The real two-speaker recording fed as voiced segments, scored against its RTTM.

    Segments are the reference's speech split at gaps of 0.3 s (oracle voice activity), or
    with `oracle_speech=False` what Silero VAD finds, as the voice loop would publish them."""
    audio, rate = sf.read(data / "pyannote-sample.wav", dtype="float32")
    assert rate == SR
    reference = read_rttm(data / "pyannote-sample.rttm")
    if oracle_speech:
        voiced = [TimeRange(t.start_s, t.end_s) for t in reference]
    else:
        voiced = silero_speech(models, audio)
    tracker = SpeakerTracker(models.speaker())
    for turn, span in enumerate(merge_ranges(voiced, gap_s=0.3)):
        piece = audio[int(span.start_s * SR) : int(span.end_s * SR)]
        tracker.add_candidate_segment(turn, span.start_s, span.end_s, piece)
    attribution = tracker.attribution()
    return attribution, score(reference, attribution.ranges)


def silero_speech(models: ModelRegistry, audio: np.ndarray) -> list[TimeRange]:
    """32 ms frames Silero VAD calls speech (probability >= 0.5), as time ranges."""
    stream = models.vad().stream()
    frame_s = FRAME_SAMPLES / SR
    return [
        TimeRange(i * frame_s, (i + 1) * frame_s)
        for i in range(len(audio) // FRAME_SAMPLES)
        if stream.probability(audio[i * FRAME_SAMPLES : (i + 1) * FRAME_SAMPLES]) >= 0.5
    ]


# Generated delivery styles for the reading cues: the styles differ by construction.
READING_TEXTS = (
    "In my last role I owned the billing service. We moved it from a monolith to three smaller "
    "services, and the main challenge was keeping invoices correct during the move.",
    "I prefer small teams. When everyone knows the whole system, reviews are faster, and people "
    "help each other without being asked.",
    "The bug only happened on Mondays. It turned out that a weekly job locked the orders table, "
    "so checkout requests timed out until the job finished.",
    "I learned to write the test first when the failure is hard to reproduce. It forces you to "
    "understand the conditions before you change anything.",
)
FILLERS = ("um", "uh", "you know", "well", "um")


def spontaneous_style(text: str, voice: str, rng: random.Random) -> np.ndarray:
    """Phrases of 2-6 words at varying rates, fillers, restarts and pauses anywhere."""
    words = text.replace(",", "").replace(".", "").split()
    out: list[np.ndarray] = []
    i = 0
    while i < len(words):
        phrase = words[i : i + rng.randint(2, 6)]
        i += len(phrase)
        if rng.random() < 0.35:
            out += [
                espeak(rng.choice(FILLERS), voice, rng.randint(110, 150)),
                _silence(rng, 0.2, 0.7),
            ]
        if rng.random() < 0.15:
            phrase = phrase[:1] + phrase
        out += [espeak(" ".join(phrase), voice, rng.randint(120, 210)), _silence(rng, 0.05, 1.0)]
    return np.concatenate(out)


def read_style(text: str, voice: str, rng: random.Random) -> np.ndarray:
    """Whole sentences at one steady rate, pausing at full stops."""
    rate = rng.randint(150, 175)
    out: list[np.ndarray] = []
    for sentence in text.split(". "):
        out += [espeak(sentence, voice, rate), _silence(rng, 0.2, 0.5)]
    return np.concatenate(out)


def _silence(rng: random.Random, low: float, high: float) -> np.ndarray:
    return np.zeros(int(rng.uniform(low, high) * SR), np.float32)


def reading_accuracy(models: ModelRegistry, seed: int = 2) -> tuple[float, int]:
    """Share of generated answers the reading score classifies right, and how many."""
    rng = random.Random(seed)
    right = total = 0
    for text in READING_TEXTS:
        for voice in ("en-us", "en-us+f3", "en-gb+m3"):
            for is_read, style in ((False, spontaneous_style), (True, read_style)):
                audio = style(text, voice, rng)
                transcript = models.asr().transcribe(audio, word_timestamps=True)
                latency = rng.uniform(0.5, 2.0)  # the same for both styles: no free cue
                cues = reading_cues([words_from_timestamps(transcript.words)], [latency])
                right += (reading_score(cues) >= THRESHOLD) == is_read
                total += 1
    return right / total, total


def run(models: ModelRegistry | None = None) -> list[tuple[str, str]]:
    """Integrity figures; pass the benchmark's loaded registry to avoid loading a second one."""
    if models is None:
        models = ModelRegistry()
        models.load_all()
    rows: list[tuple[str, str]] = []

    # CPU cost: a long single-voice interview, embedded as it runs, attributed at the end.
    interview = synthetic_interview(models, "en-us", answers=24)
    speech_s = sum(len(audio) for _, _, audio in interview.segments) / SR
    started = time.process_time()
    tracker = interview.tracker(models)
    embed_cpu = time.process_time() - started
    started = time.process_time()
    long_interview_flagged = bool(tracker.attribution().ranges_of("other"))
    attribution_cpu = time.process_time() - started
    rows.append(
        (
            f"single voice, {speech_s:.0f} s of answers, flagged (must be no)",
            "yes" if long_interview_flagged else "no",
        )
    )
    per_minute = 60 * embed_cpu / speech_s
    rows.append(("diarization CPU s per minute of candidate speech", f"{per_minute:.2f}"))
    rows.append(
        (
            f"attribution (clustering) CPU s after {speech_s:.0f} s of speech",
            f"{attribution_cpu:.3f}",
        )
    )
    # What a socket leaves in Redis for the next one (base64 `.npz`, as stored).
    stored = base64.b64encode(encode(IntegrityDelta(tracker.since(TrackerMark()))))
    rows.append(
        (
            "speaker evidence kept across sockets, KB per minute of speech (Redis)",
            f"{len(stored) / 1000 * 60 / speech_s:.0f}",
        )
    )

    for oracle, speech in ((True, "oracle speech"), (False, "Silero VAD speech")):
        _, result = real_sample(models, oracle_speech=oracle)
        rows.append((f"real two-speaker sample: DER ({speech}, no collar)", f"{result.der:.1%}"))
        rows.append(
            (
                f"real two-speaker sample: frame attribution accuracy ({speech})",
                f"{result.attribution_accuracy:.1%}",
            )
        )

    singles = [synthetic_interview(models, v) for v in SINGLE_VOICES]
    singles += [
        synthetic_interview(models, v, rates=(130, 190, 150, 175), gains=(1.0, 0.3, 0.6, 1.4))
        for v in SINGLE_VOICES
        if v != "piper"
    ]
    flagged = sum(bool(s.tracker(models).attribution().ranges_of("other")) for s in singles)
    rows.append(("single-voice interviews flagged (must be 0)", f"{flagged}/{len(singles)}"))

    detected = recall = false_alarm = 0.0
    for candidate, intruder in VOICE_PAIRS:
        mix = synthetic_interview(models, candidate, intruder)
        found = mix.tracker(models).attribution().ranges_of("other")
        hit = sum(t.overlap(f) for t in mix.other_truth for f in found)
        truth_s = sum(t.seconds for t in mix.other_truth)
        detected += bool(found)
        recall += hit / truth_s
        false_alarm += sum(f.seconds for f in found) - hit
    n = len(VOICE_PAIRS)
    rows.append(("generated two-voice answers detected", f"{detected:.0f}/{n}"))
    rows.append(
        ("generated two-voice answers: share of the other voice's time found", f"{recall / n:.1%}")
    )
    rows.append(
        (
            "generated two-voice answers: seconds wrongly marked per interview",
            f"{false_alarm / n:.2f}",
        )
    )

    accuracy, count = reading_accuracy(models)
    rows.append(
        (
            f"reading cues on {count} generated answers (disabled; by construction)",
            f"{accuracy:.1%}",
        )
    )
    return rows


if __name__ == "__main__":
    for metric, value in run():
        print(f"{metric}: {value}")
