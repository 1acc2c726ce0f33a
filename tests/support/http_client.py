"""The real HTTP client as the source tests use it against the loopback fakes."""

from __future__ import annotations

from papersift.http import HttpClient, RetryPolicy


def fast_http() -> HttpClient:
    """Tiny backoffs, three attempts, a 2 s timeout: retries are exercised without waiting."""
    return HttpClient(timeout=2.0, retry=RetryPolicy(attempts=3, backoff=0.01, jitter=0.0))
