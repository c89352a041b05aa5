"""Segments cut at pauses on scripted words: committed in order, captions from agreeing
partials, nothing a partial says is stored, repetition loops and stretched words dropped."""

from __future__ import annotations

from pipeline.voice.committed import CommittedTranscript, Word, on_turn_clock, text_of


def words(*items: tuple[str, float, float]) -> list[Word]:
    return [Word(*item) for item in items]


def test_closed_segments_commit_in_order_on_the_turn_clock() -> None:
    stream = CommittedTranscript()
    first = stream.close_segment(3.4)
    second = stream.close_segment(7.9)
    assert (first, second) == ((0.0, 3.4), (3.4, 7.9))
    stream.commit(on_turn_clock([("We", 0.2, 0.4), ("moved", 0.4, 0.8)], first[0]))
    stream.commit(on_turn_clock([("It", 0.1, 0.3), ("worked.", 0.3, 0.9)], second[0]))
    assert stream.text == "We moved It worked."
    assert [round(w.start_s, 6) for w in stream.committed] == [0.2, 0.4, 3.5, 3.7]
    assert stream.segment_start_s == 7.9
    tail = on_turn_clock([("Done.", 0.2, 0.6)], stream.segment_start_s)
    assert text_of(stream.final(tail)) == "We moved It worked. Done."


def test_a_caption_shows_only_what_two_partials_agree_on_and_is_never_stored() -> None:
    stream = CommittedTranscript()
    assert stream.add_hypothesis(0.0, words(("We", 0.2, 0.4), ("mo?", 0.4, 0.6))) is False
    assert stream.caption == ""
    changed = stream.add_hypothesis(
        0.0, words(("We", 0.2, 0.4), ("moved", 0.4, 0.8), ("bi?", 0.8, 1.0))
    )
    assert changed and stream.caption == "We"
    stream.add_hypothesis(0.0, words(("We", 0.2, 0.4), ("moved", 0.4, 0.8), ("billing.", 0.8, 1.3)))
    assert stream.caption == "We moved"
    assert stream.committed == [] and stream.final([]) == []  # captions are not the answer


def test_agreement_does_not_shrink_within_a_segment_and_restarts_after_a_cut() -> None:
    stream = CommittedTranscript()
    for _ in range(2):
        stream.add_hypothesis(0.0, words(("We", 0.2, 0.4), ("moved", 0.4, 0.8)))
    stream.add_hypothesis(0.0, words(("Wee", 0.2, 0.4)))  # a worse hypothesis
    assert stream.caption == "We moved"
    stream.close_segment(2.0)
    stream.commit(words(("We", 0.2, 0.4), ("moved", 0.4, 0.8), ("billing.", 0.8, 1.3)))
    assert stream.caption == "We moved billing."


def test_a_partial_over_a_segment_closed_meanwhile_is_ignored() -> None:
    stream = CommittedTranscript()
    stream.close_segment(3.0)
    assert stream.add_hypothesis(0.0, words(("We", 0.2, 0.4))) is False
    assert stream.add_hypothesis(0.0, words(("We", 0.2, 0.4))) is False
    assert stream.caption == ""


def test_a_repetition_loop_at_the_end_of_a_pass_is_dropped() -> None:
    loop = [("and", 0.0, 0.3), ("the", 0.3, 0.4), ("team", 0.4, 0.7), ("runs", 0.7, 0.9)]
    loop += [("it.", 0.9, 1.5)] + [(w, 1.5, 1.5) for w in ("And", "the", "team", "runs", "it.")]
    assert text_of(on_turn_clock(loop, 0.0)) == "and the team runs it."


def test_a_word_stretched_over_a_pause_is_clipped_and_punctuation_alone_is_no_word() -> None:
    heard = on_turn_clock([("billing.", 0.8, 6.0), ("...", 6.0, 6.1), ("Nobody", 6.1, 6.5)], 2.0)
    assert [w.text for w in heard] == ["billing.", "Nobody"]
    assert heard[0].end_s == 2.0 + 0.8 + 1.2
