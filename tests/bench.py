"""`make bench`: speed and memory, printed as markdown tables and written to BENCHMARKS.md.

Each section is a function returning a `Section`, listed in `SECTIONS` under its name, and
declared in `tests/bench_sections.py` with the sources its figures depend on. Each is written to
BENCHMARKS.md as soon as it is measured, stamped (commit, date, machine, wall time); the others
stay as they are. Figures depend on what else the machine is doing: run it on an idle box for
numbers worth quoting.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import numpy as np
import redis.asyncio as aioredis

from models.registry import ModelRegistry
from pipeline.engine import InterviewPlan, Question
from pipeline.voice.transcriber import transcribe_windowed
from server.storage.store import EmbeddedValkey
from tests import bench_integrity, bench_scoring, bench_sections
from tests.conftest import piper_speech
from tests.stream_client import StreamClient, create_session, free_port, matches, speech_end

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Section:
    title: str
    columns: list[str]
    rows: list[list[str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def markdown(self) -> str:
        lines = [f"## {self.title}", ""]
        lines.append("| " + " | ".join(self.columns) + " |")
        lines.append("|" + "---|" * len(self.columns))
        lines += ["| " + " | ".join(row) + " |" for row in self.rows]
        if self.notes:
            lines.append("")
            lines += self.notes
        return "\n".join(lines) + "\n"


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


def timed(run: Callable[[], object], repeats: int) -> list[float]:
    """Wall times in ms of `repeats` calls after one unmeasured warm-up call."""
    run()
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        run()
        times.append((time.perf_counter() - started) * 1000)
    return times


# -- ASR ----------------------------------------------------------------------------------------

ANSWERS = (
    "I led the move of our billing system to a new database last spring.",
    "We split the work into small steps, and each step could be rolled back.",
    "The hardest part was agreeing on the data model with the finance team.",
    "In the end we finished two weeks early and nobody lost a single invoice.",
)


ASR_REPEATS = 7


def asr_section(models: ModelRegistry) -> Section:
    asr = models.asr()
    section = Section(
        "ASR (Whisper tiny.en int8, 2 threads)",
        ["clip", "encoder window", "median time", "p95 time", "real-time factor"],
    )
    speech = np.concatenate([piper_speech(models, text) for text in ANSWERS])
    for seconds in (2, 5, 10):
        clip = speech[: seconds * 16000]
        for label, run in (
            ("30 s (fixed)", lambda c=clip: asr.transcribe(c)),
            ("sized to clip", lambda c=clip: transcribe_windowed(asr, c, words=False)),
        ):
            times = timed(run, ASR_REPEATS)
            median = statistics.median(times)
            section.rows.append(
                [
                    f"{seconds} s",
                    label,
                    f"{median:.0f} ms",
                    f"{percentile(times, 95):.0f} ms",
                    f"{median / 1000 / seconds:.3f}",
                ]
            )
    section.notes.append(
        f"{ASR_REPEATS} runs each after a warm-up. The stream sizes Whisper's encoder window to "
        "the clip plus 3 s of silence (at least 8 s) and encodes only that, instead of 30 s."
    )
    return section


# -- the voice loop over real sockets --------------------------------------------------------

PLAN = InterviewPlan(
    questions=tuple(
        Question(f"q{i}", text)
        for i, text in enumerate(
            (
                "Tell me about a project you are proud of.",
                "What was the hardest decision in it?",
                "How did you work with other teams?",
                "What would you do differently now?",
                "What are you learning at the moment?",
            )
        )
    )
)
TURNS_PER_SESSION = 3


@dataclass
class ServerProcess:
    process: subprocess.Popen[bytes]
    port: int
    redis_url: str

    def cpu_s(self) -> float:
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def rss_mb(self) -> float:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return float("nan")


@contextlib.contextmanager
def server_process(data_dir: Path) -> Iterator[ServerProcess]:
    valkey = EmbeddedValkey(data_dir)
    redis_url = valkey.start()
    port = free_port()
    env = {
        **os.environ,
        "REDIS_URL": redis_url,
        "VIVA_DATA_DIR": str(data_dir),
        "PORT": str(port),
        "VIVA_LOG_LEVEL": "warning",
        # The bench measures past the default capacity (VIVA_MAX_STREAMS): no refusals.
        "VIVA_MAX_STREAMS": os.environ.get("VIVA_MAX_STREAMS", "16"),
        # Its sessions are one tenant's: no per-tenant cap (half of the capacity by default).
        "VIVA_MAX_STREAMS_PER_TENANT": os.environ.get("VIVA_MAX_STREAMS_PER_TENANT", "0"),
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            "server.app:create_app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"http://127.0.0.1:{port}/readyz").status_code == 200:
                    break
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError("the server did not become ready")
            time.sleep(0.2)
        yield ServerProcess(process, port, redis_url)
    finally:
        process.terminate()
        process.wait(timeout=20)
        valkey.stop()


@dataclass
class TurnSample:
    client_ms: float  # end of speech sent -> first interviewer audio frame received
    server: dict[str, float]


async def one_session(
    server: ServerProcess, session_id: str, answers: list[np.ndarray], seed: int
) -> list[TurnSample]:
    rng = random.Random(seed)
    redis = aioredis.from_url(server.redis_url, decode_responses=True)
    token = await create_session(redis, session_id, PLAN)
    await redis.aclose()
    url = f"ws://127.0.0.1:{server.port}/v1/sessions/{session_id}/stream"
    client = await StreamClient.connect(url, token)
    samples: list[TurnSample] = []
    agent_turn = 0
    try:
        for turn in range(TURNS_PER_SESSION):
            await client.stream_while(
                matches(type="agent_audio", event="end", turn=agent_turn),
                timeout=60,
            )
            await client.silence(0.3 + rng.random())  # sessions do not all answer at once
            speech = answers[(seed + turn) % len(answers)]
            eos = await client.stream(speech)
            reply = await client.stream_while(
                matches(type="agent_audio", turn=agent_turn + 2),
                timeout=60,
            )
            agent_turn = reply["turn"]
            first = client.first_audio_after(eos)
            metrics = await client.wait_for(matches(type="metrics", turn=agent_turn))
            if first is not None:
                samples.append(TurnSample((first - eos) * 1000, metrics))
    finally:
        await client.close()
    return samples


async def run_level(
    server: ServerProcess, sessions: int, rounds: int, answers: list[np.ndarray]
) -> tuple[list[TurnSample], float, float]:
    """`rounds` rounds of `sessions` concurrent sessions; CPU share is per wall second."""
    cpu_before, wall_before = server.cpu_s(), time.monotonic()
    samples: list[TurnSample] = []
    for r in range(rounds):
        results = await asyncio.gather(
            *(
                one_session(server, f"bench-{sessions}-{r}-{i}", answers, seed=r * sessions + i)
                for i in range(sessions)
            )
        )
        samples += [s for result in results for s in result]
    cpu_share = (server.cpu_s() - cpu_before) / (time.monotonic() - wall_before)
    return samples, cpu_share, server.rss_mb()


# (concurrent sessions, rounds): a few rounds where one round gives too few turns for a p95.
# BENCH_LEVELS="1x4,4x1" overrides them for a quick before/after comparison.
LEVELS = tuple(
    (int(n), int(r))
    for n, r in (
        level.split("x") for level in os.environ.get("BENCH_LEVELS", "1x4,2x2,4x1,8x1").split(",")
    )
)


def voice_section(models: ModelRegistry) -> Section:
    answers = []
    for text in ANSWERS:
        audio = piper_speech(models, text)
        answers.append(audio[: int(speech_end(audio) * 16000)])  # the clip ends where speech ends
    section = Section(
        "Voice loop: end of speech -> first interviewer audio at the client",
        [
            "sessions",
            "turns",
            "p50",
            "p95",
            "server ASR final p50",
            "server ASR final p95",
            "CPU cores / session",
            "server RSS",
        ],
    )
    with tempfile.TemporaryDirectory() as tmp, server_process(Path(tmp)) as server:
        idle_rss = server.rss_mb()
        # One unmeasured session first: engines and caches warm up as on a serving box.
        asyncio.run(one_session(server, "bench-warm-up", answers, seed=99))
        for sessions, rounds in LEVELS:
            samples, cpu_share, rss = asyncio.run(run_level(server, sessions, rounds, answers))
            client_ms = [s.client_ms for s in samples]
            asr_ms = [s.server["asr_final_ms"] for s in samples]
            section.rows.append(
                [
                    str(sessions),
                    str(len(samples)),
                    f"{percentile(client_ms, 50):.0f} ms",
                    f"{percentile(client_ms, 95):.0f} ms",
                    f"{percentile(asr_ms, 50):.0f} ms",
                    f"{percentile(asr_ms, 95):.0f} ms",
                    f"{cpu_share / sessions:.2f}",
                    f"{rss:.0f} MB",
                ]
            )
            print(section.rows[-1], flush=True)
    section.notes += [
        f"Real Piper speech streamed in real time (20 ms frames) over a real WebSocket to a "
        f"server subprocess; {TURNS_PER_SESSION} answers per session, in rounds of concurrent "
        f"sessions {LEVELS}. Each short synthetic answer ends by silence, so the figure is "
        "mostly the turn policy's silence wait (`TurnPolicyConfig`: a 2 s patience window, "
        "longer for some answers) plus the reply; what the reply itself costs is the server "
        "ASR final and the interviewer engine. The real-speech tables above are the headline. "
        f"Server RSS idle with models loaded: {idle_rss:.0f} MB.",
    ]
    return section


def scoring_section(_: ModelRegistry) -> Section:
    section = Section("Interviewer scoring", ["metric", "value"])
    section.rows = [list(row) for row in bench_scoring.run()]
    section.notes.append("From `tests/bench_scoring.py` (the labelled gold set).")
    return section


def integrity_section(models: ModelRegistry) -> Section:
    section = Section("Integrity: second voices and diarization", ["metric", "value"])
    section.rows = [list(row) for row in bench_integrity.run(models)]
    section.notes.append("From `tests/bench_integrity.py`; CPU figures are process CPU time.")
    return section


# -- real speech (tests/bench_realspeech.py; imported when run, as it imports this module) ----


def realspeech_section(models: ModelRegistry) -> Section:
    from tests import bench_realspeech

    return bench_realspeech.turn_taking_section(models)


def long_answers_section(models: ModelRegistry) -> Section:
    from tests import bench_realspeech

    return bench_realspeech.long_answers_section(models)


def phone_section(models: ModelRegistry) -> Section:
    from tests import phone_quality

    return phone_quality.phone_section(models)


def coding_section(_: ModelRegistry) -> Section:
    from tests import bench_coding

    section = Section(
        "Coding round: code runs in the sandbox, request to result",
        ["run", "tests", "runs", "p50 ms", "p95 ms", "max ms", "status"],
    )
    section.rows, section.notes = bench_coding.section_rows(server_process)
    return section


# By name, in the file's order (`bench_sections.DECLARED` declares each one's sources).
SECTIONS: dict[str, Callable[[ModelRegistry], Section]] = {
    "realspeech": realspeech_section,  # the headline: real recorded speech with real pauses
    "long_answers": long_answers_section,
    "phone": phone_section,
    "asr": asr_section,
    "voice": voice_section,
    "scoring": scoring_section,
    "integrity": integrity_section,
    "coding": coding_section,
}
assert tuple(SECTIONS) == bench_sections.NAMES, "declare each section in tests/bench_sections.py"


def main() -> None:
    """`python -m tests.bench [section ...]`: every section, or only those named; each is
    printed, then written to BENCHMARKS.md in place, stamped, the others left as they are."""
    names = sys.argv[1:] or list(SECTIONS)
    unknown = [n for n in names if n not in SECTIONS]
    if unknown:
        sys.exit(f"unknown section(s) {', '.join(unknown)}; the sections: {', '.join(SECTIONS)}")
    command = bench_sections.rerun_command(sys.argv[1:])
    models = ModelRegistry()
    models.load_all()
    for name in SECTIONS:
        if name not in names:
            continue
        run = bench_sections.Run.start(bench_sections.BY_NAME[name], command)
        started = time.monotonic()
        section = SECTIONS[name](models)
        run.finish(time.monotonic() - started)
        print(section.markdown(), flush=True)
        bench_sections.write_section(
            name, bench_sections.section_block(name, section.markdown(), run)
        )
        print(f"wrote section {name} to {bench_sections.BENCHMARKS}", flush=True)


if __name__ == "__main__":
    main()
