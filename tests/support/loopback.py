"""What the loopback fake servers (fake_hf_arxiv.FakeServer, fake_links.FakeLinks) share: a
ThreadingHTTPServer on 127.0.0.1 in a daemon thread, faults scripted per path and used up one
per request, a log of every request, and the request handler they answer through."""

from __future__ import annotations

import contextlib
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import parse_qs, urlsplit


@dataclass
class Fault:
    kind: str  # "ok" | "status" | "slow" | "truncated" | "cut" | "raw"
    code: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    body: bytes = b""

    @classmethod
    def status(cls, code: int, headers: dict[str, str] | None = None, body: bytes = b"") -> Fault:
        return cls("status", code=code, headers=headers or {}, body=body)

    @classmethod
    def ok(cls) -> Fault:
        """No fault: answer normally (to script a failure for a later request)."""
        return cls("ok")

    @classmethod
    def slow(cls, delay: float) -> Fault:
        """Answer correctly, but only after `delay` seconds."""
        return cls("slow", delay=delay)

    @classmethod
    def truncated(cls) -> Fault:
        """200 with a consistent Content-Length, but only the first half of the real body."""
        return cls("truncated")

    @classmethod
    def cut(cls) -> Fault:
        """Announce the full Content-Length, send half, close the connection."""
        return cls("cut")

    @classmethod
    def raw(cls, body: bytes, content_type: str = "application/json") -> Fault:
        """200 with exactly this body."""
        return cls("raw", body=body, headers={"Content-Type": content_type})


@dataclass
class Logged:
    at: float
    path: str
    query: dict[str, str]
    headers: dict[str, str]


class LoopbackHandler(BaseHTTPRequestHandler):
    """Answers a GET for a LoopbackServer (`fake`): logs it, takes the fault scripted for its
    path and calls `reply`, which a fake's handler defines."""

    protocol_version = "HTTP/1.1"
    fake: LoopbackServer  # set by LoopbackServer on the class it serves with

    def log_message(self, *args: Any) -> None:  # keep test output clean
        pass

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        path, q, fault = self.fake.arrived(self)
        # The client may have given up (timeout): that is what such a test wants.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self.reply(path, q, fault)

    def reply(self, path: str, q: dict[str, str], fault: Fault | None) -> None:
        raise NotImplementedError

    def send_body(self, status: int, ctype: str, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)


class LoopbackServer:
    """ThreadingHTTPServer in a daemon thread; use as a context manager. A subclass passes
    the LoopbackHandler subclass it answers with."""

    def __init__(self, handler: type[LoopbackHandler]) -> None:
        self.faults: dict[str, list[Fault]] = {}
        self.log: list[Logged] = []
        self._lock = threading.Lock()
        bound = type(handler.__name__, (handler,), {"fake": self})
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), bound)
        self.httpd.daemon_threads = True
        self.httpd.block_on_close = False
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def fail_next(self, path: str, *faults: Fault) -> None:
        with self._lock:
            self.faults.setdefault(path, []).extend(faults)

    def _take_fault(self, path: str) -> Fault | None:
        with self._lock:
            queue = self.faults.get(path)
            return queue.pop(0) if queue else None

    def arrived(self, request: BaseHTTPRequestHandler) -> tuple[str, dict[str, str], Fault | None]:
        """Logs a GET and takes the next fault scripted for its path: (path, query, fault)."""
        parts = urlsplit(request.path)
        q = {k: v[0] for k, v in parse_qs(parts.query).items()}
        with self._lock:
            self.log.append(Logged(time.monotonic(), parts.path, q, dict(request.headers)))
        return parts.path, q, self._take_fault(parts.path)
