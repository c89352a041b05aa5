"""Interviewer personas: tone, acknowledgements, follow-up depth, pacing.

A persona changes how the interviewer sounds and how hard it probes, never how an answer is
scored: the rubric is the same for everyone.
"""

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
    # Probe an answer only when it scores below this (101: probe every gap).
    probe_below: int = 75
    praise: tuple[str, ...] = ()  # said instead of an acknowledgement after a strong answer
    follow_up_lead: str = ""  # short first sentence before a follow-up
    transitions: tuple[str, ...] = ("Next question.",)
    greeting: str = "Hello{name}, I'm {persona}."
    introduction: str = "I'll ask you a few questions; take your time."
    closing: str = "That's all my questions. Thank you for your time."
    speaking_rate: float = 1.0  # pacing for the voice: >1 faster, <1 slower
    # Scales the silence that ends a spoken answer: the coach waits longer, the bar raiser less.
    patience: float = 1.0


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
            probe_below=45,  # lets an adequate answer go (rating 3 starts at 45): probes weak ones
            praise=("That's a great example.", "Really nice answer."),
            follow_up_lead="Thanks, that's a good start.",
            transitions=("Let's try another one.", "Here's the next one.", "Moving on."),
            greeting="Hi{name}, I'm {persona}.",
            introduction="This is a relaxed conversation; there are no trick questions.",
            closing="That's everything from me. You did well to get through it, thank you!",
            speaking_rate=0.95,
            patience=1.25,
        ),
        Persona(
            "alex",
            "Alex",
            "Neutral professional",
            "Calm, even and to the point.",
            1,
            ("Thank you.", "Understood.", "Okay."),
            probe_below=75,
            praise=("Thank you.",),
            follow_up_lead="Thank you.",
            transitions=("Next question.", "Let's move on."),
            greeting="Hello{name}, I'm {persona}.",
            introduction="I'll ask a set of questions; answer as fully as you can.",
            closing="That concludes the interview. Thank you for your time.",
            speaking_rate=1.0,
        ),
        Persona(
            "leo",
            "Leo",
            "Bar raiser",
            "Direct; pushes on every gap.",
            2,
            ("Noted.", "Right.", "Okay, let's keep going."),
            probe_below=101,
            praise=("Good.", "Solid."),
            follow_up_lead="Let me push on that.",
            transitions=("Next.", "Different topic."),
            greeting="Hello{name}. I'm {persona}.",
            introduction="I'll push on your answers; that's the job, not a judgement.",
            closing="That's it from me. Thanks.",
            speaking_rate=1.08,
            patience=0.8,
        ),
    )
}
DEFAULT_PERSONA = "maya"


def get_persona(persona_id: str | None) -> Persona:
    return PERSONAS.get(persona_id or DEFAULT_PERSONA, PERSONAS[DEFAULT_PERSONA])
