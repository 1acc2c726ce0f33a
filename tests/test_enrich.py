"""Enrichment: taxonomy, schema checks, the offline enricher, and the LLM pipeline driven by
the real OpenAI/Anthropic SDKs against a real loopback server (tests/support/fake_llm.py)."""

from __future__ import annotations

import datetime as dt

import pytest
from support.fake_llm import FakeLLM

from papersift import taxonomy
from papersift.config import load_settings
from papersift.enrich.llm import llm_retry as RetryPolicy
from papersift.enrich.llm import make_llm
from papersift.enrich.offline import OfflineEnricher, split_sentences, textrank
from papersift.enrich.runner import PROMPT_VERSION, run_enrich
from papersift.enrich.schema import (
    PayloadError,
    check_language,
    extract_json,
    is_single_emoji,
    validate_payload,
)
from papersift.model import Enrichment, Paper, Review
from papersift.store import open_store

LANGS = ["en", "ru", "zh"]


def paper(i: int, title: str | None = None, abstract: str | None = None) -> Paper:
    return Paper(id=f"2502.{i:05d}", title=title or f"Paper number {i} on reward models",
                 abstract=abstract or ("We train reward models from human preferences. "
                                       "Our method improves alignment of language models. "
                                       "Experiments on three benchmarks confirm the gains."),
                 hf_date=dt.date(2025, 2, 6), upvotes=100 - i)


@pytest.fixture
def fake():
    with FakeLLM() as f:
        yield f


def llm_for(fake: FakeLLM, provider: str = "openai", timeout: float = 10.0, model: str = "gpt-4o-mini"):
    url = fake.openai_url if provider == "openai" else fake.url
    s = load_settings(None, provider=provider, model=model, base_url=url, api_key="test-key",
                      request_timeout=timeout)
    return make_llm(s, RetryPolicy(attempts=4, base_delay=0.05, max_delay=0.2))


# -- taxonomy and schema -----------------------------------------------------------------

def test_taxonomy_has_the_42_seed_tags_and_maps_legacy_names():
    assert len(taxonomy.TAGS) == 42
    assert {"dataset", "rlhf", "3d", "machine_translation", "low_resource"} <= set(taxonomy.TAGS)
    assert "translation" not in taxonomy.TAGS
    assert taxonomy.normalize("TRANSLATION") == "machine_translation"
    assert taxonomy.normalize("#medicine") == "healthcare"
    assert taxonomy.normalize("#edge_computing") == "inference"
    assert taxonomy.normalize("#3D") == "3d"
    assert taxonomy.normalize("#quantum_cooking") is None
    assert taxonomy.display("cv") == "#cv"
    assert taxonomy.normalize_all(["#CV", "cv", "bogus", "RL"]) == ["cv", "rl"]


def test_extract_json_tolerates_fences_prose_and_single_quotes():
    assert extract_json('```json\n{"a": 1}\n```') == {"a": 1}
    assert extract_json('Sure! Here it is: {"a": "x}y"} Hope it helps {') == {"a": "x}y"}
    assert extract_json("{'a': 'b', 'c': [1, 2]}") == {"a": "b", "c": [1, 2]}
    with pytest.raises(PayloadError):
        extract_json("no json at all {a: [")


@pytest.mark.parametrize("s,ok", [("🧠", True), ("👁️", True), ("👍🏽", True), ("🇫🇷", True),
                                  ("1️⃣", True), ("🏳️‍🌈", True), ("🧠🔥", False), ("a", False),
                                  ("", False), ("©", False), (":brain:", False)])
def test_single_emoji_check(s, ok):
    assert is_single_emoji(s) is ok


def test_language_checks_use_scripts():
    ru = "Статья исследует новый метод обучения LLM с помощью RLHF и показывает хорошие результаты."
    zh = "本文研究了一种新的 RLHF 训练方法，并在多个基准上取得了很好的效果。"
    en = "This paper studies a new training method for language models with strong results."
    assert check_language(ru, "ru") is None
    assert check_language(zh, "zh") is None
    assert check_language(en, "en") is None
    assert check_language(en, "ru") and check_language(en, "zh") and check_language(ru, "en")


