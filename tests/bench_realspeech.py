"""Real speech over real sockets: turn-taking on long answers with thinking pauses, and the cost
of long answers. Two `make bench` sections (wired into `tests/bench.py`), plus the helpers
`tests/test_realspeech_turns.py` uses.

Answers are real read speech (LibriSpeech test-other, `../shared/data`): one speaker's
utterances in file order, each cut to its voiced part (Silero VAD) and joined with seeded random
pauses of 0.4-1.6 s (measured voice to voice: the recordings' own room tone as far as it goes,
digital silence for the rest); and the 30 s pyannote sample of a real conversation as it is.
Every answer ends where its speech ends. The reference is Whisper offline (no streaming, no
window) on each recording's voice in one pass, joined in order (the pyannote sample: the whole
file); "words lost" are the reference's words that the streamed final transcript(s) do not match
in a word alignment.

Sizes come from the environment: `BENCH_QUICK=1` for a smoke run of a few minutes, or

- `BENCH_RS_SESSIONS` (4), `BENCH_RS_ANSWERS` (answers per session and end mode, 3),
  `BENCH_RS_MODES` (`silence,answer_done`), `BENCH_RS_CLIENTS` (`full,half,stalled`: how the
  client sends its audio, see `PatternClient`): the turn-taking table;
- `BENCH_LONG_LENGTHS` (`20,60,120,180` s), `BENCH_LONG_LEVELS` (`1,4,8,12` sessions),
  `BENCH_LONG_HEAVY_MAX_S` (120: above 4 sessions, no longer answers),
  `BENCH_LONG_SOLO_REPEATS` (`20:2`: answers of that length run that many times alone);
- `BENCH_SEED` (7): the pauses, the session starts and the think times.

The long-answers table ends with two rows for issue 26: the same sessions (4 x 3 answers of
~20 s; 2 x 1 with `BENCH_QUICK=1`) held by one server process, then split over two server
processes on this machine sharing one Redis (`two_processes`).

`python -m tests.bench realspeech long_answers` runs just these two.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import re
import statistics
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path
from typing import Any

import jiwer
import numpy as np
import redis.asyncio as aioredis
import soundfile as sf
import soxr
import websockets

from audio.pcm import encode_s16le
from models.registry import ModelRegistry
from models.vad import FRAME_SAMPLES
from pipeline.engine import InterviewPlan, Question
from server.storage.store import EmbeddedValkey
from tests.bench import Section, ServerProcess, percentile, server_process
from tests.stream_client import Received, StreamClient, create_session, matches, speech_end

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data"
LIBRISPEECH = DATA / "librispeech-test-other"
PYANNOTE = DATA / "pyannote-sample.wav"
SPEAKERS = ("1688", "1998", "2033", "2414")
RATE = 16000
PAUSE_S = (0.4, 1.6)  # between two utterances of one answer, voice to voice
MODES = ("silence", "answer_done")
REPLY_TIMEOUT_S = 90.0  # end of an answer -> the interviewer's reply; an overloaded server is slow


# -- answers ------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Utterance:
    lead: np.ndarray  # the recording's own silence before the voice
    voice: np.ndarray  # first to last voiced frame (Silero), with 64 ms either side
    trail: np.ndarray  # its silence after

    @property
    def seconds(self) -> float:
        return len(self.voice) / RATE


@dataclass(frozen=True, eq=False)
class Answer:
    name: str
    audio: np.ndarray  # 16 kHz float32, ends where the speech ends
    offline: str  # Whisper on the whole answer in one pass: the reference

    @property
    def seconds(self) -> float:
        return len(self.audio) / RATE


def read_16k(path: Path) -> np.ndarray:
    audio, rate = sf.read(str(path), dtype="float32", always_2d=True)
    mono = audio.mean(axis=1)
    if rate != RATE:
        mono = soxr.resample(mono, rate, RATE)
    return np.ascontiguousarray(mono, dtype=np.float32)


_UTTERANCES: dict[Path, Utterance] = {}


def utterance(models: ModelRegistry, path: Path) -> Utterance:
    """A recording split into its voiced part and the silences around it."""
    if path not in _UTTERANCES:
        audio = read_16k(path)
        vad = models.vad().stream()
        voiced = [
            i
            for i, offset in enumerate(range(0, len(audio) - FRAME_SAMPLES + 1, FRAME_SAMPLES))
            if vad.probability(audio[offset : offset + FRAME_SAMPLES]) >= 0.5
        ]
        if not voiced:
            raise ValueError(f"{path}: no speech found")
        start = max(0, (voiced[0] - 2) * FRAME_SAMPLES)
        end = min(len(audio), (voiced[-1] + 3) * FRAME_SAMPLES)
        _UTTERANCES[path] = Utterance(audio[:start], audio[start:end], audio[end:])
    return _UTTERANCES[path]


def speaker_files(speaker: str) -> list[Path]:
    return sorted((LIBRISPEECH / speaker).glob("*.flac"))


def join(utterances: list[Utterance], pauses: Iterable[float]) -> np.ndarray:
    """The utterances in order, `pauses` (seconds, voice to voice) between them, a quarter second
    of room tone before the first word; cut where the speech ends."""
    first = utterances[0]
    parts = [first.lead[len(first.lead) - min(len(first.lead), RATE // 4) :], first.voice]
    for (before, after), pause in zip(pairwise(utterances), pauses, strict=False):
        gap = int(pause * RATE)
        tail = before.trail[: gap // 2]
        head_len = min(len(after.lead), gap - len(tail))
        head = after.lead[len(after.lead) - head_len :]
        silence = np.zeros(gap - len(tail) - len(head), np.float32)
        parts += [tail, silence, head, after.voice]
    audio = np.concatenate(parts).astype(np.float32)
    return audio[: int(speech_end(audio) * RATE)]


def offline_transcript(models: ModelRegistry, audio: np.ndarray) -> str:
    return models.asr().transcribe(audio).text


_OFFLINE: dict[Path, str] = {}


def offline_of(models: ModelRegistry, files: list[Path]) -> str:
    """The reference of an answer joined from recordings: each recording's voice transcribed
    offline in one pass, in order. (Not the joined answer in one pass: past 30 s Whisper
    decodes window after window and can skip one, and an answer longer than a speaker's ~70 s
    of recordings repeats them, so a skipped window made the streamed words look lost.)"""
    for path in files:
        if path not in _OFFLINE:
            _OFFLINE[path] = offline_transcript(models, utterance(models, path).voice)
    return " ".join(_OFFLINE[path] for path in files)


def answer_from(
    models: ModelRegistry, name: str, files: list[Path], seed: int, *, offline: bool = True
) -> Answer:
    rng = random.Random(seed)
    audio = join([utterance(models, f) for f in files], (rng.uniform(*PAUSE_S) for _ in files[1:]))
    return Answer(name, audio, offline_of(models, files) if offline else "")


def speaker_answer(
    models: ModelRegistry, speaker: str, first: int, count: int, seed: int
) -> Answer:
    """`count` of one speaker's utterances from the `first` (file order), with pauses."""
    files = speaker_files(speaker)[first : first + count]
    return answer_from(models, f"{speaker} #{first + 1}-{first + count}", files, seed)


