"""BENCHMARKS.md's sections: what each measures, and the file's stamped format.

Every section of BENCHMARKS.md is written by the `python -m tests.bench` run that measured it,
between markers, with a stamp: the commit (and whether the tree had uncommitted changes, and
which of them were in the section's sources), the date, the machine, the section's wall time and
any size settings taken from the environment. A partial run rewrites only its sections; the
header (the summary table included) is generated from the stamps on every write. Nothing in the
file is typed by hand.

Each section declares the files and directories its figures depend on (`sources`);
`tests/test_benchmarks_fresh.py` fails when a commit newer than a section's stamp touched one of
them. Declared broad on purpose: a figure is stale when anything on its path changed.

No models and no heavy imports here: the freshness test reads this module.
"""

from __future__ import annotations

import json
import os
import platform
import re
import subprocess
import sys
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BENCHMARKS = ROOT / "BENCHMARKS.md"


@dataclass(frozen=True)
class Declared:
    name: str  # `python -m tests.bench NAME`
    title: str  # its heading (a file from before the stamps is matched on it)
    sources: tuple[str, ...]  # repository paths (files or directories) its figures depend on


# What a spoken turn goes through on the server: audio in, VAD, Whisper, the turn policy, the
# interviewer engine (which analyses the answer to choose a follow-up), Piper, the observers and
# the turn writes; the runner every live channel goes through (`server/live.py`) and the session's
# ownership claim it makes. Plus the dependency pins.
_VOICE_PATH = (
    "audio/",
    "models/",
    "pipeline/",
    "server/stream.py",
    "server/live.py",
    "server/ownership.py",
    "server/runtime.py",
    "server/observers.py",
    "server/engines.py",
    "server/sessions.py",
    "server/storage/store.py",
    "server/settings.py",
    "pyproject.toml",
)
_REAL_SPEECH = ("tests/bench_realspeech.py", "tests/stream_client.py", *_VOICE_PATH)

DECLARED: tuple[Declared, ...] = (
    Declared(
        "realspeech",
        "Real speech: turn-taking on long answers with thinking pauses",
        _REAL_SPEECH,
    ),
    Declared("long_answers", "Real speech: long answers (answer_done) at flat cost", _REAL_SPEECH),
    Declared(
        "phone",
        "Phone channel: 8 kHz μ-law real speech",
        (
            "tests/phone_quality.py",
            "tests/phone_client.py",
            "server/phone/",
            "server/app.py",
            *_REAL_SPEECH,
        ),
    ),
    Declared(
        "asr",
        "ASR (Whisper tiny.en int8, 2 threads)",
        ("tests/bench.py", "models/asr.py", "pipeline/voice/transcriber.py", "pyproject.toml"),
    ),
    Declared(
        "voice",
        "Voice loop: end of speech -> first interviewer audio at the client",
        ("tests/bench.py", "tests/stream_client.py", *_VOICE_PATH),
    ),
    Declared(
        "scoring",
        "Interviewer scoring",
        (
            "tests/bench_scoring.py",
            "tests/bench_tenant.py",
            "tests/gold/",
            "pipeline/interview/",
            "pipeline/engine.py",
            "models/embedding.py",
            "pyproject.toml",
        ),
    ),
    Declared(
        "integrity",
        "Integrity: second voices and diarization",
        (
            "tests/bench_integrity.py",
            "pipeline/integrity/",
            "models/vad.py",
            "models/speaker.py",
            "models/asr.py",
            "pyproject.toml",
        ),
    ),
    Declared(
        "coding",
        "Coding round: code runs in the sandbox, request to result",
        (
            "tests/bench_coding.py",
            "tests/complexity_gold.py",
            "tests/complexity_gold/",
            "pipeline/coding/",
            "server/code.py",
            "server/code_queue.py",
            "server/api/code.py",
            "server/http/endpoint.py",
            "pyproject.toml",
        ),
    ),
)
NAMES = tuple(d.name for d in DECLARED)
BY_NAME = {d.name: d for d in DECLARED}

# Environment settings that change what a section runs (sizes, levels, seeds): stamped if set.
SETTING_PREFIXES = ("BENCH_", "PHONE_Q_")
SETTINGS = ("VIVA_MAX_STREAMS",)

_BEGIN = re.compile(r"^<!-- bench:begin (\w+) -->$", re.MULTILINE)
_STAMP = re.compile(r"^<!-- bench:stamp (\{.*\}) -->$", re.MULTILINE)


