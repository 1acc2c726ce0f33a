"""Loopback delivery endpoints for the digest tests and bench/digest.py: a real SMTP server
(aiosmtpd) that keeps every message it accepts, and an HTTP sink that records what apprise's
json:// and form:// services post (and can answer 500 or stall on chosen paths)."""

from __future__ import annotations

import email
import email.policy
import json
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Mailbox:
    raw: list[bytes] = field(default_factory=list)  # every message accepted, as received
    envelopes: list[tuple[str, list[str]]] = field(default_factory=list)
    raw_bytes: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def messages(self) -> list[EmailMessage]:
        """The messages parsed (on demand: the server thread only stores bytes, so it takes
        little CPU from the sender it runs beside)."""
        with self.lock:
            raw = list(self.raw)
        return [email.message_from_bytes(b, policy=email.policy.default) for b in raw]  # type: ignore[misc]

    def __len__(self) -> int:
        with self.lock:
            return len(self.raw)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # aiosmtpd hook
        data = envelope.original_content or envelope.content
        with self.lock:
            self.raw.append(data)
            self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
            self.raw_bytes += len(data)
        return "250 OK"


@contextmanager
def smtp_server() -> Iterator[tuple[int, Mailbox]]:
    """A real SMTP server on 127.0.0.1 (no TLS, no auth); yields (port, mailbox)."""
    from aiosmtpd.controller import Controller

    box = Mailbox()
    port = free_port()
    ctl = Controller(box, hostname="127.0.0.1", port=port)
    ctl.start()
    try:
        yield port, box
    finally:
        ctl.stop()


@dataclass
class Sink:
    posts: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # (path, payload)
    hits: dict[str, int] = field(default_factory=dict)  # path -> requests, failed ones too
    fail: set[str] = field(default_factory=set)  # paths answering 500
    stall: set[str] = field(default_factory=set)  # paths that answer after `stall_s`
    stall_s: float = 3.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def payloads(self, path: str) -> list[dict[str, Any]]:
        with self.lock:
            return [p for q, p in self.posts if q == path]


@contextmanager
def http_sink() -> Iterator[tuple[int, Sink]]:
    """An HTTP server on 127.0.0.1 recording JSON and form posts; yields (port, sink)."""
    sink = Sink()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            path = self.path.split("?", 1)[0]
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            with sink.lock:
                sink.hits[path] = sink.hits.get(path, 0) + 1
            if path in sink.stall:
                time.sleep(sink.stall_s)
            if path in sink.fail or path in sink.stall:
                self.send_response(500)
                self.end_headers()
                self.wfile.write(b"boom")
                return
            ctype = self.headers.get("Content-Type", "")
            if "json" in ctype:
                payload = json.loads(body)
            else:
                payload = {k: v[0] for k, v in parse_qs(body.decode("utf-8")).items()}
            with sink.lock:
                sink.posts.append((path, payload))
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b"{}")

    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    try:
        yield srv.server_address[1], sink
    finally:
        srv.shutdown()
        srv.server_close()


@dataclass
class Spool:
    """Messages a server process wrote into a folder, one file each."""

    folder: Path

    def files(self) -> list[Path]:
        return sorted(self.folder.glob("*.eml"))

    def __len__(self) -> int:
        return len(self.files())

    @property
    def raw_bytes(self) -> int:
        return sum(f.stat().st_size for f in self.files())


class _SpoolHandler:
    def __init__(self, folder: Path):
        self.folder, self.n = folder, 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.n += 1
        tmp = self.folder / f"{self.n:06d}.tmp"
        tmp.write_bytes(envelope.original_content or envelope.content)
        tmp.rename(tmp.with_suffix(".eml"))
        return "250 OK"


@contextmanager
def smtp_server_process(folder: Path) -> Iterator[tuple[int, Spool]]:
    """The SMTP server in a child process (for the benchmark: its CPU is not taken from the
    sender's interpreter, as with a real server); every message becomes a file in `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    port = free_port()
    proc = subprocess.Popen([sys.executable, __file__, str(port), str(folder)])
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the SMTP server process did not start") from None
                time.sleep(0.05)
        yield port, Spool(folder)
    finally:
        proc.terminate()
        proc.wait(timeout=10)


if __name__ == "__main__":  # the child of smtp_server_process
    from aiosmtpd.controller import Controller

    ctl = Controller(_SpoolHandler(Path(sys.argv[2])), hostname="127.0.0.1", port=int(sys.argv[1]))
    ctl.start()
    signal.sigwait({signal.SIGTERM, signal.SIGINT})
    ctl.stop()
