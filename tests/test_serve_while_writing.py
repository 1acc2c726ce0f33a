"""`papersift serve` keeps answering while an import and a build write to the same store and
site: every request during the writes gets a 200, and the new papers become searchable."""

from __future__ import annotations

import gzip
import json
import os
import signal
import subprocess
import sys
import threading
import time

import httpx
from support.serve import start_serve
from support.site_fixture import open_site_store


def test_no_failed_request_during_an_import_and_a_build(tmp_path):
    open_site_store(tmp_path / "papersift.db").close()
    archive = tmp_path / "new.jsonl.gz"
    with gzip.open(archive, "wt", encoding="utf-8") as f:
        for i in range(2000):
            f.write(json.dumps({"id": f"2503.{i:05d}", "title": f"Quokka estimation study {i}",
                                "summary": f"We estimate quokka populations with method {i}. " * 5,
                                "authors": [f"A {i % 40}"], "date": "2025-03-03"}) + "\n")
    env = {**os.environ, "PAPERSIFT_DATA_DIR": str(tmp_path), "PAPERSIFT_EMBEDDER": "none",
           "PAPERSIFT_SITE_DIR": str(tmp_path / "site"), "PAPERSIFT_CONFIG": str(tmp_path / "none.toml")}
    cli = [sys.executable, "-m", "papersift"]
    proc, base = start_serve(env, tmp_path, "--workers", "2")
    codes: list[int] = []
    stop = threading.Event()

    def client(q: str) -> None:
        with httpx.Client(base_url=base, timeout=30) as c:
            while not stop.is_set():
                try:
                    codes.append(c.get("/api/search", params={"q": q}).status_code)
                    codes.append(c.get("/index.html").status_code)
                except httpx.HTTPError as e:  # a dropped connection is a failed request too
                    codes.append(-1)
                    print("request failed:", e)

    try:
        threads = [threading.Thread(target=client, args=(q,)) for q in ("robot policy", "quokka", "diffusion")]
        for t in threads:
            t.start()
        for step in (["import", str(archive)], ["build"]):
            r = subprocess.run([*cli, *step], env=env, cwd=tmp_path, capture_output=True, text=True,
                               timeout=300)
            assert r.returncode == 0, r.stderr
        # the new papers become searchable without a restart
        deadline = time.monotonic() + 60
        found = 0
        while time.monotonic() < deadline and not found:
            found = httpx.get(base + "/api/search", params={"q": "quokka"}, timeout=30).json()["total"]
            time.sleep(0.5)
        stop.set()
        for t in threads:
            t.join(timeout=60)
    finally:
        stop.set()
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=30)
    assert len(codes) > 20
    assert set(codes) == {200}, {c: codes.count(c) for c in set(codes)}
    assert found == 2000
