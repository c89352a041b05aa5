"""Liya Engine's mock interview (seed `002_585d0a895c676ec0.txt`)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr

# The seed's example requests, verbatim (turn 2 is printed as its `-d` part alone).
TURN_1 = """curl -X POST https://api.liyaengine.ai/v1/hiring/mock-interview \\
  -H "x-api-key: $LIYA_API_KEY" \\
  -H "Content-Type: application/json" \\
  -d '{
    "input": {
      "user_id": "usr_123",
      "profile": { "title": "Senior Engineer", "years_of_experience": 8 },
      "interview_context": {
        "interview_type": "behavioral",
        "interview_round": "first_round"
      }
    }
  }'"""
TURN_2_DATA = """-d '{
  "input": {
    "user_id": "usr_123",
    "message": "At Acme Corp, my colleague and I disagreed on whether to use a message queue or direct HTTP calls for our notification service..."
  },
  "session_id": "ses_interview_abc"
}'"""
# The InterviewContextInput example, with its comment dropped (JSON has none).
INTERVIEW_CONTEXT = {
    "interview_type": "behavioral",
    "interview_round": "first_round",
    "focus_areas": ["leadership", "conflict resolution"],
    "time_limit_minutes": 45,
    "company_research": "Stripe is a payments infrastructure company...",
}


class Feedback(BaseModel):
    model_config = ConfigDict(extra="forbid")
    strengths: list[StrictStr]
    improvements: list[StrictStr]
    score: StrictInt = Field(ge=0, le=100)


class Output(BaseModel):
    model_config = ConfigDict(extra="allow")  # a summary comes beside on the final turn
    message: StrictStr
    turn: StrictInt
    feedback_on_previous: Feedback | None


class Data(BaseModel):
    model_config = ConfigDict(extra="forbid")
    output: Output
    session_id: StrictStr


class Response(BaseModel):
    model_config = ConfigDict(extra="allow")  # `success` (turn 1 shows it; turn 2 is cut short)
    data: Data
