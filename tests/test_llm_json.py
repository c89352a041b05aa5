"""Repair or rejection of a model's JSON assessment, and sentence regrouping of a token stream."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from pipeline.interview.llm import LLMAssessment, split_sentences
from pipeline.interview.llm_client import LLMBadOutput, parse_json_answer


@pytest.mark.parametrize(
    "text",
    [
        '{"score": 70, "missing": "outcome", "follow_up": true}',
        '```json\n{"score": 70, "missing": "outcome", "follow_up": true}\n```',
        'Sure! Here is my assessment: {"score": 70, "missing": "outcome", "follow_up": true,} Hope it helps.',
        "{'score': 70, 'missing': 'outcome', 'follow_up': true}",
    ],
)
def test_nearly_valid_json_is_repaired(text: str) -> None:
    assessment = parse_json_answer(text, LLMAssessment)
    assert (assessment.score, assessment.missing, assessment.follow_up) == (70, "outcome", True)


@pytest.mark.parametrize(
    "text",
    [
        "The answer was good, I would give it 70.",
        '{"score": 170, "missing": "outcome", "follow_up": true}',  # out of range
        '{"score": 70, "missing": "charisma", "follow_up": true}',  # not a known gap
        '{"score": 70, "missing": "outcome"',  # truncated
    ],
)
def test_invalid_json_is_rejected(text: str) -> None:
    with pytest.raises(LLMBadOutput):
        parse_json_answer(text, LLMAssessment)


async def _pieces(*parts: str) -> AsyncIterator[str]:
    for part in parts:
        yield part


async def test_streamed_pieces_become_sentences_as_soon_as_each_ends() -> None:
    stream = split_sentences(_pieces("Thank", " you. What was", " the outcome? And", " then"))
    assert await stream.__anext__() == "Thank you."
    assert [s async for s in stream] == ["What was the outcome?", "And then"]
