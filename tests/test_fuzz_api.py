"""`papersift serve` (a real subprocess on loopback) fuzzed: hostile query strings, huge
parameters, invalid UTF-8 and raw bytes in the request line, path traversal in every
encoding, and slow clients. Always an answer below 500, never the bytes of a file outside
the site directory (a sentinel secret sits beside the site), and a client that stalls is
answered 408 and let go without holding up anyone else.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.fuzz_inputs import HOSTILE_STRINGS
from support.site_fixture import open_site_store

from papersift.site import build_site

N = int(os.environ.get("PAPERSIFT_FUZZ_EXAMPLES", "0")) or None
SECRET = b"SENTINEL-SECRET-7c1e"
HEADER_TIMEOUT = 2.0


def fuzz(examples: int) -> Any:
    return settings(max_examples=N or examples, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


class Served:
    def __init__(self, port: int, proc: subprocess.Popen[str], secret: Path):
        self.host, self.port, self.proc, self.secret = "127.0.0.1", port, proc, secret
        self.url = f"http://127.0.0.1:{port}"

    def raw(self, request: bytes, timeout: float = 30) -> bytes:
        """Send bytes as they are (no client-side encoding or '..' folding); the answer."""
        with socket.create_connection((self.host, self.port), timeout=timeout) as s:
            s.sendall(request)
            return _read_all(s)

    def get(self, target: bytes) -> bytes:
        return self.raw(b"GET " + target + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")


def _read_all(s: socket.socket) -> bytes:
    data = b""
    try:
        while chunk := s.recv(65536):
            data += chunk
    except ConnectionResetError:
        pass
    return data


def _status(data: bytes) -> int:
    assert data.startswith(b"HTTP/1.1 "), data[:200]
    return int(data.split(b" ", 2)[1])


def _safe(data: bytes) -> int:
    status = _status(data)
    assert status < 500, data[:500]
    assert SECRET not in data and b"root:x:" not in data
    return status


@pytest.fixture(scope="module")
def served(tmp_path_factory) -> Iterator[Served]:
    tmp = tmp_path_factory.mktemp("serve")
    store = open_site_store(tmp / "papersift.db")
    build_site(store, tmp / "site")
    store.close()
    (tmp / "secret.txt").write_bytes(SECRET)  # beside the site: must never be served
    (tmp / "site-old").mkdir()  # a sibling whose name starts like the site's
    (tmp / "site-old" / "index.html").write_bytes(SECRET)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "PAPERSIFT_DATA_DIR": str(tmp), "PAPERSIFT_EMBEDDER": "hash",
           "PAPERSIFT_SITE_DIR": str(tmp / "site"),
           "PAPERSIFT_SERVE_HEADER_TIMEOUT": str(HEADER_TIMEOUT)}
    proc = subprocess.Popen([sys.executable, "-m", "papersift", "serve", "--no-build", "--port",
                             str(port), "--workers", "1"], env=env, cwd=tmp,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    srv = Served(port, proc, tmp / "secret.txt")
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                if httpx.get(srv.url + "/api/tags", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
            assert time.monotonic() < deadline, "serve did not come up in 90 s"
            time.sleep(0.2)
        yield srv
    finally:
        proc.terminate()
        try:
            out, _ = proc.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, _ = proc.communicate()
    # A 500 would have logged its traceback: none may have happened during the whole module.
    assert "Traceback" not in out and "Exception in ASGI application" not in out, out[-3000:]


# -- hostile parameters ---------------------------------------------------------------

PARAMS = ["q", "tags", "tag_mode", "mode", "from", "to", "min_upvotes", "sort", "limit", "offset"]
values = st.one_of(
    st.sampled_from(HOSTILE_STRINGS), st.text(max_size=300),
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.sampled_from(["and", "or", "date", "upvotes", "relevance", "cv,rl", "2025-02-06", "1e400",
                     "inf", "-0", "0x10", "٣", "²", "2025-02-06T00:00", "+2025-02-06"]),
    st.integers(1000, 70_000).map(lambda n: "x" * n),
)


def _query(params: list[tuple[str, str]]) -> bytes:
    """A query string as a browser would send it, except that lone surrogates go out as the
    invalid UTF-8 bytes they stand for (%ED%A0%80)."""
    return "&".join(f"{quote(k.encode('utf-8', 'surrogatepass'))}="
                    f"{quote(v.encode('utf-8', 'surrogatepass'))}" for k, v in params).encode()


def _json_answer(data: bytes) -> tuple[int, Any]:
    status = _safe(data)
    body = data.split(b"\r\n\r\n", 1)[1]
    return status, json.loads(body) if status in (200, 404, 422) else None


@fuzz(50)
@given(params=st.lists(st.tuples(st.sampled_from(PARAMS + ["zzz", ""]), values), max_size=6))
def test_search_with_hostile_parameters(served, params):
    if not any(k == "q" for k, _ in params):
        params = [("q", "diffusion"), *params]
    status, body = _json_answer(served.get(b"/api/search?" + _query(params)))
    assert status in (200, 400, 414, 422, 431), (params, status)
    if status == 422:
        assert body["detail"]


@fuzz(40)
@given(ident=st.one_of(st.sampled_from(HOSTILE_STRINGS), st.text(max_size=250)),
       what=st.sampled_from(["/api/papers/{}", "/api/papers/{}/similar", "/api/days/{}"]),
       limit=st.one_of(st.none(), values))
def test_paper_and_day_endpoints_with_hostile_ids(served, ident, what, limit):
    target = what.format(quote(ident.encode("utf-8", "surrogatepass"), safe="/")).encode()
    if limit is not None:
        target += b"?" + _query([("limit", limit)])
    status, _ = _json_answer(served.get(target))
    assert status in (200, 400, 404, 414, 422), (target[:200], status)


def test_huge_requests_are_refused_not_crashed(served):
    for target in [b"/api/search?q=" + b"a" * 1_000_000, b"/api/search?q=a&" + b"tags=cv&" * 20_000,
                   b"/" + b"a" * 300, b"/d/" + b"a" * 5000, b"/" + b"a/" * 3000 + b"x.html"]:
        data = served.get(target)
        assert data == b"" or _safe(data) in (400, 404, 414, 422, 431), data[:300]
    big_header = b"GET /api/tags HTTP/1.1\r\nHost: x\r\nX-Big: " + b"h" * 200_000 + b"\r\nConnection: close\r\n\r\n"
    data = served.raw(big_header)
    assert data == b"" or _safe(data) < 500


def test_a_very_long_path_is_404_not_500(served):
    """Regression: a path component over the filesystem's name limit (ENAMETOOLONG) made
    the file server's is_dir() raise: a 500 with a traceback in the log."""
    assert _safe(served.get(b"/" + b"a" * 300)) == 404
    assert _safe(served.get(b"/d/" + b"b" * 5000 + b".html")) == 404


