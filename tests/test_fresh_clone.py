"""The first five minutes, as a new user has them: a fresh checkout, `make run`, the one URL it
prints, and a demo interview in Chromium from that page to its report.

The checkout is every file git would hand out (tracked, and new ones not ignored): no `data/`,
no tenant, no key. It runs on this test's own venv (`make setup` is timed separately: minutes of
downloads), with `PYTHONPATH` on the checkout so the checkout's code is what serves.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest
import soundfile as sf

from tests.conftest import ROOT, espeak
from tests.test_room import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS

URL_LINE = re.compile(r"^\s+(http://127\.0\.0\.1:\d+/demo)\s*$")
ANSWERS = (
    "I am a backend engineer with six years in Python. At my last company I owned the billing "
    "service: I designed its database, led a team of three, and we cut failed payments by 40 "
    "percent in one quarter, which I measured with a weekly dashboard.",
    "I led the migration of our order system to Kafka. The situation was a nightly batch that "
    "took four hours. I planned the rollout, wrote the consumers myself and ran both systems "
    "side by side; the result was orders processed in under a second and no lost messages.",
    "When a teammate disagreed with my design, I asked for his data, we ran a small benchmark "
    "together, and chose his approach because it was 30 percent faster. I learned to test "
    "assumptions early, and our release shipped on time.",
)


def _checkout(destination: Path) -> Path:
    """Copy what a clone of this tree would hold: tracked files and new, unignored ones."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        check=True,
        capture_output=True,
    ).stdout.split(b"\0")
    for raw in filter(None, listed):
        source = ROOT / os.fsdecode(raw)
        if source.is_file():  # listed but deleted in the work tree: not in the next commit
            target = destination / os.fsdecode(raw)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    return destination


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class MakeRun:
    """`make run` in the background; its output collected line by line."""

    def __init__(self, checkout: Path, port: int) -> None:
        venv = Path(sys.executable).parent.parent
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("VIVA_", "PYTEST")) and k not in ("REDIS_URL", "HOST", "PORT")
        }
        env["PYTHONPATH"] = str(checkout)
        self.lines: list[str] = []
        self.process = subprocess.Popen(
            # `-o`: the venv is this test's own, already set up; make must not install into it.
            ["make", "--no-print-directory", "run", f"VENV={venv}", f"PORT={port}",
             "HOST=127.0.0.1", "-o", f"{venv}/.installed"],
            cwd=checkout,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,  # its own process group: stopped together at the end
        )  # fmt: skip
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    def wait_for_url(self, timeout_s: float) -> str:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            for line in self.lines:
                match = URL_LINE.match(line)
                if match:
                    return match.group(1)
            if self.process.poll() is not None:
                break
            time.sleep(0.2)
        raise AssertionError("make run printed no demo URL; it said:\n" + self.output())

    def output(self) -> str:
        return "\n".join(self.lines)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)  # make, and the server it started
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        self._reader.join(timeout=5)


@pytest.fixture
def make_run(tmp_path: Path) -> Iterator[MakeRun]:
    checkout = _checkout(tmp_path / "checkout")
    assert not (checkout / "data").exists() and not (checkout / ".venv").exists()
    run = MakeRun(checkout, _free_port())
    yield run
    run.stop()


def _answers_wav(path: Path) -> Path:
    """Chromium's fake microphone: silence while the interviewer speaks, then a spoken answer,
    over and over (Chromium loops the file)."""
    rate = 16000
    silence = np.zeros(int(rate * 8.0), dtype=np.float32)
    parts: list[np.ndarray] = []
    for answer in ANSWERS:
        parts += [silence, espeak(answer, rate=170) * 0.8]
    sf.write(path, np.concatenate(parts), rate, subtype="PCM_16")
    return path