def pyannote_answer(models: ModelRegistry) -> Answer:
    audio = read_16k(PYANNOTE)
    audio = audio[: int(speech_end(audio) * RATE)]
    return Answer("pyannote sample", audio, offline_transcript(models, audio))


def answer_of_length(models: ModelRegistry, seconds: float, variant: int, seed: int) -> Answer:
    """About `seconds` of one speaker's utterances (speaker `variant` mod 4) in file order from
    the start that comes closest, going round the speaker's files again when they run out."""
    speaker = SPEAKERS[variant % len(SPEAKERS)]
    files = speaker_files(speaker)
    voices = [utterance(models, f).seconds for f in files]
    rng = random.Random(seed * 1000 + variant)
    pauses = [rng.uniform(*PAUSE_S) for _ in range(int(seconds) + 10)]
    best: tuple[float, int, int] | None = None  # (distance, start, count)
    for start in range(len(files)):
        total, count = 0.25, 0
        while total < seconds and count < len(pauses):
            total += voices[(start + count) % len(files)] + (pauses[count - 1] if count else 0.0)
            count += 1
            fit = abs(total - seconds)
            if best is None or fit < best[0]:
                best = (fit, start, count)
    assert best is not None
    _, start, count = best
    chosen = [files[(start + i) % len(files)] for i in range(count)]
    audio = join([utterance(models, f) for f in chosen], pauses)
    name = f"{seconds:.0f} s #{variant} ({speaker})"
    return Answer(name, audio, offline_of(models, chosen))


# -- words lost ---------------------------------------------------------------------------------

_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")


def words(text: str) -> list[str]:
    return _WORD.findall(text.lower().replace("’", "'"))


@dataclass(frozen=True)
class WordDiff:
    """The streamed transcript against the offline one, word by word (minimum-edit alignment)."""

    lost: int  # offline words with no streamed word in their place: what streaming dropped
    misheard: int  # offline words with other streamed words in their place (model errors)
    total: int  # offline words
    added: int = 0  # streamed words with no offline word in their place (a doubled clause)

    def __add__(self, other: WordDiff) -> WordDiff:
        return WordDiff(
            self.lost + other.lost,
            self.misheard + other.misheard,
            self.total + other.total,
            self.added + other.added,
        )


def word_diff(reference: str, streamed: str) -> WordDiff:
    """By the minimum-edit word alignment (jiwer, as for WER): deletions are lost words,
    substitutions misheard ones, insertions added ones. (Not difflib's longest-block matching: answers longer than a
    speaker's recordings repeat them, and a block matched across two repeats counted a whole
    repeat as lost.)"""
    ref, hyp = words(reference), words(streamed)
    if not ref:
        return WordDiff(0, 0, 0)
    aligned = jiwer.process_words(" ".join(ref), " ".join(hyp))
    return WordDiff(aligned.deletions, aligned.substitutions, len(ref), aligned.insertions)


# -- one answer over the socket -----------------------------------------------------------------


@dataclass
class Outcome:
    answer: Answer
    mode: str
    sessions: int = 1
    question_turn: int = 0  # the interviewer turn the answer answers
    cut_offs: list[dict[str, Any]] = field(default_factory=list)  # before the audio was all sent
    finals: dict[int, str] = field(default_factory=dict)  # candidate turn -> its latest final
    reply_turn: int | None = None  # the interviewer turn that replied to the whole answer
    reply_at: float = 0.0  # when its `agent_audio` start arrived (monotonic)
    end_to_audio_ms: float | None = None  # at the client; None for a reply that cut in
    client: str = "full"  # how the client sent its audio (`PatternClient`)
    # At the client, from the last voiced frame (as captured) to the reply's first audio: the
    # true figure the server's `eos_to_first_audio_ms` estimates.
    eos_to_audio_ms: float | None = None
    metrics: dict[str, Any] = field(default_factory=dict)  # the server's, for the reply turn
    cpu_s: float | None = None  # server process CPU, answer start -> reply audio (one session)
    unknown_answer_done: bool = False  # the server does not know `answer_done` (before v1.1)

    @property
    def cut_off(self) -> bool:
        return bool(self.cut_offs)

    @property
    def split(self) -> bool:
        return len(self.finals) > 1

    @property
    def streamed(self) -> str:
        return " ".join(self.finals[turn] for turn in sorted(self.finals))

    def words(self) -> WordDiff:
        return word_diff(self.answer.offline, self.streamed)

    @property
    def eos_error_ms(self) -> float | None:
        """The server's `eos_to_first_audio_ms` minus the client's own figure."""
        server = self.metrics.get("eos_to_first_audio_ms")
        if self.eos_to_audio_ms is None or not isinstance(server, int | float):
            return None
        return float(server) - self.eos_to_audio_ms


# -- clients as they really send ------------------------------------------------------------------

CLIENTS = ("full", "half", "stalled")
STALL_S = 3.0  # the stalled client: once per answer, this much audio held back, then a burst
PLAYBACK_TAIL_S = 0.3  # a client plays what it received up to this long after `agent_audio` end