def _good(t: str = "a model") -> dict:
    from support.fake_llm import EN_REVIEW, RU_REVIEW, ZH_REVIEW

    return {"emoji": "🧠", "tags": ["rlhf", "#Training"],
            "en": {"title": "Reward models, refined", "review": EN_REVIEW.format(t=t)},
            "ru": {"title": "Модели наград без хаков", "review": RU_REVIEW.format(t=t)},
            "zh": {"title": "更好的奖励模型", "review": ZH_REVIEW.format(t=t)}}


def test_validate_payload_accepts_good_and_lists_every_problem():
    emoji, tags, reviews = validate_payload(_good(), LANGS)
    assert emoji == "🧠" and tags == ["rlhf", "training"] and set(reviews) == set(LANGS)
    bad = _good()
    bad["emoji"] = "🧠🔥"
    bad["tags"] = ["rlhf", "quantum_cooking"]
    bad["ru"]["review"] = bad["en"]["review"]
    bad["zh"]["title"] = ""
    with pytest.raises(PayloadError) as e:
        validate_payload(bad, LANGS)
    msg = str(e.value)
    assert "emoji" in msg and "quantum_cooking" in msg and "ru.review" in msg and "zh.title" in msg
    with pytest.raises(PayloadError, match="must be an object"):
        validate_payload({"emoji": "🧠", "tags": ["rl"]}, ["en"])


# -- offline -------------------------------------------------------------------------------

ROBOT = Paper(id="2503.00001", title="Learning dexterous robot manipulation from video",
              abstract="Robots struggle to manipulate deformable objects. We present a policy "
                       "for robotic manipulation learned from human videos. The robot arm "
                       "is controlled by a transformer policy trained with imitation. "
                       "Experiments on real robots show a 30% higher success rate. Our "
                       "embodied agent generalizes to unseen objects and scenes.")
MT = Paper(id="2503.00002", title="Machine translation for low-resource languages",
           abstract="Machine translation quality lags for low-resource languages. We collect "
                    "a parallel corpus for ten underrepresented languages. A multilingual "
                    "model trained on it improves translation quality by 4 BLEU. We release "
                    "the data and code.")


def test_offline_enricher_tags_summary_and_no_fake_translations():
    out = {e.paper_id: e for e in OfflineEnricher().enrich([ROBOT, MT])}
    r, m = out[ROBOT.id], out[MT.id]
    assert r.tags[0] == "robotics" and r.emoji == taxonomy.TAG_EMOJI["robotics"]
    assert "machine_translation" in m.tags or "low_resource" in m.tags
    for e, p in ((r, ROBOT), (m, MT)):
        assert e.method == "offline" and e.reviews == {} and e.input_hash == p.content_hash()
        sents = split_sentences(e.summary)
        assert 2 <= len(sents) <= 4
        assert all(s in p.abstract for s in sents)  # extractive: sentences of the abstract


def test_textrank_prefers_the_central_sentence():
    import numpy as np

    v = np.array([[1, 0, 0, 0], [0.9, 0.43, 0, 0], [0.9, 0, 0.43, 0], [0, 0, 0, 1.0]], dtype=np.float32)
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    assert int(np.argmax(textrank(v))) == 0


def test_split_sentences_keeps_abbreviations():
    assert split_sentences("We use LLMs, e.g. GPT-4. It works. See Fig. 2 for details.") == [
        "We use LLMs, e.g. GPT-4.", "It works.", "See Fig. 2 for details."]


# -- LLM pipeline ----------------------------------------------------------------------------

