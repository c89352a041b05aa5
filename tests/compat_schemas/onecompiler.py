"""OneCompiler's AI interviewer embed API (seed `000_254d41865a0ebf82.txt`)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr

# The seed's example requests, verbatim.
CATALOGUE = """curl 'https://onecompiler.com/v1/ai-interviewer/catalogue' \\
--header 'X-API-Key: your_api_key'"""
CREATE_SESSION = """curl --request POST 'https://onecompiler.com/v1/ai-interviewer/sessions' \\
--header 'X-API-Key: your_api_key' \\
--header 'X-User-Token: users_api_token' \\
--header 'Content-Type: application/json' \\
--data '{
"interviewId": "dsa-1",
"personaId": "maya",
"mode": "voice"
}'"""
GET_SESSION = """curl 'https://onecompiler.com/v1/ai-interviewer/sessions/44s2rmqbh' \\
--header 'X-API-Key: your_api_key' \\
--header 'X-User-Token: users_api_token'"""
IFRAME_SRC = (
    "https://onecompiler.com/embed/ai-interviewer/44s2rmqbh"
    "?userApiToken=users_api_token&interviewEvents=true"
)
PERSONAS = {"maya", "alex", "leo"}


class Open(BaseModel):
    """The seed prints its responses "truncated": the fields shown, with more beside."""

    model_config = ConfigDict(extra="allow")


class Persona(Open):
    id: StrictStr
    name: StrictStr
    title: StrictStr


class Track(Open):
    id: StrictStr
    cat: StrictStr
    name: StrictStr


class Interview(Open):
    id: StrictStr
    title: StrictStr
    level: StrictStr
    mins: StrictInt
    kind: StrictStr
    skills: list[StrictStr]
    blurb: StrictStr
    hasProblem: StrictBool
    grades: list[StrictStr] = Field(default_factory=list)  # only the K-12 ones


class Catalogue(Open):
    status: Literal["success"]
    personas: list[Persona]
    tracks: list[Track]
    interviews: dict[StrictStr, list[Interview]]


class SessionRef(Open):
    id: StrictStr = Field(alias="_id")
    interviewId: StrictStr
    status: StrictStr


class SessionCreated(Open):
    status: Literal["success"]
    session: SessionRef
    embedUrl: StrictStr


class SkillScore(Open):
    name: StrictStr
    score: StrictInt | None


class QuestionFeedback(Open):
    q: StrictStr
    answer: StrictStr
    score: StrictInt


class Feedback(Open):
    score: StrictInt | None
    verdict: StrictStr
    strengths: list[StrictStr]
    improvements: list[StrictStr]
    skills: list[SkillScore]
    questions: list[QuestionFeedback]


class Session(Open):
    id: StrictStr = Field(alias="_id")
    status: StrictStr
    score: StrictInt | None = None
    feedback: Feedback | None = None


class SessionRead(Open):
    status: Literal["success"]
    session: Session


class Event(Open):
    source: Literal["oc-interview"]
    action: Literal["interviewLoaded", "interviewFinished", "interviewAlreadyCompleted"]
    sessionId: StrictStr
