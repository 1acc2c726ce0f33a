"""The static search index files (site/search_index.py), read back by an independent decoder:
every paper in it, postings that name the right papers, and incremental builds that touch
only a small delta until it is merged into a new base."""

from __future__ import annotations

import datetime as dt
import json
import re
import time
from pathlib import Path

import pytest
from support.site_fixture import open_site_store

from papersift.model import Enrichment, Paper, Review
from papersift.site import build_site, search_index
from papersift.site.search_index import ALPHABET, fnv1a

VAL = {c: i for i, c in enumerate(ALPHABET.decode())}


def call_args(path: Path, fn: str) -> list:
    text = path.read_text(encoding="utf-8")
    m = re.fullmatch(rf"PS_SEARCH\.{fn}\((.*)\);\n", text, re.S)
    assert m, f"{path} is not a PS_SEARCH.{fn}(...) call"
    return json.loads(f"[{m.group(1)}]")


def manifest(site: Path) -> dict:
    return call_args(site / "search" / "index.js", "m")[0]


def postings(s: str) -> list[tuple[int, int]]:
    out, doc, i = [], 0, 0
    while i < len(s):
        g = 0
        while VAL[s[i]] & 32:
            g = g * 32 + (VAL[s[i]] & 31)
            i += 1
        doc += g * 32 + VAL[s[i]]
        out.append((doc, VAL[s[i + 1]]))
        i += 2
    return out


def term(site: Path, seg: dict, t: str) -> list[tuple[int, int]]:
    shard = fnv1a(t) % seg["shards"]
    sid, n, data = call_args(site / "search" / seg["id"] / "t" / f"{shard}.js", "t")
    assert (sid, n) == (seg["id"], shard)
    return postings(data[t][1]) if t in data else []


def docs(site: Path, seg: dict, chunk: int) -> list[list]:
    sid, n, recs = call_args(site / "search" / seg["id"] / "d" / f"{chunk}.js", "d")
    assert (sid, n) == (seg["id"], chunk)
    return recs


def all_docs(site: Path, seg: dict, chunk: int) -> list[list]:
    return [r for c in range((seg["n"] + chunk - 1) // chunk) for r in docs(site, seg, c)]


@pytest.fixture()
def built(tmp_path):
    store = open_site_store(tmp_path / "p.db")
    time.sleep(2)  # built_at has 1 s steps: later builds then see only what a test changes
    build_site(store, tmp_path / "site")
    yield store, tmp_path / "site"
    store.close()


def test_every_paper_once_by_day_with_terms_that_name_them(built):
    store, site = built
    m = manifest(site)
    assert [s["id"][0] for s in m["segments"]] == ["b"] and m["dead"] == []
    base = m["segments"][0]
    recs = all_docs(site, base, m["chunk"])
    assert len(recs) == base["n"] == store.count_papers()
    days = [r[3] for r in recs]
    assert days == sorted(days)  # numbered by day: a date filter is a range
    firsts = {dt.date(1970, 1, 1) + dt.timedelta(days=d): k for k, d in base["days"]}
    for day, k in firsts.items():
        assert recs[k][3] == day.isoformat() and (k == 0 or recs[k - 1][3] < day.isoformat())
    robot = {recs[d][1] for d, _ in term(site, base, "robot")}
    assert robot == {r[1] for r in recs if "Robot" in r[1]}
    # a title word weighs more than the same word in the abstract ("problem" is in every abstract)
    impacts = dict(term(site, base, "robot"))
    assert min(impacts.values()) > max(i for _, i in term(site, base, "problem"))
    cv = {recs[d][0] for d, imp in term(site, base, "#cv")}
    assert cv == {r[0] for r in recs if "cv" in r[4]} and cv
    assert term(site, base, "the") == []  # stopwords are left out


def test_incremental_build_writes_a_delta_then_merges_it(built, monkeypatch):
    store, site = built
    base_id = manifest(site)["segments"][0]["id"]
    time.sleep(1.1)  # after the build's timestamp
    store.save_enrichment(Enrichment(paper_id="2502.00003", method="llm", emoji="🦓", tags=["rl"],
                                     reviews={"en": Review(title="Zebra", review="Stripes and zebrafish.")}))
    res = build_site(store, site)
    assert res.mode == "incremental"
    m = manifest(site)
    base, delta = m["segments"]
    assert base["id"] == base_id, "the base is kept"
    assert delta["id"].startswith("d-") and delta["n"] == 1
    base_recs = all_docs(site, base, m["chunk"])
    old = next(k for k, r in enumerate(base_recs) if r[0] == "2502.00003")
    assert m["dead"] == [old]
    assert [d for d, _ in term(site, delta, "zebrafish")] == [0]
    assert all_docs(site, delta, m["chunk"])[0][0] == "2502.00003"
    # What the index holds equals a full rebuild's: the live base documents plus the delta.
    live = [r for k, r in enumerate(base_recs) if k not in m["dead"]] + all_docs(site, delta, m["chunk"])
    build_site(store, site.parent / "full", full=True)
    fm = manifest(site.parent / "full")
    assert sorted(map(json.dumps, live)) == sorted(map(json.dumps, all_docs(site.parent / "full", fm["segments"][0], fm["chunk"])))
    # A full build into the same site (new templates, say) keeps the base and the delta's papers.
    kept = manifest(site)
    build_site(store, site, full=True)
    assert manifest(site) == kept
    unchanged = (site / "search" / "index.js").stat().st_mtime_ns
    build_site(store, site)  # nothing changed: the index is left alone
    assert (site / "search" / "index.js").stat().st_mtime_ns == unchanged
    # Past the delta's limit the next build writes a new base and drops the old segments.
    monkeypatch.setattr(search_index, "DELTA_MIN", 1)
    monkeypatch.setattr(search_index, "DELTA_SHARE", 0.0)
    time.sleep(1.1)
    store.upsert_papers([Paper(arxiv_id="2502.09998", title="Late paper on zebrafish", hf_date=dt.date(2025, 2, 10))])
    build_site(store, site)
    m = manifest(site)
    assert [s["id"][0] for s in m["segments"]] == ["b"] and m["dead"] == []
    assert m["segments"][0]["n"] == store.count_papers()
    assert sorted(p.name for p in (site / "search").iterdir()) == sorted([m["segments"][0]["id"], "index.js"])


def test_segment_names_follow_their_bytes(tmp_path):
    """Two builds of the same store write the same files (cache-friendly and comparable)."""
    store = open_site_store(tmp_path / "p.db")
    build_site(store, tmp_path / "a")
    build_site(store, tmp_path / "b", full=True)
    store.close()
    fa = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a" / "search").rglob("*.js"))
    fb = sorted(p.relative_to(tmp_path / "b") for p in (tmp_path / "b" / "search").rglob("*.js"))
    assert fa == fb
    assert all((tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes() for f in fa)
