"""`viva doctor`: one line per check, and a missing Debian package said in one line with its fix."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from server.ops import doctor
from server.settings import Settings

VIVA = str(Path(sys.executable).with_name("viva"))


def _path_without(tmp_path: Path, program: str) -> str:
    """A PATH holding every program the doctor looks for but `program` (links to the real ones),
    and this venv's own."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for _, other, _ in doctor.DEBIAN:
        found = shutil.which(other)
        if other != program and found:
            (bin_dir / other).symlink_to(found)
    return os.pathsep.join([str(bin_dir), str(Path(sys.executable).parent)])


def _doctor(
    tmp_path: Path, *args: str, path: str | None = None
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIVA_") and k != "REDIS_URL"}
    env.update(VIVA_DATA_DIR=str(tmp_path / "data"), HOST="127.0.0.1")
    if path is not None:
        env["PATH"] = path
    return subprocess.run(
        [VIVA, "doctor", *args], env=env, capture_output=True, text=True, timeout=240
    )


def test_a_missing_espeak_ng_is_one_line_with_its_fix(tmp_path: Path) -> None:
    done = _doctor(tmp_path, "--no-models", path=_path_without(tmp_path, "espeak-ng"))
    lines = done.stdout.splitlines()
    about = [line for line in lines if "espeak-ng" in line]
    assert len(about) == 1, done.stdout
    assert about[0].startswith("FAIL  espeak-ng: `espeak-ng` is not on PATH"), about[0]
    assert "apt-get install -y espeak-ng" in about[0], about[0]
    assert done.returncode == 1 and lines[-1] == "1 problem(s) to fix", done.stdout
    # Nothing else was flagged: the other checks still ran and passed.
    assert [line for line in lines if line.startswith("FAIL")] == about


@pytest.mark.slow
def test_doctor_passes_on_a_set_up_machine_and_loads_each_model(tmp_path: Path) -> None:
    done = _doctor(tmp_path, "--port", str(_free_port()))
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert lines[-1] == "all good"
    for name in ("python", "espeak-ng", "sox", "chromium", "redis", "port", "demo"):
        assert any(line.startswith(f"ok    {name}") for line in lines), (name, done.stdout)
    models = [line for line in lines if line.startswith("ok    model ")]
    assert len(models) == 5 and all(" loaded in " in line for line in models), done.stdout


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_a_busy_port_says_how_to_pick_another() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        settings = Settings(HOST="127.0.0.1", PORT=port)
        (result,) = doctor.check_port(settings)
    assert result.status == doctor.FAIL
    assert "make run PORT=" in result.line()


def test_the_demo_line_follows_the_host() -> None:
    (local,) = doctor.check_demo(Settings(HOST="127.0.0.1", PORT=8000))
    assert local.status == doctor.OK and "http://127.0.0.1:8000/demo" in local.detail
    (public,) = doctor.check_demo(Settings(HOST="0.0.0.0", PORT=8000))
    assert public.status == doctor.WARN and "VIVA_DEMO=on" in public.fix
    (asked,) = doctor.check_demo(Settings(HOST="0.0.0.0", PORT=8000, VIVA_DEMO="on"))
    assert asked.status == doctor.OK


def test_checks_are_injectable_and_failures_counted() -> None:
    printed: list[str] = []

    def broken() -> list[doctor.Result]:
        return [doctor.Result(doctor.FAIL, "thing", "is broken", "mend it")]

    def fine() -> list[doctor.Result]:
        return [doctor.Result(doctor.OK, "other", "fine")]

    assert doctor.run([broken, fine], out=printed.append) == 1
    assert printed == [
        "FAIL  thing: is broken. Fix: mend it",
        "ok    other: fine",
        "1 problem(s) to fix",
    ]
