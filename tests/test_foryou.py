"""The For-you data the build publishes: int8 vectors that keep the cosine ranking, files
that are scripts (file://-safe) with every text JSON-escaped, incremental and atomic like the
rest of the site, and equal to a full rebuild."""

from __future__ import annotations

import datetime as dt
import hashlib
import re

import numpy as np
import pytest
from support.foryou_fixture import (
    DAYS,
    HOSTILE,
    build_foryou_site,
    fill_foryou_store,
    pid,
    read_published,
    settings_for,
    unit,
)

from papersift.config import load_settings
from papersift.errors import ConfigError
from papersift.jobs import build
from papersift.model import Paper
from papersift.search.engines import published_vectors
from papersift.search.indexing import run_index
from papersift.site import build_site
from papersift.site.foryou import WEIGHTS, ForYou, VectorSource, decode, encode, quantize
from papersift.store import open_store


def test_int8_keeps_cosine_and_ranking():
    rng = np.random.default_rng(7)
    mat = rng.normal(size=(300, 384)).astype(np.float32)
    mat /= np.linalg.norm(mat, axis=1, keepdims=True)
    q = quantize(mat)
    assert q.dtype == np.int8 and np.abs(q).max(axis=1).tolist() == [127] * 300
    back = np.stack([unit(encode(r)) for r in q])
    assert np.array_equal(decode(encode(q[0])), q[0]) and len(encode(q[0])) == 512  # 384 bytes, base64
    assert np.abs(mat @ mat[0] - back @ back[0]).max() < 0.01
    # Candidates 0.03 apart in cosine to a query keep their order.
    alphas = np.linspace(0.05, 0.95, 31)
    ortho = mat[1:32] - np.outer(mat[1:32] @ mat[0], mat[0])
    ortho /= np.linalg.norm(ortho, axis=1, keepdims=True)
    cand = np.stack([a * mat[0] + np.sqrt(1 - a * a) * ortho[i] for i, a in enumerate(alphas)])
    exact = cand @ mat[0] / np.linalg.norm(cand, axis=1)
    assert np.diff(np.sort(exact)).min() > 0.015
    approx = np.stack([unit(encode(r)) for r in quantize(cand)]) @ back[0]
    assert list(np.argsort(-approx)) == list(np.argsort(-exact))
    assert quantize(np.zeros((2, 4))).tolist() == [[0] * 4] * 2  # a zero vector stays zero


def test_published_files_vectors_and_escaping(tmp_path):
    site = build_foryou_site(tmp_path)
    index, papers = read_published(site)
    assert index["format"] == 1 and index["model"].startswith("hash256@") and index["quant"] == "int8"
    assert index["dim"] == index["bytes_per_paper"] == 256 and index["weights"] == WEIGHTS
    assert [d[0] for d in index["days"]] == [d.isoformat() for d in DAYS]
    assert sum(d[3] for d in index["days"]) == len(papers) == 12
    assert all(d[4] == d[3] for d in index["days"])  # every paper has its vector
    for day, digest, size, *_ in index["days"]:  # the page busts caches with the digest
        body = (site / "foryou" / "d" / f"{day}.js").read_bytes()
        assert len(body) == size and hashlib.sha256(body).hexdigest()[:12] == digest
    # The vectors are the store's (through VectorStore), quantised.
    s = open_store(tmp_path / "p.db")
    ids, mat = s.get_vectors("hash256", [pid(0), pid(5)])
    for i, v in zip(ids, mat, strict=True):
        assert abs(float(unit(papers[i]["v"]) @ v) - 1.0) < 1e-3
    s.close()
    p = papers[pid(8)]
    assert p["t"] == HOSTILE and p["a"] == ["Ivy <b>Bold</b>"]
    raw = (site / "foryou" / "d" / f"{p['day']}.js").read_text(encoding="utf-8")
    assert "<" not in raw and ">" not in raw and "&" not in raw  # as \u003c etc.
    page = (site / "foryou.html").read_text(encoding="utf-8")
    m = re.search(r'<script src="foryou/index.js\?v=([0-9a-f]{12})"></script>', page)
    assert m and m.group(1) == hashlib.sha256((site / "foryou" / "index.js").read_bytes()).hexdigest()[:12]
    assert 'href="foryou.html">For you<' in page
    assert not re.search(r"https?://", page.replace("http://localhost:8000/", ""))


