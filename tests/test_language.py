"""The language read: rate, fillers, pauses, vocabulary range, CEFR estimate with its basis."""

from __future__ import annotations

import pytest

from models.registry import ModelRegistry
from pipeline.integrity.language import CEFR_LEVELS, LanguageRead, language_read, mattr
from pipeline.integrity.words import Word, words_from_timestamps
from tests.bench_integrity import speak

SIMPLE = (
    "I like my job. I work with my team. We make a shop on the web. I write code every day.",
    "My boss is nice. We have a meeting on Monday. I talk about my work. Then I go home.",
    "At the weekend I see my friends. We eat and we talk. Sometimes we play games. It is fun.",
)
ADVANCED = (
    "I coordinated a cross-functional initiative to consolidate our fragmented analytics "
    "infrastructure, negotiating priorities with stakeholders whose incentives were misaligned.",
    "Ultimately, the architecture we converged on reduced operational overhead considerably, "
    "although it necessitated a meticulous migration and rigorous reconciliation of discrepancies.",
    "In retrospect, I would have documented the assumptions underpinning our capacity estimates, "
    "because subsequent teams inherited decisions without the rationale behind them.",
)


def _timed(text: str, start: float, word_s: float, pause_every: int, pause_s: float) -> list[Word]:
    words, clock = [], start
    for i, token in enumerate(text.split()):
        words.append(Word(token, clock, clock + word_s))
        clock += word_s
        if (i + 1) % pause_every == 0:
            clock += pause_s
    return words


def test_mattr_moving_window() -> None:
    assert mattr(["a", "b", "a", "b"], window=2) == 1.0
    assert mattr(["a", "a", "a", "b"], window=2) == pytest.approx((0.5 + 0.5 + 1.0) / 3)
    assert mattr(["a", "a"], window=50) == 0.5  # below one window: plain type-token ratio


def test_too_few_words_gives_no_read() -> None:
    assert language_read([_timed("one two three", 0, 0.3, 10, 0)]) is None


def test_hesitant_delivery_reads_less_fluent_than_a_fluent_one() -> None:
    text = " ".join(SIMPLE)
    fluent = language_read([_timed(text, 0.0, 0.35, 12, 0.4)])
    hesitant_text = " ".join(f"um {w}" if i % 6 == 0 else w for i, w in enumerate(text.split()))
    hesitant = language_read([_timed(hesitant_text, 0.0, 0.35, 3, 1.2)])
    assert fluent is not None and hesitant is not None
    words, fillers = len(text.split()), len(range(0, len(text.split()), 6))
    assert hesitant.fillers_per_100_words == pytest.approx(100 * fillers / (words + fillers))
    assert fluent.fillers_per_100_words == 0
    assert hesitant.pause_ratio > 0.4 > 0.15 > fluent.pause_ratio
    assert fluent.mean_run_words == pytest.approx(12, abs=1)
    assert hesitant.fluency < 50 < 80 < fluent.fluency
    pauses = (words - 1) // 12
    assert fluent.words_per_minute == pytest.approx(60 * words / (words * 0.35 + pauses * 0.4))


def _read(models: ModelRegistry, texts: tuple[str, ...], voice: str, rate: int) -> LanguageRead:
    answers = []
    for text in texts:
        transcript = models.asr().transcribe(speak(models, voice, text, rate), word_timestamps=True)
        answers.append(words_from_timestamps(transcript.words))
    read = language_read(answers)
    assert read is not None
    return read


@pytest.mark.slow
def test_speech_rate_follows_the_speaker(models: ModelRegistry) -> None:
    slow = _read(models, SIMPLE, "en-us", 120)
    fast = _read(models, SIMPLE, "en-us", 180)
    assert fast.words_per_minute / slow.words_per_minute == pytest.approx(1.5, rel=0.2)
    assert 100 < slow.words_per_minute < 180  # short words: more of them than espeak's nominal


@pytest.mark.slow
def test_cefr_estimate_separates_simple_from_advanced_speech(models: ModelRegistry) -> None:
    simple = _read(models, SIMPLE, "piper", 160)
    advanced = _read(models, ADVANCED, "piper", 160)
    assert CEFR_LEVELS.index(simple.cefr) <= CEFR_LEVELS.index("A2")
    assert CEFR_LEVELS.index(advanced.cefr) >= CEFR_LEVELS.index("C1")
    assert advanced.rare_word_share > 0.25 > 0.02 > simple.rare_word_share
    shown = advanced.to_dict()["cefr_basis"]
    assert isinstance(shown, list) and {c["criterion"] for c in shown} == {
        "vocabulary_range_mattr",
        "rare_word_share",
        "words_per_sentence",
        "fluency",
    }
