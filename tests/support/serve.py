"""`papersift serve` as a user starts it: a real subprocess on a free loopback port."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_serve(env: dict[str, str], cwd: Path, *args: str,
                timeout: float = 90) -> tuple[subprocess.Popen[str], str]:
    """Starts `papersift serve --port P *args` and waits until it answers GET /api/tags with
    a 200: (the process, its base URL). Its stdout and stderr come together on proc.stdout;
    the caller stops it (SIGTERM, then communicate). If it exits first or does not answer
    within `timeout` seconds, it is stopped and AssertionError carries what it wrote."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "papersift", "serve", "--port", str(port), *args],
                            env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while True:
        try:
            if httpx.get(base + "/api/tags", timeout=2).status_code == 200:
                return proc, base
        except httpx.HTTPError:
            pass
        if proc.poll() is not None:
            out = proc.stdout.read() if proc.stdout else ""
            raise AssertionError(f"papersift serve exited ({proc.returncode}) before it answered "
                                 f"/api/tags; it wrote:\n{out}")
        if time.monotonic() > deadline:
            proc.send_signal(signal.SIGTERM)
            try:
                out, _ = proc.communicate(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                out, _ = proc.communicate()
            raise AssertionError(f"papersift serve did not answer /api/tags in {timeout:g} s; "
                                 f"it wrote:\n{out}")
        time.sleep(0.2)
