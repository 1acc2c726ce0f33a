"""A small store with three topics for the For-you tests, built the way `papersift run`
builds (index with the hashing embedder, then jobs.build), and a reader of what the build
published (foryou/index.js and the day files) for checking the page's ranking."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

import numpy as np

from papersift.config import Settings
from papersift.jobs import build
from papersift.model import Enrichment, Paper, Review
from papersift.search.indexing import run_index
from papersift.store import Store, open_store

HOSTILE = '<img src=x onerror=alert(1)> diffusion "quotes" & </script>'
DAYS = [dt.date(2025, 3, 3), dt.date(2025, 3, 4), dt.date(2025, 3, 5)]

# (title, abstract, authors, tags); the ids are 2503.000NN in this order.
PAPERS = [
    ("Sparse diffusion models for image generation", "We train diffusion models for image generation "
     "with sparse attention and faster sampling.", ["Ada Lovelace", "Bo Chen"], ["cv"]),
    ("Robot manipulation policies from demonstrations", "A robot learns manipulation policies "
     "from few demonstrations with imitation learning.", ["Carl Gauss"], ["robotics"]),
    ("Latent diffusion for image editing", "Diffusion models edit images in latent space; image "
     "generation quality improves.", ["Dana Scully"], ["cv"]),
    ("Video diffusion with temporal attention", "We extend image diffusion models to video "
     "generation with temporal attention.", ["Eve Moneypenny"], ["cv"]),
    ("Reasoning in large language models", "Large language models reason step by step; we "
     "study chain of thought reasoning.", ["Ada Lovelace"], ["reasoning"]),
    ("Dexterous robot hands learn grasping policies", "Robot hands learn grasping and "
     "manipulation policies in simulation.", ["Fay Wray"], ["robotics"]),
    ("Diffusion policies for robot control", "Diffusion models as robot control policies for "
     "manipulation.", ["Gus Grissom"], ["robotics"]),
    ("Tokenizers for speech recognition", "Speech recognition with learned audio tokenizers "
     "and language models.", ["Hal Jordan"], ["audio"]),
    (HOSTILE, "A hostile title about image diffusion models and generation.", ["Ivy <b>Bold</b>"], ["cv"]),
    ("Graph neural networks for molecules", "Message passing networks predict molecule "
     "properties.", ["Jan Oort"], []),
    ("Image generation benchmarks", "A benchmark of image generation models including "
     "diffusion and autoregressive ones.", ["Kim Possible", "Bo Chen"], ["cv"]),
    ("Offline reinforcement learning for robots", "Robot policies learned with offline "
     "reinforcement learning from logged data.", ["Lea Seydoux"], ["rl", "robotics"]),
]


def pid(i: int) -> str:
    return f"2503.{i + 1:05d}"


def fill_foryou_store(s: Store) -> Store:
    papers = [Paper(arxiv_id=pid(i), title=t, abstract=a, authors=au, hf_date=DAYS[i % 3],
                    published=DAYS[i % 3] - dt.timedelta(days=1), upvotes=(i * 5) % 17)
              for i, (t, a, au, _) in enumerate(PAPERS)]
    s.upsert_papers(papers)
    for i, (t, _, _, tags) in enumerate(PAPERS):
        s.save_enrichment(Enrichment(paper_id=pid(i), method="llm", model="test", emoji="🧪", tags=tags,
                                     reviews={"en": Review(title=f"Catchy {t[:40]}", review=f"Review {i}.")}))
    return s


def settings_for(tmp: Path, days: int = 30) -> Settings:
    return Settings(data_dir=tmp / "data", site_dir=tmp / "site", embedder="hash256", foryou_days=days)


def build_foryou_site(tmp: Path, days: int = 30) -> Path:
    """The store at tmp/p.db, indexed, and its site at tmp/site (returned)."""
    s = fill_foryou_store(open_store(tmp / "p.db"))
    st = settings_for(tmp, days)
    run_index(s, st)
    build(s, st, similar=False)
    s.close()
    return tmp / "site"


def read_published(site: Path) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """(index, id -> paper with its "day"), from the script files the page loads."""
    idx = site / "foryou" / "index.js"
    index = json.loads(idx.read_text(encoding="utf-8").removeprefix("window.PAPERSIFT_FORYOU = ").rstrip(";\n"))
    papers: dict[str, dict[str, Any]] = {}
    for day, *_ in reversed(index["days"]):
        text = (site / "foryou" / "d" / f"{day}.js").read_text(encoding="utf-8")
        m = re.fullmatch(r'PAPERSIFT_FORYOU_DAY\("([0-9-]+)",(.*)\);\n', text, re.S)
        assert m and m.group(1) == day
        for p in json.loads(m.group(2)):
            papers.setdefault(p["id"], {**p, "day": day})
    return index, papers


def unit(b64: str) -> np.ndarray:
    import base64

    v = np.frombuffer(base64.b64decode(b64), dtype=np.int8).astype(np.float64)
    return v / (np.linalg.norm(v) or 1.0)


def _word_at(text: str, needle: str, whole: bool) -> bool:
    i = text.find(needle)
    while needle and i >= 0:
        before = text[i - 1] if i > 0 else ""
        after = text[i + len(needle):i + len(needle) + 1]
        if not before.isalnum() and (not whole or not after.isalnum()):
            return True
        i = text.find(needle, i + 1)
    return False


def expected_ranking(index: dict[str, Any], papers: dict[str, dict[str, Any]],
                     profile: dict[str, Any]) -> tuple[list[tuple[str, float, list[str]]], list[tuple[str, str]]]:
    """What the page must show for `profile` (the TEAM ranking shape with the published
    weights), written independently of foryou.js: (shown [(id, score, why)], removed [(id, why)])."""
    w = index["weights"]
    seeds = [(papers[i]["t"], unit(papers[i]["v"])) for i in profile["liked"] if i in papers]
    shown, removed = [], []
    for p in papers.values():
        if p["id"] in profile["hidden"] or p["id"] in profile["liked"]:
            continue
        text = (p["t"] + "\n" + p["x"]).lower()
        neg = next((k for k in profile["negative_keywords"] if _word_at(text, k.lower(), False)), None)
        if neg is not None:
            removed.append((p["id"], f"removed by negative keyword {neg}"))
            continue
        score, why = 0.0, []
        if seeds:
            v = unit(p["v"])
            cos = [float(v @ s) for _, s in seeds]
            best = int(np.argmax(cos))
            score += w["similarity"] * max(0.0, cos[best])
            why.append(f"close to your paper {seeds[best][0]}")
        for k in profile["keywords"]:
            if _word_at(text, k.lower(), False):
                score += w["keyword"]
                why.append(f"keyword {k}")
        names = [" ".join(a.lower().replace(".", " ").split()) for a in p["a"]]
        for a in profile["authors"]:
            if any(_word_at(n, " ".join(a.lower().replace(".", " ").split()), True) for n in names):
                score += w["author"]
                why.append(f"author {a}")
        for t in profile["tags"]:
            if t in p["g"]:
                score += w["tag"]
                why.append(f"tag {t}")
        if score >= w["min_score"] - 1e-9:
            shown.append((p["id"], score, why, p["u"]))
    shown.sort(key=lambda r: (-round(r[1], 6), -r[3], r[0]))
    return [(i, s, y) for i, s, y, _ in shown[: int(w["max_papers"])]], removed