def test_incremental_rewrites_only_changed_days_and_equals_full(tmp_path):
    s = fill_foryou_store(open_store(tmp_path / "p.db"))
    st = settings_for(tmp_path, days=2)
    run_index(s, st)
    site = tmp_path / "site"
    res = build(s, st, similar=False)
    assert res.mode == "full"
    files = sorted(f.name for f in (site / "foryou" / "d").iterdir())
    assert files == [f"{d.isoformat()}.js" for d in DAYS[-2:]]  # the newest two days only
    res = build(s, st, similar=False)
    assert res.mode == "incremental" and not [p for p in res.written_paths if p.startswith("foryou")]
    # A paper of the last day changes: that day's file, the index and the page naming it.
    s.upsert_papers([Paper(arxiv_id=pid(2), title="Latent diffusion for image editing", upvotes=500)])
    res = build(s, st, similar=False)
    assert sorted(p for p in res.written_paths if p.startswith("foryou")) == [
        "foryou.html", f"foryou/d/{DAYS[2].isoformat()}.js", "foryou/index.js"]
    # A new day: it enters the window, the oldest day's file leaves it.
    new_day = DAYS[2] + dt.timedelta(days=1)
    s.upsert_papers([Paper(arxiv_id="2503.09999", title="Diffusion for new days", abstract="Diffusion.",
                           hf_date=new_day)])
    res = build(s, st, similar=False)
    assert f"foryou/d/{new_day.isoformat()}.js" in res.written_paths and res.removed >= 1
    assert not (site / "foryou" / "d" / f"{DAYS[1].isoformat()}.js").exists()
    index, papers = read_published(site)
    assert "v" not in papers["2503.09999"]  # not indexed yet
    # The index embeds it: the vectors version moves, the window's files are redrawn.
    run_index(s, st)
    res = build(s, st, similar=False)
    index, papers = read_published(site)
    assert "v" in papers["2503.09999"]
    build_site(s, tmp_path / "full", full=True,
               foryou=ForYou(_vectors(s, st), 2))
    for rel in ["foryou/index.js", *(f"foryou/d/{d[0]}.js" for d in index["days"])]:
        assert (tmp_path / "full" / rel).read_bytes() == (site / rel).read_bytes(), rel
    assert sorted(f.name for f in (tmp_path / "full" / "foryou" / "d").iterdir()) == sorted(
        f.name for f in (site / "foryou" / "d").iterdir())
    s.close()


def _vectors(s, st):
    model, version = published_vectors(st, s)
    return VectorSource(s, model, version)


def test_without_vectors_the_page_still_gets_the_papers(tmp_path):
    s = fill_foryou_store(open_store(tmp_path / "p.db"))
    st = settings_for(tmp_path)
    assert published_vectors(st, s) is None  # never indexed
    build(s, st, similar=False)
    index, papers = read_published(tmp_path / "site")
    assert index["model"] == "" and index["dim"] == 0 and len(papers) == 12
    assert all("v" not in p for p in papers.values())
    s.close()
    # foryou_days = 0: an empty window, no day files.
    s = open_store(tmp_path / "p.db")
    build(s, settings_for(tmp_path, days=0), similar=False)
    index, papers = read_published(tmp_path / "site")
    assert index["days"] == [] and papers == {}
    assert list((tmp_path / "site" / "foryou" / "d").iterdir()) == []
    s.close()


def test_foryou_days_setting_is_checked(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PAPERSIFT_FORYOU_DAYS", "-3")
    with pytest.raises(ConfigError, match="foryou_days"):
        load_settings()
    monkeypatch.setenv("PAPERSIFT_FORYOU_DAYS", "14")
    assert load_settings().foryou_days == 14
