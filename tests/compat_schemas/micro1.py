"""micro1's public API, create interview (seed `004_1a54a9530f92bbc3.txt`)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, StrictBool, StrictStr

# The request built from the seed's OpenAPI `example` values (and the defaults it documents);
# the seed prints no curl command.
EXAMPLE_REQUEST: dict[str, Any] = {
    "interview_name": "Full Stack Engineer Interview",
    "skills": [{"name": "React", "description": "Must be proficient in React Context API"}],
    "custom_question_list": [
        {"question": "What are your strengths and weaknesses?", "time": 2, "type": "audio"}
    ],
    "interview_language": "en",
    "can_change_interview_language": False,
    "only_coding_round": False,
    "is_coding_round_required": False,
    "selected_coding_language": "python",
    "coding_exercise_details": (
        "Make the DSA problem extremely difficult and focus on a problem that will require "
        "recursion to solve efficiently."
    ),
    "is_proctoring_required": True,
}
API_KEY_HEADER = "x-api-key"  # securitySchemes.apiKey


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class InterviewData(Strict):
    interview_id: StrictStr
    invite_url: StrictStr


class CreateInterviewResponse(Strict):
    status: Literal[True]
    message: StrictStr
    data: InterviewData


class BadRequestResponse(Strict):
    status: Literal[False]
    message: StrictStr


class InternalServerErrorResponse(BaseModel):
    status: StrictBool