def rerun_command(names: Iterable[str]) -> str:
    return " ".join(["python -m tests.bench", *names])


# -- the stamp ----------------------------------------------------------------------------------


def git(*args: str) -> str | None:
    """git's output in this checkout, or None (not a checkout, no git, or the command failed)."""
    try:
        done = subprocess.run(
            ["git", *args], cwd=ROOT, capture_output=True, text=True, check=False, timeout=60
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.rstrip() if done.returncode == 0 else None


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def load_1min() -> float | None:
    """The 1-minute load average: what else the machine was doing (2 means two busy cores)."""
    return round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None


def machine() -> dict[str, Any]:
    return {
        "arch": platform.machine(),
        "cores": os.cpu_count(),
        "cpu": cpu_model(),
        "load_1min_at_start": load_1min(),
        "python": platform.python_version(),
    }


@dataclass
class Run:
    """What a section's stamp says about the run; taken when the section starts."""

    section: str
    command: str
    commit: str | None
    dirty: bool  # uncommitted changes to tracked files anywhere in the tree
    dirty_sources: list[str]  # changed or untracked paths under the section's sources
    started: str  # UTC
    machine: dict[str, Any]
    settings: dict[str, str]
    wall_s: float = 0.0

    @classmethod
    def start(cls, declared: Declared, command: str) -> Run:
        # The file this run writes is no change to the code it measures.
        status = git("status", "--porcelain", "--untracked-files=no", "--", ".", ":!BENCHMARKS.md")
        in_sources = git("status", "--porcelain", "--", *declared.sources) or ""
        return cls(
            section=declared.name,
            command=command,
            commit=git("rev-parse", "HEAD"),
            dirty=bool(status),
            dirty_sources=sorted(line[3:] for line in in_sources.splitlines() if line),
            started=time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            machine=machine(),
            settings={
                k: v
                for k, v in sorted(os.environ.items())
                if k.startswith(SETTING_PREFIXES) or k in SETTINGS
            },
        )

    def finish(self, wall_s: float) -> None:
        self.wall_s = wall_s
        self.machine["load_1min_at_end"] = load_1min()

    def as_dict(self) -> dict[str, Any]:
        return {
            "section": self.section,
            "command": self.command,
            "commit": self.commit,
            "dirty": self.dirty,
            "dirty_sources": self.dirty_sources,
            "started": self.started,
            "machine": self.machine,
            "settings": self.settings,
            "wall_s": round(self.wall_s, 1),
            "sources": list(BY_NAME[self.section].sources),
        }


def _tree(stamp: Mapping[str, Any]) -> str:
    if not stamp.get("dirty") and not stamp.get("dirty_sources"):
        return "clean tree"
    changed = stamp.get("dirty_sources") or []
    if not changed:
        return "uncommitted changes, none in this section's sources"
    return "uncommitted changes in this section's sources: " + ", ".join(f"`{p}`" for p in changed)


def stamp_line(stamp: Mapping[str, Any]) -> str:
    """The stamp as a reader sees it, under the section."""
    m = stamp["machine"]
    commit = stamp.get("commit") or "no git checkout"
    loads = [
        f"{m[key]} at the {when}"
        for key, when in (("load_1min_at_start", "start"), ("load_1min_at_end", "end"))
        if m.get(key) is not None
    ]
    settings = stamp.get("settings") or {}
    parts = [
        f"_Measured by `{stamp['command']}` on {stamp['started']} at commit `{commit[:12]}` "
        f"({_tree(stamp)}); {m['arch']}, {m['cores']} cores ({m['cpu']})"
        + (f", 1-min load average {' and '.join(loads)}" if loads else "")
        + f", Python {m['python']}; section wall time {stamp['wall_s'] / 60:.1f} min.",
        "Sources: " + ", ".join(f"`{s}`" for s in stamp["sources"]) + ".",
    ]
    if settings:
        parts.append("Settings: " + ", ".join(f"`{k}={v}`" for k, v in settings.items()) + ".")
    return " ".join(parts) + "_"


def section_block(name: str, markdown: str, run: Run) -> str:
    """One section as written to the file: its markdown, the stamp, between markers."""
    stamp = run.as_dict()
    return (
        f"<!-- bench:begin {name} -->\n"
        f"{markdown.rstrip()}\n\n"
        f"{stamp_line(stamp)}\n"
        f"<!-- bench:stamp {json.dumps(stamp, ensure_ascii=False, sort_keys=True)} -->\n"
        f"<!-- bench:end {name} -->\n"
    )


# -- the file -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Block:
    name: str
    text: str  # as in the file, markers included
    stamp: dict[str, Any] | None  # None: a section from before the stamps


def parse(text: str) -> dict[str, Block]:
    """The file's sections by name (the header is not kept: it is generated)."""
    blocks: dict[str, Block] = {}
    if "<!-- bench:begin " not in text:
        return _legacy(text)
    for begin in _BEGIN.finditer(text):
        name = begin.group(1)
        end_marker = f"<!-- bench:end {name} -->\n"
        end = text.find(end_marker, begin.start())
        if end < 0:
            raise ValueError(f"BENCHMARKS.md: section {name} has no end marker")
        block = text[begin.start() : end + len(end_marker)]
        found = _STAMP.search(block)
        blocks[name] = Block(name, block, json.loads(found.group(1)) if found else None)
    return blocks


def _legacy(text: str) -> dict[str, Block]:
    """A file from before the stamps: its sections, found by their headings, kept as they are
    but marked unstamped (their figures come from no run anyone can name)."""
    by_title = {d.title: d.name for d in DECLARED}
    blocks: dict[str, Block] = {}
    for chunk in re.split(r"^(?=## )", text, flags=re.MULTILINE):
        heading = chunk.split("\n", 1)[0].removeprefix("## ").strip()
        name = by_title.get(heading)
        if name is None:
            continue
        body = (
            chunk.rstrip()
            + "\n\n"
            + (
                "_Not stamped: written before the sections were stamped (partly assembled by hand). "
                f"Rerun: `{rerun_command([name])}`._"
            )
        )
        blocks[name] = Block(
            name, f"<!-- bench:begin {name} -->\n{body}\n<!-- bench:end {name} -->\n", None
        )
    return blocks


def heading(block: str) -> str | None:
    found = re.search(r"^## (.+)$", block, re.MULTILINE)
    return found.group(1).strip() if found else None


def header(blocks: Mapping[str, Block]) -> str:
    rows = []
    for d in DECLARED:
        block = blocks.get(d.name)
        if block is None:
            rows.append(f"| `{d.name}` | {d.title} | not measured | | | |")
            continue
        title = heading(block.text) or d.title
        anchor = re.sub(r"[^\w\- ]", "", title.lower()).replace(" ", "-")
        link = f"[{title}](#{anchor})"
        stamp = block.stamp
        if stamp is None:
            rows.append(f"| `{d.name}` | {link} | not stamped | | | |")
            continue
        commit = (stamp.get("commit") or "?")[:12] + ("" if not stamp.get("dirty") else " (dirty)")
        m = stamp["machine"]
        rows.append(
            f"| `{d.name}` | {link} | `{commit}` | {stamp['started']} | "
            f"{m['cores']} cores, {m['cpu']} | {stamp['wall_s'] / 60:.1f} min |"
        )
    return "\n".join(
        [
            "# Benchmarks",
            "",
            "Written by `make bench` (`python -m tests.bench`), nothing by hand: each section is "
            "the output of the run that measured it, stamped with its commit, date, machine and "
            f"wall time. `{rerun_command(['SECTION...'])}` reruns the sections named "
            f"({', '.join(f'`{n}`' for n in NAMES)}) and rewrites only those. "
            "`tests/test_benchmarks_fresh.py` fails when a commit after a section's stamp "
            "touched the sources it declares (`tests/bench_sections.py`): rerun it, do not edit "
            "it. Figures depend on what else the machine is doing.",
            "",
            "| section | what | commit | measured | machine | wall time |",
            "|---|---|---|---|---|---|",
            *rows,
            "",
        ]
    )


def render(blocks: Mapping[str, Block]) -> str:
    """The whole file: the generated header, then the sections in their declared order."""
    return "\n".join([header(blocks), *(blocks[n].text for n in NAMES if n in blocks)])


def write_section(name: str, block: str, path: Path = BENCHMARKS) -> None:
    """Put one freshly measured section into the file, the others as they are. The file is read
    again right before writing, so sections written meanwhile by another run are kept."""
    blocks = parse(path.read_text()) if path.exists() else {}
    blocks[name] = Block(name, block, parse(block)[name].stamp)
    dropped = sorted(set(blocks) - set(NAMES))
    if dropped:
        print(f"dropped sections no longer declared: {', '.join(dropped)}", file=sys.stderr)
    path.write_text(render({n: b for n, b in blocks.items() if n in NAMES}))
