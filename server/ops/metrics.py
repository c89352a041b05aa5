"""Prometheus metrics, served as text at `/metrics`."""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest

from pipeline.voice.transcriber import TranscriptionScheduler

HTTP_REQUESTS = Counter(
    "viva_http_requests_total", "HTTP requests handled", ["method", "route", "status"]
)
MODELS_READY = Gauge("viva_models_ready", "1 when every model is loaded")
STORAGE_READY = Gauge(
    "viva_storage_ready", "1 when the recordings' store answered the last /readyz check"
)
ACTIVE_STREAMS = Gauge("viva_active_streams", "Open interview WebSocket streams")
STREAMS_REFUSED = Counter(
    "viva_streams_refused_total", "Voice streams refused because the server was at capacity"
)
ASR_QUEUE_DEPTH = Gauge("viva_asr_queue_depth", "Transcriptions waiting for the shared Whisper")
ASR_FINALS = Gauge("viva_asr_finals", "Final transcriptions run since the start")
ASR_PARTIALS = Gauge("viva_asr_partials", "Partial transcriptions run since the start")
ASR_PARTIALS_SKIPPED = Gauge(
    "viva_asr_partials_skipped", "Partials skipped since the start: the session had one queued"
)
ASR_FINAL_WAIT = Gauge(
    "viva_asr_final_wait_seconds_total", "Time finals waited in the queue, summed"
)
ASR_BUSY = Gauge("viva_asr_busy_seconds_total", "Time the shared Whisper spent transcribing")
ASR_FINAL_CALLS = Gauge("viva_asr_final_calls", "Whisper calls that ran finals (a batch is one)")
ASR_BATCHED_FINALS = Gauge(
    "viva_asr_batched_finals", "Finals that ran batched with another session's in one call"
)
ASR_LARGEST_BATCH = Gauge("viva_asr_largest_batch", "The most finals run in one Whisper call")
ASR_LONGEST_CALL = Gauge(
    "viva_asr_longest_call_audio_seconds", "The longest audio one Whisper call transcribed"
)

_LATENCY_BUCKETS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.75, 0.9, 1.2, 1.5, 2.0, 3.0, 5.0)
TURN_EOS_TO_FIRST_AUDIO = Histogram(
    "viva_turn_eos_to_first_audio_seconds",
    "End of candidate speech to the first interviewer audio frame sent",
    buckets=_LATENCY_BUCKETS,
)
TURN_ASR_FINAL = Histogram(
    "viva_turn_asr_final_seconds",
    "Time to the final transcript of a turn",
    buckets=_LATENCY_BUCKETS,
)
TURN_ENGINE = Histogram(
    "viva_turn_engine_seconds", "Interview engine time per reply", buckets=_LATENCY_BUCKETS
)
TURN_TTS_FIRST_CHUNK = Histogram(
    "viva_turn_tts_first_chunk_seconds",
    "TTS time to the first sentence's audio",
    buckets=_LATENCY_BUCKETS,
)


def watch_transcriber(current: Callable[[], TranscriptionScheduler | None]) -> None:
    """Export the shared scheduler's queue and counters (read at scrape time)."""

    def read(get: Callable[[TranscriptionScheduler], float]) -> Callable[[], float]:
        def value() -> float:
            scheduler = current()
            return float(get(scheduler)) if scheduler is not None else 0.0

        return value

    ASR_QUEUE_DEPTH.set_function(read(lambda s: s.queued))
    ASR_FINALS.set_function(read(lambda s: s.stats.finals))
    ASR_PARTIALS.set_function(read(lambda s: s.stats.partials))
    ASR_PARTIALS_SKIPPED.set_function(read(lambda s: s.stats.partials_skipped))
    ASR_FINAL_WAIT.set_function(read(lambda s: s.stats.final_wait_s))
    ASR_BUSY.set_function(read(lambda s: s.stats.busy_s))
    ASR_LONGEST_CALL.set_function(read(lambda s: s.stats.longest_call_s))
    ASR_FINAL_CALLS.set_function(read(lambda s: s.stats.final_calls))
    ASR_BATCHED_FINALS.set_function(read(lambda s: s.stats.batched_finals))
    ASR_LARGEST_BATCH.set_function(read(lambda s: s.stats.largest_batch))


def render() -> tuple[bytes, str]:
    return generate_latest(), CONTENT_TYPE_LATEST