# -- path traversal and raw bytes -------------------------------------------------------

ATOMS = [b"/", b"..", b".", b"%2e%2e", b"%2E%2E", b"%2f", b"%2F", b"%252e%252e", b"%252f", b"%5c",
         b"\\", b"%00", b"%c0%ae", b"%c0%af", b"%ff", b"secret.txt", b"site", b"site-old",
         b"index.html", b"d", b"static", b"api", b"papers", b"days", b"etc", b"passwd",
         b"proc", b"self", b"environ", b"//", b"%2e", b"~", b"?", b"&", b"=", b"#", b";", b"%",
         b"\xff", b"\xc3(", b"\xed\xa0\x80", b"\x00", b"\t"]


@fuzz(120)
@given(parts=st.lists(st.one_of(st.sampled_from(ATOMS), st.binary(min_size=1, max_size=4)),
                      min_size=1, max_size=12),
       absolute=st.sampled_from([b"/", b"", b"http://127.0.0.1/", b"//", b"/api/papers/"]))
def test_raw_request_targets(served, parts, absolute):
    target = (absolute + b"".join(parts)).replace(b"\r", b"").replace(b"\n", b"").replace(b" ", b"%20")
    data = served.get(target or b"/")
    if not data:
        return  # the parser dropped a request it could not read at all
    _safe(data)


@pytest.mark.parametrize("target", [
    b"/..%2fsecret.txt", b"/..%252fsecret.txt", b"/%2e%2e%2fsecret.txt", b"/%252e%252e%252fsecret.txt",
    b"/.%2e/secret.txt", b"/%c0%ae%c0%ae/secret.txt", b"/..\\secret.txt", b"/..%5csecret.txt",
    b"/../site-old/index.html", b"/..%2fsite-old%2findex.html", b"/secret.txt%00.html",
    b"/%00/../secret.txt", b"/static/%2e%2e/%2e%2e/secret.txt", b"//../secret.txt",
    b"http://127.0.0.1/../secret.txt", b"/api/../../secret.txt", b"/api/papers/..%2f..%2fsecret.txt",
    b"/%2Ftmp%2Fsecret.txt", b"/d/..%2f..%2f..%2fsecret.txt", b"/\xff/../../secret.txt",
])
def test_known_traversal_shapes(served, target):
    status = _safe(served.get(target))
    assert status in (400, 404), (target, status)


def test_absolute_paths_to_the_secret(served):
    secret = os.fsencode(str(served.secret))
    for target in [b"/etc/passwd", b"//etc/passwd", b"/" + secret, b"/" + secret.lstrip(b"/"),
                   b"/" + secret.replace(b"/", b"%2f"), b"/..%2f" * 12 + secret.lstrip(b"/")]:
        assert _safe(served.get(target)) in (400, 404), target


# -- slow clients ----------------------------------------------------------------------

def test_a_request_sent_byte_by_byte_is_served(served):
    request = b"GET /api/tags HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    with socket.create_connection((served.host, served.port), timeout=30) as s:
        for b in request:
            s.sendall(bytes([b]))
            time.sleep(HEADER_TIMEOUT / len(request) / 4)  # well within the header deadline
        data = _read_all(s)
    assert _safe(data) == 200 and b'"cv"' in data


def test_stalled_clients_get_408_and_hold_up_no_one(served):
    """Regression: uvicorn put no deadline on a request's headers, so a client that connected
    and stalled (slowloris) held its connection for ever."""
    stalled = []
    for i in range(40):
        s = socket.create_connection((served.host, served.port), timeout=60)
        if i % 3 == 0:
            s.sendall(b"GET /api/ta")  # half a request line
        elif i % 3 == 1:
            s.sendall(b"GET /api/tags HTTP/1.1\r\nHost: x\r\n")  # headers never finished
        stalled.append(s)  # and a third send nothing at all
    try:
        # Everyone else is served meanwhile.
        for _ in range(5):
            assert _safe(served.get(b"/api/search?q=diffusion")) == 200
        for s in stalled:
            data = _read_all(s)  # the server answers and closes; recv would block otherwise
            assert _status(data) == 408, data[:200]
    finally:
        for s in stalled:
            s.close()
    # A slow keep-alive client: a first request served, the second one stalls.
    with socket.create_connection((served.host, served.port), timeout=60) as s:
        s.sendall(b"GET /api/tags HTTP/1.1\r\nHost: x\r\n\r\n")
        first = s.recv(65536)
        assert _status(first) == 200
        s.sendall(b"GET /api/tags HTTP/1.1\r\n")
        rest = _read_all(s)
        assert b"408 Request Timeout" in first + rest
