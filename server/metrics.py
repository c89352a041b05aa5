"""Prometheus metrics, served as text at `/metrics`."""

from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest

HTTP_REQUESTS = Counter(
    "viva_http_requests_total", "HTTP requests handled", ["method", "route", "status"]
)
MODELS_READY = Gauge("viva_models_ready", "1 when every model is loaded")
ACTIVE_STREAMS = Gauge("viva_active_streams", "Open interview WebSocket streams")

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


def render() -> tuple[bytes, str]:
    return generate_latest(), CONTENT_TYPE_LATEST
