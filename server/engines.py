"""Which turn engine runs a session."""

from __future__ import annotations

from pipeline.engine import ScriptedEngine, TurnEngine
from server.services import Services
from server.sessions import SessionRecord


def engine_for(services: Services, record: SessionRecord) -> TurnEngine:
    return ScriptedEngine()
