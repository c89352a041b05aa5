"""Phone quality on real speech: `python -m tests.phone_quality` (a `make bench` section later).

Real read speech (LibriSpeech test-other, as tests/bench_realspeech.py builds its answers: one
speaker's utterances joined with pauses of 0.4-1.6 s) is answered over both channels of one
server process, one session each, one answer after another:

- phone: through the phone's chain (3.4 kHz low-pass, 8 kHz, μ-law), over Twilio Media Streams
  in real time (signed webhook, PIN, stream token), each answer ended with `#`;
- browser: the same audio at 16 kHz over the browser stream, ended with `answer_done`.

Reported: words lost and WER against Whisper's offline transcript of the 16 kHz answer (what
each channel's streamed transcript misses), the same for Whisper offline on the 8 kHz μ-law
audio (what the phone line alone costs), and `#` / `answer_done` -> first interviewer audio at
the client. Sizes: `PHONE_Q_SPEAKERS` (4), `PHONE_Q_PER_SPEAKER` (2 answers of 3 utterances).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import httpx
import numpy as np
import redis.asyncio as aioredis
import soxr

from audio.telephone import from_telephone, to_telephone
from models.registry import ModelRegistry
from server.phone import credentials
from server.sessions import turn_from_json
from server.storage import keys
from tests.bench import Section, ServerProcess, percentile, server_process
from tests.bench_realspeech import (
    SPEAKERS,
    Answer,
    WordDiff,
    plan,
    run_session,
    speaker_answer,
    word_diff,
)
from tests.phone_client import (
    MediaStreamClient,
    Twiml,
    call_params,
    new_call_sid,
    pin_key,
    post_webhook,
    twilio_env,
)
from tests.stream_client import create_session
from tests.test_stream_e2e import wer

REPLY_TIMEOUT_S = 90.0


@dataclass
class PhoneOutcome:
    answer: Answer
    streamed: str = ""
    hash_to_audio_ms: float | None = None
    cut_off: bool = False


def last_turn_mark(call: MediaStreamClient) -> int:
    marks = [int(name.split(":")[1]) for _, name in call.played_marks if name.startswith("turn:")]
    return max(marks, default=-1)


async def candidate_text(redis: aioredis.Redis, session_id: str, after: int, before: int) -> str:
    """What Whisper heard of the answer: the stored candidate turns between two questions."""
    for _ in range(100):
        raw = await redis.lrange(keys.session_turns(session_id), 0, -1)
        turns = [turn_from_json(str(item)) for item in raw]
        if len(turns) > before:
            break
        await asyncio.sleep(0.1)
    texts = [
        str(t.meta.get("asr_text", t.text))
        for t in turns
        if t.role == "candidate" and after < t.index < before
    ]
    return " ".join(texts)


async def phone_session(
    server: ServerProcess, answers: list[Answer], seed: int
) -> list[PhoneOutcome]:
    rng = random.Random(seed)
    session_id = f"pq-{uuid.uuid4().hex[:6]}"
    redis = aioredis.from_url(server.redis_url, decode_responses=True)
    await create_session(redis, session_id, plan(), mode="phone", consent=True)
    pin = await credentials.issue_pin(redis, pin_key(), session_id, 3600)
    call_sid = new_call_sid()
    voice = f"http://127.0.0.1:{server.port}/v1/phone/twilio/voice"
    with httpx.Client(timeout=30) as client:
        _, xml = post_webhook(client, voice, call_params(call_sid))
        action = Twiml(xml).gather_action
        assert action is not None
        _, xml = post_webhook(client, action, call_params(call_sid, Digits=pin))
    stream = Twiml(xml).stream
    assert stream is not None, xml
    call = await MediaStreamClient.connect(stream[0], stream[1]["stream_token"], call_sid)
    outcomes: list[PhoneOutcome] = []
    try:
        await call.wait_until(lambda: last_turn_mark(call) >= 0, timeout=60)
        for answer in answers:
            question = last_turn_mark(call)
            await call.silence(0.3 + 1.2 * rng.random())
            ulaw = to_telephone(answer.audio, 16000)
            started = time.monotonic()
            eos = await call.stream(ulaw)
            pressed = await call.dtmf("#")
            outcome = PhoneOutcome(answer)
            outcome.cut_off = any(started < h.at < eos for h in call.events("media"))
            await call.wait_until(
                lambda at=pressed: call.first_media_after(at) is not None,  # type: ignore[misc]
                timeout=REPLY_TIMEOUT_S,
            )
            first = call.first_media_after(pressed)
            if first is not None and not outcome.cut_off:
                outcome.hash_to_audio_ms = (first - pressed) * 1000
            await call.wait_until(
                lambda q=question: last_turn_mark(call) > q,  # type: ignore[misc]
                timeout=REPLY_TIMEOUT_S,
            )
            outcome.streamed = await candidate_text(
                redis, session_id, question, last_turn_mark(call)
            )
            outcomes.append(outcome)
    finally:
        with contextlib.suppress(Exception):
            await call.stop()
        await redis.aclose()
    return outcomes


def offline_8k(models: ModelRegistry, answer: Answer) -> str:
    line = from_telephone(to_telephone(answer.audio, 16000)).astype(np.float32) / 32768.0
    return models.asr().transcribe(soxr.resample(line, 8000, 16000).astype(np.float32)).text


def lost(diffs: list[WordDiff]) -> str:
    total = sum(diffs, WordDiff(0, 0, 0))
    return f"{100 * total.lost / max(1, total.total):.1f} % ({total.lost}/{total.total})"


def errors(diffs: list[WordDiff]) -> str:
    total = sum(diffs, WordDiff(0, 0, 0))
    return f"{100 * (total.lost + total.misheard) / max(1, total.total):.1f} %"


def ms(values: list[float]) -> str:
    if not values:
        return "–"
    return f"{percentile(values, 50):.0f} / {percentile(values, 95):.0f} ms (n={len(values)})"


def phone_section(models: ModelRegistry) -> Section:
    """The table; `tests/bench.py` can list it among its sections."""
    speakers = int(os.environ.get("PHONE_Q_SPEAKERS", str(len(SPEAKERS))))
    per_speaker = int(os.environ.get("PHONE_Q_PER_SPEAKER", "2"))
    seed = int(os.environ.get("BENCH_SEED", "7"))
    answers = [
        speaker_answer(models, speaker, 3 * k, 3, seed + k)
        for speaker in SPEAKERS[:speakers]
        for k in range(per_speaker)
    ]
    seconds = sum(a.seconds for a in answers)
    print(f"{len(answers)} answers, {seconds:.0f} s of speech", file=sys.stderr)
    line_texts = [offline_8k(models, a) for a in answers]
    saved = dict(os.environ)
    os.environ.update(twilio_env())  # the server subprocess takes its settings from here
    try:
        with tempfile.TemporaryDirectory() as tmp, server_process(Path(tmp)) as server:
            # One unmeasured answer: engines and caches warm up as on a serving box.
            asyncio.run(
                run_session(server, "pq-warm", answers[:1], "answer_done", interview=plan(), seed=1)
            )
            phone = asyncio.run(phone_session(server, answers, seed))
            browser = asyncio.run(
                run_session(
                    server,
                    f"pq-web-{uuid.uuid4().hex[:6]}",
                    answers,
                    "answer_done",
                    interview=plan(),
                    seed=seed,
                )
            )
    finally:
        os.environ.clear()
        os.environ.update(saved)
    section = Section(
        "Phone channel: 8 kHz μ-law real speech",
        ["path", "words lost", "words lost or misheard", "WER", "end -> first audio p50 / p95"],
    )
    phone_diffs = [word_diff(o.answer.offline, o.streamed) for o in phone]
    browser_diffs = [o.words() for o in browser.outcomes]
    line_diffs = [word_diff(a.offline, t) for a, t in zip(answers, line_texts, strict=True)]
    section.rows.append(
        [
            "phone stream (8 kHz μ-law, `#`)",
            lost(phone_diffs),
            errors(phone_diffs),
            f"{100 * np.mean([wer(o.answer.offline, o.streamed) for o in phone]):.1f} %",
            ms([o.hash_to_audio_ms for o in phone if o.hash_to_audio_ms is not None]),
        ]
    )
    section.rows.append(
        [
            "browser stream (16 kHz, `answer_done`)",
            lost(browser_diffs),
            errors(browser_diffs),
            f"{100 * np.mean([wer(o.answer.offline, o.streamed) for o in browser.outcomes]):.1f} %",
            ms([o.end_to_audio_ms for o in browser.outcomes if o.end_to_audio_ms is not None]),
        ]
    )
    section.rows.append(
        [
            "Whisper offline on the 8 kHz μ-law audio",
            lost(line_diffs),
            errors(line_diffs),
            f"{100 * np.mean([wer(a.offline, t) for a, t in zip(answers, line_texts, strict=True)]):.1f} %",
            "–",
        ]
    )
    section.notes.append(
        f"{len(answers)} answers ({seconds:.0f} s of speech; LibriSpeech test-other speakers "
        f"{', '.join(SPEAKERS[:speakers])}, 3 utterances each with 0.4-1.6 s pauses). Reference: "
        "Whisper tiny.en offline on the 16 kHz answer. Cut-offs on the phone: "
        f"{sum(o.cut_off for o in phone)}; browser errors: {browser.error or 'none'}."
    )
    for o, t in zip(phone, line_texts, strict=True):
        print(
            f"- {o.answer.name}: offline16 {o.answer.offline!r}\n  phone {o.streamed!r}\n  offline8 {t!r}",
            file=sys.stderr,
        )

    return section


def main() -> None:
    models = ModelRegistry()
    models.load_all()
    print(phone_section(models).markdown())


if __name__ == "__main__":
    main()