@pytest.mark.parametrize("backend", ["sqlite"])  # empties the enrichments table by SQL
def test_one_call_per_paper_then_rerun_costs_nothing_and_force_redoes(store, fake):
    papers = [paper(i) for i in range(6)]
    store.upsert_papers(papers)
    rep = run_enrich(store, papers, llm_for(fake), LANGS, concurrency=3)
    assert rep.done == 6 and rep.calls == 6 and not rep.failed
    assert len(fake.calls("enrich")) == 6
    e = store.get_enrichment(papers[0].id)
    assert e.method == "llm" and e.prompt_version == PROMPT_VERSION and set(e.reviews) == set(LANGS)
    assert e.usage.input_tokens > 0 and e.usage.calls == 1
    run = store.recent_runs(1)[0]
    assert run.counts["calls"] == 6 and run.counts["output_tokens"] > 0 and run.counts["cost_usd"] > 0

    rep2 = run_enrich(store, papers, llm_for(fake), LANGS)
    assert rep2.skipped == 6 and rep2.calls == 0 and len(fake.calls("enrich")) == 6

    # Enrichment rows gone but the cache kept: still zero calls.
    store.conn.execute("DELETE FROM enrichments")
    rep3 = run_enrich(store, papers, llm_for(fake), LANGS)
    assert rep3.cached == 6 and len(fake.calls("enrich")) == 6

    rep4 = run_enrich(store, papers[:2], llm_for(fake), LANGS, force=True)
    assert rep4.done == 2 and len(fake.calls("enrich")) == 8


def test_hfday_counts_as_done_and_offline_is_replaced_by_llm(store, fake):
    a, b = paper(1), paper(2)
    store.upsert_papers([a, b])
    store.save_enrichment(Enrichment(paper_id=a.id, method="hfday", emoji="🧠", tags=["rl"],
                                     reviews={"ru": Review(title="т", review="р")}))
    run_enrich(store, [a, b], None, LANGS)  # offline first
    assert store.get_enrichment(a.id).method == "hfday"
    assert store.get_enrichment(b.id).method == "offline"
    rep = run_enrich(store, [a, b], llm_for(fake), LANGS)
    assert rep.skipped == 1 and rep.done == 1
    assert store.get_enrichment(b.id).method == "llm"
    assert [r.title for r in fake.calls("enrich")] == [b.title]
    # An offline run never overwrites the LLM result, even with --force.
    run_enrich(store, [b], None, LANGS, force=True)
    assert store.get_enrichment(b.id).method == "llm"


def test_bad_answers_are_repaired_or_fail_alone(store, fake):
    papers = [paper(i) for i in range(1, 9)]
    store.upsert_papers(papers)
    fake.script("number 1 ", "fenced")
    fake.script("number 2 ", "prose")
    fake.script("number 3 ", "wrong_language")  # repaired by the second call
    fake.script("number 4 ", "unknown_tags")
    fake.script("number 5 ", "truncated")
    fake.script("number 6 ", "two_emoji", "two_emoji")  # still bad after repair
    fake.script("number 7 ", "invalid_json", "wrong_language")
    rep = run_enrich(store, papers, llm_for(fake), LANGS, concurrency=4)
    assert set(rep.failed) == {papers[5].id, papers[6].id}
    assert "invalid after repair" in rep.failed[papers[5].id] and "emoji" in rep.failed[papers[5].id]
    assert "not Russian" in rep.failed[papers[6].id]
    assert rep.done == 6 and rep.repaired == 3
    assert rep.calls == 8 + 5  # one call each, one repair for papers 3, 4, 5, 6, 7
    failures = store.failures()
    assert set(failures) == set(rep.failed)
    assert store.get_enrichment(papers[3].id).tags == ["training", "benchmark"]
    # The repair call carries the validation error back to the model.
    repair = [r for r in fake.calls("enrich") if r.title == papers[2].title][1]
    assert "not accepted" in repair.body["messages"][-1]["content"]
    assert "ru.review" in repair.body["messages"][-1]["content"]
    # A later run retries the failed ones and clears them when they succeed.
    rep2 = run_enrich(store, papers, llm_for(fake), LANGS)
    assert rep2.done == 2 and store.failures() == {}


