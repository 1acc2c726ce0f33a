"""Digest throughput: 200 profiles x one 50-paper day, rendered and sent to a real SMTP
server on loopback (aiosmtpd), then the same run again (which must send nothing).

    python bench/digest.py [--papers ../shared/data/arxiv/arxiv-papers.jsonl.gz] [--profiles 200]

The server runs in a child process and spools each message to a file, as a real server
would take its own CPU. Papers: with --papers, 50 real papers of the newest listing day that has 50, plus 600 older
ones the profiles use as seed papers; without it, 650 generated papers. Each profile has 3
seed papers, 2 keywords and one e-mail channel; vectors come from the hashing embedder (the
ranking's cost does not depend on the model, and no model has to load). The baseline is the
naive loop: one SMTP connection per message, the way a cron script with smtplib.sendmail
does it, run in the same process on the same rendered digests.
Last line: `digest profiles=200 seconds=S messages_per_s=M kb_per_message=K resent=R`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gzip
import json
import random
import smtplib
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "tests"))  # the loopback SMTP server the tests use

from support.delivery import smtp_server_process  # noqa: E402

from papersift.config import Settings  # noqa: E402
from papersift.digest.render import render_digest  # noqa: E402
from papersift.digest.send import send_digests  # noqa: E402
from papersift.digest.smtp import build_message  # noqa: E402
from papersift.model import Enrichment, Paper, Review  # noqa: E402
from papersift.profiles import Profile, ProfileRanker  # noqa: E402
from papersift.search.embed import HashingEmbedder  # noqa: E402
from papersift.search.index import build_vectors  # noqa: E402
from papersift.store import open_store  # noqa: E402

DAY = dt.date(2026, 8, 20)
WORDS = ["diffusion", "transformer", "agent", "robot", "graph", "retrieval", "language", "vision", "audio", "video", "policy", "reasoning", "benchmark", "dataset", "quantization", "sparse", "attention", "reward", "alignment", "medical", "protein", "molecule", "code", "math", "speech", "translation", "3d", "segmentation", "detection"]


def real_papers(path: Path) -> list[Paper]:
    try:
        with gzip.open(path, "rt", encoding="utf-8") as f:
            rows = [json.loads(line) for line in f]
    except (OSError, ValueError) as e:
        sys.exit(f"error: {path}: cannot read ({e})")
    by_day: dict[str, list[dict]] = {}
    for r in rows:
        by_day.setdefault(r["published"], []).append(r)
    day = max(d for d, v in by_day.items() if len(v) >= 50)
    pool = [r for d, v in sorted(by_day.items()) if d < day for r in v][-600:]
    out = [Paper(arxiv_id=r["id"], title=r["title"], abstract=r["abstract"], authors=r["authors"][:20],
                 published=dt.date.fromisoformat(r["published"])) for r in pool]
    out += [Paper(arxiv_id=r["id"], title=r["title"], abstract=r["abstract"], authors=r["authors"][:20],
                  hf_date=DAY, upvotes=k % 17) for k, r in enumerate(by_day[day][:50])]
    return out


def generated_papers() -> list[Paper]:
    rng = random.Random(7)
    out = []
    for n in range(650):
        words = rng.sample(WORDS, 6)
        title = f"{words[0].title()} {words[1]} for {words[2]} with {words[3]}"
        abstract = " ".join(rng.choice(WORDS) for _ in range(160)) + "."
        kw = {"hf_date": DAY, "upvotes": n % 17} if n >= 600 else {"published": DAY - dt.timedelta(days=30)}
        out.append(Paper(arxiv_id=f"2607.{n:05d}", title=title, abstract=abstract, **kw))
    return out


def naive_baseline(store, settings: Settings, profiles: list[Profile], port: int, base: Path) -> tuple[float, int]:
    """The same digests, one new SMTP connection per message."""
    ranker = ProfileRanker(store, settings, base)
    t0 = time.perf_counter()
    for p in profiles:
        rd = ranker.rank(p, DAY)
        d = render_digest(rd, store.get_enrichments([r.paper.id for r in rd.ranking.kept]), settings.site_url)
        with smtplib.SMTP("127.0.0.1", port, timeout=30, local_hostname="localhost") as s:
            s.sendmail(settings.smtp_from, p.channels, build_message(d, settings.smtp_from, p.channels[0]))
    return time.perf_counter() - t0, len(profiles)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--papers", type=Path, help="arxiv-papers.jsonl.gz (default: generated papers)")
    ap.add_argument("--profiles", type=int, default=200)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="papersift-digest-"))
    store = open_store(work / "papersift.db")
    papers = real_papers(args.papers) if args.papers else generated_papers()
    store.upsert_papers(papers)
    day_ids = [p.id for p in papers if p.hf_date == DAY]
    store.record_day(DAY, day_ids, "hf")
    for k, pid in enumerate(day_ids):
        store.save_enrichment(Enrichment(paper_id=pid, method="llm", emoji="🧪", tags=["cv", "agents"][: k % 3],
                                         reviews={"en": Review(title=f"Catchy title {k}", review="A review. " * 25)}))
    build_vectors(store, HashingEmbedder(256))
    pool = [p.id for p in papers if p.hf_date != DAY]
    rng = random.Random(14)
    profiles = [Profile(name=f"user{i:03d}", seed_papers=rng.sample(pool, 3), keywords=rng.sample(WORDS, 2),
                        min_score=-1.0, max_papers=20, channels=[f"user{i:03d}@example.org"])
                for i in range(args.profiles)]
    print(f"{len(day_ids)} papers on {DAY}, {len(profiles)} profiles "
          f"({'real papers from ' + str(args.papers) if args.papers else 'generated papers'}); vectors: hash256")
    with smtp_server_process(work / "spool") as (port, box):
        settings = Settings(data_dir=work, embedder="hash256", smtp_host="127.0.0.1", smtp_port=port,
                            smtp_security="none", smtp_from="digest@example.org",
                            site_url="https://papers.example.org/", config_path=work / "papersift.toml")
        t0 = time.perf_counter()
        rep = send_digests(store, settings, profiles, DAY, base_dir=work)
        seconds = time.perf_counter() - t0
        sent = len(box)
        kb = box.raw_bytes / max(sent, 1) / 1024
        t1 = time.perf_counter()
        rep2 = send_digests(store, settings, profiles, DAY, base_dir=work)
        rerun_s = time.perf_counter() - t1
        resent = len(box) - sent
        base_s, base_n = naive_baseline(store, settings, profiles, port, work)
    store.close()
    print(f"{'run':<44}{'seconds':>9}{'messages':>10}{'msg/s':>8}")
    print(f"{'papersift (one connection, send log)':<44}{seconds:>9.2f}{sent:>10}{sent / seconds:>8.1f}")
    print(f"{'papersift rerun (send log: nothing to send)':<44}{rerun_s:>9.2f}{resent:>10}{'':>8}")
    print(f"{'naive (a connection per message, no log)':<44}{base_s:>9.2f}{base_n:>10}{base_n / base_s:>8.1f}")
    print(f"speed-up vs naive: x{(base_n / base_s) and (sent / seconds) / (base_n / base_s):.2f}; "
          f"first run: {rep.summary()}; rerun: {rep2.summary()}")
    print(f"digest profiles={len(profiles)} seconds={seconds:.2f} messages_per_s={sent / seconds:.1f} "
          f"kb_per_message={kb:.1f} resent={resent}")


if __name__ == "__main__":
    main()
