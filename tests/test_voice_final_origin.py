"""An answer is stored with each word once, in order, where it was said: the regression test
for a clause stored twice.

The bug (fixed in c97cc8a): with two sessions sharing Whisper, a partial finished while an
answer's final pass ran, committed its words and trimmed the buffer; the final's words were then
placed on the new buffer origin, so its tail landed after the committed words again and the
answer was stored with a clause doubled ("...I trained the team myself as a result to rebuild it
and I trained the team myself as a result incidents fell..."). Its test, written against that
buffer and trim, went with them in 4fd1ffc: partials now only caption, and the answer is cut into
segments at pauses, each transcribed once, committed in order, the final transcribing only the
open segment. The same fault can come back the same ways: audio cut from, or words placed on,
the wrong origin; a segment committed twice or out of order; the open segment's final covering a
segment already committed.

So the loop runs (through its public entry points, with tests/voice_fakes.py's scripted models)
with a Whisper that answers in the worst order for those: the segments' passes slow, a later
one back before an earlier one, the open segment's final at once (queued beside the passes still
waiting), partials late, after the segment they heard may have closed. The stored answer must
have every word once, in order, each at the time it was said.
"""

from __future__ import annotations

import asyncio
from collections.abc import Hashable

import numpy as np
import pytest

from models.asr import Transcript
from tests.test_voice_scripted import CONFIG, PATIENCE_S, plan, running
from tests.voice_fakes import Script, ScriptedTranscriber, read_words

# On virtual time (tests/virtual_time.py): the scripted Whisper's slow passes and the waits for
# the repair window take no wall time, and the order of events is the same on a busy machine.
pytestmark = pytest.mark.virtual_time

FRAME_TOLERANCE_S = 0.04  # a VAD frame is 32 ms: word times are placed to within one


# The first segment's pass takes longer than speaking the next segment (2.8 s): the second
# segment's pass returns first.
FIRST_PASS_S = 4.0


class WorstOrder(ScriptedTranscriber):
    """The passes not waited for yet (segments, and a reply's speculative final at a pause):
    the first one slower than the next segment takes to say, so a later one returns before it;
    a final someone waits for at once; partials late."""

    def __init__(self) -> None:
        super().__init__(delay_s=0.0)
        self.background = 0
        self.returned: list[int] = []  # background passes (numbered as asked) as they return

    async def final(self, owner: Hashable, audio: np.ndarray, *, urgent: bool = True) -> Transcript:
        if urgent:
            return await super().final(owner, audio, urgent=True)
        self.background += 1
        number = self.background
        await asyncio.sleep(FIRST_PASS_S if number == 1 else 0.1)
        result = await super().final(owner, audio, urgent=False)
        self.returned.append(number)
        return result

    async def partial(self, owner: Hashable, audio: np.ndarray) -> Transcript | None:
        await asyncio.sleep(0.4)
        return await super().partial(owner, audio)


def said_at(script: Script) -> list[tuple[str, float]]:
    """Each word of the script and where it starts in the script's audio."""
    padded = np.concatenate([script.audio, np.zeros(1, np.float32)])
    return [(word, start) for word, start, _ in read_words(padded)]


def stored_words(meta: dict[str, object]) -> list[tuple[str, float]]:
    words = meta["words"]
    assert isinstance(words, list)
    return [(str(text), float(start)) for text, start, _ in words]


async def test_passes_back_out_of_order_store_each_word_once_where_it_was_said() -> None:
    answer = Script()
    for words in (8, 8, 8):  # 2.2 s each: every pause closes a segment (2 s here)
        answer.say(words).pause(0.6)  # shorter than the patience: one answer
    answer.say(5)  # the open segment when the answer ends
    transcriber = WorstOrder()
    async with running(plan(120, 120), transcriber=transcriber) as h:
        await h.say(answer.audio)
        await h.loop.answer_done()
        await h.transport.wait_for("metrics", timeout=10)
        await asyncio.sleep(0.2)  # the turn's write

    assert [f["text"] for f in h.finals()] == [answer.text]
    (turn,) = [t for t in h.log.turns if t.role == "candidate"]
    assert turn.text == answer.text  # every word once, in order
    stored = stored_words(turn.meta)
    expected = said_at(answer)
    assert [w for w, _ in stored] == [w for w, _ in expected]
    # Each word where it was said: its offset from the answer's first word, on the audio.
    first_stored, first_said = stored[0][1], expected[0][1]
    misplaced = [
        (word, round(at - first_stored, 3), round(when - first_said, 3))
        for (word, at), (_, when) in zip(stored, expected, strict=True)
        if abs((at - first_stored) - (when - first_said)) > FRAME_TOLERANCE_S
    ]
    assert misplaced == []
    # And the race ran: the first segment's pass came back after the second's, and the final was
    # queued while passes were still out.
    kinds = [kind for kind, _ in transcriber.calls]
    assert kinds.count("final") == 1 and kinds.count("tentative final") >= 3
    assert transcriber.returned[:2] == [2, 1], transcriber.returned


async def test_an_answer_repaired_after_its_reply_began_is_stored_once() -> None:
    """The answer is committed (silence), the reply starts, the candidate goes on: the same
    turn is stored again, replaced, with the words from before the reply once."""
    first, more = Script(), Script()
    first.say(8).pause(0.6).say(4)  # a closed segment and an open one when the reply starts
    more.next_code = 20
    more.say(6)
    transcriber = WorstOrder()
    async with running(plan(120, 120), transcriber=transcriber) as h:
        await h.say(first.audio)
        await h.transport.wait_for("agent_audio", event="start", turn=2, timeout=10)
        await h.say(more.audio)  # goes on with the answer as the reply starts
        await h.transport.wait_for("interrupt", turn=2, timeout=10)
        await asyncio.sleep(PATIENCE_S + CONFIG.turns.repair_window_s + 1.5)

    whole = f"{first.text} {more.text}"
    assert h.log.replaced == [1]  # the race ran: the answer was stored, then replaced
    assert [f["text"] for f in h.finals()] == [first.text, whole]
    (turn,) = [t for t in h.log.turns if t.role == "candidate"]
    assert turn.text == whole
    stored = stored_words(turn.meta)
    assert [w for w, _ in stored] == whole.split()
    starts = [at for _, at in stored]
    assert starts == sorted(starts) and len(set(starts)) == len(starts)
