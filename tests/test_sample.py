"""The bundled sample (scripts/make_sample.py) and the demo a newcomer sees first."""

from __future__ import annotations

import json
import re
from collections import Counter

from papersift.config import load_settings
from papersift.ids import try_arxiv_id
from papersift.jobs import run_demo, sample_path
from papersift.store import open_store

# What shared/data/README.md lets the sample carry: public metadata and where it came from.
ALLOWED = {"id", "arxiv_id", "title", "abstract", "authors", "num_authors", "published",
           "hf_date", "upvotes", "sources"}


def _sample() -> list[dict]:
    return [json.loads(line) for line in sample_path().read_text("utf-8").splitlines() if line.strip()]


def test_sample_holds_complete_real_days_and_metadata_only():
    papers = _sample()
    assert len(papers) == 271
    for p in papers:
        assert set(p) <= ALLOWED, p["id"]
    days = Counter(p["hf_date"] for p in papers if p.get("hf_date"))
    assert days == {"2024-10-25": 29, "2026-07-31": 38, "2026-08-07": 30, "2026-08-14": 32}
    newest = max(days)
    # the real days are the newest of the sample, so the demo opens on one of them
    assert all((p.get("hf_date") or p.get("published") or "") <= newest for p in papers)
    for p in papers:
        if p.get("hf_date"):
            assert try_arxiv_id(p["id"]) == p["id"] and p["sources"][0]["source"] in ("hf", "hf-archive")
    api_day = [p for p in papers if p.get("hf_date") == "2024-10-25"]
    assert all(p["authors"] and p["upvotes"] >= 0 and p["abstract"] for p in api_day)


def test_demo_opens_on_a_real_day_of_tagged_cards(tmp_path, monkeypatch):
    monkeypatch.setenv("PAPERSIFT_EMBEDDER", "hash")
    monkeypatch.chdir(tmp_path)  # no papersift.toml here
    settings = load_settings(data_dir=tmp_path / "data", site_dir=tmp_path / "site")
    store = open_store(settings.db_target)
    try:
        rep = run_demo(store, settings)
        assert len(store.days()) == 132
    finally:
        store.close()
    assert rep.published
    assert any(line.startswith("images: none offline") and "arXiv PDF" in line for line in rep.lines)
    page = (tmp_path / "site" / "index.html").read_text("utf-8")
    cards = re.findall(r'<article class="card" id="c-[^"]+" data-id="([^"]+)">(.*?)</article>', page, re.S)
    newest = {p["id"] for p in _sample() if p.get("hf_date") == "2026-08-14"}
    assert {pid for pid, _ in cards} == newest and len(cards) == 32
    tagged = [pid for pid, body in cards if 'class="tag"' in body]
    assert len(tagged) >= 28
