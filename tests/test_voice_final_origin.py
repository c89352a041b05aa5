"""A partial that lands while an answer's final pass runs must not say the answer twice.

Found by the fairness test over the stream (tests/test_fairness_stream.py): with two sessions
at once, a partial still queued behind the shared Whisper finished during the final, committed
its words and trimmed the buffer; the final's words were then placed on the NEW buffer origin
(later by the trim), so every word of the tail landed after the committed ones and the answer
was stored with a clause doubled ("...I trained the team myself as a result to rebuild it and I
trained the team myself as a result incidents fell..."). The final's words belong on the origin
its audio was cut at.
"""

from __future__ import annotations

from collections.abc import Hashable
from types import SimpleNamespace

import numpy as np

from models.asr import Transcript
from models.vad import FRAME_SAMPLES
from pipeline.voice.candidate import CandidateTurn
from pipeline.voice.committed import StreamingConfig
from pipeline.voice.loop import VoiceLoop
from tests.voice_fakes import RATE, Script, read_words


class PartialLandsDuringFinal:
    """The final's audio is cut, then (as a queued partial finishing first would) the buffer
    is trimmed before the final's words come back."""

    def __init__(self, candidate: CandidateTurn) -> None:
        self.candidate = candidate
        self.trimmed = False

    async def final(self, owner: Hashable, audio: np.ndarray, *, urgent: bool = True) -> Transcript:
        stream = self.candidate.transcript
        self.trimmed = stream.trim(self.candidate.pauses(), self.candidate.audio_end_s)
        words = read_words(np.concatenate([audio, np.zeros(1, np.float32)]))
        return Transcript(" ".join(w for w, _, _ in words), tuple(words))


async def test_a_trim_during_the_final_pass_does_not_double_the_answer() -> None:
    answer = Script().say(7).pause(0.6).say(4)
    audio = answer.audio
    audio = np.concatenate([audio, np.zeros(-len(audio) % FRAME_SAMPLES, np.float32)])
    candidate = CandidateTurn(0.0, StreamingConfig(trim_after_s=1.0, max_buffer_s=30.0))
    candidate.frames = [audio[i : i + FRAME_SAMPLES] for i in range(0, len(audio), FRAME_SAMPLES)]
    words = read_words(audio)
    first_part = [w for w in words if w[2] <= 7 * 0.28 + 0.01]
    assert len(first_part) == 7
    pause_start, pause_end = first_part[-1][2], words[7][1]
    candidate.spans = [[0.0, pause_start], [pause_end, len(audio) / RATE]]
    # Two partials agreed on the first seven words: committed, nothing trimmed yet.
    stream = candidate.transcript
    for _ in range(2):
        stream.add_hypothesis(stream.offset(first_part), heard_until_s=pause_end)
    assert [w.text for w in stream.committed] == [f"w{i}" for i in range(1, 8)]
    assert stream.buffer_start_s == 0.0

    transcriber = PartialLandsDuringFinal(candidate)
    loop = SimpleNamespace(transcriber=transcriber)
    end = candidate.audio_end_s
    await VoiceLoop._run_pass(loop, candidate, 0.0, end, candidate.audio(), True)  # type: ignore[arg-type]
    final = stream.final(candidate.tail_words)

    assert transcriber.trimmed and stream.buffer_start_s > 0.0  # the race did happen
    assert [w.text for w in final] == answer.text.split()  # each word once, in order