@pytest.mark.slow
@pytest.mark.timeout(600)
async def test_make_run_on_a_fresh_checkout_serves_a_demo_interview_to_its_report(
    make_run: MakeRun, tmp_path: Path
) -> None:
    if shutil.which("chromium") is None:
        pytest.fail("chromium is missing: `make setup` installs it")
    from playwright.async_api import TimeoutError as PlaywrightTimeout
    from playwright.async_api import async_playwright

    wav = _answers_wav(tmp_path / "answers.wav")
    started = time.monotonic()
    url = await asyncio.to_thread(make_run.wait_for_url, 300)
    ready_s = time.monotonic() - started
    output = make_run.output()
    assert "Local demo tenant" in output and "provisioned" in output, output
    assert re.search(r"Model 1/5: speech recognition \(Whisper\) loaded in [\d.]+ s", output)
    assert "Models: 5 of 5 loaded" in output, output
    async with httpx.AsyncClient(timeout=30) as client:
        assert (await client.get(url)).status_code == 200
        base = url.removesuffix("/demo")
        assert (await client.get(f"{base}/readyz")).status_code == 200

    ARTIFACTS.mkdir(exist_ok=True)
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[*CHROMIUM_ARGS, f"--use-file-for-fake-audio-capture={wav}"],
        )
        try:
            page = await browser.new_page(viewport={"width": 1100, "height": 1000})
            await page.goto(url)
            # Pick a catalogue interview and a persona, as a person would.
            await page.locator('#interview option[value="behavioral-1"]').wait_for(state="attached")
            await page.select_option("#interview", "behavioral-1")
            await page.locator("#persona-alex").check()
            await page.locator("#practice").uncheck()
            await page.screenshot(path=str(ARTIFACTS / "demo-setup.png"))
            await page.locator("#new-session").click()

            room = page.frame_locator("#room")
            await room.locator("text=You are talking to an AI interviewer").wait_for(timeout=30000)
            assert await room.locator("text=Alex").count() > 0
            await room.locator("#consent").check()
            await room.locator("#start").click()
            await room.locator('[data-screen="interview"]:not([hidden])').wait_for(timeout=30000)
            # Spoken answers from the fake microphone, until the interviewer closes; past
            # four minutes, End: the report then scores what was answered.
            finished = room.locator('[data-screen="finished"]:not([hidden])')
            try:
                await finished.wait_for(timeout=240000)
            except PlaywrightTimeout:
                await room.locator("#end").click()
                await room.locator('button[value="end"]').click()
                await finished.wait_for(timeout=60000)

            # The page reads the report by itself once the room says it finished.
            await page.locator("#report-body:not([hidden])").wait_for(timeout=60000)
            await page.screenshot(path=str(ARTIFACTS / "demo-report.png"), full_page=True)
            score = await page.locator('[data-field="overall-score"]').inner_text()
            verdict = await page.locator('[data-field="verdict"]').inner_text()
            competencies = await page.locator("#competencies tbody tr").count()
            quotes = await page.locator("#competencies .evidence q").all_inner_texts()
            turns = await page.locator("#transcript li.turn.candidate").all_inner_texts()
            signals = await page.locator("#integrity li").all_inner_texts()
            json_href = await page.locator("#report-json").get_attribute("href")
            async with page.expect_download() as saving:  # the link, as a person uses it
                await page.locator("#report-json").click()
            download = await saving.value
            downloaded = json.loads(Path(await download.path()).read_text())
            events = await page.locator("#events li").all_text_contents()  # a closed <details>
        finally:
            await browser.close()

    session, report = downloaded["session"], downloaded["session"]["report"]
    assert session["status"] in ("completed", "partial"), (session["status"], report)
    assert isinstance(report["overall_score"], int), report
    assert score == str(report["overall_score"]) and verdict == f"Verdict: {report['verdict']}"
    assert competencies == len(report["competencies"]) >= 3
    # Each score shows the candidate's own words, quoted from the stored answers.
    said = " ".join(
        t["text"] for t in downloaded["transcript"]["turns"] if t["role"] == "candidate"
    )
    assert quotes and all(q.removesuffix(" …") in said for q in quotes), (quotes, said)
    assert turns and any(w in turns[0].lower() for w in ("billing", "python", "engineer")), turns
    assert all("(voice)" in t for t in turns), turns
    # The integrity signals come from the voice: one speaker, and enough of it.
    assert len(signals) == 3 and signals[0].startswith("One voice throughout"), signals
    assert report["fraud_signals"]["multiple_speakers"]["detected"] is False
    assert json_href and json_href.startswith("blob:")
    assert any("interviewFinished" in e for e in events), events
    print(f"make run: demo URL after {ready_s:.1f} s")
