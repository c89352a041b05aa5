"""`GET /v1/catalogue`: personas, tracks, built-in interviews, and the tenant's own."""

from __future__ import annotations

from pydantic import BaseModel, Field

from pipeline.personas import PERSONAS
from server import interviews
from server.catalogue import BUILTIN_INTERVIEWS, TRACKS
from server.http.endpoint import Call, Endpoint

TAG = "catalogue"
OWN_INTERVIEWS_SHOWN = 100


class PersonaView(BaseModel):
    id: str
    name: str
    title: str
    description: str


class TrackView(BaseModel):
    id: str
    name: str
    category: str = Field(description="technical | behavioral | k12")


class BuiltinView(BaseModel):
    id: str
    title: str
    level: str
    minutes: int
    kind: str = Field(
        description="the interview type, e.g. behavioral or system_design; `code` for a live "
        "coding interview"
    )
    skills: list[str]
    blurb: str
    grades: list[str] = Field(description="when not empty, sessions need one of these as `grade`")
    has_problem: bool = Field(
        False, description="a coding problem in the room's editor (docs/coding-round.md)"
    )


class OwnInterviewView(BaseModel):
    id: str
    name: str
    type: str
    track: str | None
    level: str | None
    duration_minutes: int | None


class Catalogue(BaseModel):
    personas: list[PersonaView]
    tracks: list[TrackView]
    interviews: dict[str, list[BuiltinView]] = Field(description="built-in interviews by track id")
    own_interviews: list[OwnInterviewView] = Field(description="your newest interviews")


async def get_catalogue(call: Call[None, None]) -> Catalogue:
    own, _ = await interviews.page(
        call.redis, call.tenant.tenant_id, offset=0, limit=OWN_INTERVIEWS_SHOWN
    )
    return Catalogue(
        personas=[
            PersonaView(id=p.id, name=p.name, title=p.title, description=p.description)
            for p in PERSONAS.values()
        ],
        tracks=[TrackView(id=t.id, name=t.name, category=t.category) for t in TRACKS],
        interviews={
            track.id: [
                BuiltinView(
                    id=i.id,
                    title=i.title,
                    level=i.level,
                    minutes=i.minutes,
                    kind=i.catalogue_kind,
                    skills=list(i.skills),
                    blurb=i.blurb,
                    grades=list(i.grades),
                    has_problem=bool(i.problems),
                )
                for i in BUILTIN_INTERVIEWS
                if i.track == track.id
            ]
            for track in TRACKS
        },
        own_interviews=[
            OwnInterviewView(
                id=i.id,
                name=i.name,
                type=i.type,
                track=i.track,
                level=i.level,
                duration_minutes=i.duration_minutes,
            )
            for i in own
        ],
    )


ENDPOINTS = (
    Endpoint(
        "GET",
        "/v1/catalogue",
        get_catalogue,
        "Personas, tracks and interviews",
        TAG,
        response=Catalogue,
    ),
)
