"""Which turn engine runs a session: the LLM interviewer when LLM_BASE_URL is set, else the
structured one. Engines are shared per process: they are stateless, and share one HTTP pool."""

from __future__ import annotations

from functools import lru_cache

from pipeline.engine import TurnEngine
from pipeline.interview.llm import LLMEngine
from pipeline.interview.llm_client import ChatClient, LLMConfig
from pipeline.interview.structured import StructuredEngine
from server.services import Services
from server.sessions import SessionRecord

_STRUCTURED = StructuredEngine()  # loads the embedding model on first use, shared


@lru_cache(maxsize=4)
def _llm_engine(config: LLMConfig) -> LLMEngine:
    return LLMEngine(ChatClient(config), _STRUCTURED)


def engine_for(services: Services, record: SessionRecord) -> TurnEngine:
    settings = services.settings
    if settings.llm_base_url:
        return _llm_engine(
            LLMConfig(
                base_url=settings.llm_base_url,
                model=settings.llm_model,
                api_key=settings.llm_api_key,
                timeout_s=settings.llm_timeout_s,
            )
        )
    return _STRUCTURED
