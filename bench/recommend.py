"""Recommendation quality: proxy users (one per author) on 89k real arXiv papers.

    python bench/recommend.py ../shared/data/arxiv/arxiv-papers.jsonl.gz [--work DIR]
                              [--embedder model2vec|minilm] [--users 100] [--seed 14]

A proxy user per author: USERS authors drawn with a fixed seed among those with 8-40 papers
in the set, at least 3 of them after the cutoff (2026-04-01) and at least 3 before it. The
profile is the author's papers before the cutoff; the candidates are every paper after it
(23,716); the author's own later papers are the relevant ones. Author names are hidden from
every ranker (each sees title + abstract only). Rankers, side by side:

- random (fixed seed);
- arxiv-sanity-lite's method: tf-idf (its vectorizer settings) + a linear SVM per user,
  trained on the pre-cutoff papers (the user's as positives, all others as negatives);
- a single centroid: the mean of the profile's vectors, cosine;
- papersift: profiles/rank.py on the same vectors: the best cosine to an interest cluster
  plus the lexical term (profiles/lexical.py: tf-idf over the search index's BM25 terms and
  document frequencies; the BM25 index is built from titles and abstracts only here, so no
  author name reaches it).

Vectors come from papersift's embedder (search/embed.py), computed for all papers once and
cached in --work (model2vec: every paper, about 2 min on 2 cores; minilm: only the candidates
and the profiles' papers, ~25k, about 30 min). Prints recall@50,
nDCG@50 and MRR per ranker; last line
`recommend users=N recall50=R ndcg50=G svm_recall50=S` (papersift's figures and the SVM's).
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import math
import random
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from papersift.model import Paper  # noqa: E402
from papersift.profiles import Interests, Profile, cluster, rank_papers  # noqa: E402
from papersift.profiles.interests import Seed, set_terms  # noqa: E402
from papersift.profiles.lexical import LexicalSpace  # noqa: E402
from papersift.search.embed import get_embedder, paper_text  # noqa: E402
from papersift.search.lexical import BM25Index  # noqa: E402

CUTOFF = "2026-04-01"
K = 50


def load(path: Path) -> list[dict]:
    try:
        with gzip.open(path, "rt", encoding="utf-8") as f:
            return [json.loads(line) for line in f]
    except (OSError, ValueError) as e:
        sys.exit(f"error: {path}: cannot read the arXiv papers ({e}); pass arxiv-papers.jsonl.gz")


def pick_users(rows: list[dict], n: int, seed: int) -> list[str]:
    total, after = Counter(), Counter()
    for r in rows:
        for a in set(r["authors"]):
            total[a] += 1
            after[a] += r["published"] >= CUTOFF
    ok = sorted(a for a, c in total.items() if 8 <= c <= 40 and after[a] >= 3 and c - after[a] >= 3)
    return random.Random(seed).sample(ok, min(n, len(ok)))


def vectors(rows: list[dict], name: str, work: Path, need: np.ndarray) -> tuple[np.ndarray, str]:
    """Unit vectors for the rows (zeros for rows no ranker reads). model2vec embeds every
    paper (~1 min); minilm embeds only `need` (the candidates and the profiles' papers: ~25k
    of 89k, ~30 min instead of ~2-3 h on 2 cores), adding the rows a new --seed needs to the
    same cache file."""
    ids = hashlib.sha1("\n".join(r["id"] for r in rows).encode()).hexdigest()[:12]
    if name == "model2vec":
        need = np.arange(len(rows))
    cache = work / (f"vectors-{name}-{ids}.npy" if name == "model2vec" else f"vectors-{name}-{ids}-rows.npz")
    if name == "model2vec" and cache.exists():
        return np.load(cache), f"{name}, cached in {cache}"
    out, have = None, np.zeros(len(rows), dtype=bool)
    if name != "model2vec" and cache.exists():
        with np.load(cache) as z:
            out = np.zeros((len(rows), z["vecs"].shape[1]), dtype=np.float32)
            out[z["rows"]] = z["vecs"]
            have[z["rows"]] = True
    todo = [int(i) for i in need if not have[i]]
    if not todo:
        assert out is not None
        return out, f"{name}, {int(have.sum())} papers (candidates and profiles), cached in {cache}"
    emb = get_embedder(name, work)
    assert emb is not None
    if out is None:
        out = np.zeros((len(rows), emb.dim), dtype=np.float32)
    t0 = time.perf_counter()
    for i in range(0, len(todo), 512):
        part = todo[i:i + 512]
        out[part] = emb.embed([paper_text(rows[j]["title"], rows[j]["abstract"]) for j in part])
        have[part] = True
        print(f"\rembedding {min(i + 512, len(todo))}/{len(todo)}", end="", file=sys.stderr)
        if name != "model2vec" and (i // 512) % 8 == 7:  # keep what is done on a long run
            _save_rows(cache, out, have)
    print(file=sys.stderr)
    if name == "model2vec":
        tmp = cache.with_suffix(".tmp.npy")
        np.save(tmp, out)
        tmp.replace(cache)
    else:
        _save_rows(cache, out, have)
    return out, (f"{name}, {len(todo)} papers computed in {time.perf_counter() - t0:.0f}s "
                 f"({int(have.sum())} held: candidates and profiles), cached in {cache}")


def _save_rows(cache: Path, out: np.ndarray, have: np.ndarray) -> None:
    rows = np.flatnonzero(have)
    tmp = cache.with_name(cache.name + ".tmp.npz")
    np.savez(tmp, rows=rows, vecs=out[rows])
    tmp.replace(cache)


def metrics(ranked: list[int], rel: set[int]) -> tuple[float, float, float]:
    top = ranked[:K]
    hits = [1 if i in rel else 0 for i in top]
    recall = sum(hits) / len(rel)
    dcg = sum(h / math.log2(k + 2) for k, h in enumerate(hits))
    idcg = sum(1 / math.log2(k + 2) for k in range(min(len(rel), K)))
    mrr = 0.0
    for k, i in enumerate(ranked):
        if i in rel:
            mrr = 1 / (k + 1)
            break
    return recall, dcg / idcg, mrr


def svm_ranker(rows: list[dict], before: np.ndarray, after: np.ndarray):  # -> (user rows) -> ranking
    from sklearn import svm
    from sklearn.feature_extraction.text import TfidfVectorizer

    # arxiv-sanity-lite's compute.py settings (max_features scaled down from its 50k corpus)
    v = TfidfVectorizer(input="content", encoding="utf-8", decode_error="replace",
                        strip_accents="unicode", lowercase=True, analyzer="word",
                        stop_words="english", token_pattern=r"(?u)\b[a-zA-Z_][a-zA-Z0-9_]+\b",
                        ngram_range=(1, 2), max_features=20000, norm="l2", use_idf=True,
                        smooth_idf=True, sublinear_tf=True, max_df=0.1, min_df=5)
    x = v.fit_transform([f"{r['title']} | {r['abstract']}" for r in rows])
    xb, xa = x[before], x[after]
    pos_of = {int(i): k for k, i in enumerate(before)}

    def rank(user_rows: list[int]) -> list[int]:
        y = np.zeros(len(before), dtype=np.int32)
        y[[pos_of[i] for i in user_rows]] = 1
        clf = svm.LinearSVC(class_weight="balanced", max_iter=10000, tol=1e-6, C=0.01)  # as in serve.py
        clf.fit(xb, y)
        s = clf.decision_function(xa)
        return [int(after[j]) for j in np.argsort(-s, kind="stable")]

    return rank


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("path", type=Path)
    ap.add_argument("--work", type=Path, help="keep the vectors here between runs")
    ap.add_argument("--embedder", default="model2vec", choices=["model2vec", "minilm"])
    ap.add_argument("--users", type=int, default=100)
    ap.add_argument("--seed", type=int, default=14)
    args = ap.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="papersift-recommend-"))
    work.mkdir(parents=True, exist_ok=True)
    rows = load(args.path)
    users = pick_users(rows, args.users, args.seed)
    before = np.array([i for i, r in enumerate(rows) if r["published"] < CUTOFF])
    after = np.array([i for i, r in enumerate(rows) if r["published"] >= CUTOFF])
    by_author: dict[str, list[int]] = {}
    for i, r in enumerate(rows):
        for a in set(r["authors"]):
            by_author.setdefault(a, []).append(i)
    print(f"{len(rows)} papers; {len(before)} before {CUTOFF}, {len(after)} candidates after; "
          f"{len(users)} proxy users (seed {args.seed})")
    need = set(map(int, after))
    for a in users:
        need.update(i for i in by_author[a] if rows[i]["published"] < CUTOFF)
    vecs, where = vectors(rows, args.embedder, work, np.array(sorted(need)))
    print(f"vectors: {where}")
    # Candidates as Papers without authors: the rankers never see who wrote them.
    cands = [Paper(id=rows[i]["id"], title=rows[i]["title"], abstract=rows[i]["abstract"]) for i in after]
    cand_vecs = {rows[i]["id"]: vecs[i] for i in after}
    row_of = {rows[i]["id"]: int(i) for i in after}
    t_lex = time.perf_counter()
    # The product's lexical space is the search index's; here that index holds every paper's
    # title and abstract, with an empty author column (names stay hidden).
    space = LexicalSpace.from_index(BM25Index.build([(r["id"], r["title"], r["abstract"], "") for r in rows], "bench"))
    t_lex = time.perf_counter() - t_lex
    rng = random.Random(args.seed)
    t_svm = time.perf_counter()
    svm_rank = svm_ranker(rows, before, after)
    t_svm = time.perf_counter() - t_svm
    results: dict[str, list[tuple[float, float, float]]] = {k: [] for k in ("random", "svm", "centroid", "papersift")}
    seconds: Counter[str] = Counter({"svm": t_svm, "papersift": t_lex})
    for n, a in enumerate(users, 1):
        own = by_author[a]
        prof = [i for i in own if rows[i]["published"] < CUTOFF]
        rel = {i for i in own if rows[i]["published"] >= CUTOFF}
        t = time.perf_counter()
        results["random"].append(metrics(rng.sample(list(map(int, after)), len(after)), rel))
        t1 = time.perf_counter()
        results["svm"].append(metrics(svm_rank(prof), rel))
        t2 = time.perf_counter()
        c = vecs[prof].mean(axis=0)
        c /= np.linalg.norm(c)
        results["centroid"].append(metrics([int(after[j]) for j in np.argsort(-(vecs[after] @ c), kind="stable")], rel))
        t3 = time.perf_counter()
        cents, members = cluster(vecs[prof])
        interests = Interests(seeds=[Seed(rows[i]["id"], rows[i]["title"]) for i in prof], vectors=vecs[prof],
                              centroids=cents, members=members)
        set_terms(interests, space, [(rows[i]["id"], rows[i]["title"], rows[i]["abstract"]) for i in prof])
        profile = Profile(name="u", min_score=-10, max_papers=500)
        r = rank_papers(profile, interests, cands, cand_vecs, {}, space)
        results["papersift"].append(metrics([row_of[x.paper.id] for x in r.kept + r.below], rel))
        t4 = time.perf_counter()
        seconds.update({"random": t1 - t, "svm": t2 - t1, "centroid": t3 - t2, "papersift": t4 - t3})
        if n % 5 == 0 and n < len(users):  # running means, for long runs on a busy machine
            part = {k: float(np.mean([m[0] for m in v])) for k, v in results.items()}
            print(f"after {n} users: recall@50 " + ", ".join(f"{k} {v:.4f}" for k, v in part.items()),
                  flush=True)
    print(f"{'ranker':<34}{'recall@50':>10}{'nDCG@50':>10}{'MRR':>8}{'seconds':>9}")
    names = {"random": "random", "svm": "arxiv-sanity-lite (tf-idf + SVM)",
             "centroid": f"single centroid ({args.embedder})", "papersift": f"papersift ({args.embedder})"}
    mean = {k: tuple(float(np.mean([m[j] for m in v])) for j in range(3)) for k, v in results.items()}
    for k, (rc, nd, mr) in mean.items():
        print(f"{names[k]:<34}{rc:>10.4f}{nd:>10.4f}{mr:>8.4f}{seconds[k]:>9.1f}")
    ps, sv = mean["papersift"], mean["svm"]
    print(f"papersift / SVM: recall@50 x{ps[0] / sv[0]:.2f}, nDCG@50 x{ps[1] / sv[1]:.2f}, "
          f"MRR x{ps[2] / sv[2]:.2f} (target: recall x1.2 or more, nDCG ahead)")
    print(f"recommend users={len(users)} recall50={ps[0]:.4f} ndcg50={ps[1]:.4f} svm_recall50={sv[0]:.4f}")


if __name__ == "__main__":
    main()
