"""The coding question over the phone (issue 25): the caller codes in silence, so silence does
not end the spoken answer; the `#` key ("I'm done", server/phone/media.py) does.

A real server on a real port, real Valkey, real Whisper, Piper and Silero (the fixtures of
tests/test_phone_e2e.py), Twilio's side written from its documented message shapes, and the
caller's speech as 8 kHz μ-law in real time. The session is built as the server builds a coding
interview's (server/usecases/opening.py): the plan through `server.code.with_coding_round` (the
problem's `Problem.question()`, open-ended, first), the round kept in the session's
`extra["coding"]`.
"""

from __future__ import annotations

import time

import pytest

from audio.telephone import to_telephone
from models.registry import ModelRegistry
from pipeline.coding.problems import CODE_QUESTION_PREFIX
from pipeline.engine import InterviewPlan, Question
from pipeline.personas import get_persona
from pipeline.voice.turn_policy import TurnPolicyConfig
from server import code
from server.phone import credentials
from server.sessions import SessionRecord, SessionStore
from server.settings import Settings
from server.storage.store import Redis
from server.usecases.consent import DISCLOSURE_VERSION
from tests.conftest import piper_speech
from tests.phone_client import MediaStreamClient, new_call_sid, pin_key
from tests.stream_client import LiveServer
from tests.test_phone_e2e import dial_in, last_turn_mark, phone_server, redis, turn_heard
from tests.test_stream_e2e import wer

__all__ = ["phone_server", "redis"]  # the phone test's fixtures, used here too

pytestmark = pytest.mark.slow

INTERVIEW_ID = "dsa-code-1"  # a catalogue coding interview (kind "code", has_problem)
TENANT_ID = "t1"
BASE_PLAN = InterviewPlan(
    questions=(
        Question("q1", "What project are you proudest of?"),
        Question("q2", "How do you handle a disagreement?"),
    ),
    interview_type="technical",
)
ANSWER = "I would go through the input once and keep what I have seen in a hash map."


def end_of_answer_silence_s(settings: Settings, persona_id: str) -> float:
    """The longest silence that ends an ordinary answer (turn_policy.py `end_after`): the
    persona's patience, plus more after an unfinished sentence and for a short answer."""
    turns = TurnPolicyConfig()
    return (
        settings.patience_ms / 1000 * get_persona(persona_id).patience
        + turns.unfinished_extra_s
        + turns.short_answer_extra_s
    )


async def create_coding_session(redis: Redis, session_id: str) -> InterviewPlan:
    """A phone session of a coding interview, as `open_session` makes one (consent given, as
    over REST, so the interviewer starts at once); its plan."""
    plan, coding = await code.with_coding_round(
        redis, TENANT_ID, INTERVIEW_ID, BASE_PLAN, session_id
    )
    assert coding is not None
    sessions = SessionStore(redis)
    await sessions.create(
        SessionRecord(
            id=session_id,
            tenant_id=TENANT_ID,
            plan=plan,
            mode="phone",
            interview_id=INTERVIEW_ID,
            extra={"coding": coding},
        )
    )
    await sessions.set_consent(session_id, DISCLOSURE_VERSION, time.time())
    return plan


@pytest.fixture(scope="module")
def answer_audio(models: ModelRegistry) -> bytes:
    """The spoken answer as the caller's phone sends it: 8 kHz μ-law."""
    return to_telephone(piper_speech(models, ANSWER), 16000)


async def test_silence_keeps_the_coding_answer_open_until_the_caller_presses_hash(
    phone_server: LiveServer, redis: Redis, answer_audio: bytes
) -> None:
    began = time.monotonic()
    session_id = "phone-coding"
    plan = await create_coding_session(redis, session_id)
    coding_question = plan.questions[0]
    assert coding_question.id.startswith(CODE_QUESTION_PREFIX) and coding_question.open_ended

    # The phone server's settings (the environment `phone_server` runs with): the silence that
    # ends an ordinary answer, and the wall time without input that ends one.
    settings = Settings()
    ordinary_end_s = end_of_answer_silence_s(settings, plan.persona_id)
    quiet_s = settings.input_quiet_ms / 1000
    silent_s = max(ordinary_end_s, quiet_s) + 2.0

    pin = await credentials.issue_pin(redis, pin_key(), session_id, 3600)
    call_sid = new_call_sid()
    url, stream_token = dial_in(phone_server, pin, call_sid)
    call = await MediaStreamClient.connect(url, stream_token, call_sid)
    try:
        # The opening asks the coding question; the caller hears it to its end.
        await call.wait_until(lambda: turn_heard(call, 0), timeout=60)
        sessions = SessionStore(redis)
        opening = await sessions.turns(session_id)
        assert [(t.role, t.question_index) for t in opening] == [("interviewer", 0)]

        # A short sentence, then silence (the caller codes): longer than the silence that
        # ends an ordinary answer and than the quiet-input limit. No reply comes.
        await call.silence(0.4)
        spoken_until = await call.stream(answer_audio)
        asked = last_turn_mark(call)
        await call.silence(silent_s)
        replied = call.first_media_after(spoken_until)
        assert replied is None, (
            f"the interviewer spoke {replied - spoken_until:.1f} s into the caller's silence"
        )
        assert last_turn_mark(call) == asked == 0
        assert call.marks_sent("turn:") == call.marks_sent("turn:0:")
        assert len(await sessions.turns(session_id)) == 1, "the open answer was ended"

        # `#`: the answer is done; the interviewer replies.
        pressed = await call.dtmf("#")
        await call.wait_until(lambda: call.first_media_after(pressed) is not None, timeout=30)
        first_audio = call.first_media_after(pressed)
        assert first_audio is not None
        # The answer is stored beside the reply's first audio (once the speaker checks ran).
        for _ in range(100):
            turns = await sessions.turns(session_id)
            if len(turns) >= 2:
                break
            await call.silence(0.1)
        answer = turns[1]
        assert answer.role == "candidate" and answer.question_index == 0
        assert answer.meta["end"] == "signal", answer.meta["end"]  # `#`, not the silence
        heard = answer.meta["asr_text"]
        assert isinstance(heard, str) and wer(ANSWER, heard) <= 0.3, heard
        assert answer.text.strip() == heard.strip()
    finally:
        await call.stop()
    print(
        f"silence held {silent_s:.1f} s (ordinary end {ordinary_end_s:.1f} s, quiet input "
        f"{quiet_s:.1f} s); # -> first reply audio {first_audio - pressed:.2f} s; "
        f"test {time.monotonic() - began:.1f} s"
    )
