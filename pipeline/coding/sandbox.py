"""Candidate code, run in a fresh bubblewrap jail per process, never in the server's.

Each program (a compile step, then one process per test case) runs as:

    /usr/bin/setpriv: to an unprivileged uid of its own slot (see `Sandbox.uid`), no groups
    -> /usr/bin/prlimit: CPU, data memory, processes, file size, open files, stack, no core
    -> /usr/bin/bwrap --unshare-all --unshare-user (no network: an empty network namespace)
       --die-with-parent --new-session --disable-userns --clearenv --uid/--gid 65534
       read-only binds: /usr (and the /bin, /lib... links of a merged-/usr Debian), the
       language's own config (Java: /etc/java-17-openjdk), the run's source at /src
       (read-only), its compiled output at /out (writable only to the compile step);
       a size-capped tmpfs at /tmp (the working directory), a fresh /proc and a minimal /dev.

Why setuid before bwrap: the server runs as root here, and RLIMIT_NPROC does not bind a
process whose user is root outside the jail (a user namespace maps the jail's uid to the
caller's). From an unprivileged uid, bwrap makes its jail in an unprivileged user namespace, and
the process limit counts that uid's processes: a fork bomb stops at `Limits.processes`. Each
concurrent slot has uids of its own (a block of them per server process: `default_uid_base`),
so one run's fork bomb cannot starve another's threads. A slot takes its uids in turn, one per
process: unprivileged bwrap leaves its jail's pid 1 to the host's init to reap, and on a host
whose init reaps late (this one: about 2 s) those zombies would count toward the next jail's
process limit if it had the same uid.

Nothing inside can reach the network (no interface but a down loopback), see the host's files
beyond /usr (no /etc, /root, /home, the repository or the data directory), write anywhere but
/tmp (a tmpfs of `Limits.tmpfs_bytes`, gone with the jail), or outlive its run: on the wall-time
limit, or past `Limits.output_bytes` of output, the jail is killed (SIGKILL to bwrap and its
process group; --die-with-parent then takes the jail's pid 1, and with it every process of the
jail's pid namespace).

Memory is RLIMIT_DATA (private writable memory: heaps, anonymous mmaps), not RLIMIT_AS: V8 and
the JVM reserve gigabytes of address space they never touch, and would not start under an
address-space cap that still means something. The JVM and V8 get their own heap caps too.

Everything is asynchronous (asyncio subprocesses): the event loop never waits on a jail.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import shutil
import signal
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

BWRAP = "/usr/bin/bwrap"
PRLIMIT = "/usr/bin/prlimit"  # util-linux
SETPRIV = "/usr/bin/setpriv"  # util-linux
JAIL_UID = 65534  # nobody, inside the jail
HOST_UID_BASE = 100_000  # outside: uids from here on, a block of UID_BLOCK per server process
UID_BLOCK = 64
UID_BLOCKS = 50_000


def default_uid_base() -> int:
    """This process's block of jail uids. RLIMIT_NPROC counts a uid's processes machine-wide:
    two servers (or a server and a test run) on one machine must not share a uid, or one's fork
    bomb would stop the other's runs. Live processes have distinct pids, so blocks by pid do
    not collide (unless two pids differ by a multiple of UID_BLOCKS)."""
    return HOST_UID_BASE + (os.getpid() % UID_BLOCKS) * UID_BLOCK


MAX_CODE_BYTES = 64 * 1024
STDERR_CAP = 16 * 1024
SHOWN_OUTPUT = 8 * 1024  # of stdout/stderr kept in a result
COMPILE_TIME_MS = 15_000
COMPILE_MEMORY_MB = 1024
JAVA_HOME = "/usr/lib/jvm/java-17-openjdk-amd64"
MEMORY_MARKERS = (
    b"MemoryError",
    b"out of memory",
    b"Out of memory",
    b"bad_alloc",
    b"OutOfMemoryError",
    b"Cannot allocate memory",
    b"Failed to reserve",
    b"insufficient memory",
)

Status = Literal["ok", "failed", "timeout", "memory", "output_limit", "error"]
# One process: ok, or how it ended otherwise.
ExitKind = Literal["ok", "runtime_error", "timeout", "memory", "output_limit"]


class SandboxError(RuntimeError):
    """The jail itself could not be set up (not the candidate's fault)."""


class UnknownLanguage(ValueError):
    pass


@dataclass(frozen=True)
class Limits:
    time_ms: int = 2000  # per test case: CPU time (plus start-up); wall time is twice it
    memory_mb: int = 256  # private writable memory (RLIMIT_DATA), plus the language's overhead
    output_bytes: int = 1024 * 1024  # stdout per process; past it the jail is killed
    processes: int = 32  # processes and threads of the jail's uid (RLIMIT_NPROC)
    file_bytes: int = 8 * 1024 * 1024  # largest file the program may write (RLIMIT_FSIZE)
    tmpfs_bytes: int = 16 * 1024 * 1024  # the whole of /tmp
    open_files: int = 256


@dataclass(frozen=True)
class Language:
    id: str
    name: str
    source: str  # file name of the candidate's code, under /src
    run: tuple[str, ...]  # "{mem}" is the heap cap in MB where the runtime takes one
    compile: tuple[str, ...] = ()
    needs: tuple[str, ...] = ()  # paths that must exist on the host
    binds: tuple[str, ...] = ()  # host paths bound read-only at the same place, when present
    startup_ms: int = 300  # wall time allowed beyond the time limit for start-up
    memory_overhead_mb: int = 0  # the runtime's own, on top of the problem's limit
    processes: int = 0  # threads the runtime needs, on top of the limit
    version_hint: str = ""

    @property
    def available(self) -> bool:
        tools = (BWRAP, PRLIMIT, SETPRIV, *self.needs)
        return all(Path(p).exists() for p in tools)


LANGUAGES: tuple[Language, ...] = (
    # The system interpreter, not the server's virtualenv one: Debian's python3 lives entirely
    # under /usr (so the jail binds nothing else), and the venv's (pyenv, under /root, with the
    # project's packages) would need host directories the jail must not see.
    Language(
        "python",
        "Python 3",
        "main.py",
        ("/usr/bin/python3", "-I", "-S", "-B", "/src/main.py"),
        needs=("/usr/bin/python3",),
        startup_ms=300,
        version_hint="CPython 3 (Debian), standard library only",
    ),
    Language(
        "javascript",
        "JavaScript (Node.js)",
        "main.js",
        ("/usr/bin/node", "--max-old-space-size={mem}", "--stack-size=8000", "/src/main.js"),
        needs=("/usr/bin/node",),
        startup_ms=500,
        memory_overhead_mb=256,
        processes=16,
        version_hint="Node.js (Debian), no npm packages",
    ),
    Language(
        "c",
        "C (gcc, C17)",
        "main.c",
        ("/out/main",),
        compile=("/usr/bin/gcc", "-O2", "-std=c17", "-o", "/out/main", "/src/main.c", "-lm"),
        needs=("/usr/bin/gcc",),
        startup_ms=200,
        version_hint="gcc -O2 -std=c17",
    ),
    Language(
        "cpp",
        "C++ (g++, C++17)",
        "main.cpp",
        ("/out/main",),
        compile=("/usr/bin/g++", "-O2", "-std=c++17", "-o", "/out/main", "/src/main.cpp"),
        needs=("/usr/bin/g++",),
        startup_ms=200,
        version_hint="g++ -O2 -std=c++17",
    ),
    Language(
        "java",
        "Java 17",
        "Main.java",
        (
            f"{JAVA_HOME}/bin/java",
            "-Xmx{mem}m",
            "-Xss16m",
            "-XX:+UseSerialGC",
            "-XX:TieredStopAtLevel=1",
            "-XX:-UsePerfData",
            "-cp",
            "/out",
            "Main",
        ),
        compile=(
            f"{JAVA_HOME}/bin/javac",
            "-J-XX:+UseSerialGC",
            "-J-XX:TieredStopAtLevel=1",
            "-J-XX:-UsePerfData",
            "-d",
            "/out",
            "/src/Main.java",
        ),
        needs=(f"{JAVA_HOME}/bin/java", f"{JAVA_HOME}/bin/javac"),
        binds=("/etc/java-17-openjdk",),
        startup_ms=1500,
        memory_overhead_mb=384,
        processes=64,
        version_hint="OpenJDK 17; the class is Main, in Main.java",
    ),
)
LANGUAGE_BY_ID = {lang.id: lang for lang in LANGUAGES}


def available_languages() -> list[Language]:
    """The languages whose toolchain is on this machine (and bubblewrap with them)."""
    return [lang for lang in LANGUAGES if lang.available]


def language(language_id: str) -> Language:
    """The language if it is known and available here, else UnknownLanguage saying why."""
    lang = LANGUAGE_BY_ID.get(language_id)
    if lang is None or not lang.available:
        offered = ", ".join(x.id for x in available_languages()) or "none"
        what = "is not available on this server" if lang else "is not a known language"
        raise UnknownLanguage(f"'{language_id}' {what}; available: {offered}")
    return lang


@dataclass(frozen=True)
class TestCase:
    __test__ = False  # not a pytest class

    name: str
    stdin: str
    expected: str
    hidden: bool = False


@dataclass(frozen=True)
class Execution:
    """One process in a jail."""

    kind: ExitKind
    exit_code: int
    stdout: str
    stderr: str
    time_ms: int


@dataclass(frozen=True)
class TestResult:
    name: str
    passed: bool
    time_ms: int
    hidden: bool
    outcome: (
        str  # passed | wrong_answer | runtime_error | timeout | memory | output_limit | skipped
    )
    stdout: str = ""
    stderr: str = ""


@dataclass(frozen=True)
class RunResult:
    status: Status
    tests: list[TestResult]
    stdout: str  # of the custom-input run when there is one, else of the first visible test
    stderr: str
    time_ms: int
    compile_output: str = ""
    extra: dict[str, object] = field(default_factory=dict)

    @property
    def hidden_passed(self) -> int:
        return sum(1 for t in self.tests if t.hidden and t.passed)

    @property
    def hidden_total(self) -> int:
        return sum(1 for t in self.tests if t.hidden)


def same_output(actual: str, expected: str) -> bool:
    """Outputs compare line by line, ignoring trailing spaces and trailing blank lines."""

    def norm(text: str) -> list[str]:
        lines = [line.rstrip() for line in text.replace("\r\n", "\n").split("\n")]
        while lines and not lines[-1]:
            lines.pop()
        return lines

    return norm(actual) == norm(expected)


def _host_root_binds() -> list[str]:
    """/usr read-only, and the merged-/usr links (/bin -> usr/bin...) as the host has them."""
    args = ["--ro-bind", "/usr", "/usr"]
    for name in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
        path = Path("/") / name
        if path.is_symlink():
            args += ["--symlink", os.readlink(path), str(path)]
        elif path.is_dir():
            args += ["--ro-bind", str(path), str(path)]
    return args


def limits_argv(limits: Limits, lang: Language, cpu_s: int) -> list[str]:
    """`prlimit` in front of bwrap: the limits are set by an exec'd program, not by Python code
    between fork and exec (a preexec_fn is unsafe in a threaded server)."""
    memory = (limits.memory_mb + lang.memory_overhead_mb) * 1024 * 1024
    nproc = limits.processes + lang.processes
    return [
        PRLIMIT,
        f"--cpu={cpu_s}:{cpu_s + 1}",
        f"--data={memory}",
        f"--nproc={nproc}",
        f"--fsize={limits.file_bytes}",
        f"--nofile={limits.open_files}",
        f"--stack={64 << 20}",
        "--core=0",
        "--",
    ]


def user_argv(uid: int) -> list[str]:
    """As root: `setpriv` drops to the slot's uid before anything else runs (see the module's
    notes). An exec'd program, not subprocess's `user=`: uvloop (the server's loop) has none."""
    if os.geteuid() != 0:
        return []
    return [SETPRIV, f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--"]


def jail_argv(
    lang: Language, workdir: Path, argv: Sequence[str], *, compiling: bool, limits: Limits
) -> list[str]:
    """The bwrap command line for one process of a run."""
    args = [
        BWRAP,
        "--unshare-all",
        "--unshare-user",
        "--unshare-net",
        "--disable-userns",
        "--die-with-parent",
        "--new-session",
        "--clearenv",
        "--setenv",
        "PATH",
        "/usr/bin:/bin",
        "--setenv",
        "HOME",
        "/tmp",
        "--setenv",
        "TMPDIR",
        "/tmp",
        "--setenv",
        "LANG",
        "C.UTF-8",
        "--uid",
        str(JAIL_UID),
        "--gid",
        str(JAIL_UID),
        "--hostname",
        "sandbox",
        *_host_root_binds(),
    ]
    for path in lang.binds:
        if Path(path).exists():
            args += ["--ro-bind", path, path]
    args += ["--ro-bind", str(workdir / "src"), "/src"]
    if lang.compile:
        args += ["--bind" if compiling else "--ro-bind", str(workdir / "out"), "/out"]
    args += [
        "--proc",
        "/proc",
        "--dev",
        "/dev",
        "--size",
        str(limits.tmpfs_bytes),
        "--tmpfs",
        "/tmp",
        "--remount-ro",
        "/",
        "--chdir",
        "/tmp",
        "--",
        *argv,
    ]
    return args


async def _read_capped(
    stream: asyncio.StreamReader | None, cap: int, over: asyncio.Event
) -> tuple[bytes, bool]:
    """Up to `cap` bytes, and whether there was more. Past the cap, `over` is set (the jail is
    killed) and the rest is read and dropped until the pipe closes: an unread pipe would keep
    the process from being reaped."""
    if stream is None:
        return b"", False
    buf = bytearray()
    more = False
    while chunk := await stream.read(65536):
        if more:
            continue
        buf += chunk
        if len(buf) > cap:
            more = True
            del buf[cap:]
            over.set()
    return bytes(buf), more


async def _feed(writer: asyncio.StreamWriter | None, data: bytes) -> None:
    """The test's input to the program. A program may exit without reading it: its pipe is
    then closed (uvloop raises RuntimeError on a write to a closed pipe, asyncio a broken pipe),
    and the run is judged on what the program wrote."""
    if writer is None or writer.is_closing():
        return
    with contextlib.suppress(BrokenPipeError, ConnectionResetError):
        if data:
            writer.write(data)
            await writer.drain()
        writer.close()
        await writer.wait_closed()


def _kill(proc: asyncio.subprocess.Process) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(ProcessLookupError):
        proc.kill()


def _text(data: bytes, cap: int = SHOWN_OUTPUT) -> str:
    return data[:cap].decode("utf-8", errors="replace")


def _was_killed_for_time(code: int) -> bool:
    # bwrap exits 128 + signal when the program died of one; asyncio reports -signal for bwrap.
    return code in (
        128 + signal.SIGXCPU,
        128 + signal.SIGKILL,
        -signal.SIGXCPU,
        -signal.SIGKILL,
    )


class Sandbox:
    """Runs programs in jails, at most `concurrency` at a time (each slot its own host uid)."""

    def __init__(self, concurrency: int = 2, uid_base: int | None = None) -> None:
        if not 1 <= concurrency <= UID_BLOCK:
            raise ValueError(f"concurrency must be 1 to {UID_BLOCK}")
        self.concurrency = concurrency
        uid_base = default_uid_base() if uid_base is None else uid_base
        self.uid_base = uid_base
        self._per_slot = UID_BLOCK // concurrency
        self._turn = [0] * concurrency
        self._free: list[int] = list(range(concurrency))  # free slots
        self._slots: asyncio.Semaphore | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def _semaphore(self) -> asyncio.Semaphore:
        loop = asyncio.get_running_loop()
        if self._slots is None or self._loop is not loop:
            self._slots, self._loop = asyncio.Semaphore(self.concurrency), loop
            self._free = list(range(self.concurrency))
        return self._slots

    def uid(self, slot: int) -> int:
        """The slot's next uid (its uids in turn: see the module's notes)."""
        turn = self._turn[slot]
        self._turn[slot] = (turn + 1) % self._per_slot
        return self.uid_base + slot * self._per_slot + turn

    @property
    def uids(self) -> range:
        return range(self.uid_base, self.uid_base + UID_BLOCK)

    @property
    def busy(self) -> int:
        """Slots in use now."""
        return self.concurrency - len(self._free) if self._slots is not None else 0

    async def execute(
        self,
        lang: Language,
        workdir: Path,
        argv: Sequence[str],
        stdin: str,
        limits: Limits,
        uid: int,
        *,
        compiling: bool = False,
    ) -> Execution:
        """One process in a fresh jail: its output (capped) and how it ended."""
        # CPU time is the limit that judges (plus the runtime's start-up); wall time is twice
        # the limit, so that a loaded machine does not fail a solution within its CPU budget,
        # while a program that sleeps or blocks still ends.
        cpu_s = max(1, math.ceil((limits.time_ms + lang.startup_ms) / 1000))
        wall_s = (2 * limits.time_ms + lang.startup_ms) / 1000
        started = time.monotonic()
        proc = await asyncio.create_subprocess_exec(
            *user_argv(uid),
            *limits_argv(limits, lang, cpu_s),
            *jail_argv(lang, workdir, argv, compiling=compiling, limits=limits),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            start_new_session=True,
            close_fds=True,
            env={},
        )
        feeder = asyncio.create_task(_feed(proc.stdin, stdin.encode()))
        over = asyncio.Event()
        out_task = asyncio.create_task(_read_capped(proc.stdout, limits.output_bytes, over))
        err_task = asyncio.create_task(_read_capped(proc.stderr, STDERR_CAP, over))
        over_task: asyncio.Future[Any] = asyncio.create_task(over.wait())
        timed_out = False
        try:
            ended: asyncio.Future[Any] = asyncio.gather(out_task, err_task, proc.wait())
            done, _ = await asyncio.wait(
                {ended, over_task}, timeout=wall_s, return_when=asyncio.FIRST_COMPLETED
            )
            timed_out = not done
        finally:
            if proc.returncode is None:
                _kill(proc)
            over_task.cancel()
            stdout, out_over = await out_task
            stderr, err_over = await err_task
            code = await proc.wait()
            feeder.cancel()
            for task in (feeder, over_task):
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        overflow = out_over or err_over
        elapsed = round((time.monotonic() - started) * 1000)
        if (
            not (timed_out or overflow)
            and code == 1
            and stderr.startswith((b"bwrap:", b"prlimit:", b"setpriv:"))
        ):
            raise SandboxError(_text(stderr, 500))
        kind: ExitKind
        if overflow:
            kind = "output_limit"
        elif timed_out or _was_killed_for_time(code):
            kind = "timeout"
        elif code != 0 and any(m in stderr for m in MEMORY_MARKERS):
            kind = "memory"
        elif code != 0:
            kind = "runtime_error"
        else:
            kind = "ok"
        # Whole (up to the cap) for comparing; results keep SHOWN_OUTPUT of it.
        return Execution(kind, code, _text(stdout, len(stdout)), _text(stderr), elapsed)

    async def run(
        self,
        language_id: str,
        code: str,
        tests: Sequence[TestCase] = (),
        *,
        stdin: str | None = None,
        limits: Limits | None = None,
    ) -> RunResult:
        """Compile if the language needs it, run the custom input (if any) and each test case
        in its own jail. After a test times out, runs out of memory or floods its output, the
        later ones are skipped (they count as failed): a run's total time stays bounded."""
        lang = language(language_id)
        limits = limits or Limits()
        if len(code.encode()) > MAX_CODE_BYTES:
            raise ValueError(f"code is larger than {MAX_CODE_BYTES} bytes")
        started = time.monotonic()
        async with self._semaphore():
            slot = self._free.pop()
            try:
                return await self._run(lang, code, tests, stdin, limits, slot, started)
            finally:
                self._free.append(slot)

    async def _run(
        self,
        lang: Language,
        code: str,
        tests: Sequence[TestCase],
        stdin: str | None,
        limits: Limits,
        slot: int,
        started: float,
    ) -> RunResult:
        workdir = Path(tempfile.mkdtemp(prefix="viva-code-"))
        try:
            compile_uid = self.uid(slot)
            _prepare(workdir, lang, code, compile_uid)
            if lang.compile:
                compiled = await self.execute(
                    lang,
                    workdir,
                    lang.compile,
                    "",
                    replace(
                        limits,
                        time_ms=COMPILE_TIME_MS,
                        memory_mb=COMPILE_MEMORY_MB,
                        output_bytes=STDERR_CAP,
                        file_bytes=64 << 20,
                        processes=max(limits.processes, 64),
                    ),
                    compile_uid,
                    compiling=True,
                )
                if compiled.kind != "ok":
                    message = (compiled.stderr or compiled.stdout).strip()
                    if compiled.kind != "runtime_error":
                        message = f"compilation stopped ({compiled.kind}). {message}"
                    return RunResult(
                        status="error",
                        tests=[TestResult(t.name, False, 0, t.hidden, "skipped") for t in tests],
                        stdout="",
                        stderr=message,
                        time_ms=_ms_since(started),
                        compile_output=message,
                    )
            argv = [a.replace("{mem}", str(limits.memory_mb)) for a in lang.run]
            custom: Execution | None = None
            if stdin is not None:
                custom = await self.execute(lang, workdir, argv, stdin, limits, self.uid(slot))
            results: list[TestResult] = []
            stop: str | None = custom.kind if custom and _fatal(custom.kind) else None
            for case in tests:
                if stop is not None:
                    results.append(TestResult(case.name, False, 0, case.hidden, "skipped"))
                    continue
                ran = await self.execute(lang, workdir, argv, case.stdin, limits, self.uid(slot))
                if ran.kind == "ok":
                    passed = same_output(ran.stdout, case.expected)
                    outcome = "passed" if passed else "wrong_answer"
                else:
                    passed, outcome = False, ran.kind
                results.append(
                    TestResult(
                        case.name,
                        passed,
                        ran.time_ms,
                        case.hidden,
                        outcome,
                        ran.stdout[:SHOWN_OUTPUT],
                        ran.stderr,
                    )
                )
                if _fatal(ran.kind):
                    stop = ran.kind
            return _summarise(results, custom, started)
        finally:
            shutil.rmtree(workdir, ignore_errors=True)


def _fatal(kind: str) -> bool:
    return kind in ("timeout", "memory", "output_limit")


def _ms_since(started: float) -> int:
    return round((time.monotonic() - started) * 1000)


def _prepare(workdir: Path, lang: Language, code: str, uid: int) -> None:
    """The run's host directory: src/ (the code, read-only in the jail), out/ (the compile
    step's output, owned by the slot's uid)."""
    workdir.chmod(0o755)
    src = workdir / "src"
    src.mkdir(mode=0o755)
    path = src / lang.source
    path.write_text(code, encoding="utf-8")
    path.chmod(0o644)
    out = workdir / "out"
    out.mkdir(mode=0o755)
    if os.geteuid() == 0:
        os.chown(out, uid, uid)


def _summarise(results: list[TestResult], custom: Execution | None, started: float) -> RunResult:
    kinds = [r.outcome for r in results] + ([custom.kind] if custom else [])
    status: Status
    if "timeout" in kinds:
        status = "timeout"
    elif "memory" in kinds:
        status = "memory"
    elif "output_limit" in kinds:
        status = "output_limit"
    elif any(not r.passed for r in results) or (custom is not None and custom.kind != "ok"):
        status = "failed"
    else:
        status = "ok"
    if custom is not None:
        stdout, stderr = custom.stdout[:SHOWN_OUTPUT], custom.stderr
    else:
        visible = [r for r in results if not r.hidden]
        shown = next((r for r in visible if not r.passed), visible[0] if visible else None)
        stdout, stderr = (shown.stdout, shown.stderr) if shown else ("", "")
    return RunResult(status, results, stdout, stderr, _ms_since(started))
