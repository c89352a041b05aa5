"""Interviewer personas: tone, acknowledgements, follow-up depth, pacing."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Persona:
    id: str
    name: str
    title: str
    description: str
    follow_up_depth: int  # at most this many follow-ups per question
    acknowledgements: tuple[str, ...]


PERSONAS: dict[str, Persona] = {
    p.id: p
    for p in (
        Persona(
            "maya",
            "Maya",
            "Supportive coach",
            "Warm and encouraging; helps you show your best.",
            1,
            ("Thanks, that's helpful.", "Great, thank you.", "I appreciate the detail."),
        ),
        Persona(
            "alex",
            "Alex",
            "Neutral professional",
            "Calm, even and to the point.",
            1,
            ("Thank you.", "Understood.", "Okay."),
        ),
        Persona(
            "leo",
            "Leo",
            "Bar raiser",
            "Direct; pushes on every gap.",
            2,
            ("Noted.", "Right.", "Okay, let's keep going."),
        ),
    )
}
DEFAULT_PERSONA = "maya"


def get_persona(persona_id: str | None) -> Persona:
    return PERSONAS.get(persona_id or DEFAULT_PERSONA, PERSONAS[DEFAULT_PERSONA])