@dataclass
class PatternClient(StreamClient):
    """A client sending its microphone's audio as real clients do (`pattern`):

    - `full`: every frame in real time, the microphone open throughout;
    - `half`: half duplex, as partner apps and phone bridges that mute the microphone against
      echo: frames captured while the interviewer's audio plays are never sent;
    - `stalled`: full duplex, but once per answer (`arm_stall`) the network holds `STALL_S` of
      frames back and then delivers them at once, as a mobile or Wi-Fi stall does.
    """

    pattern: str = "full"
    _stall: tuple[float, float] | None = None  # monotonic start, end
    _next_due: float = 0.0  # when the microphone captures its next frame (monotonic)

    def arm_stall(self, at: float) -> None:
        self._stall = (at, at + STALL_S)

    def interviewer_audible(self) -> bool:
        for r in reversed(self.received):
            m = r.message
            if m is None:
                continue
            if m["type"] == "interrupt":
                return False
            if m["type"] == "agent_audio":
                return m["event"] == "start" or time.monotonic() < r.at + PLAYBACK_TAIL_S
        return False

    async def stream(self, audio: np.ndarray, rate: int = 16000, frame_ms: int = 20) -> float:
        """As `StreamClient.stream`, in the client's pattern, on one capture clock across calls:
        a microphone captures without a break, so back-to-back calls (silence in 0.1 s blocks
        while waiting) send exactly real time, not a block per call plus the call's own time
        (`StreamClient.stream` starts each call's clock anew and sends its first frame at once:
        0.1 s of audio every 0.08 s, which runs the audio ahead of the wall clock). Returns the
        monotonic time the last frame was captured."""
        step = int(rate * frame_ms / 1000)
        now = time.monotonic()
        # Continue the capture clock (frames captured while the caller was busy go at once, as
        # from a microphone's buffer) unless the microphone was off (the first call).
        start = self._next_due if now - 0.5 <= self._next_due <= now + 0.1 else now
        captured = start
        held: list[bytes] = []
        for index, offset in enumerate(range(0, len(audio), step)):
            captured = start + (index + 1) * frame_ms / 1000  # the frame's last sample
            delay = captured - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            if self.close_code is not None:
                break
            frame = encode_s16le(audio[offset : offset + step])
            if self.pattern == "half" and self.interviewer_audible():
                continue  # muted: never sent
            stall = self._stall
            if stall is not None and stall[0] <= captured < stall[1]:
                held.append(frame)
                continue
            await self._send_frames([*held, frame])
            held = []
        self._next_due = captured
        if held:
            assert self._stall is not None
            await asyncio.sleep(max(0.0, self._stall[1] - time.monotonic()))
            await self._send_frames(held)
        return captured

    async def _send_frames(self, frames: list[bytes]) -> None:
        with contextlib.suppress(websockets.ConnectionClosed):
            for frame in frames:
                await self.ws.send(frame)


def is_agent_start(m: dict[str, Any], after_turn: int) -> bool:
    return m["type"] == "agent_audio" and m.get("event") == "start" and m["turn"] > after_turn


def is_final(m: dict[str, Any]) -> bool:
    return m["type"] == "transcript" and bool(m.get("final")) and m.get("role") == "candidate"


def reply_of(received: list[Received], question_turn: int) -> Received | None:
    """The interviewer turn now answering the answer: the latest `agent_audio` start of a new
    turn that no `interrupt` of that turn followed (a barge-in, or a repair dropping it)."""
    reply: Received | None = None
    for r in received:
        m = r.message
        if m is None:
            continue
        if is_agent_start(m, question_turn):
            reply = r
        elif (
            m["type"] == "interrupt"
            and reply is not None
            and reply.message is not None
            and m.get("turn") == reply.message["turn"]
        ):
            reply = None
    return reply


async def stream_until(client: StreamClient, done: Callable[[], bool], timeout: float) -> bool:
    """Real-time silence (an open microphone) until `done()` or the timeout; False on timeout.
    Raises if the server closed the socket or finished the interview."""
    deadline = time.monotonic() + timeout
    while not done():
        if client.close_code is not None:
            raise SessionOver(f"closed {client.close_code}: {client.messages('error')[-1:]}")
        if client.messages("finished"):
            raise SessionOver("the interview finished")
        if time.monotonic() > deadline:
            return False
        await client.silence(0.1)
    return True


class SessionOver(Exception):
    """The server closed the socket or ended the interview."""


async def answer_once(
    client: StreamClient,
    answer: Answer,
    mode: str,
    *,
    question_turn: int,
    reply_timeout_s: float = REPLY_TIMEOUT_S,
    cpu: Callable[[], float] | None = None,
    stall_after_s: float | None = None,
) -> Outcome:
    """Speak `answer` in real time after the interviewer's turn `question_turn`, end it as `mode`
    says, keep the microphone open (silence) until the interviewer replies, and measure:

    - cut-offs: a new interviewer turn's `agent_audio` start, or a candidate final `transcript`,
      arriving before the last audio frame was sent;
    - the final transcript of each candidate turn (a later final of the same turn replaces the
      earlier one: v1.1 repair);
    - end -> first interviewer audio at the client: from the last (voiced) frame sent in `silence`
      mode, from the `answer_done` frame in `answer_done` mode, to the reply's first audio frame;
    - the server's `metrics` for the reply turn, when it sends them.

    A `PatternClient` sends the answer in its pattern; a stalled one stalls `stall_after_s`
    into the answer.
    """
    first = len(client.received)
    outcome = Outcome(answer, mode, question_turn=question_turn)
    if isinstance(client, PatternClient):
        outcome.client = client.pattern
        if client.pattern == "stalled" and stall_after_s is not None:
            client.arm_stall(time.monotonic() + stall_after_s)
    cpu_before = cpu() if cpu is not None else None
    eos = await client.stream(answer.audio)
    end = eos
    if mode == "answer_done":
        await client.send({"type": "answer_done"})
        end = time.monotonic()
    elif mode != "silence":
        raise ValueError(f"unknown end mode {mode!r}")

    def since_start() -> list[Received]:
        return client.received[first:]

    def settled() -> bool:
        """The reply is there: it started after the answer and its first audio arrived; or it
        cut in during the answer and the interviewer finished it unchallenged."""
        reply = reply_of(since_start(), question_turn)
        if reply is None or reply.message is None:
            return False
        if reply.at >= eos:
            return client.first_audio_after(reply.at) is not None
        turn = reply.message["turn"]
        return any(
            r.at > reply.at and r.message == {"type": "agent_audio", "event": "end", "turn": turn}
            for r in since_start()
        )

    replied = await stream_until(client, settled, reply_timeout_s)
    reply = reply_of(since_start(), question_turn) if replied else None
    if reply is not None and reply.message is not None:
        outcome.reply_turn = reply.message["turn"]
        if reply.at >= eos:
            first_audio = client.first_audio_after(reply.at)
            if first_audio is not None:
                outcome.end_to_audio_ms = (first_audio - end) * 1000
                outcome.eos_to_audio_ms = (first_audio - eos) * 1000
                if cpu is not None and cpu_before is not None:
                    outcome.cpu_s = cpu() - cpu_before
        outcome.reply_at = reply.at
        # A dropped (repaired) reply may have had the same turn index: only what came after.
        of_reply = matches(type="metrics", turn=outcome.reply_turn)
        await stream_until(client, lambda: find_after(client, of_reply, reply.at) is not None, 10)
        found = find_after(client, of_reply, reply.at)
        if found is not None:
            outcome.metrics = found
    for r in since_start():
        m = r.message
        if m is None:
            continue
        if r.at < eos and (is_agent_start(m, question_turn) or is_final(m)):
            outcome.cut_offs.append(m)
        if is_final(m):
            outcome.finals[m["turn"]] = m["text"]
        if m["type"] == "error" and m.get("code") == "unknown_type":
            outcome.unknown_answer_done = True
    return outcome


