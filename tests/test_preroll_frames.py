"""A turn's audio starts the same number of frames before the speech, wherever in the stream the
speech starts (issue 28).

The preroll is the frames ending after `onset - preroll_ms`; frame ends and the onset lie on one
grid, so one frame ends exactly at the cut, and float rounding put it on either side depending on
the frame's index: about 1 answer in 10 began a frame (32 ms) earlier, and Whisper heard the
same first words differently ("In my last role" / "in my last role"). Recognition's own preroll
(pipeline/voice/recognition.py) is driven here by the real detector, on the loop's audio clock
(frames * 512 / 16000).
"""

from __future__ import annotations

from collections import deque
from types import SimpleNamespace

import numpy as np

from audio.input import PIPELINE_RATE
from models.vad import FRAME_SAMPLES
from pipeline.voice.candidate import FRAME_S
from pipeline.voice.config import VoiceConfig
from pipeline.voice.detector import SpeechDetector, SpeechStarted
from pipeline.voice.recognition import PREROLL_BUFFER_S, Recognition


def preroll_after_silence(frames_of_silence: int, config: VoiceConfig) -> int:
    """Frames the loop keeps before (and under) a start that follows this much silence."""
    detector = SpeechDetector(config.vad)
    recent: deque[tuple[np.ndarray, float]] = deque(maxlen=int(PREROLL_BUFFER_S / FRAME_S) + 1)
    stub = SimpleNamespace(config=config, _recent=recent)
    index = 0
    while True:
        index += 1
        end_s = index * FRAME_SAMPLES / PIPELINE_RATE
        frame = np.full(FRAME_SAMPLES, index, np.float32)
        recent.append((frame, end_s))
        event = detector.update(0.9 if index > frames_of_silence else 0.0, end_s)
        if isinstance(event, SpeechStarted):
            frames = Recognition._preroll(stub, event.start_s)  # type: ignore[arg-type]
            # Contiguous and ending at the frame that confirmed the start.
            assert [int(f[0]) for f in frames] == list(range(index - len(frames) + 1, index + 1))
            return len(frames)


def test_the_preroll_is_the_same_wherever_the_answer_starts() -> None:
    config = VoiceConfig()
    run = round(config.vad.min_speech_ms / 1000 / FRAME_S)  # voiced frames to confirm a start
    expected = round(config.vad.preroll_ms / 1000 / FRAME_S) + run
    counts = {k: preroll_after_silence(k, config) for k in range(20, 2400, 7)}
    assert set(counts.values()) == {expected}, {k: n for k, n in counts.items() if n != expected}
