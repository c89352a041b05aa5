"""The voice stream under 10 000 random frames (issue 12, fault tests): binary frames of odd,
empty and huge lengths, text that is not JSON or not an object, unknown types, known types with
bad fields, and valid messages out of order (a `hello` late, `playback` of turns never spoken,
`answer_done` with no answer, `end` at once). Seeded: each fuzzer sends the same frames every
run (where the server closes its sockets, and so the totals, depend on timing).

The frames go to live sessions of a `viva serve` child process, from several sockets at once;
the server closes a socket on a protocol error, so each fuzzer reconnects (a new session once
one is finished). Meanwhile another candidate's session must keep answering, no socket may be
closed with 1011, the server's log must hold no traceback, and its memory must stay bounded.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import httpx
import numpy as np
import pytest
import websockets

from tests.faults_support import (
    ANSWERS,
    CRASH_MARKERS,
    INTERVIEW,
    Rest,
    ServerProcess,
    embedded_redis_url,
    new_api_key,
    rss_mb,
)
from tests.stream_client import StreamClient, matches

pytestmark = pytest.mark.slow

SEED = 20261129
TOTAL_FRAMES = 10_000
FUZZERS = 6  # sockets fuzzing at once, one session each
FRAME_GAP_S = 0.012  # per socket: under the stream's 150 messages/s, so most frames get through
# The memory baseline is taken after the first 2 000 frames: by then Whisper, the VAD and the
# speaker encoder have run on inputs of many sizes and their allocators hold what they keep
# (+110 to +145 MB from the start). Over the 8 000 frames after it the server grew by 59 to
# 78 MB in our runs, decelerating (a 40 000-frame run: +97, +16, +32, +10 MB per 10 000).
MEASURE_FROM = 2_000
RSS_GROWTH_MB = 120.0
REPLY_WITHIN_S = 20.0  # the other candidate's typed answers get their replies this soon
# Not close codes of a bug: protocol errors (4400), limits (4429, 1009: over uvicorn's 1 MiB
# frame limit; 1007: a text frame that is not UTF-8), finished (1000, 4409), or the client's own.
EXPECTED_CLOSES = {1000, 1007, 1009, 4400, 4409, 4429}
SERVER_ENV = {
    "VIVA_CONNECTS_PER_MINUTE": "100000",
    "VIVA_MAX_STREAMS": "64",
    "VIVA_DAILY_SESSION_QUOTA": "100000",
    "VIVA_RATE_LIMIT_PER_MINUTE": "1000000",
    "VIVA_SESSION_RATE_LIMIT_PER_MINUTE": "1000000",
}


class TextBytes(bytes):
    """Bytes to send as a text frame (maybe not UTF-8)."""


Frame = bytes | str


def _pcm(rng: random.Random, samples: int, loud: bool) -> bytes:
    """Noise as s16le: mostly a quiet room, sometimes loud (what the VAD must not take for a
    candidate, or may: either way no crash)."""
    noise = np.random.default_rng(rng.getrandbits(32)).normal(0, 8000 if loud else 150, samples)
    return np.clip(noise, -32768, 32767).astype("<i2").tobytes()


def _random_text(rng: random.Random, size: int) -> str:
    return "".join(
        chr(rng.choice((rng.randint(32, 126), rng.randint(0x80, 0x2FFF)))) for _ in range(size)
    )


def _nested(rng: random.Random) -> str:
    depth = rng.choice((50, 5_000, 200_000))
    return '{"type":"ping","x":' + "[" * depth + "]" * depth + "}"


# (weight, kind, make). Roughly 1 frame in 20 is one the server must close the socket for.
FRAMES: list[tuple[float, str, Callable[[random.Random], Frame]]] = [
    (30, "audio", lambda r: _pcm(r, r.choice((160, 320, 480, 1600)), r.random() < 0.1)),
    (3, "audio_short", lambda r: _pcm(r, r.randint(0, 40), False)),
    (1, "audio_odd", lambda r: bytes(r.randrange(1, 6400, 2))),
    (0.6, "audio_large", lambda r: bytes(2 * r.randint(3201, 200_000))),
    (0.1, "audio_huge", lambda r: bytes(r.choice((1 << 20, 3 << 19)))),
    (8, "ping", lambda r: json.dumps({"type": "ping"})),
    (8, "unknown_type", lambda r: json.dumps({"type": _random_text(r, r.randint(0, 80))})),
    (
        6,
        "playback",
        lambda r: json.dumps(
            {"type": "playback", "event": "finished", "turn": r.choice((-1, 0, 1, 7, 2**40))}
        ),
    ),
    (6, "answer_done", lambda r: json.dumps({"type": "answer_done"})),
    (
        1.5,
        "answer_text",
        lambda r: json.dumps(
            {"type": "answer_text", "text": r.choice(ANSWERS)[: r.randint(1, 200)]}
        ),
    ),
    (1.5, "consent", lambda r: json.dumps({"type": "consent", "version": "2026-01"})),
    (
        4,
        "extra_fields",
        lambda r: json.dumps(
            {"type": "ping", "x": _random_text(r, 20), "n": r.random(), "nested": {"a": [1, None]}}
        ),
    ),
    (0.8, "late_hello", lambda r: json.dumps({"type": "hello", "mode": "chat"})),
    (0.7, "not_json", lambda r: _random_text(r, r.randint(0, 300))),
    (
        0.5,
        "not_object",
        lambda r: r.choice(("[1,2]", '"ping"', "null", "1e999", "{}", '{"type":7}')),
    ),
    (
        0.5,
        "bad_fields",
        lambda r: r.choice(
            (
                '{"type":"playback","event":"started","turn":1}',
                '{"type":"playback","turn":"one"}',
                '{"type":"answer_text"}',
                '{"type":"answer_text","text":["a"]}',
                '{"type":"consent","version":"1999-01"}',
                '{"type":"hello","audio":{"sample_rate":"fast"}}',
            )
        ),
    ),
    (0.2, "huge_answer", lambda r: json.dumps({"type": "answer_text", "text": "a" * 20_001})),
    (0.2, "deep_json", _nested),
    (0.2, "long_number", lambda r: '{"type":"ping","n":' + "9" * r.choice((4000, 5000)) + "}"),
    (0.2, "not_utf8", lambda r: TextBytes(b'{"type":"ping","x":"\xff\xfe"}')),
    (0.15, "end", lambda r: json.dumps({"type": "end"})),
]
_WEIGHTS = [w for w, _, _ in FRAMES]


def frames(rng: random.Random) -> Iterator[tuple[str, Frame]]:
    while True:
        _, kind, make = rng.choices(FRAMES, weights=_WEIGHTS)[0]
        yield kind, make(rng)


def opening_frame(rng: random.Random) -> Frame | None:
    """What a socket sends first: nothing, a valid `hello`, or one with a bad rate."""
    pick = rng.random()
    if pick < 0.5:
        return None
    rate = rng.choice((8000, 16000, 48000)) if pick < 0.9 else rng.choice((0, 11025, 10**9))
    return json.dumps({"type": "hello", "audio": {"sample_rate": rate}, "mode": "chat"})


@dataclass
class Tally:
    frames: int = 0
    connects: int = 0
    sessions: int = 0
    kinds: Counter[str] = field(default_factory=Counter)
    closes: Counter[int] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    received: Counter[str] = field(default_factory=Counter)  # the server's messages, by type


async def _send(client: StreamClient, frame: Frame) -> bool:
    try:
        if isinstance(frame, TextBytes):
            await client.ws.send(bytes(frame), text=True)
        else:
            await client.ws.send(frame)
    except websockets.ConnectionClosed:
        return False
    return True


async def _socket(
    server: ServerProcess, session: tuple[str, str], rng: random.Random, quota: int, tally: Tally
) -> tuple[int, int | None]:
    """One socket's worth of frames, until the server closes it or the quota is sent;
    returns (frames sent, the server's close code or None)."""
    client = await StreamClient.connect(server.ws_url(session[0]), session[1])
    tally.connects += 1
    sent = 0
    first = opening_frame(rng)
    if first is not None and await _send(client, first):
        sent += 1
        tally.frames += 1
    source = frames(rng)
    while sent < quota and client.close_code is None:
        kind, frame = next(source)
        if not await _send(client, frame):
            break
        sent += 1
        tally.frames += 1
        tally.kinds[kind] += 1
        await asyncio.sleep(FRAME_GAP_S)
    if client.close_code is None and sent >= quota:
        await client.close()
        code: int | None = None
    else:
        code = await client.wait_closed(30)
    tally.errors.update(m["code"] for m in client.messages("error"))
    tally.received.update(m["type"] for m in client.messages())
    return sent, code


async def _fuzzer(server: ServerProcess, rest: Rest, seed: int, quota: int, tally: Tally) -> None:
    """Frames for `quota`, over as many sockets (and sessions) as the server's closes take."""
    rng = random.Random(seed)
    consented = seed % 3 != 0  # some sessions without consent: audio is dropped and said so
    session = await _session(rest, tally, consented)
    while quota > 0:
        sent, code = await _socket(server, session, rng, quota, tally)
        quota -= sent
        if code is not None:
            tally.closes[code] += 1
        if code in (1000, 4409):  # finished (`end`, or answered to the closing): a new one
            session = await _session(rest, tally, consented)
        elif code == 4429:
            await asyncio.sleep(1.0)


async def _session(rest: Rest, tally: Tally, consented: bool) -> tuple[str, str]:
    tally.sessions += 1
    if consented:
        return await rest.session("chat")
    made = await rest.client.post(
        "/v1/sessions",
        headers=rest.tenant,
        json={"interview_id": await _interview(rest), "mode": "chat"},
    )
    assert made.status_code == 201, made.text
    return made.json()["session"]["id"], made.json()["token"]


async def _interview(rest: Rest) -> str:
    created = await rest.client.post("/v1/interviews", headers=rest.tenant, json=INTERVIEW)
    assert created.status_code == 201, created.text
    return str(created.json()["interview_id"])


@dataclass
class Bystander:
    """Another candidate answering by typing throughout: each reply's latency."""

    latencies: list[float] = field(default_factory=list)
    closes: list[int | None] = field(default_factory=list)


async def _bystander(
    server: ServerProcess, rest: Rest, done: asyncio.Event, seen: Bystander
) -> None:
    while not done.is_set():
        session_id, token = await rest.session("chat")
        client = await StreamClient.connect(server.ws_url(session_id), token, mode="chat")
        await client.wait_for(matches(type="agent_text"), REPLY_WITHIN_S)
        turn, n = 0, 0
        while not done.is_set() and not any(m["is_complete"] for m in client.messages("progress")):
            sent = time.monotonic()
            await client.send({"type": "answer_text", "text": ANSWERS[n % len(ANSWERS)]})
            turn, n = turn + 2, n + 1
            await client.wait_for(matches(type="agent_text", turn=turn), REPLY_WITHIN_S)
            seen.latencies.append(time.monotonic() - sent)
            await asyncio.sleep(0.5)
        if client.close_code is None and not done.is_set():
            seen.closes.append(await client.wait_closed(30))
        else:
            await client.close()


async def _sample_rss(
    pid: int, tally: Tally, samples: dict[str, float], done: asyncio.Event
) -> None:
    samples["start"] = rss_mb(pid)
    while not done.is_set():
        rss = rss_mb(pid)
        samples["peak"] = max(samples.get("peak", 0.0), rss)
        if "baseline" not in samples and tally.frames >= MEASURE_FROM:
            samples["baseline"] = rss
        samples[f"{tally.frames // 1000}k"] = rss  # the last reading in each thousand
        await asyncio.sleep(0.25)


@pytest.fixture(scope="module")
def fuzz_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    root = tmp_path_factory.mktemp("fuzz")
    server = ServerProcess(root / "data", root / "server.log", env=SERVER_ENV).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.mark.timeout(300)
async def test_ten_thousand_random_frames_never_crash_the_stream(
    fuzz_server: ServerProcess,
) -> None:
    api_key = await new_api_key(embedded_redis_url(fuzz_server.data_dir))
    tally, seen, rss = Tally(), Bystander(), dict[str, float]()
    done = asyncio.Event()
    started = time.monotonic()
    async with httpx.AsyncClient(base_url=fuzz_server.base_url, timeout=60) as http:
        rest = Rest(http, api_key)
        sampler = asyncio.create_task(_sample_rss(fuzz_server.pid, tally, rss, done))
        bystander = asyncio.create_task(_bystander(fuzz_server, rest, done, seen))
        quotas = [TOTAL_FRAMES // FUZZERS + (i < TOTAL_FRAMES % FUZZERS) for i in range(FUZZERS)]
        try:
            await asyncio.gather(
                *(_fuzzer(fuzz_server, rest, SEED + i, q, tally) for i, q in enumerate(quotas))
            )
        finally:
            done.set()
        await bystander
        await sampler
        fuzz_s = time.monotonic() - started
        await asyncio.sleep(2.0)  # let closing sockets finish before the last reading
        rss["end"] = rss_mb(fuzz_server.pid)
        health = await http.get("/readyz")
    print(
        f"\nfuzz: {tally.frames} frames in {fuzz_s:.1f} s over {tally.connects} sockets, "
        f"{tally.sessions} sessions; closes {dict(tally.closes)}; errors {dict(tally.errors)}; "
        f"received {dict(tally.received)}; "
        f"RSS MB {', '.join(f'{k} {v:.0f}' for k, v in rss.items())}; bystander replies "
        f"{len(seen.latencies)}, slowest {max(seen.latencies, default=0):.2f} s"
    )

    assert tally.frames >= TOTAL_FRAMES
    assert 1011 not in tally.closes and "internal" not in tally.errors, tally
    assert set(tally.closes) <= EXPECTED_CLOSES, tally.closes
    # The fuzz reached the paths it is for: protocol errors, and the stream going on after
    # the non-fatal ones.
    assert tally.errors["unknown_type"] > 100 and tally.errors["malformed_json"] > 0, tally
    assert tally.closes[4400] > 50, tally.closes
    assert len(seen.latencies) >= 3 and max(seen.latencies) < REPLY_WITHIN_S, seen
    assert all(code == 1000 for code in seen.closes), seen.closes
    assert health.status_code == 200
    assert rss["end"] - rss["baseline"] < RSS_GROWTH_MB, rss
    log = fuzz_server.log()
    assert not any(marker in log for marker in CRASH_MARKERS), log[-5000:]


@pytest.mark.timeout(180)
async def test_issue_24_probes_against_the_live_server(fuzz_server: ServerProcess) -> None:
    """The second hardening round's probes, against the same `viva serve` after the fuzz: a
    stall's backlog keeps its socket (20 s taken whole, 35 s more partly dropped and said so,
    never closed), the embedded Valkey wants its password and the data directory is the owner's, and
    a GET of OneCompiler's room with a user's token changes nothing."""
    import stat

    import redis.asyncio as aioredis

    api_key = await new_api_key(embedded_redis_url(fuzz_server.data_dir), "Probes")
    async with httpx.AsyncClient(base_url=fuzz_server.base_url, timeout=60) as http:
        rest = Rest(http, api_key)
        session_id, token = await rest.session("chat")
        client = await StreamClient.connect(fuzz_server.ws_url(session_id), token)
        frame = _pcm(random.Random(SEED), 320, False)  # 20 ms at 16 kHz
        # 20 s then 35 s more at once: within the hard limit (60 s past 3x real time), over
        # the soft one (30 s): the second burst is partly dropped.
        for seconds in (20, 35):
            for _ in range(seconds * 50):
                assert await _send(client, frame)
            await client.send({"type": "ping"})
            pongs = len(client.messages("pong"))
            await client.wait_for(lambda m, n=pongs: len(client.messages("pong")) > n)  # type: ignore[misc]
            assert client.close_code is None
        errors = [(m["code"], m["fatal"]) for m in client.messages("error")]
        assert ("audio_dropped", False) in errors and all(not fatal for _, fatal in errors)
        await client.close()

        # OneCompiler's room: link previews (GETs) leave the candidate's token alone.
        user = await http.post("/v1/users", headers=rest.tenant, json={})
        user_token = user.json()["user"]["api"]["token"]
        created = await http.post(
            "/v1/ai-interviewer/sessions",
            headers={**rest.tenant, "X-User-Token": user_token},
            json={"interviewId": "behavioral-1", "mode": "chat"},
        )
        oc_id = created.json()["session"]["_id"]
        room = f"/embed/ai-interviewer/{oc_id}?userApiToken={user_token}"
        for _ in range(3):
            assert (await http.get(room)).status_code == 200
        opened = await http.post(
            f"/embed/ai-interviewer/{oc_id}",
            content=f"userApiToken={user_token}",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert opened.status_code == 303
        room_token = opened.headers["location"].partition("#token=")[2]
        for _ in range(3):
            assert (await http.get(room)).status_code == 200
        info = await http.get(
            f"/embed/api/{oc_id}", headers={"Authorization": f"Bearer {room_token}"}
        )
        assert info.status_code == 200, info.text

    url = embedded_redis_url(fuzz_server.data_dir)
    password = url.partition("://:")[2].partition("@")[0]
    anonymous = aioredis.from_url(url.replace(f":{password}@", ""))
    try:
        with pytest.raises(Exception, match=r"(?i)auth"):
            await anonymous.get("viva:tenants")
    finally:
        await anonymous.aclose()
    assert stat.S_IMODE(fuzz_server.data_dir.stat().st_mode) == 0o700
    redis_dir = fuzz_server.data_dir / "redis"
    for path in [redis_dir, *redis_dir.rglob("*")]:
        if path.is_symlink() or not path.exists():
            continue
        want = 0o700 if path.is_dir() else 0o600
        assert stat.S_IMODE(path.stat().st_mode) == want, path
    log = fuzz_server.log()
    assert not any(marker in log for marker in CRASH_MARKERS), log[-5000:]
