"""What a running server holds: settings, the state store and the shared models (what the
server does with them, whoever asks: server/usecases/)."""

from __future__ import annotations

from dataclasses import dataclass

from models.registry import ModelConfig, ModelRegistry
from server.settings import Settings
from server.storage.store import Store


@dataclass
class Services:
    settings: Settings
    store: Store
    models: ModelRegistry


def model_config(settings: Settings) -> ModelConfig:
    return ModelConfig(
        whisper=settings.whisper_model,
        whisper_compute_type=settings.whisper_compute_type,
        whisper_threads=settings.whisper_threads,
        piper_voice=settings.piper_voice,
        vad=settings.vad_model,
        speaker_encoder=settings.speaker_encoder,
        embedding=settings.embedding_model,
    )
