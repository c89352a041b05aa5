"""ZenHire's AI interview API result (seed `003_08ec44d38cdd5d34.txt`)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr

# The seed's example result, verbatim.
EXAMPLE_RESULT = """{
"interview_id": "iv_4af20c",
"channel": "phone",
"overall_score": 82,
"competencies": {
"communication": 88,
"problem_solving": 79,
"customer_focus": 84
},
"language": { "cefr": "B2", "fluency": 86 },
"fraud_signals": {
"multiple_speakers": false,
"reading_detected": false
},
"status": "completed"
}"""
Cefr = Literal["A1", "A2", "B1", "B2", "C1", "C2"]


class Language(BaseModel):
    # A CEFR level from the spoken answers; null only where nothing was spoken (typed answers).
    cefr: Cefr | None
    fluency: StrictInt | None = Field(ge=0, le=100)


class FraudSignals(BaseModel):
    multiple_speakers: StrictBool
    reading_detected: StrictBool


class Result(BaseModel):
    """The seed's fields, each with its documented type; other fields may come beside them."""

    model_config = ConfigDict(extra="allow")
    interview_id: StrictStr
    channel: Literal["browser", "phone"]
    # "never a fabricated score": null with status low-confidence
    overall_score: StrictInt | None = Field(ge=0, le=100)
    competencies: dict[StrictStr, StrictInt | None]
    language: Language
    fraud_signals: FraudSignals
    status: Literal["completed", "partial", "low-confidence"]