def find_after(
    client: StreamClient, predicate: Callable[[dict[str, Any]], bool], moment: float
) -> dict[str, Any] | None:
    return next(
        (
            r.message
            for r in client.received
            if r.at >= moment and r.message and predicate(r.message)
        ),
        None,
    )


async def wait_turn_over(
    client: StreamClient, turn: int, since: float = 0.0, timeout: float = 120
) -> None:
    """Microphone open until the interviewer's turn `turn` (started at `since`) has been spoken
    (or interrupted)."""

    def over() -> bool:
        return (
            find_after(client, matches(type="agent_audio", event="end", turn=turn), since)
            is not None
            or find_after(client, matches(type="interrupt", turn=turn), since) is not None
        )

    if not await stream_until(client, over, timeout):
        raise SessionOver(f"interviewer turn {turn} did not end in {timeout:.0f} s")


# -- sessions -----------------------------------------------------------------------------------

QUESTIONS = (
    "Tell me about a project you are proud of.",
    "What was the hardest decision in it?",
    "How did you work with other teams?",
    "What would you do differently now?",
    "What are you learning at the moment?",
    "Describe a time you changed your mind.",
    "How do you explain a hard idea to a newcomer?",
    "What did a failure teach you?",
)


def plan(time_limit_s: int = 120, questions: int = 200) -> InterviewPlan:
    """More questions than any run can reach (a split answer costs one per piece), so the
    interview never finishes during a bench."""
    return InterviewPlan(
        questions=tuple(
            Question(f"q{i}", QUESTIONS[i % len(QUESTIONS)], time_limit_s=time_limit_s)
            for i in range(questions)
        )
    )


@dataclass
class SessionRun:
    outcomes: list[Outcome] = field(default_factory=list)
    error: str | None = None


async def run_session(
    server: ServerProcess,
    session_id: str,
    answers: Iterable[Answer],
    mode: str,
    *,
    interview: InterviewPlan,
    seed: int,
    start_delay_s: float = 0.0,
    deadline: float | None = None,
    sessions: int = 1,
    measure_cpu: bool = False,
    client_pattern: str = "full",
) -> SessionRun:
    """One candidate: connect after `start_delay_s`, hear the opening, then answer each of
    `answers` after a short think; no answer starts that would end after `deadline` (the first
    always does)."""
    rng = random.Random(seed)
    run = SessionRun()
    await asyncio.sleep(start_delay_s)
    redis = aioredis.from_url(server.redis_url, decode_responses=True)
    try:
        token = await create_session(redis, session_id, interview)
    finally:
        await redis.aclose()
    url = f"ws://127.0.0.1:{server.port}/v1/sessions/{session_id}/stream"
    client: StreamClient | None = None
    try:
        connected = await PatternClient.connect(url, token)
        assert isinstance(connected, PatternClient)
        connected.pattern = client_pattern
        client = connected
        question = 0
        await wait_turn_over(client, question)
        for answer in answers:
            think = 0.3 + 1.2 * rng.random()
            if (
                deadline is not None
                and run.outcomes
                and time.monotonic() + think + answer.seconds > deadline
            ):
                break
            await client.silence(think)
            # The stall starts in the answer's body, and ends well before its last word.
            stall_after_s = rng.uniform(2.0, max(2.0, answer.seconds - STALL_S - 3.0))
            outcome = await answer_once(
                client,
                answer,
                mode,
                question_turn=question,
                cpu=server.cpu_s if measure_cpu else None,
                stall_after_s=stall_after_s,
            )
            outcome.sessions = sessions
            run.outcomes.append(outcome)
            if outcome.reply_turn is None:
                run.error = f"no reply to {answer.name} within {REPLY_TIMEOUT_S:.0f} s"
                break
            question = outcome.reply_turn
            await wait_turn_over(client, question, since=outcome.reply_at)
    except (SessionOver, websockets.WebSocketException, OSError, TimeoutError) as exc:
        run.error = f"{type(exc).__name__}: {exc}"[:300]
    finally:
        if client is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(client.close(), 10)
    return run


async def run_concurrent(
    server: ServerProcess,
    jobs: list[Iterable[Answer]],
    mode: str,
    *,
    interview: InterviewPlan,
    seed: int,
    stagger_s: float,
    deadline_after_s: float | None = None,
    client_pattern: str = "full",
) -> list[SessionRun]:
    """One session per job, started at random moments within `stagger_s`."""
    rng = random.Random(seed)
    tag = uuid.uuid4().hex[:6]
    deadline = time.monotonic() + deadline_after_s if deadline_after_s is not None else None
    return list(
        await asyncio.gather(
            *(
                run_session(
                    server,
                    f"rs-{tag}-{client_pattern}-{mode}-{i}",
                    answers,
                    mode,
                    interview=interview,
                    seed=seed * 100 + i,
                    start_delay_s=rng.uniform(0, stagger_s),
                    deadline=deadline,
                    sessions=len(jobs),
                    client_pattern=client_pattern,
                )
                for i, answers in enumerate(jobs)
            )
        )
    )


