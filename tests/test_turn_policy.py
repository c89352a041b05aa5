"""The turn policy's decisions on timelines: when an answer is over, and what a repair is."""

from __future__ import annotations

import pytest

from pipeline.personas import get_persona
from pipeline.voice.turn_policy import TurnEnd, TurnPolicy, TurnPolicyConfig, spoken_closing


def ends_after(policy: TurnPolicy, text: str, answer_s: float = 30.0, limit: float | None = 120):
    rule = policy.end_after(text, answer_s, limit)
    return rule.silence_s, rule.reason


def test_a_pause_of_a_second_and_a_half_is_not_the_end() -> None:
    silence, reason = ends_after(TurnPolicy(), "We moved the billing system to Postgres.")
    assert reason is TurnEnd.SILENCE
    assert silence == pytest.approx(2.0)
    assert silence > 1.5  # the longest thinking pause the real-speech bench holds


def test_unfinished_words_get_more_patience() -> None:
    finished, _ = ends_after(TurnPolicy(), "We moved the billing system to Postgres.")
    unfinished, _ = ends_after(TurnPolicy(), "We moved the billing system because")
    assert unfinished == pytest.approx(finished + 1.0)


def test_an_answer_still_short_for_its_question_gets_more_patience() -> None:
    policy = TurnPolicy()
    short, _ = ends_after(policy, "Well.", answer_s=5.0, limit=120)
    long, _ = ends_after(policy, "Well.", answer_s=40.0, limit=120)
    assert short == pytest.approx(long + 1.0)


@pytest.mark.parametrize(
    "text",
    [
        "so yeah, that's my answer",
        "And that's it.",
        "I think that's it",
        "Does that answer your question?",
        "That's all from me.",
        "so yeah that’s the answer",
    ],
)
def test_a_spoken_closing_ends_the_answer_sooner(text: str) -> None:
    assert spoken_closing(text)
    silence, reason = ends_after(TurnPolicy(), f"We shipped it in May. {text}")
    assert reason is TurnEnd.CUE
    assert silence < TurnPolicyConfig().patience_s


@pytest.mark.parametrize(
    "text",
    [
        "That's it for the first part, then we",
        "once I'm done with the migration",
        "that is all we could do at the time because",
        "It",
    ],
)
def test_closing_words_mid_answer_are_not_a_closing(text: str) -> None:
    assert not spoken_closing(text)
    assert ends_after(TurnPolicy(), text)[1] is TurnEnd.SILENCE


def test_past_the_time_limit_the_next_short_pause_wraps_up() -> None:
    policy = TurnPolicy()
    silence, reason = ends_after(policy, "and then we", answer_s=121.0, limit=120)
    assert reason is TurnEnd.LIMIT
    assert silence < 1.0  # a pause, never mid-word
    assert not policy.over_hard_limit(121.0, 120)
    assert policy.over_hard_limit(151.0, 120)  # a voice that never pauses ends anyway
    assert not policy.over_hard_limit(10_000.0, None)


def test_persona_patience_the_coach_waits_longer_than_the_bar_raiser() -> None:
    coach = TurnPolicy(patience_scale=get_persona("maya").patience)
    neutral = TurnPolicy(patience_scale=get_persona("alex").patience)
    raiser = TurnPolicy(patience_scale=get_persona("leo").patience)
    text = "We moved the billing system to Postgres."
    assert ends_after(coach, text)[0] > ends_after(neutral, text)[0] > ends_after(raiser, text)[0]
    assert ends_after(raiser, text)[0] >= 1.6


def test_speech_soon_after_the_reply_began_is_a_repair() -> None:
    policy = TurnPolicy(TurnPolicyConfig(repair_window_s=3.0))
    assert policy.is_repair(0.0)
    assert policy.is_repair(2.9)
    assert not policy.is_repair(3.0)
