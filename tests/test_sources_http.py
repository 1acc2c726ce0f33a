"""The shared HTTP client against a real loopback server: retries, 429, pacing, bad bodies."""

from __future__ import annotations

import email.utils
import socket
import time

import httpx
import pytest
from support.fake_hf_arxiv import FakeServer, Fault, hf_paper

from papersift.http import HttpClient, HttpError, RetryPolicy
from papersift.http import parse_ratelimit as _parse_ratelimit
from papersift.http import server_wait as _server_wait

PATH = "/api/daily_papers"


def fast_client(**kw) -> HttpClient:
    """Tiny backoffs so tests run fast; the waits a server asks for are still honoured."""
    kw.setdefault("retry", RetryPolicy(attempts=4, backoff=0.02, max_backoff=0.1, jitter=0.0))
    kw.setdefault("timeout", 2.0)
    return HttpClient(**kw)


@pytest.fixture
def server():
    with FakeServer() as s:
        s.add_hf_day("2025-02-06", [hf_paper("2502.02671", "Some Paper", day="2025-02-06")])
        yield s


def url(server: FakeServer) -> str:
    return server.url + PATH


def gaps(server: FakeServer, path: str = PATH) -> list[float]:
    times = [r.at for r in server.requests_to(path)]
    return [b - a for a, b in zip(times, times[1:], strict=False)]


def test_ok_json(server):
    with fast_client() as c:
        data = c.get_json(url(server), {"date": "2025-02-06"})
    assert data[0]["paper"]["id"] == "2502.02671"
    assert c.requests == 1 and c.retries == 0


def test_429_retry_after_is_honoured(server):
    server.fail_next(PATH, Fault.status(429, {"Retry-After": "1"}))
    with fast_client() as c:
        data = c.get_json(url(server), {"date": "2025-02-06"})
    assert len(data) == 1
    assert len(server.requests_to(PATH)) == 2
    assert gaps(server)[0] >= 1.0  # waited what the server asked, not the 0.02 s backoff


def test_429_ietf_ratelimit_header_is_honoured(server):
    # Hugging Face's form (IETF draft v9): no Retry-After, reset in `t=` seconds.
    server.fail_next(PATH, Fault.status(429, {"RateLimit": '"api";r=0;t=1',
                                              "RateLimit-Policy": '"fixed window";"api";q=500;w=300'}))
    with fast_client() as c:
        c.get_json(url(server), {"date": "2025-02-06"})
    assert gaps(server)[0] >= 1.0


def test_429_asking_for_too_long_fails_at_once_with_one_line(server):
    server.fail_next(PATH, Fault.status(429, {"Retry-After": "3600"}))
    with fast_client() as c, pytest.raises(HttpError) as e:
        c.get_json(url(server))
    msg = str(e.value)
    assert "\n" not in msg and "3600" in msg and "rate limited" in msg
    assert len(server.requests_to(PATH)) == 1


def test_quota_spent_on_success_pauses_the_host(server):
    server.fail_next(PATH, Fault.status(200, {"RateLimit": '"api";r=0;t=1'}, body=b"[]"))
    with fast_client() as c:
        assert c.get_json(url(server)) == []
        c.get_json(url(server))
    assert gaps(server)[0] >= 1.0


def test_500_then_success(server):
    server.fail_next(PATH, Fault.status(500), Fault.status(502))
    seen = []
    with fast_client(on_retry=lambda u, n, why, w: seen.append(why)) as c:
        data = c.get_json(url(server), {"date": "2025-02-06"})
    assert len(data) == 1
    assert seen == ["HTTP 500 Internal Server Error", "HTTP 502 Bad Gateway"]


def test_backoff_is_exponential(server):
    server.fail_next(PATH, *[Fault.status(503)] * 3)
    waits: list[float] = []
    policy = RetryPolicy(attempts=4, backoff=0.05, max_backoff=10, jitter=0.0)
    with fast_client(retry=policy, on_retry=lambda u, n, why, w: waits.append(w)) as c:
        c.get_json(url(server))
    assert waits == [0.05, 0.1, 0.2]
    assert all(g >= w * 0.95 for g, w in zip(gaps(server), waits, strict=True))


def test_slow_answer_times_out_then_retry_succeeds(server):
    server.fail_next(PATH, Fault.slow(1.5))
    reasons = []
    with fast_client(timeout=0.3, retry=RetryPolicy(attempts=6, backoff=0.01, jitter=0.0), on_retry=lambda u, n, why, w: reasons.append(why)) as c:
        data = c.get_json(url(server), {"date": "2025-02-06"})
    assert len(data) == 1
    # (A loaded machine may time out a normal answer too; the first retry must be the slow one.)
    assert reasons[0] == "timed out after 0.3s"
    assert len(server.requests_to(PATH)) == len(reasons) + 1


@pytest.mark.parametrize("fault", [Fault.truncated(), Fault.cut()], ids=["truncated", "cut"])
def test_truncated_body_is_retried(server, fault):
    server.fail_next(PATH, fault)
    with fast_client() as c:
        data = c.get_json(url(server), {"date": "2025-02-06"})
    assert data[0]["paper"]["id"] == "2502.02671"
    assert c.retries == 1


def test_always_truncated_ends_in_one_clear_line(server):
    server.fail_next(PATH, *[Fault.truncated()] * 3)
    with fast_client(retry=RetryPolicy(attempts=3, backoff=0.01, jitter=0)) as c, \
            pytest.raises(HttpError) as e:
        c.get_json(url(server), {"date": "2025-02-06"})
    msg = str(e.value)
    assert "\n" not in msg
    assert "failed after 3 attempts" in msg and "not valid JSON" in msg
    assert "date=2025-02-06" in msg  # the request as the user could repeat it


def test_client_error_is_not_retried(server):
    with fast_client() as c, pytest.raises(HttpError) as e:
        c.get_json(server.url + "/api/papers/9999.99999")
    assert e.value.status == 404 and "not found" in str(e.value)
    assert len(server.requests_to("/api/papers/9999.99999")) == 1


def test_connection_refused_is_retried_then_fails():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed when the block ends: nothing listens there
    with fast_client(retry=RetryPolicy(attempts=2, backoff=0.01, jitter=0)) as c, \
            pytest.raises(HttpError) as e:
        c.get_json(f"http://127.0.0.1:{port}/x")
    assert "failed after 2 attempts" in str(e.value) and "ConnectError" in str(e.value)


def test_min_interval_per_host(server):
    host = server.url.split("//")[1]
    with fast_client(min_interval={host: 0.4}) as c:
        for _ in range(3):
            c.get_json(url(server))
    assert all(g >= 0.4 for g in gaps(server)), gaps(server)


def test_ratelimit_header_parsing():
    assert _parse_ratelimit('"api";r=0;t=120') == {"r": 0, "t": 120}
    assert _parse_ratelimit('"api";r=5;t=10, "pages";r=0;t=30') == {"r": 0, "t": 30}
    assert _parse_ratelimit("") is None
    assert _parse_ratelimit("garbage") is None
    when = email.utils.formatdate(time.time() + 20, usegmt=True)
    assert 15 <= _server_wait(httpx.Headers({"Retry-After": when})) <= 21
    assert _server_wait(httpx.Headers({"RateLimit-Policy": '"fixed window";"api";q=500;w=300'})) == 300
    assert _server_wait(httpx.Headers({"Retry-After": "soon"})) is None