@contextlib.contextmanager
def bench_server(max_streams: int) -> Iterator[ServerProcess]:
    """A server subprocess admitting at least `max_streams` concurrent streams (its capacity,
    `VIVA_MAX_STREAMS`, is raised for the bench unless set in the environment)."""
    saved = os.environ.get("VIVA_MAX_STREAMS")
    if saved is None:
        os.environ["VIVA_MAX_STREAMS"] = str(max_streams)
    try:
        with tempfile.TemporaryDirectory() as tmp, server_process(Path(tmp)) as server:
            yield server
    finally:
        if saved is None:
            os.environ.pop("VIVA_MAX_STREAMS", None)


def warm_up(server: ServerProcess, answer: Answer) -> None:
    """One unmeasured answer: engines and caches warm up as on a serving box."""
    asyncio.run(
        run_session(
            server,
            f"rs-warm-{uuid.uuid4().hex[:6]}",
            [answer],
            "answer_done",
            interview=plan(),
            seed=1,
        )
    )


def peak_rss_mb(server: ServerProcess) -> float:
    for line in Path(f"/proc/{server.process.pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


# -- summaries ----------------------------------------------------------------------------------


def ms(values: list[float], q: float) -> str:
    return f"{percentile(values, q):.0f} ms" if values else "–"


def ms_pair(values: list[float]) -> str:
    return f"{ms(values, 50)} / {ms(values, 95)}" if values else "–"


def server_values(outcomes: list[Outcome], key: str) -> list[float]:
    return [float(o.metrics[key]) for o in outcomes if isinstance(o.metrics.get(key), int | float)]


def lost_summary(outcomes: list[Outcome]) -> str:
    diffs = [o.words() for o in outcomes]
    total = sum(diffs, WordDiff(0, 0, 0))
    if not total.total:
        return "–"
    worst = max(d.lost / d.total for d in diffs if d.total)
    return f"{100 * total.lost / total.total:.1f} % ({total.lost}/{total.total}; worst {100 * worst:.0f} %)"


def added_summary(outcomes: list[Outcome]) -> str:
    total = sum((o.words() for o in outcomes), WordDiff(0, 0, 0))
    return f"{100 * total.added / total.total:.1f} % ({total.added})" if total.total else "–"


def eos_error_summary(outcomes: list[Outcome]) -> str:
    """The server's `eos_to_first_audio_ms` against the client's: median and worst difference."""
    errors = [e for o in outcomes if (e := o.eos_error_ms) is not None]
    if not errors:
        return "–"
    worst = max(errors, key=abs)
    return f"{statistics.median(errors):+.0f} ms (worst {worst:+.0f} ms)"


def misheard_summary(outcomes: list[Outcome]) -> str:
    total = sum((o.words() for o in outcomes), WordDiff(0, 0, 0))
    return f"{100 * total.misheard / total.total:.1f} %" if total.total else "–"


def ends(outcomes: list[Outcome]) -> str:
    counts = Counter(str(o.metrics["end"]) for o in outcomes if "end" in o.metrics)
    return ", ".join(f"{k} {v}" for k, v in sorted(counts.items())) or "–"


def answered(outcomes: list[Outcome]) -> str:
    """How many answers, and how many of them got no reply in time (no figure for those)."""
    missing = sum(o.reply_turn is None for o in outcomes)
    return f"{len(outcomes)}" + (
        f" ({missing} no reply in {REPLY_TIMEOUT_S:.0f} s)" if missing else ""
    )


def long_answer_columns(outcomes: list[Outcome], after_count: str = "") -> list[str]:
    """The long-answers table's columns from "answers" to "words misheard", shared by its rows
    and the two-process rows (`after_count` follows the number of answers)."""
    timed = [o.end_to_audio_ms for o in outcomes if o.end_to_audio_ms is not None]
    return [
        answered(outcomes) + after_count,
        ms(timed, 50),
        ms(timed, 95),
        ms_pair(server_values(outcomes, "asr_final_ms")),
        ms_pair(server_values(outcomes, "end_to_first_audio_ms")),
        f"{sum(o.cut_off for o in outcomes)} / {sum(o.split for o in outcomes)}",
        lost_summary(outcomes),
        misheard_summary(outcomes),
    ]


def failures(runs: list[SessionRun]) -> list[str]:
    return [run.error for run in runs if run.error]


@dataclass(frozen=True)
class Sizes:
    quick: bool
    seed: int
    rs_sessions: int
    rs_answers: int
    rs_modes: tuple[str, ...]
    rs_clients: tuple[str, ...]
    lengths: tuple[int, ...]
    levels: tuple[int, ...]
    heavy_max_s: int
    solo_repeats: dict[int, int]

    @classmethod
    def from_env(cls) -> Sizes:
        env = os.environ.get
        quick = env("BENCH_QUICK", "") not in ("", "0")

        def ints(name: str, default: str) -> tuple[int, ...]:
            return tuple(int(x) for x in env(name, default).split(",") if x.strip())

        repeats = env("BENCH_LONG_SOLO_REPEATS", "" if quick else "20:2")
        return cls(
            quick=quick,
            seed=int(env("BENCH_SEED", "7")),
            rs_sessions=int(env("BENCH_RS_SESSIONS", "2" if quick else "4")),
            rs_answers=int(env("BENCH_RS_ANSWERS", "1" if quick else "3")),
            rs_modes=tuple(m.strip() for m in env("BENCH_RS_MODES", ",".join(MODES)).split(",")),
            rs_clients=tuple(
                c.strip() for c in env("BENCH_RS_CLIENTS", ",".join(CLIENTS)).split(",")
            ),
            lengths=ints("BENCH_LONG_LENGTHS", "20" if quick else "20,60,120,180"),
            levels=ints("BENCH_LONG_LEVELS", "1,2" if quick else "1,4,8,12"),
            heavy_max_s=int(env("BENCH_LONG_HEAVY_MAX_S", "120")),
            solo_repeats={
                int(k): int(v) for k, v in (p.split(":") for p in repeats.split(",") if p)
            },
        )


def data_missing(section: Section) -> bool:
    if LIBRISPEECH.is_dir() and PYANNOTE.is_file():
        return False
    section.notes.append(f"Skipped: the recordings are not in {DATA}.")
    return True


# -- section 1: turn-taking ---------------------------------------------------------------------


def turn_taking_answers(models: ModelRegistry, sizes: Sizes) -> list[Answer]:
    if sizes.quick:
        return [
            speaker_answer(models, "1998", 6, 4, sizes.seed),
            speaker_answer(models, "1688", 2, 4, sizes.seed + 1),
        ]
    answers = [
        speaker_answer(models, speaker, first, 5, sizes.seed + 10 * i + first)
        for i, speaker in enumerate(SPEAKERS)
        for first in (0, 5)
    ]
    return [*answers, pyannote_answer(models)]


def turn_taking_section(models: ModelRegistry) -> Section:
    started = time.monotonic()
    sizes = Sizes.from_env()
    section = Section(
        "Real speech: turn-taking on long answers with thinking pauses",
        [
            "client",
            "end mode",
            "answers",
            "cut-offs",
            "split answers",
            "words lost",
            "words added",
            "words misheard",
            "end -> first audio p50",
            "p95",
            "server end",
            "server end -> first audio p50 / p95",
            "server eos_to_first_audio_ms - client's",
            "server ASR final p50 / p95",
        ],
    )
    if data_missing(section):
        return section
    answers = turn_taking_answers(models, sizes)
    warm = answer_from(models, "warm-up", speaker_files("2414")[:1], 0, offline=False)
    n, per = sizes.rs_sessions, sizes.rs_answers
    jobs = [[answers[(i * per + j) % len(answers)] for j in range(per)] for i in range(n)]
    problems: list[str] = []
    unknown = 0
    with bench_server(n + 2) as server:
        warm_up(server, warm)
        for client in sizes.rs_clients:
            for mode in sizes.rs_modes:
                runs = asyncio.run(
                    run_concurrent(
                        server,
                        list(jobs),
                        mode,
                        interview=plan(),
                        seed=sizes.seed,
                        stagger_s=8,
                        client_pattern=client,
                    )
                )
                outcomes = [o for run in runs for o in run.outcomes]
                problems += [f"{client} {mode}: {e}" for e in failures(runs)]
                unknown += sum(o.unknown_answer_done for o in outcomes)
                section.rows.append(turn_taking_row(client, mode, outcomes))
                print(section.rows[-1], flush=True)
        rss = server.rss_mb()
    lengths = [a.seconds for a in answers]
    section.notes += [
        f"{len(answers)} answers of real speech ({min(lengths):.0f}-{max(lengths):.0f} s, "
        f"median {statistics.median(lengths):.0f} s): "
        + ", ".join(f"{a.name} ({a.seconds:.0f} s)" for a in answers)
        + f". LibriSpeech answers are one speaker's utterances in file order, cut to their voice "
        f"and joined with random pauses of {PAUSE_S[0]}-{PAUSE_S[1]} s (seed {sizes.seed}); the "
        "recordings' own pauses inside utterances stay (up to 1.7 s).",
        f"Per client and end mode: {n} concurrent sessions started at random moments within 8 s, "
        f"{per} answer{'s' if per > 1 else ''} each (a 0.3-1.5 s think after each question), streamed in real time "
        "(20 ms frames) over a real WebSocket to a server subprocess; after the last frame the "
        'microphone stays open (silence). `answer_done` mode sends `{"type":"answer_done"}` '
        "right after the last frame. Questions have a 120 s limit.",
        "Clients (protocol v1.2): `full` sends every frame in real time; `half` is half duplex "
        "(sends nothing while the interviewer's audio plays, until 0.3 s after its "
        "`agent_audio` end, as apps muting the microphone against echo do); `stalled` is full "
        f"duplex, but once per answer (at a seeded random moment from 2 s in, ending 3 s or more "
        f"before the last word) the network holds {STALL_S:.0f} s of frames back and then "
        "delivers them at once.",
        "Cut-off: a new interviewer turn (`agent_audio` start) or a candidate final transcript "
        "arrived before the answer's last frame was sent. Split: finals for more than one "
        "candidate turn during one answer (a later final of the same turn replaces the earlier: "
        "repair). Words lost: words of the offline transcript (Whisper on each recording the answer "
        "joins, in one pass) with nothing in their place in the streamed finals, in a minimum-"
        "edit word alignment (jiwer, lowercase words): the total over all answers, and the worst "
        "answer. "
        "Words misheard: offline words with other words in their place (the same model decoding "
        "other audio windows; not lost).",
        "Words added: streamed words with no offline word in their place (insertions: a doubled "
        "clause, a hallucination). "
        "End -> first audio at the client: from the last voiced frame sent (`silence`) or the "
        "`answer_done` frame (`answer_done`) to the reply's first audio frame; answers whose "
        "reply cut in before the end have no figure. `eos_to_first_audio_ms` - client's: the "
        "server's figure minus the same span measured at the client (last voiced frame sent -> "
        "first reply audio received), median and worst. Server columns come from its `metrics` "
        f"messages when it sends those fields (`end`: what ended the turn). Server RSS after: "
        f"{rss:.0f} MB.",
    ]
    if unknown:
        section.notes.append(
            f"The server answered `answer_done` with `unknown_type` {unknown} times (a server "
            "before v1.1): those answers ended on silence."
        )
    if problems:
        section.notes.append("Sessions cut short: " + "; ".join(problems))
    section.notes.append(f"Section wall time: {(time.monotonic() - started) / 60:.1f} min.")
    return section


def turn_taking_row(client: str, mode: str, outcomes: list[Outcome]) -> list[str]:
    timed = [o.end_to_audio_ms for o in outcomes if o.end_to_audio_ms is not None]
    return [
        client,
        mode,
        answered(outcomes),
        str(sum(o.cut_off for o in outcomes)),
        str(sum(o.split for o in outcomes)),
        lost_summary(outcomes),
        added_summary(outcomes),
        misheard_summary(outcomes),
        ms(timed, 50),
        ms(timed, 95),
        ends(outcomes),
        ms_pair(server_values(outcomes, "end_to_first_audio_ms")),
        eos_error_summary(outcomes),
        ms_pair(server_values(outcomes, "asr_final_ms")),
    ]


# -- section 2: long answers at flat cost -------------------------------------------------------


def long_answers_section(models: ModelRegistry) -> Section:
    started = time.monotonic()
    sizes = Sizes.from_env()
    section = Section(
        "Real speech: long answers (answer_done) at flat cost",
        [
            "answer",
            "sessions",
            "answers",
            "end -> first audio p50",
            "p95",
            "server ASR final p50 / p95",
            "server end -> first audio p50 / p95",
            "cut-offs / splits",
            "words lost",
            "words misheard",
            "server CPU s / min of speech",
            "server RSS (peak)",
        ],
    )
    if data_missing(section):
        return section
    variants = 2 if sizes.quick else len(SPEAKERS)
    answers = {
        length: [answer_of_length(models, length, v, sizes.seed) for v in range(variants)]
        for length in sizes.lengths
    }
    length_of = {id(a): n for n, variants_ in answers.items() for a in variants_}
    warm = answer_from(models, "warm-up", speaker_files("2414")[:1], 0, offline=False)
    interview = plan(time_limit_s=max(120, max(sizes.lengths) + 60))
    cells: dict[tuple[int, int], list[Outcome]] = {}
    rss: dict[int, tuple[float, float]] = {}
    problems: list[str] = []
    ran: list[str] = []
    with bench_server(max(sizes.levels) + 2) as server:
        idle_rss = server.rss_mb()
        warm_up(server, warm)
        for level in sizes.levels:
            if level == 1:
                # Alone: each length in turn, server CPU measured around each answer.
                for length in sizes.lengths:
                    repeats = sizes.solo_repeats.get(length, 1)
                    run = asyncio.run(
                        run_session(
                            server,
                            f"rs-solo-{length}-{uuid.uuid4().hex[:6]}",
                            [answers[length][r % variants] for r in range(repeats)],
                            "answer_done",
                            interview=interview,
                            seed=sizes.seed + length,
                            measure_cpu=True,
                        )
                    )
                    cells[(length, 1)] = run.outcomes
                    problems += [f"1 session, {length} s: {run.error}"] if run.error else []
                ran.append(
                    "1 session: "
                    + ", ".join(f"{sizes.solo_repeats.get(n, 1)} x {n} s" for n in sizes.lengths)
                )
            else:
                lengths = [n for n in sizes.lengths if level <= 4 or n <= sizes.heavy_max_s]
                lengths = lengths or [min(sizes.lengths)]
                window = max(lengths) + 20

                def job(i: int, lengths: list[int] = lengths) -> Iterator[Answer]:
                    length = lengths[i % len(lengths)]
                    k = i // len(lengths)
                    while True:
                        yield answers[length][k % variants]
                        k += 1

                runs = asyncio.run(
                    run_concurrent(
                        server,
                        [job(i) for i in range(level)],
                        "answer_done",
                        interview=interview,
                        seed=sizes.seed + level,
                        stagger_s=10,
                        deadline_after_s=window,
                    )
                )
                for run in runs:
                    for o in run.outcomes:
                        cells.setdefault((length_of[id(o.answer)], level), []).append(o)
                problems += [f"{level} sessions: {e}" for e in failures(runs)]
                ran.append(
                    f"{level} sessions for {window} s, each answering one length over and over "
                    f"({', '.join(f'{n} s' for n in lengths)} in turn across sessions)"
                )
            rss[level] = (server.rss_mb(), peak_rss_mb(server))
            print(f"{level} sessions done", flush=True)
    for length in sizes.lengths:
        for level in sizes.levels:
            outcomes = cells.get((length, level), [])
            if not outcomes:
                continue
            cpu = [o.cpu_s / (o.answer.seconds / 60) for o in outcomes if o.cpu_s is not None]
            seconds = statistics.mean(o.answer.seconds for o in outcomes)
            section.rows.append(
                [
                    f"{length} s (mean {seconds:.0f} s)",
                    str(level),
                    *long_answer_columns(outcomes),
                    f"{statistics.median(cpu):.1f}" if cpu else "–",
                    f"{rss[level][0]:.0f} MB ({rss[level][1]:.0f} MB)",
                ]
            )
    p95_by_level: dict[int, float] = {}
    no_reply: dict[int, int] = {}
    for level in sizes.levels:
        at_level = [o for (_, lv), outcomes in cells.items() if lv == level for o in outcomes]
        p95_by_level[level] = percentile(
            [o.end_to_audio_ms for o in at_level if o.end_to_audio_ms is not None], 95
        )
        no_reply[level] = sum(o.reply_turn is None for o in at_level)
    best = 0
    for lv in sorted(p95_by_level):
        # Over 1 s, nothing measured (nan), or an answer left without a reply: not kept.
        if not p95_by_level[lv] <= 1000 or no_reply[lv]:
            break
        best = lv
    verdict = (
        f"{best}" + (" (the most run)" if best == max(sizes.levels) else "")
        if best
        else "none of the levels run"
    )
    section.notes += [
        "Largest number of concurrent sessions keeping end -> first audio p95 <= 1 s (all "
        f"lengths together, every smaller level too): **{verdict}**. p95 per level: "
        + ", ".join(f"{lv}: {p:.0f} ms" for lv, p in p95_by_level.items())
        + ".",
        "What ran (one server subprocess, one warm-up answer first): " + "; ".join(ran) + ". "
        "Sessions start at random moments within 10 s; a 0.3-1.5 s think after each question; "
        "no answer starts that would end after the window. Every answer ends with "
        "`answer_done` right after its last frame, the microphone open (silence) after it.",
        "Answers: "
        + "; ".join(
            f"{n} s: " + ", ".join(f"{a.seconds:.0f} s ({a.name.split('(')[1]}" for a in v)
            for n, v in answers.items()
        )
        + f". One speaker's utterances in file order from the start that best fits the length, "
        f"going round that speaker's files again when longer, with {PAUSE_S[0]}-{PAUSE_S[1]} s "
        "pauses; questions have a time limit of "
        f"{interview.questions[0].time_limit_s} s so that none ends an answer.",
        "Server CPU s / min of speech: the server process's CPU time (user + system, all threads) "
        "from the answer's first frame to the reply's first audio, alone on the server, per minute "
        "of answer audio (median of the runs): Whisper partials and final, but also the VAD, the "
        "interviewer engine, the first TTS sentence, the speaker observers and the rest of the "
        "process. Server RSS after each level (peak since start in brackets); idle with models "
        f"loaded: {idle_rss:.0f} MB.",
        "Columns otherwise as in the turn-taking table (end -> first audio from the "
        "`answer_done` frame, at the client).",
    ]
    pool = answers.get(20) or [answer_of_length(models, 20, v, sizes.seed) for v in range(variants)]
    rows, notes, cut = two_processes(sizes, pool, interview, warm)
    section.rows += rows
    section.notes += notes
    problems += cut
    if problems:
        section.notes.append("Sessions cut short: " + "; ".join(problems))
    section.notes.append(f"Section wall time: {(time.monotonic() - started) / 60:.1f} min.")
    return section


# -- the same sessions held by one server process and by two on one Redis (issue 26) -----------


@contextlib.contextmanager
def processes_on_one_redis(count: int, max_streams: int) -> Iterator[list[ServerProcess]]:
    """`count` server subprocesses on this machine sharing ONE Redis: an embedded Valkey started
    here in a temporary data dir; each `server_process` on that dir finds it running and takes
    its URL as `REDIS_URL` (and leaves it running when it stops), so every process sees every
    session."""
    saved = os.environ.get("VIVA_MAX_STREAMS")
    if saved is None:
        os.environ["VIVA_MAX_STREAMS"] = str(max_streams)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            valkey = EmbeddedValkey(Path(tmp))
            valkey.start()
            try:
                with contextlib.ExitStack() as stack:
                    servers = [stack.enter_context(server_process(Path(tmp))) for _ in range(count)]
                    assert len({s.redis_url for s in servers}) == 1, "not one Redis"
                    yield servers
            finally:
                valkey.stop()
    finally:
        if saved is None:
            os.environ.pop("VIVA_MAX_STREAMS", None)


def two_processes(
    sizes: Sizes, pool: list[Answer], interview: InterviewPlan, warm: Answer
) -> tuple[list[list[str]], list[str], list[str]]:
    """The same sessions (the same answers and think times) served by one process, then split
    over two processes on this machine sharing one Redis. Rows for the long-answers table, its
    notes, and the sessions cut short."""
    n_sessions = 2 if sizes.quick else 4
    n_answers = 1 if sizes.quick else 3
    jobs: list[Iterable[Answer]] = [
        [pool[(i + k) % len(pool)] for k in range(n_answers)] for i in range(n_sessions)
    ]
    seed = sizes.seed + 26
    answers_word = "answers" if n_answers > 1 else "answer"
    problems: list[str] = []
    # procs -> (outcomes, session errors, CPU s of all processes, RSS MB of all, sessions each)
    results: dict[int, tuple[list[Outcome], int, float, float, list[int]]] = {}
    with processes_on_one_redis(2, n_sessions + 2) as servers:
        for server in servers:
            warm_up(server, warm)
        for procs in (1, 2):
            used = servers[:procs]
            cpu_before = [s.cpu_s() for s in used]

            async def run(used: list[ServerProcess] = used) -> list[list[SessionRun]]:
                # Session i on process i mod the number of processes.
                return list(
                    await asyncio.gather(
                        *(
                            run_concurrent(
                                s,
                                jobs[p :: len(used)],
                                "answer_done",
                                interview=interview,
                                seed=seed + p,
                                stagger_s=5,
                            )
                            for p, s in enumerate(used)
                        )
                    )
                )

            per_process = asyncio.run(run())
            cpu = sum(s.cpu_s() - b for s, b in zip(used, cpu_before, strict=True))
            runs = [r for rs in per_process for r in rs]
            errors = failures(runs)
            problems += [f"{procs} process(es): {e}" for e in errors]
            results[procs] = (
                [o for r in runs for o in r.outcomes],
                len(errors),
                cpu,
                sum(s.rss_mb() for s in used),
                [len(rs) for rs in per_process],
            )
            print(f"{procs} server process(es) done", flush=True)
    rows: list[list[str]] = []
    for procs, (outcomes, n_errors, cpu, rss, _) in results.items():
        speech_min = sum(o.answer.seconds for o in outcomes) / 60
        rows.append(
            [
                f"{n_sessions} x {n_answers} {answers_word} of ~20 s, "
                + ("1 process" if procs == 1 else f"{procs} processes, one Redis"),
                str(n_sessions),
                *long_answer_columns(outcomes, f", {n_errors} session errors" if n_errors else ""),
                f"{cpu / speech_min:.1f} ({cpu:.0f} s in all)" if speech_min else "–",
                f"{rss:.0f} MB" + (f" ({procs} processes)" if procs > 1 else ""),
            ]
        )

    def p95(procs: int) -> float:
        outcomes = results[procs][0]
        return percentile([o.end_to_audio_ms for o in outcomes if o.end_to_audio_ms], 95)

    one, two = p95(1), p95(2)
    change = "lower" if two < 0.8 * one else "higher" if two > 1.2 * one else "about the same"
    replied = {p: sum(o.reply_turn is not None for o in r[0]) for p, r in results.items()}
    expected = n_sessions * n_answers
    correct = all(replied[p] == expected and not results[p][1] for p in results)
    notes = [
        f"The last two rows (issue 26): the same {n_sessions} sessions of {n_answers} "
        f"{answers_word} "
        "(real speech, `answer_done`, started within 5 s) served by one server process, then "
        f"split over two processes ({' + '.join(map(str, results[2][4]))} sessions) on this "
        f"{os.cpu_count()}-core machine sharing one Redis (an embedded Valkey; each session "
        "created in it, its socket on one process, its replies over that socket). End -> first "
        f"audio p95 with two processes: {two:.0f} ms against {one:.0f} ms with one ({change}); "
        f"server CPU {results[2][2]:.0f} s against {results[1][2]:.0f} s, both processes "
        "counted, warm-ups not (the CPU column: per minute of answer audio, then the whole run). "
        "Two processes on the same cores add no capacity; the point is correctness: "
        + (
            f"every answer ({expected} in each case) was answered by the process holding its "
            "session, no session errors."
            if correct
            else f"{replied[1]}/{expected} answers replied with one process and "
            f"{replied[2]}/{expected} with two, session errors {results[1][1]} and "
            f"{results[2][1]}: NOT all answered."
        ),
    ]
    return rows, notes, problems
