"""The voice loop's sink feeding the integrity session and the recorder on a worker thread."""

from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from models.registry import ModelRegistry
from pipeline.integrity.session import SessionIntegrity
from pipeline.integrity.sink import ObserverSink
from pipeline.voice.sink import CandidateSegment, InterviewerSpeech
from server.settings import Settings
from server.storage.recordings import SessionRecorder, read_track
from tests.bench_integrity import SR, synthetic_interview

pytestmark = pytest.mark.slow


async def test_sink_feeds_attribution_and_recording_in_order(
    models: ModelRegistry, tmp_path: Path
) -> None:
    tts = models.tts()
    question = np.concatenate(list(tts.synthesize("Tell me about your current team.")))
    interview = synthetic_interview(models, "en-us+f3", "en-gb+m3")
    session = SessionIntegrity(models.speaker())
    recorder = SessionRecorder(tmp_path, "ses_sink", record_full=True)
    sink = ObserverSink([session, recorder])

    sink.interviewer_speech(
        InterviewerSpeech("ses_sink", 0, question, tts.sample_rate, 0.0, "Tell me...", False)
    )
    for turn, start, audio in interview.segments:
        sink.candidate_speech(
            CandidateSegment("ses_sink", turn, audio, start, start + len(audio) / SR)
        )
    sections = await asyncio.wrap_future(sink.submit(session.report_sections))
    references = await asyncio.wrap_future(sink.submit(recorder.close))
    sink.close()
    settings = Settings(VIVA_DATA_DIR=tmp_path, REDIS_URL=None)
    tracks = {name: read_track(ref, settings) for name, ref in references.items()}
    paths = {name: track.path for name, track in tracks.items() if track is not None}

    speakers = sections["fraud_signals"]["multiple_speakers"]  # type: ignore[index]
    (truth,) = interview.other_truth
    (found,) = speakers["ranges"]
    assert abs(found["start_s"] - truth.start_s) < 1.0 and abs(found["end_s"] - truth.end_s) < 1.0
    full, _ = sf.read(paths["full"], dtype="float32")
    question_s = len(question) / tts.sample_rate
    assert np.abs(full[: int(question_s * SR) - 800]).max() > 0.05  # the question, resampled
    candidate, _ = sf.read(paths["candidate"], dtype="float32")
    first_start = interview.segments[0][1]
    assert np.abs(candidate[: round(first_start * SR)]).max() == 0  # no interviewer in it
    last_turn, last_start, last_audio = interview.segments[-1]
    assert len(candidate) == round(last_start * SR) + len(last_audio)
    assert last_turn == 3
