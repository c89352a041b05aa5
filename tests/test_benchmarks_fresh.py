"""BENCHMARKS.md says what the code does now: every section is stamped by the run that measured
it, and no commit since that run touched the sources the section declares
(`tests/bench_sections.py`). A stale section fails here with the command that measures it again;
rerun it, do not edit it. Fast: git and the file, no models.

The file's format is checked too: a partial run rewrites only its own sections."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests import bench_sections
from tests.bench_sections import BENCHMARKS, BY_NAME, NAMES, Run, git


@pytest.fixture(scope="module")
def checkout() -> None:
    if git("rev-parse", "--is-inside-work-tree") != "true":
        pytest.skip(
            "not a git checkout (or no git): a section's stamp cannot be compared with the "
            "history of the code it measures"
        )
    if git("rev-parse", "--is-shallow-repository") == "true":
        pytest.skip("a shallow clone: the stamps' commits and the sources' history may be absent")


@pytest.fixture(scope="module")
def sections() -> dict[str, bench_sections.Block]:
    return bench_sections.parse(BENCHMARKS.read_text())


def is_ancestor(older: str, newer: str) -> bool:
    done = subprocess.run(
        ["git", "merge-base", "--is-ancestor", older, newer],
        cwd=bench_sections.ROOT,
        capture_output=True,
        check=False,
    )
    if done.returncode not in (0, 1):
        raise RuntimeError(done.stderr.decode(errors="replace"))
    return done.returncode == 0


def staleness(name: str, stamp: dict[str, object] | None) -> str | None:
    """Why section `name` with this stamp does not describe the code as committed, or None."""
    rerun = f"rerun `{bench_sections.rerun_command([name])}` (it rewrites only that section)"
    if stamp is None:
        return f"section {name} is not stamped by the run that measured it: {rerun}"
    commit = str(stamp.get("commit") or "")
    if not commit:
        return f"section {name} was measured outside a git checkout: {rerun}"
    if git("cat-file", "-e", f"{commit}^{{commit}}") is None:
        return (
            f"section {name} was measured at commit {commit}, which this repository does not "
            f"have (a rebased or unpushed commit): {rerun}"
        )
    sources = BY_NAME[name].sources
    last = git("log", "-1", "--format=%H", "--", *sources)
    if last is None:
        raise RuntimeError(f"git log failed for {sources}")
    if last and not is_ancestor(last, commit):
        subject = git("log", "-1", "--format=%s", last) or ""
        return (
            f"section {name} was measured at {commit[:12]} ({stamp.get('started')}); commit "
            f"{last[:12]} ({subject[:100]!r}) changed its sources since "
            f"({', '.join(sources)}): {rerun}"
        )
    return None


# Not in `make test`: the real-speech sections take about an hour on 2 cores, too long to rerun
# for every commit that touches pipeline/. `make bench` ends with it and `make bench-check` runs
# it alone; a stale section fails there, naming the command that measures it again.
@pytest.mark.benchmarks
@pytest.mark.parametrize("name", NAMES)
def test_the_section_was_measured_on_the_code_it_describes(
    name: str, checkout: None, sections: dict[str, bench_sections.Block]
) -> None:
    block = sections.get(name)
    assert block is not None, (
        f"BENCHMARKS.md has no section {name}: run `{bench_sections.rerun_command([name])}`"
    )
    problem = staleness(name, block.stamp)
    assert problem is None, problem


def test_a_stamp_older_than_its_sources_last_change_is_stale(checkout: None) -> None:
    """The check itself, on this repository's history: measured at the last commit that touched
    the ASR section's sources it is fresh; measured just before that commit, stale."""
    last = git("log", "-1", "--format=%H", "--", *BY_NAME["asr"].sources)
    assert last
    before = git("rev-parse", f"{last}^")
    if before is None:
        pytest.skip("the sources' last change is the first commit")
    assert staleness("asr", {"commit": last}) is None
    problem = staleness("asr", {"commit": before, "started": "then"})
    assert problem is not None and "changed its sources" in problem
    assert "python -m tests.bench asr" in problem
    assert "not stamped" in (staleness("asr", None) or "")
    assert "does not have" in (staleness("asr", {"commit": "0" * 40}) or "")


# -- the format -------------------------------------------------------------------------------


def _run(name: str, commit: str) -> Run:
    return Run(
        section=name,
        command=bench_sections.rerun_command([name]),
        commit=commit,
        dirty=False,
        dirty_sources=[],
        started="2026-12-06 12:00 UTC",
        machine={
            "arch": "x86_64",
            "cores": 2,
            "cpu": "CPU",
            "load_1min_at_start": 0.5,
            "python": "3.11.0",
        },
        settings={},
        wall_s=61.0,
    )


def _section(title: str, value: str) -> str:
    return f"## {title}\n\n| metric | value |\n|---|---|\n| x | {value} |\n"


def test_a_partial_run_rewrites_its_sections_and_keeps_the_others_byte_for_byte(
    tmp_path: Path,
) -> None:
    path = tmp_path / "BENCHMARKS.md"
    for name in NAMES:  # a whole run writes each section as it is measured
        block = bench_sections.section_block(
            name, _section(BY_NAME[name].title, "1"), _run(name, "a" * 40)
        )
        bench_sections.write_section(name, block, path)
    before = bench_sections.parse(path.read_text())
    assert list(before) == list(NAMES)

    block = bench_sections.section_block(
        "asr", _section(BY_NAME["asr"].title, "2"), _run("asr", "b" * 40)
    )
    bench_sections.write_section("asr", block, path)
    text = path.read_text()
    after = bench_sections.parse(text)
    assert list(after) == list(NAMES)  # in the declared order
    for name in NAMES:
        if name != "asr":
            assert after[name].text == before[name].text, name
    assert after["asr"].stamp is not None and after["asr"].stamp["commit"] == "b" * 40
    assert "| x | 2 |" in after["asr"].text and "| x | 1 |" not in after["asr"].text
    # The header is generated from the stamps: the new one is in its table.
    assert f"| `asr` | [{BY_NAME['asr'].title}]" in text and "`bbbbbbbbbbbb`" in text
    assert text.startswith("# Benchmarks\n")
    # The stamp says what was asked: the machine, the wall time, the sources.
    stamp_line = next(line for line in after["asr"].text.splitlines() if "Measured by" in line)
    assert "`python -m tests.bench asr`" in stamp_line and "1.0 min" in stamp_line
    assert "2 cores (CPU)" in stamp_line and "`models/asr.py`" in stamp_line
    assert json.loads(json.dumps(after["asr"].stamp))["sources"] == list(BY_NAME["asr"].sources)


def test_a_file_from_before_the_stamps_keeps_its_sections_marked_unstamped() -> None:
    legacy = "# Benchmarks\n\nTyped by hand.\n\n" + "\n".join(
        _section(BY_NAME[n].title, "0") for n in ("asr", "scoring")
    )
    blocks = bench_sections.parse(legacy)
    assert list(blocks) == ["asr", "scoring"]
    assert all(b.stamp is None and "Not stamped" in b.text for b in blocks.values())
    assert "Typed by hand" not in bench_sections.render(blocks)
