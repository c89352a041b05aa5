"""Webhooks to a real HTTP receiver on 127.0.0.1: it fails twice, then accepts. Deliveries are
signed, retried with back-off, logged per session, and survive an app restart."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from server import webhooks
from server.settings import Settings
from server.storage import guard, keys
from tests.api_support import running_app

# The receivers run on loopback, which webhooks may reach only when allowed explicitly.
LOCAL = "127.0.0.1/32"


@dataclass
class Received:
    at: float
    headers: dict[str, str]
    body: bytes
    answered: int


@dataclass
class Receiver:
    """Answers 500 to the first `failures` requests, then 200; records every request."""

    failures: int
    requests: list[Received] = field(default_factory=list)
    url: str = ""

    def handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                status = 500 if len(receiver.requests) < receiver.failures else 200
                receiver.requests.append(Received(time.time(), dict(self.headers), body, status))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                pass

        return Handler


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    receiver = Receiver(failures=2)
    server = ThreadingHTTPServer(("127.0.0.1", 0), receiver.handler())
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/viva"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield receiver
    server.shutdown()
    thread.join()


def wait_for(condition: Callable[[], bool], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def valid_signature(secret: str, request: Received) -> bool:
    timestamp = request.headers["X-Viva-Timestamp"]
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + request.body, hashlib.sha256)
    return hmac.compare_digest(
        request.headers["X-Viva-Signature"], "sha256=" + expected.hexdigest()
    )


@pytest.mark.models
def test_delivery_retries_until_accepted_across_a_restart(
    settings: Settings, receiver: Receiver
) -> None:
    fast = settings.model_copy(
        update={
            "webhook_backoff_s": 1.0,
            "webhook_timeout_s": 2.0,
            "webhook_max_attempts": 5,
            "webhook_allow_networks": LOCAL,
        }
    )
    with running_app(fast) as api:
        headers = api.tenant()
        secret = api.client.get("/v1/webhook-secret", headers=headers).json()["secret"]
        access = api.client.post(
            "/v1/sessions",
            headers=headers,
            json={
                "interview_id": "behavioral-1",
                "webhook_url": receiver.url,
                "candidate": {"external_id": "cand-7"},
                "tags": ["night-shift"],
            },
        ).json()
        session_id = access["session"]["id"]
        ended = api.client.post(f"/v1/sessions/{session_id}/end", headers=headers).json()
        wait_for(lambda: len(receiver.requests) >= 1, 20)
    stopped_at = time.time()
    assert receiver.requests[0].answered == 500

    with running_app(fast) as api:  # same data dir: the queue and the retry survived
        wait_for(lambda: len(receiver.requests) >= 3, 30)
        time.sleep(0.3)  # let the worker log the last attempt
        log = api.client.get(f"/v1/sessions/{session_id}/webhooks", headers=headers).json()

    first, *_, last = receiver.requests
    assert [r.answered for r in receiver.requests] == [500, 500, 200]
    assert last.at > stopped_at  # accepted by the restarted app
    assert all(valid_signature(secret, r) for r in receiver.requests)
    assert not valid_signature("whsec_other", first)
    delivery_ids = {r.headers["X-Viva-Delivery"] for r in receiver.requests}
    assert len(delivery_ids) == 1  # one delivery, attempted three times
    # Back-off: the second wait is about twice the first.
    gaps = [b.at - a.at for a, b in zip(receiver.requests, receiver.requests[1:], strict=False)]
    assert gaps[0] >= 0.9 and gaps[1] >= 1.8

    payload = json.loads(last.body)
    event = {"partial": "session.partial", "low_confidence": "session.low_confidence"}[
        ended["status"]
    ]
    assert payload["type"] == event == last.headers["X-Viva-Event"]
    assert payload["data"]["session_id"] == session_id
    assert payload["data"]["status"] == ended["status"]
    assert payload["data"]["external_id"] == "cand-7" and payload["data"]["tags"] == ["night-shift"]

    attempts = log["attempts"]
    assert [(a["attempt"], a["status_code"], a["delivered"]) for a in attempts] == [
        (1, 500, False),
        (2, 500, False),
        (3, 200, True),
    ]
    assert attempts[0]["next_attempt_at"] is not None and attempts[2]["next_attempt_at"] is None


@pytest.mark.models
def test_delivery_goes_on_after_the_queue_is_flushed(
    settings: Settings, receiver: Receiver
) -> None:
    """FLUSHDB or a failover to an empty replica takes the stream and its consumer group; the
    worker makes them again instead of dying on NOGROUP."""
    receiver.failures = 0
    with running_app(settings.model_copy(update={"webhook_allow_networks": LOCAL})) as api:
        redis = api.client.app.state.services.store.redis  # type: ignore[attr-defined]
        portal = api.client.portal
        assert portal is not None
        headers = api.tenant()
        wait_for(lambda: portal.call(redis.exists, keys.WEBHOOKS) == 1, 10)
        portal.call(redis.delete, keys.WEBHOOKS)
        time.sleep(0.5)  # the worker polls into the missing group
        session_id = api.client.post(
            "/v1/sessions",
            headers=headers,
            json={"interview_id": "behavioral-1", "webhook_url": receiver.url},
        ).json()["session"]["id"]
        api.client.post(f"/v1/sessions/{session_id}/end", headers=headers)
        wait_for(lambda: len(receiver.requests) >= 1, 20)
    assert json.loads(receiver.requests[0].body)["data"]["session_id"] == session_id


def test_webhook_secret_rotates(settings: Settings) -> None:
    with running_app(settings) as api:
        headers = api.tenant()
        first = api.client.get("/v1/webhook-secret", headers=headers).json()["secret"]
        assert api.client.get("/v1/webhook-secret", headers=headers).json()["secret"] == first
        rotated = api.client.post("/v1/webhook-secret/rotate", headers=headers).json()["secret"]
        assert rotated != first and rotated.startswith("whsec_")
        assert api.client.get("/v1/webhook-secret", headers=headers).json()["secret"] == rotated
        other = api.client.get("/v1/webhook-secret", headers=api.tenant("Other")).json()["secret"]
        assert other not in (first, rotated)


@pytest.mark.models
def test_a_delivery_queued_for_an_erased_session_is_dropped(
    settings: Settings, receiver: Receiver
) -> None:
    """`enqueue` checks the session and then XADDs (two slots on a Redis Cluster): one queued by
    an erase in between is dropped by the worker, which checks again, without a request."""
    receiver.failures = 0
    with running_app(settings.model_copy(update={"webhook_allow_networks": LOCAL})) as api:
        redis = api.client.app.state.services.store.redis  # type: ignore[attr-defined]
        portal = api.client.portal
        assert portal is not None
        headers = api.tenant()

        def new_session() -> str:
            body = {"interview_id": "behavioral-1", "webhook_url": receiver.url}
            response = api.client.post("/v1/sessions", headers=headers, json=body)
            return str(response.json()["session"]["id"])

        gone = new_session()
        portal.call(guard.mark_deleted, redis, gone)
        late = webhooks.Delivery("whd_late", "ten_x", gone, "session.completed", receiver.url, "{}")
        portal.call(redis.xadd, keys.WEBHOOKS, {"delivery": late.to_json()})
        live = new_session()
        api.client.post(f"/v1/sessions/{live}/end", headers=headers)
        wait_for(lambda: len(receiver.requests) >= 1, 20)
        wait_for(lambda: portal.call(redis.xlen, keys.WEBHOOKS) == 0, 10)
    assert [json.loads(r.body)["data"]["session_id"] for r in receiver.requests] == [live]
