"""Profiles: papersift.toml tables, the browser export, library files, interest clusters and
the explained, deterministic ranking, on a real SQLite store with the index's vectors."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from typer.testing import CliRunner

from papersift.cli import app
from papersift.config import Settings, load_settings
from papersift.errors import ConfigError, FormatError, InputError
from papersift.model import Enrichment, Paper
from papersift.profiles import (
    Profile,
    ProfileRanker,
    cluster,
    load_profiles,
    read_export,
    read_library,
    write_profile,
)
from papersift.profiles import weights as W
from papersift.profiles.rank import author_matches, phrase_pattern
from papersift.search.embed import HashingEmbedder
from papersift.search.index import build_vectors
from papersift.store import open_store

DAY = dt.date(2025, 3, 4)
OLD = dt.date(2025, 1, 10)
DIFF = "Diffusion models for image generation with latent denoising"
ROBOT = "Reinforcement learning for robot locomotion policies"


def _papers() -> list[Paper]:
    seeds = [  # the reader's own papers, on two topics
        Paper(arxiv_id="2501.00001", title="Latent diffusion models for image synthesis",
              abstract=f"{DIFF}. We denoise latents.", doi="10.1000/seed.diff", published=OLD),
        Paper(arxiv_id="2501.00002", title="Legged robot locomotion with reinforcement learning",
              abstract=f"{ROBOT}. Policies trained in simulation.", published=OLD),
    ]
    day = [
        Paper(arxiv_id="2503.00001", title="Faster latent diffusion image generation",
              abstract=f"{DIFF}. A faster sampler for latent diffusion.", hf_date=DAY, upvotes=3,
              authors=["Ann Example"]),
        Paper(arxiv_id="2503.00002", title="Robot locomotion policies from reinforcement learning",
              abstract=f"{ROBOT}. Quadruped robots walk.", hf_date=DAY, upvotes=2),
        Paper(arxiv_id="2503.00003", title="Medical image diffusion for tumour segmentation",
              abstract=f"{DIFF}. Medical scans.", hf_date=DAY, upvotes=9),
        Paper(arxiv_id="2503.00004", title="Tax law corpus statistics",
              abstract="Counting words in legal statutes of many countries.", hf_date=DAY, upvotes=1,
              authors=["Yann LeCun"]),
        Paper(arxiv_id="2503.00005", title="Protein folding at scale",
              abstract="Amino acid chains fold; we predict structures.", hf_date=DAY, upvotes=1),
    ]
    return seeds + day


@pytest.fixture()
def world(tmp_path):
    store = open_store(tmp_path / "data" / "papersift.db")
    papers = _papers()
    store.upsert_papers(papers)
    store.record_day(DAY, [p.id for p in papers[2:]], "hf")
    store.save_enrichment(Enrichment(paper_id="2503.00005", method="offline", tags=["science"]))
    build_vectors(store, HashingEmbedder(256))
    settings = Settings(data_dir=tmp_path / "data", embedder="hash256", config_path=tmp_path / "papersift.toml")
    yield store, settings, tmp_path
    store.close()


def _rank(world, **fields):
    store, settings, tmp = world
    prof = Profile(name="alice", **fields)
    return ProfileRanker(store, settings, tmp).rank(prof, DAY)


def test_two_interest_clusters_both_rank_and_are_explained(world):
    rd = _rank(world, seed_papers=["2501.00001", "https://arxiv.org/abs/2501.00002v2"], min_score=0.2)
    assert len(rd.interests.members) == 2  # two topics, two clusters (not one centroid)
    kept = [r.paper.id for r in rd.ranking.kept]
    assert set(kept[:3]) >= {"2503.00001", "2503.00002"}
    by_id = {r.paper.id: r for r in rd.ranking.kept}
    assert by_id["2503.00001"].reasons[0].startswith("close to your paper “Latent diffusion models")
    assert by_id["2503.00002"].reasons[0].startswith("close to your paper “Legged robot locomotion")
    assert "2501.00001" not in kept  # the reader's own papers are not recommended back
    again = _rank(world, seed_papers=["2501.00001", "2501.00002"], min_score=0.2)
    assert [(r.paper.id, r.score) for r in again.ranking.kept] == [(r.paper.id, r.score) for r in rd.ranking.kept]


def test_keyword_author_tag_boosts_negative_keyword_and_threshold(world):
    rd = _rank(world, keywords=["latent diffusion"], authors=["Y. LeCun"], tags=["science"],
               negative_keywords=["medical"], exclude=["2503.00002"], min_score=0.05)
    r = rd.ranking
    by_id = {x.paper.id: x for x in r.kept + r.below}
    assert "keyword “latent diffusion”" in by_id["2503.00001"].reasons
    assert "author Y. LeCun" in by_id["2503.00004"].reasons
    assert by_id["2503.00004"].score == pytest.approx(0.35)
    assert "tag #science" in by_id["2503.00005"].reasons
    assert [(p.id, why) for p, why in r.removed] == [("2503.00003", "negative keyword “medical”")]
    assert "2503.00002" not in by_id  # hidden
    assert r.kept[0].paper.id == "2503.00004"  # author boost 0.35 beats keyword 0.25 + tag 0.1
    tight = _rank(world, keywords=["latent diffusion"], authors=["Y. LeCun"], min_score=0.3)
    assert [x.paper.id for x in tight.ranking.kept] == ["2503.00004"]


def test_rule_matching():
    assert phrase_pattern("world model").search("Scaling World-Models for agents")
    assert not phrase_pattern("rag").search("dragons fly")
    assert author_matches("Y. LeCun", ["Yann LeCun"]) and author_matches("yann lecun", ["Yann LeCun"])
    assert not author_matches("Yann LeCun", ["Yves LeCun"])
    assert not author_matches("Y. LeCun", ["Ann Example"])


def test_lexical_term_alone_ranks_both_topics_and_names_the_shared_words(world):
    store, settings, tmp = world
    words_only = settings.model_copy(update={"embedder": "none"})  # no vectors: the lexical term alone
    prof = Profile(name="bob", seed_papers=["2501.00001", "2501.00002"], min_score=0.05)
    rd = ProfileRanker(store, words_only, tmp).rank(prof, DAY)
    assert rd.model is None and "compared by their words only" in rd.notes[0]
    kept = [r.paper.id for r in rd.ranking.kept]
    # both topics, above the unrelated papers (which share no word with the seeds: left out)
    assert set(kept[:2]) == {"2503.00001", "2503.00002"} and kept[2:] == ["2503.00003"]
    by_id = {r.paper.id: r for r in rd.ranking.kept + rd.ranking.below}
    assert by_id["2503.00004"].score == 0 and by_id["2503.00005"].score == 0
    robot, diff = by_id["2503.00002"], by_id["2503.00001"]
    assert robot.similarity == 0 and robot.lexical > diff.lexical > 0
    why = robot.reasons[0]
    assert why.startswith("words shared with your papers: ") and "locomotion" in why and "quadruped" not in why
    assert "latent" in diff.reasons[0] and "robot" not in diff.reasons[0]
    again = ProfileRanker(store, words_only, tmp).rank(prof, DAY)
    assert [(r.paper.id, r.score, r.reasons) for r in again.ranking.kept] == \
        [(r.paper.id, r.score, r.reasons) for r in rd.ranking.kept]


def test_lexical_term_is_added_to_the_embedding_similarity(world):
    rd = _rank(world, seed_papers=["2501.00001", "2501.00002"], min_score=-1)
    by_id = {r.paper.id: r for r in rd.ranking.kept}
    for r in by_id.values():
        assert r.score == pytest.approx(W.SIMILARITY * r.similarity + W.LEXICAL * r.lexical, abs=1e-5)
    robot = by_id["2503.00002"]
    assert robot.reasons[0].startswith("close to your paper") and robot.reasons[1].startswith("words shared")
    assert not any(x.startswith("words shared") for x in by_id["2503.00005"].reasons)


def test_lexical_space_vectors_similarities_and_shared_words():
    import numpy as np

    from papersift.profiles.lexical import LexicalSpace, centroid, similarities
    from papersift.search.lexical import Analyzer

    an = Analyzer()
    words = ["quadruped", "robot", "gait", "diffusion", "latent", "rare", "the", "model", "2024"]
    vocab = {an.stem_word(w): i for i, w in enumerate(words)}
    df = np.array([100, 500, 80, 400, 300, 3, 90_000, 50_000, 200])
    space = LexicalSpace.from_counts(vocab, df, 100_000, an)  # min df: 5 papers of 100k
    v = space.vector("Quadrupeds", "A robot gait; the model, 2024, a rare word.")
    kept = {words[t] for t in v.terms}
    assert kept == {"quadruped", "robot", "gait"}  # stopwords, numbers and too rare words dropped
    assert np.isclose(np.linalg.norm(v.weights), 1)
    w = dict(zip((words[t] for t in v.terms), v.weights, strict=True))
    assert w["quadruped"] > w["gait"]  # a title word counts twice (its idf is a bit lower)
    seeds = [space.vector("Robot gait", ""), space.vector("Latent diffusion", ""), space.vector("", "")]
    cands = [v, space.vector("Latent diffusion for robot gait", ""), space.vector("Tax law", "")]
    got = similarities(cands, seeds + [centroid(seeds[:2])])

    def dense(x):
        out = np.zeros(len(words), dtype=np.float32)
        out[x.terms] = x.weights
        return out
    want = np.array([[dense(c) @ dense(s) for s in seeds + [centroid(seeds[:2])]] for c in cands])
    assert np.allclose(got, want, atol=1e-6) and got[2].sum() == 0 and got[:, 2].sum() == 0
    assert got[1, 0] > 0 and got[1, 1] > 0  # a two-topic candidate is close to both seeds
    # the rarer shared word weighs more, so it comes first; "quadrupeds" is not shared
    assert space.shared_words("Quadrupeds", "A robot gait.", [seeds[0]], 4) == ["gait", "robot"]
    assert space.shared_words("Tax law", "", seeds, 4) == []


def test_clusters_one_per_seed_then_at_most_max_clusters():
    import numpy as np

    v = np.array([[1, 0, 0], [0.95, 0.31, 0], [0, 1, 0], [0, 0, 1]], dtype=np.float32)
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    assert cluster(v)[1] == [[0], [1], [2], [3]]  # a small profile: each paper its own cluster
    cents, members = cluster(v, max_clusters=3)
    assert members == [[0, 1], [2], [3]]  # the two close papers merge first
    assert np.allclose(np.linalg.norm(cents, axis=1), 1)
    rng = np.random.default_rng(3)
    many = rng.normal(size=(300, 16)).astype(np.float32)
    many /= np.linalg.norm(many, axis=1, keepdims=True)
    c1, m1 = cluster(many, max_clusters=20)
    c2, m2 = cluster(many, max_clusters=20)
    assert 10 <= len(m1) <= 20 and m1 == m2 and sorted(i for m in m1 for i in m) == list(range(300))


LIB_BIB = r"""
% my papers
@article{a, title = {Latent {Diffusion} Models for Image Synthesis}, doi = {10.1000/SEED.DIFF},
  abstract = "We denoise latents."}
