"""The coding question's spoken answer is not ended by silence (issue 25): a candidate codes in
silence for minutes while on the call, and the interviewer must not talk over them. Only a signal
(`answer_done`, a typed answer, a code submission) or the question's time limit ends it; an
ordinary question's answer still ends after the usual 2-3 s of silence.

Scripted models on virtual time (tests/virtual_time.py), the harness of test_voice_scripted.py,
with the turn policy's real defaults (patience 2 s, +1 s for a short answer).
"""

from __future__ import annotations

import asyncio
import math

import pytest

from pipeline.coding.problems import CODE_QUESTION_TIME_S, bank
from pipeline.engine import InterviewPlan, Question
from pipeline.voice.candidate import FRAME_S, QUIET_KEPT_S, QUIET_RECENT_S, SILENT_FRAME
from pipeline.voice.committed import StreamingConfig
from pipeline.voice.config import VoiceConfig
from pipeline.voice.turn_policy import TurnEnd, TurnPolicy, TurnPolicyConfig
from tests.test_voice_scripted import running
from tests.voice_fakes import Script

pytestmark = pytest.mark.virtual_time

CONFIG = VoiceConfig(
    turns=TurnPolicyConfig(),  # the real patience: 2 s, +1 s while the answer is short
    streaming=StreamingConfig(min_segment_s=2.0, max_segment_s=5.0),
)
CODING = Question(
    "code:two-sum", "Here is a coding problem.", time_limit_s=CODE_QUESTION_TIME_S, open_ended=True
)
ORDINARY = Question("q1", "Tell me about a project.", time_limit_s=120)


def plan(*questions: Question) -> InterviewPlan:
    return InterviewPlan(questions=questions, persona_id="alex")  # patience scale 1


def now() -> float:
    return asyncio.get_running_loop().time()


def test_the_coding_rounds_question_is_open_ended() -> None:
    assert all(p.question().open_ended for p in bank())


def test_the_policy_has_no_silence_rule_for_an_open_ended_question() -> None:
    policy = TurnPolicy()
    ordinary = policy.end_after("We sort the array first.", 5.0, 120)
    assert ordinary.reason is TurnEnd.SILENCE and 2.0 <= ordinary.silence_s <= 3.0
    coding = policy.end_after("We sort the array first.", 5.0, 1800, open_ended=True)
    assert coding.reason is TurnEnd.LIMIT and coding.silence_s == 1795.0  # the limit only
    assert policy.end_after("w", 5.0, None, open_ended=True).silence_s == math.inf
    # A spoken closing is not an end either: "that's it" said of one step of the code.
    assert policy.end_after("and that's it.", 5.0, 1800, open_ended=True).reason is TurnEnd.LIMIT
    # Past the limit the next short pause ends it, as any answer.
    past = policy.end_after("w", 1800.0, 1800, open_ended=True)
    assert past == policy.end_after("w", 1800.0, 1800)


async def test_an_ordinary_answer_ends_after_two_to_three_seconds_of_silence() -> None:
    answer = Script().say(6)
    async with running(plan(ORDINARY, CODING), CONFIG) as h:
        spoken_until = await h.say(answer.audio)
        metrics = await h.transport.wait_for("metrics", timeout=10)
        assert metrics["end"] == "silence"
        reply_at = h.transport.first("agent_audio", event="start", turn=2)
        assert reply_at is not None and 2.0 <= reply_at - spoken_until <= 3.5


async def test_ten_seconds_of_silence_do_not_end_the_coding_answer_answer_done_does() -> None:
    answer = Script().say(6).pause(1.5).say(4)
    async with running(plan(CODING, ORDINARY), CONFIG) as h:
        await h.say(answer.audio)
        await asyncio.sleep(10.0)  # typing in silence
        assert h.finals() == [] and h.transport.of("metrics") == []
        assert h.transport.first("agent_audio", event="start", turn=2) is None
        assert h.candidate_turns() == []
        await h.loop.answer_done()
        signalled = now()
        metrics = await h.transport.wait_for("metrics", timeout=3)
        assert metrics["end"] == "signal"
        assert now() - signalled < 1.0
        assert [f["text"] for f in h.finals()] == [answer.text]  # one turn, every word
        await h.loop.writer.settle()
        assert h.candidate_turns() == [answer.text]


