"""Which turn engine runs a session: the LLM interviewer when LLM_BASE_URL is set, else the
structured one. Engines are shared per process: they are stateless, and share one HTTP pool.

Both score answers with the model registry's sentence embedder, the model `EMBEDDING_MODEL`
names (the one `/readyz` reports), as the report does (server/lifecycle.py).
"""

from __future__ import annotations

from functools import lru_cache

from models.registry import ModelRegistry
from pipeline.engine import TurnEngine
from pipeline.interview.analysis import Embedder
from pipeline.interview.llm import LLMEngine
from pipeline.interview.llm_client import ChatClient, LLMConfig
from pipeline.interview.structured import StructuredEngine
from server import whiteboard
from server.code import CodeAwareEngine
from server.services import Services
from server.sessions import SessionRecord
from server.settings import Settings


class RegistryStructuredEngine(StructuredEngine):
    """The structured engine on a registry's embedder, fetched when first needed (so building the
    engine never waits for the model on the event loop)."""

    def __init__(self, models: ModelRegistry) -> None:
        super().__init__()
        self.models = models

    @property
    def embedder(self) -> Embedder:
        return self.models.embedder()


@lru_cache(maxsize=4)
def structured_engine(models: ModelRegistry) -> StructuredEngine:
    return RegistryStructuredEngine(models)


@lru_cache(maxsize=4)
def _chat_client(config: LLMConfig) -> ChatClient:
    return ChatClient(config)


@lru_cache(maxsize=4)
def _llm_engine(config: LLMConfig, fallback: StructuredEngine) -> LLMEngine:
    return LLMEngine(_chat_client(config), fallback)


def _llm_config(settings: Settings) -> LLMConfig | None:
    if not settings.llm_base_url:
        return None
    return LLMConfig(
        base_url=settings.llm_base_url,
        model=settings.llm_model,
        api_key=settings.llm_api_key,
        timeout_s=settings.llm_timeout_s,
    )


def second_opinion_client(settings: Settings) -> ChatClient | None:
    """The configured LLM, for the report's second opinion; None without one."""
    config = _llm_config(settings)
    return _chat_client(config) if config is not None else None


def engine_for(services: Services, record: SessionRecord) -> TurnEngine:
    structured = structured_engine(services.models)
    config = _llm_config(services.settings)
    engine: TurnEngine = structured if config is None else _llm_engine(config, structured)
    if record.extra.get("coding"):  # shown the candidate's submissions (server/code.py)
        engine = CodeAwareEngine(engine, services.store.redis, record.id)
    if whiteboard.enabled_for(record):  # shown the system-design whiteboard
        engine = whiteboard.WhiteboardAwareEngine(engine, services.store.redis, record.id)
    return engine