def test_429_retry_after_500_backoff_and_slow_timeout(store, fake):
    papers = [paper(i) for i in range(1, 4)]
    store.upsert_papers(papers)
    fake.script("number 1 ", "429:1")
    fake.script("number 2 ", "500", "500")
    fake.script("number 3 ", "slow:3")
    rep = run_enrich(store, papers, llm_for(fake, timeout=1.0), LANGS)
    assert rep.done == 3 and not rep.failed and rep.calls == 2 + 3 + 2
    first, second = [r for r in fake.calls("enrich") if r.title == papers[0].title]
    assert first.status == 429 and second.at - first.at >= 0.95  # Retry-After honoured
    assert [r.status for r in fake.calls("enrich") if r.title == papers[1].title] == [500, 500, 200]


def test_persistent_errors_fail_the_paper_not_the_run(store, fake):
    papers = [paper(i) for i in range(1, 4)]
    store.upsert_papers(papers)
    fake.script("number 2 ", "500", "500", "500", "500")
    rep = run_enrich(store, papers, llm_for(fake), LANGS)
    assert rep.done == 2 and list(rep.failed) == [papers[1].id]
    assert "InternalServerError" in rep.failed[papers[1].id] and rep.calls == 2 + 4


def test_anthropic_messages_api_and_schema_fallback(store, fake):
    papers = [paper(i) for i in range(1, 3)]
    store.upsert_papers(papers)
    fake.script("number 1 ", "no_schema")
    rep = run_enrich(store, papers, llm_for(fake, "anthropic", model="claude-haiku-4-5"), ["en", "zh"])
    assert rep.done == 2 and not rep.failed
    calls = fake.calls("enrich")
    assert {c.api for c in calls} == {"anthropic"}
    assert all(set(store.get_enrichment(p.id).reviews) == {"en", "zh"} for p in papers)
    # After the endpoint refused the schema, requests go without it (JSON in text). The other
    # paper's first request may be in flight already, so look at the refused paper's retry.
    refused = next(i for i, c in enumerate(calls) if c.status == 400)
    retry = next(c for c in calls[refused + 1:] if c.title == calls[refused].title)
    assert "output_config" not in retry.body


def test_rate_limiter_spaces_requests():
    import asyncio
    import time

    from papersift.enrich.llm import RateLimiter

    async def go() -> float:
        lim = RateLimiter(tokens_per_minute=1000)
        lim_t0 = time.monotonic()
        await lim.acquire(600)
        # The second request would exceed the token budget: it must wait for the window.
        try:
            await asyncio.wait_for(lim.acquire(600), timeout=0.3)
        except TimeoutError:
            return time.monotonic() - lim_t0
        return -1.0

    assert asyncio.run(go()) > 0


def test_cli_enrich_offline_and_llm(tmp_path, fake, monkeypatch):
    from typer.testing import CliRunner

    from papersift.cli import app

    monkeypatch.chdir(tmp_path)
    for k in ("PAPERSIFT_API_KEY", "OPENAI_API_KEY", "ANTHROPIC_API_KEY", "PAPERSIFT_PROVIDER"):
        monkeypatch.delenv(k, raising=False)
    s = open_store(tmp_path / "d" / "papersift.db")
    s.upsert_papers([paper(i) for i in range(3)])
    s.close()
    runner = CliRunner()
    r = runner.invoke(app, ["enrich", "--data-dir", str(tmp_path / "d")])
    assert r.exit_code == 0, r.output
    assert "offline" in r.output and "3 done" in r.output
    r = runner.invoke(app, ["enrich", "--data-dir", str(tmp_path / "d"), "--provider", "openai",
                            "--model", "gpt-4o-mini", "--base-url", fake.openai_url,
                            "--date", "2025-02-06"])
    assert r.exit_code == 0, r.output
    assert "3 done" in r.output and "calls 3" in r.output and "cost $" in r.output
    r = runner.invoke(app, ["enrich", "--data-dir", str(tmp_path / "d"), "--provider", "openai",
                            "--model", "m", "--base-url", fake.openai_url, "--ids", "9999.99999"])
    assert r.exit_code == 1 and "unknown paper id" in r.output
    r = runner.invoke(app, ["enrich", "--data-dir", str(tmp_path / "d"), "--provider", "openai",
                            "--model", "m"])
    assert r.exit_code == 1 and "API key" in r.output
