"""The CV + job-description app's Interviews API (seed `001_84547fa3bc390591.txt`)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, StrictBool, StrictInt, StrictStr

# The seed's example requests, verbatim.
GET_INTERVIEW = """curl -X GET https://your-domain.com/session/123/interview \\
  -H "Cookie: session=your_session_cookie\""""
POST_MESSAGE = """curl -X POST https://your-domain.com/session/123/message \\
  -H "Content-Type: application/x-www-form-urlencoded" \\
  -H "Cookie: session=your_session_cookie" \\
  -d "answer=I have extensive experience with microservices architecture...\""""


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Session(Strict):
    id: StrictStr | StrictInt  # an integer in the product; Viva's ids are strings
    job_title: StrictStr
    company_name: StrictStr


class Message(Strict):
    id: StrictInt
    session_id: StrictStr | StrictInt
    role: Literal["assistant", "user"]
    content: StrictStr
    timestamp: datetime


class Progress(Strict):
    question_count: StrictInt
    max_questions: StrictInt
    is_started: StrictBool
    is_complete: StrictBool


class InterviewPage(Strict):
    session: Session
    conversation: list[Message]
    progress: Progress


class AnswerResult(Strict):
    next_question: StrictStr | None
    is_complete: StrictBool
    question_count: StrictInt


class ErrorFragment(Strict):
    error: Literal[True]
    message: StrictStr