@misc{b, title = "Legged robot locomotion with reinforcement learning", eprint = {2501.00002},
  archivePrefix = {arXiv}}
@inproceedings{c, title = {Protein structure prediction with amino acid chains},
  abstract = {Amino acid chains fold; we predict protein structures and folding.}, year = 2024}
@comment{ignored}
"""
LIB_RIS = """TY  - JOUR
TI  - Legged robot locomotion with reinforcement learning
UR  - https://arxiv.org/abs/2501.00002v1
ER  -
TY  - JOUR
AB  - no title here
ER  -
"""
LIB_CSL = [{"type": "article", "title": "Latent diffusion models for image synthesis", "DOI": "10.1000/seed.diff"}]
LIB_ZOTERO = [{"key": "X", "data": {"itemType": "preprint", "title": "Something new",
                                    "abstractNote": "An abstract.", "extra": "arXiv: 2501.00002"}}]


def test_library_formats(tmp_path):
    (tmp_path / "lib.bib").write_text(LIB_BIB)
    lib = read_library(tmp_path / "lib.bib")
    assert lib.format == "bibtex" and [e.title for e in lib.entries][0] == "Latent Diffusion Models for Image Synthesis"
    assert lib.entries[0].doi == "10.1000/seed.diff" and lib.entries[1].arxiv_id == "2501.00002"
    (tmp_path / "lib.ris").write_text(LIB_RIS)
    ris = read_library(tmp_path / "lib.ris")
    assert ris.format == "ris" and ris.entries[0].arxiv_id == "2501.00002" and ris.skipped == 1
    (tmp_path / "csl.json").write_text(json.dumps(LIB_CSL))
    assert read_library(tmp_path / "csl.json").entries[0].doi == "10.1000/seed.diff"
    (tmp_path / "z.json").write_text(json.dumps(LIB_ZOTERO))
    z = read_library(tmp_path / "z.json")
    assert z.format == "zotero" and z.entries[0].arxiv_id == "2501.00002"
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(FormatError, match="bad.json"):
        read_library(tmp_path / "bad.json")
    with pytest.raises(InputError, match="not found"):
        read_library(tmp_path / "missing.bib")


def test_library_entries_matched_by_doi_arxiv_title_and_missing_ones_embedded(world):
    store, settings, tmp = world
    (tmp / "lib.bib").write_text(LIB_BIB)
    rd = _rank(world, library="lib.bib", min_score=0.2)
    i = rd.interests
    assert (i.library, i.matched, i.embedded) == (3, 2, 1)  # DOI and arXiv id matched; one embedded
    assert i.seed_ids == {"2501.00001", "2501.00002"}
    assert len(i.members) == 3
    by_id = {r.paper.id: r for r in rd.ranking.kept}
    assert by_id["2503.00005"].reasons[0].startswith("close to your paper “Protein structure prediction")


def test_toml_profiles_and_one_line_errors(tmp_path):
    cfg = tmp_path / "papersift.toml"
    cfg.write_text('[papersift]\nsite_title = "mine"\n\n[[profiles]]\nname = "a"\nkeywords = ["x"]\n'
                   'tags = ["CV", "#rl"]\nmin_score = 0.4\n')
    (p,) = load_profiles(cfg)
    assert (p.name, p.tags, p.min_score, p.max_papers) == ("a", ["cv", "rl"], 0.4, 20)
    assert load_settings(cfg).config_path == cfg
    cfg.write_text('[[profiles]]\nname = "a"\nmin_score = "high"\n')
    with pytest.raises(ConfigError, match=r"\[\[profiles\]\] #1 \(a\): field 'min_score'"):
        load_profiles(cfg)
    cfg.write_text('[[profiles]]\nname = "a"\ntags = ["nope"]\n')
    with pytest.raises(ConfigError, match="unknown tag"):
        load_profiles(cfg)
    cfg.write_text('[[profiles]]\nname = "a"\n[[profiles]]\nname = "a"\n')
    with pytest.raises(ConfigError, match="second profile named 'a'"):
        load_profiles(cfg)
    cfg.write_text('[[profiles]]\nname = "../etc"\n')
    with pytest.raises(ConfigError, match="field 'name'"):
        load_profiles(cfg)


EXPORT = {"papersift_profile": 1, "name": "bob", "liked": ["2501.00001", "2501.00002"],
          "hidden": ["2503.00003"], "keywords": ["diffusion"], "authors": [],
          "negative_keywords": ["medical"], "tags": ["cv"], "future_key": {"ignored": True}}


def test_export_file_and_atomic_write_keeps_the_rest(tmp_path):
    cfg = tmp_path / "papersift.toml"
    original = '# my settings\n[papersift]\nsite_title = "mine"  # keep me\n\n[[profiles]]\nname = "a"\n'
    cfg.write_text(original)
    f = tmp_path / "bob.json"
    f.write_text(json.dumps(EXPORT))
    prof = read_export(f)
    assert (prof.seed_papers, prof.exclude, prof.negative_keywords) == (EXPORT["liked"], ["2503.00003"], ["medical"])
    assert write_profile(cfg, prof) is False
    text = cfg.read_text()
    assert text.startswith(original) and "# keep me" in text
    assert [p.name for p in load_profiles(cfg)] == ["a", "bob"]
    with pytest.raises(InputError, match="exists; pass --replace"):
        write_profile(cfg, prof)
    assert write_profile(cfg, prof.model_copy(update={"keywords": ["other"]}), replace=True) is True
    assert [p.keywords for p in load_profiles(cfg)] == [[], ["other"]]
    assert not list(tmp_path.glob(".*.tmp"))
    for bad, msg in (({**EXPORT, "liked": "2501.00001"}, "'liked' must be a list"),
                     ({**EXPORT, "tags": [1]}, "'tags' must hold strings"),
                     ({"name": "x"}, "not a papersift profile export"),
                     ({**EXPORT, "papersift_profile": 2}, "version 2")):
        f.write_text(json.dumps(bad))
        with pytest.raises(InputError, match=msg):
            read_export(f)


runner = CliRunner()


def test_profile_commands(world, monkeypatch):
    store, settings, tmp = world
    monkeypatch.chdir(tmp)
    monkeypatch.setenv("PAPERSIFT_EMBEDDER", "hash256")
    (tmp / "bob.json").write_text(json.dumps(EXPORT))
    store.close()
    common = ["--config", str(tmp / "papersift.toml")]
    # no --config: ./papersift.toml, which does not exist yet, is created
    r = runner.invoke(app, ["profile", "add", "--from", str(tmp / "bob.json"), "--author", "Y. LeCun"],
                      catch_exceptions=False)
    assert r.exit_code == 0, r.output
    assert "profile bob: added" in r.output
    r = runner.invoke(app, ["profile", "list", *common], catch_exceptions=False)
    assert "bob: 2 seed papers" in r.output
    r = runner.invoke(app, ["profile", "show", "bob", "--data-dir", str(tmp / "data"), *common],
                      catch_exceptions=False)
    assert "2 interest clusters" in r.output and r.exit_code == 0
    r = runner.invoke(app, ["profile", "test", "bob", "--date", DAY.isoformat(), "--data-dir",
                            str(tmp / "data"), *common], catch_exceptions=False)
    out = " ".join(r.output.split())
    assert r.exit_code == 0, r.output
    assert "2503.00001" in out and "close to your paper" in out and "keyword “diffusion”" in out
    assert "removed 2503.00003" not in out  # hidden, so never even considered
    assert "author Y. LeCun" in out
    r = runner.invoke(app, ["profile", "test", "nobody", *common], catch_exceptions=False)
    assert r.exit_code == 1 and "no profile named 'nobody'" in r.output
    assert len(r.output.strip().splitlines()) == 1
