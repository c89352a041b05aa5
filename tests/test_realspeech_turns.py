"""One long real answer with thinking pauses, over a real socket: it stays one turn.

Real read speech (LibriSpeech, `../shared/data`): one speaker's utterances in file order joined
with pauses of 0.4-1.6 s, about 35 s in all, streamed in real time; after the last word the
microphone stays open (silence) and the server alone decides the answer is over (protocol v1.1:
a pause is not the end of an answer, only the patience window is). The same holds for clients
that leave gaps in their audio (protocol v1.2): a half-duplex one, muted while the interviewer
speaks, and one whose network stalls for 3 s mid-answer and then delivers the audio at once.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from models.registry import ModelRegistry
from pipeline.engine import InterviewPlan, Question
from server.storage.store import Redis
from tests.bench_realspeech import PatternClient, answer_once, speaker_answer, wait_turn_over
from tests.stream_client import LiveServer, StreamClient, create_session, matches

pytestmark = pytest.mark.slow

PLAN = InterviewPlan(
    questions=(
        Question("q1", "Tell me about a case you worked on."),
        Question("q2", "What would you do differently now?"),
        Question("q3", "What are you learning at the moment?"),
    )
)


async def test_a_long_answer_with_thinking_pauses_is_one_turn_and_loses_no_words(
    server: LiveServer, redis: Redis, models: ModelRegistry, shared_data: Path
) -> None:
    # Speaker 1998's first four utterances: ~35 s, three pauses of 0.4-1.6 s between them.
    answer = speaker_answer(models, "1998", 0, 4, seed=17)
    assert 30 <= answer.seconds <= 40, answer.seconds
    token = await create_session(redis, "realspeech-one-answer", PLAN)
    client = await StreamClient.connect(server.url("realspeech-one-answer"), token)
    try:
        await client.stream_while(matches(type="agent_audio", event="end", turn=0), timeout=60)
        await client.silence(0.6)
        outcome = await answer_once(client, answer, "silence", question_turn=0, reply_timeout_s=30)
    finally:
        await client.close()

    assert outcome.reply_turn is not None, f"no reply; received {client.messages()}"
    # No cut-off: neither the interviewer's next turn nor a final transcript before the end.
    assert not outcome.cut_offs, f"cut off mid-answer by {outcome.cut_offs}"
    # No split: one candidate turn (a later final of the same turn replaces the earlier one).
    assert len(outcome.finals) == 1, f"split into turns {outcome.finals}"
    # Nothing said is lost: against Whisper on the whole answer in one pass, at most 5 % of the
    # words have nothing in their place (a different word in their place is the model's error).
    diff = outcome.words()
    assert diff.total >= 60, answer.offline
    assert diff.lost <= 0.05 * diff.total, (
        f"{diff.lost}/{diff.total} words lost\noffline:  {answer.offline}\n"
        f"streamed: {outcome.streamed}"
    )


@pytest.mark.parametrize("pattern", ["half", "stalled"])
async def test_gaps_in_the_audio_neither_cut_nor_split_the_answer(
    server: LiveServer, redis: Redis, models: ModelRegistry, shared_data: Path, pattern: str
) -> None:
    answer = speaker_answer(models, "1998", 0, 4, seed=17)
    session_id = f"realspeech-{pattern}"
    token = await create_session(redis, session_id, PLAN)
    client = await PatternClient.connect(server.url(session_id), token)
    assert isinstance(client, PatternClient)
    client.pattern = pattern
    try:
        # Audio from the start, then (half duplex) none while the opening plays: the answer
        # comes after a gap as long as the interviewer's turn.
        await client.silence(0.5)
        await wait_turn_over(client, 0, timeout=60)
        await client.silence(0.6)
        outcome = await answer_once(
            client, answer, "silence", question_turn=0, reply_timeout_s=30, stall_after_s=8.0
        )
    finally:
        await client.close()

    assert outcome.reply_turn is not None, f"no reply; received {client.messages()}"
    assert not outcome.cut_offs, f"cut off mid-answer by {outcome.cut_offs}"
    assert len(outcome.finals) == 1, f"split into turns {outcome.finals}"
    diff = outcome.words()
    assert diff.lost <= 0.05 * diff.total, f"{diff.lost}/{diff.total} words lost"
    # The reply's latency as the server reports it is the one the client saw, not the gap.
    assert outcome.eos_error_ms is not None and abs(outcome.eos_error_ms) <= 150, (
        outcome.metrics,
        outcome.eos_to_audio_ms,
    )