@pytest.mark.parametrize("quiet_s", [4.0, 10.0, 30.0, 120.0])
async def test_speech_after_minutes_of_silence_is_the_same_coding_answer(quiet_s: float) -> None:
    """Every word once: the open segment, longer than a segment may be once the voice resumes,
    is cut before the voice (the quiet is not transcribed), not in its first word."""
    first, more = Script().say(4), Script()
    more.next_code = 10
    more.say(3)
    async with running(plan(CODING, ORDINARY), CONFIG) as h:
        await h.say(first.audio)
        await asyncio.sleep(quiet_s)
        await h.say(more.audio)
        await asyncio.sleep(30.0)
        await h.loop.answer_done()
        await h.transport.wait_for("metrics", timeout=3)
        await h.loop.writer.settle()
        assert h.candidate_turns() == [f"{first.text} {more.text}"]


async def test_minutes_of_quiet_in_an_open_answer_are_not_kept_as_audio() -> None:
    """30 minutes of room noise would hold 115 MB: past a few seconds of quiet the open answer
    keeps one shared silent frame in its place, and the words are the same."""
    first, more = Script().say(4), Script()
    more.next_code = 10
    more.say(3)
    async with running(plan(CODING, ORDINARY), CONFIG) as h:
        await h.say(first.audio)
        await asyncio.sleep(300.0)
        turn = h.loop.recognition.turn
        assert turn is not None
        kept_s = sum(f is not SILENT_FRAME for f in turn.frames) * FRAME_S
        assert len(turn.frames) * FRAME_S > 300.0
        assert kept_s < 1.5 + QUIET_KEPT_S + QUIET_RECENT_S + 1.0, kept_s
        await h.say(more.audio)
        await asyncio.sleep(5.0)
        await h.loop.answer_done()
        await h.transport.wait_for("metrics", timeout=3)
        await h.loop.writer.settle()
        assert h.candidate_turns() == [f"{first.text} {more.text}"]


async def test_a_spoken_closing_does_not_end_the_coding_answer() -> None:
    answer = Script().say(4).word(900).word(901)  # "... that's it."
    async with running(plan(CODING, ORDINARY), CONFIG) as h:
        await h.say(answer.audio)
        await asyncio.sleep(8.0)
        assert h.finals() == []
        await h.loop.answer_submitted()
        assert (await h.transport.wait_for("metrics", timeout=3))["end"] == "signal"


async def test_a_submission_ends_the_coding_answer_and_not_an_ordinary_one() -> None:
    answer = Script().say(5)
    async with running(plan(ORDINARY, CODING), CONFIG) as h:
        spoken_until = await h.say(answer.audio)
        await h.loop.answer_submitted()  # not the coding question: the answer goes on
        await asyncio.sleep(1.0)
        assert h.finals() == []
        await h.transport.wait_for("metrics", timeout=10)
        assert h.transport.of("metrics")[0]["end"] == "silence"
        assert now() - spoken_until >= 2.0
    async with running(plan(CODING, ORDINARY), CONFIG) as h:
        await h.say(answer.audio)
        await asyncio.sleep(20.0)
        await h.loop.answer_submitted()
        metrics = await h.transport.wait_for("metrics", timeout=3)
        assert metrics["end"] == "signal"
        assert [f["text"] for f in h.finals()] == [answer.text]


async def test_a_typed_answer_ends_the_coding_answer() -> None:
    answer = Script().say(5)
    async with running(plan(CODING, ORDINARY), CONFIG) as h:
        await h.say(answer.audio)
        await asyncio.sleep(10.0)
        await h.loop.answer_text("O(n) time, O(n) space.")
        await h.transport.wait_for("metrics", timeout=3)
        await h.loop.writer.settle()
        assert h.candidate_turns() == [f"{answer.text} O(n) time, O(n) space."]


async def test_the_coding_questions_time_limit_still_ends_a_silent_answer() -> None:
    limited = Question("code:x", "Code it.", time_limit_s=30, open_ended=True)
    answer = Script().say(4)
    async with running(plan(limited, ORDINARY), CONFIG) as h:
        started = now()
        await h.say(answer.audio)
        await asyncio.sleep(20.0)
        assert h.finals() == []
        metrics = await h.transport.wait_for("metrics", timeout=30)
        assert metrics["end"] == "limit"
        assert 29.0 <= now() - started <= 33.0
