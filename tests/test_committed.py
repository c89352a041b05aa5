"""Committed-prefix streaming on scripted hypotheses: agreement, trims at pauses, nothing lost
or doubled at a trim, a bounded buffer."""

from __future__ import annotations

from pipeline.voice.committed import CommittedTranscript, StreamingConfig, Word, text_of


def words(*items: tuple[str, float, float]) -> list[Word]:
    return [Word(*item) for item in items]


SPOKEN = words(
    ("We", 0.2, 0.4),
    ("moved", 0.4, 0.8),
    ("billing.", 0.8, 1.3),
    # a pause 1.3 -> 2.4
    ("It", 2.4, 2.6),
    ("took", 2.6, 2.9),
    ("a", 2.9, 3.0),
    ("year.", 3.0, 3.5),
    # a pause 3.5 -> 4.6
    ("Nobody", 4.6, 5.0),
    ("noticed.", 5.0, 5.6),
)
PAUSES = [(1.3, 2.4), (3.5, 4.6)]


def heard(until_s: float, garble_last: bool = True) -> list[Word]:
    """What a hypothesis over the audio up to `until_s` says (turn clock): the word being
    spoken at the edge comes out wrong, as Whisper's would."""
    out = [w for w in SPOKEN if w.start_s < until_s]
    if garble_last and out and out[-1].end_s > until_s:
        out[-1] = Word(out[-1].text[:2] + "?", out[-1].start_s, until_s)
    return out


def relative(stream: CommittedTranscript, hypothesis: list[Word]) -> list[tuple[str, float, float]]:
    """As Whisper would return them: times relative to the buffer, only the buffer's words."""
    start = stream.buffer_start_s
    return [(w.text, w.start_s - start, w.end_s - start) for w in hypothesis if w.end_s > start]


def test_only_words_two_hypotheses_agree_on_are_committed() -> None:
    stream = CommittedTranscript()
    assert stream.add_hypothesis(heard(0.6), 0.6) == []
    committed = stream.add_hypothesis(heard(1.0), 1.0)
    assert text_of(committed) == "We"  # "mo?" then "moved": not yet agreed
    stream.add_hypothesis(heard(2.0), 2.0)
    assert stream.text == "We moved"  # "billing." heard once so far
    stream.add_hypothesis(heard(2.3), 2.3)
    assert stream.text == "We moved billing."
    assert text_of(stream.unstable) == ""


def test_words_already_committed_are_not_committed_again() -> None:
    stream = CommittedTranscript()
    for until in (1.0, 2.0, 2.7, 3.2, 3.9, 4.1):
        stream.add_hypothesis(heard(until), until)
    assert stream.text == "We moved billing. It took a year."


def test_the_buffer_is_trimmed_in_a_pause_before_which_all_is_committed() -> None:
    stream = CommittedTranscript(StreamingConfig(trim_after_s=1.0))
    for until in (2.0, 3.9, 4.8):
        stream.add_hypothesis(heard(until), until)
        stream.trim(PAUSES, until)
    assert stream.text == "We moved billing. It took a year."
    assert 3.5 < stream.buffer_start_s < 4.6  # inside the second pause, not mid-word
    # The final pass over the buffer sees only the tail; whatever it repeats is dropped.
    tail = [w for w in SPOKEN if w.end_s > stream.buffer_start_s - 0.5]
    final = stream.final(stream.offset(relative(stream, tail)))
    assert text_of(final) == " ".join(w.text for w in SPOKEN)


def test_no_trim_where_an_unstable_word_lies_before_the_pause() -> None:
    stream = CommittedTranscript(StreamingConfig(trim_after_s=1.0))
    stream.add_hypothesis(heard(2.5), 2.5)  # first hypothesis: nothing agreed yet
    assert not stream.trim(PAUSES, 2.5)
    assert stream.buffer_start_s == 0.0


def test_a_repeated_ngram_at_the_start_of_the_tail_is_not_doubled() -> None:
    stream = CommittedTranscript()
    stream.add_hypothesis(heard(2.0), 2.0)
    stream.add_hypothesis(heard(2.2), 2.2)
    # Whisper's times drifted: the tail repeats "billing." starting after the committed end.
    tail = [Word("billing.", 1.35, 1.6), Word("It", 2.4, 2.6), Word("took", 2.6, 2.9)]
    assert text_of(stream.final(tail)) == "We moved billing. It took"


def test_a_buffer_past_its_maximum_is_cut_even_without_agreement() -> None:
    config = StreamingConfig(trim_after_s=1.0, max_buffer_s=3.0)
    stream = CommittedTranscript(config)
    # Partials starved: one hypothesis only, nothing agreed.
    stream.add_hypothesis(heard(4.0, garble_last=False), 4.0)
    assert stream.trim(PAUSES, 4.0)
    assert stream.text == "We moved billing. It took a year."
    assert 3.5 < stream.buffer_start_s < 4.6
    final = stream.final(stream.offset(relative(stream, [w for w in SPOKEN if w.start_s > 4])))
    assert text_of(final) == " ".join(w.text for w in SPOKEN)


def test_a_repetition_loop_at_the_end_of_a_hypothesis_is_dropped() -> None:
    stream = CommittedTranscript()
    loop = [("and", 0.0, 0.3), ("the", 0.3, 0.4), ("team", 0.4, 0.7), ("runs", 0.7, 0.9)]
    loop += [("it.", 0.9, 1.5)] + [(w, 1.5, 1.5) for w in ("And", "the", "team", "runs", "it.")]
    assert text_of(stream.offset(loop)) == "and the team runs it."
    said_twice = [("very", 0.0, 0.3), ("very", 0.3, 0.6), ("good", 0.6, 0.9)]
    assert text_of(stream.offset(said_twice)) == "very very good"


def test_a_word_stretched_over_a_pause_does_not_hide_the_words_after_it() -> None:
    stream = CommittedTranscript()
    # Whisper stretched "billing." over the pause to 6 s; both hypotheses agree on it.
    stretched = [("We", 0.2, 0.4), ("moved", 0.4, 0.8), ("billing.", 0.8, 6.0)]
    stream.add_hypothesis(stream.offset(stretched), 2.0)
    stream.add_hypothesis(stream.offset(stretched), 2.5)
    assert stream.text == "We moved billing."
    tail = stream.offset(
        [("It", 2.4, 2.6), ("took", 2.6, 2.9), ("a", 2.9, 3.0), ("year.", 3.0, 3.5)]
    )
    assert text_of(stream.final(tail)) == "We moved billing. It took a year."
