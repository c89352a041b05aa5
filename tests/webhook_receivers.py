"""Webhook receivers that misbehave, on a real socket on 127.0.0.1: one answering a huge body, one
trickling its response a byte at a time, one answering at once. Each records what it received,
how many bytes it managed to send and how many requests it held at the same time."""

from __future__ import annotations

import socket
import socketserver
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Literal

Mode = Literal["ok", "huge", "trickle"]


@dataclass
class Hit:
    at: float
    head: str
    body: bytes
    sent: int = 0  # bytes of the response the receiver got out before the client hung up
    ended_at: float = 0.0

    def header(self, name: str) -> str | None:
        for line in self.head.split("\r\n")[1:]:
            key, _, value = line.partition(":")
            if key.strip().lower() == name.lower():
                return value.strip()
        return None


@dataclass
class Receiver:
    mode: Mode
    huge_bytes: int = 128 << 20
    trickle_s: float = 8.0  # how long a trickling answer lasts
    hits: list[Hit] = field(default_factory=list)
    url: str = ""
    active: int = 0
    max_active: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _enter(self) -> None:
        with self._lock:
            self.active += 1
            self.max_active = max(self.max_active, self.active)

    def _leave(self) -> None:
        with self._lock:
            self.active -= 1

    def serve(self, conn: socket.socket) -> None:
        hit = _read_request(conn)
        if hit is None:
            return
        self.hits.append(hit)
        self._enter()
        try:
            self._answer(conn, hit)
        except OSError:
            pass  # the client hung up: what it cut short is in `hit.sent`
        finally:
            hit.ended_at = time.monotonic()
            self._leave()

    def _answer(self, conn: socket.socket, hit: Hit) -> None:
        if self.mode == "ok":
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            return
        if self.mode == "huge":
            head = f"HTTP/1.1 200 OK\r\nContent-Length: {self.huge_bytes}\r\n\r\n".encode()
            conn.sendall(head)
            chunk = b"\0" * (1 << 20)
            while hit.sent < self.huge_bytes:
                conn.sendall(chunk)
                hit.sent += len(chunk)
            return
        # trickle: a valid response, one byte every 0.1 s, never finishing its headers in time
        deadline = time.monotonic() + self.trickle_s
        conn.sendall(b"HTTP/1.1 200 OK\r\n")
        while time.monotonic() < deadline:
            conn.sendall(b"X")
            hit.sent += 1
            time.sleep(0.1)


def _read_request(conn: socket.socket) -> Hit | None:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return None
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    text = head.decode("latin-1")
    hit = Hit(time.monotonic(), text, b"")
    length = int(hit.header("Content-Length") or 0)
    while len(body) < length:
        chunk = conn.recv(65536)
        if not chunk:
            break
        body += chunk
    hit.body = body
    return hit


@contextmanager
def receiving(receiver: Receiver) -> Iterator[Receiver]:
    class Handler(socketserver.BaseRequestHandler):
        def handle(self) -> None:
            receiver.serve(self.request)

    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/viva"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def wait_until(condition: Callable[[], bool], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)
