"""Archive importers end to end: real files in tmp_path, a real store, the real CLI."""

import datetime as dt
import gzip
import json

import pytest
from typer.testing import CliRunner

from papersift.cli import app
from papersift.ingest import import_paths
from papersift.model import Enrichment, Review
from papersift.sources.archives import detect_format, open_source
from papersift.sources.archives_hfday import fix_pub_date
from papersift.store import open_store

ABS = "We propose a method that works. " * 6


def hfday_oldest():
    return {"date": "8 октября", "issue_id": 34, "home_page_url": "https://huggingface.co/papers",
            "weekday": 1, "time_utc": "2024-10-08 20:26", "papers": [
                {"id": "https://huggingface.co/papers/2410.04717", "title": "Only-IF: Diversity",
                 "url": "https://huggingface.co/papers/2410.04717", "abstract": ABS, "score": 13,
                 "issue_id": 25, "pub_date": "2024-10-07", "pub_date_ru": "7 октября",
                 "data": {"desc": "Статья исследует обобщение.", "tags": ["#data-diversity"],
                          "emoji": "🧠", "title": "Разнообразие данных",
                          "categories": ["#dataset", "#medicine", "#translation"]}},
                {"id": "https://huggingface.co/papers/2410.04199", "title": "Errored paper",
                 "abstract": ABS, "score": 3, "pub_date": "2024-10-05", "data": {"error": "timeout"}},
                {"id": "not a paper url", "title": "Broken", "abstract": ABS, "data": {}},
            ]}


def hfday_transitional():
    return {"date": {"ru": "24 октября", "en": "October 24", "zh": "10月24日"},
            "time_utc": "2024-10-24 20:13", "issue_id": 254, "categories": {"#cv": 1},
            "papers": [{"id": "https://huggingface.co/papers/2410.17637", "title": "MIA-DPO",
                        "abstract": ABS, "score": 26, "pub_date": "2024-10-23", "hash": "2dc1395b8aa096fc",
                        "data": {"categories": ["#cv", "#rlhf"], "emoji": "🖼️",
                                 "ru": {"title": "MIA-DPO: обучение", "desc": "Статья."},
                                 "en": {"title": "MIA-DPO: training", "desc": "The paper."},
                                 "zh": {"title": "MIA-DPO：训练", "desc": "这篇文章。"}}}],
            "zh": {"text": "这篇文章介绍了一种方法。", "title": "MIA-DPO", "pinyin": "Zhè piān wénzhāng",
                   "vocab": json.dumps([{"word": "方法", "pinyin": "fāngfǎ", "trans": "method"}]),
                   "trans": "This article introduces a method.", "update_ts": "2024-10-24 09:00"}}


def hfday_current_wrong_year():
    return {"date": {"ru": "2 января", "en": "January 2", "zh": "1月2日"}, "time_utc": "2026-01-02 12:43",
            "issue_id": 384, "papers": [
                {"id": "https://huggingface.co/papers/2512.24617", "title": "Dynamic Large Concept Models",
                 "abstract": ABS, "score": 17, "pub_date": "2026-12-31", "hash": "14b3c28c67b8e772",
                 "authors": ["Xingwei Qu", "Shaowen Wang"], "affiliations": ["ByteDance"],
                 "data": {"categories": ["#training"], "emoji": "🧠",
                          "en": {"title": "Concepts", "desc": "Compresses tokens."}}}]}


def write(path, obj):
    path.write_text(json.dumps(obj, ensure_ascii=False, indent=4), encoding="utf-8")
    return path


def test_hfday_all_generations(tmp_path, make_store):
    files = [write(tmp_path / "2024-10-08.json", hfday_oldest()),
             write(tmp_path / "2024-10-24.json", hfday_transitional()),
             write(tmp_path / "2026-01-02.json", hfday_current_wrong_year())]
    s = make_store()
    summary = import_paths(s, files)
    assert summary.counts()["inserted"] == 4
    assert len(summary.errors) == 1 and "2024-10-08.json:papers[2]: field 'id'" in summary.errors[0]
    old = s.get_paper("2410.04717")
    assert old.hf_date == dt.date(2024, 10, 8) and old.published == dt.date(2024, 10, 7)
    assert old.upvotes == 13
    e = s.get_enrichment("2410.04717")
    assert e.method == "hfday" and e.emoji == "🧠"
    assert e.tags == ["dataset", "healthcare", "machine_translation"]
    assert set(e.reviews) == {"ru"} and e.reviews["ru"].title == "Разнообразие данных"
    assert s.get_enrichment("2410.04199") is None  # error record: paper kept, no enrichment
    assert s.get_paper("2410.04199") is not None
    t = s.get_enrichment("2410.17637")
    assert set(t.reviews) == {"ru", "en", "zh"} and t.tags == ["cv", "rlhf"]
    reading = s.get_reading(dt.date(2024, 10, 24))
    assert reading.vocab[0].word == "方法" and reading.source_paper_id == "2410.17637"
    cur = s.get_paper("2512.24617")
    assert cur.published == dt.date(2025, 12, 31)  # wrong-year pub_date repaired
    assert cur.authors == ["Xingwei Qu", "Shaowen Wang"] and cur.affiliations == ["ByteDance"]
    assert [p.id for p in s.papers_for_day(dt.date(2024, 10, 8))] == ["2410.04717", "2410.04199"]
    # idempotent, and the run is recorded
    again = import_paths(s, files)
    assert again.counts()["inserted"] == 0 and again.counts()["updated"] == 0
    assert again.enrichments == 0
    runs = s.recent_runs(2)
    assert runs[0].kind == "import" and runs[0].status == "partial" and len(runs[0].errors) == 1


def test_hfday_never_overwrites_llm_enrichment(tmp_path, make_store):
    f = write(tmp_path / "2024-10-24.json", hfday_transitional())
    s = make_store()
    import_paths(s, [f])
    s.save_enrichment(Enrichment(paper_id="2410.17637", method="llm", model="m", tags=["cv"],
                                 reviews={"en": Review(title="ours", review="ours")}))
    summary = import_paths(s, [f])
    assert summary.enrichments_kept == 1
    assert s.get_enrichment("2410.17637").method == "llm"


def test_fix_pub_date():
    day = dt.date(2026, 1, 2)
    assert fix_pub_date("2026-12-31", day) == dt.date(2025, 12, 31)
    assert fix_pub_date("2025-12-30", day) == dt.date(2025, 12, 30)
    assert fix_pub_date("garbage", day) is None


def arxiv_lines():
    return [json.dumps({"id": f"2503.{11677 + i:05d}", "title": f"Paper number {i}", "abstract": ABS,
                        "authors": ["A. Author", "B. Author"], "categories": ["cs.CL", "cs.AI"],
                        "published": "2025-03-18", "source": "x/y"}) for i in range(30)]


def test_daily_arxiv_jsonl_gz_with_bad_lines(tmp_path, make_store):
    lines = arxiv_lines()
    lines[3] = '{"id": "2503.1", "title": "bad id"}'
    lines[7] = "{not json"
    lines[9] = json.dumps({"id": "2503.20000", "title": "   ", "abstract": "x"})
    path = tmp_path / "arxiv-papers.jsonl.gz"
    with gzip.open(path, "wt", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    src = open_source(path)
    assert detect_format(src) == "daily-arxiv"
    src.close()
    s = make_store()
    summary = import_paths(s, [path])
    assert s.count_papers() == 27
    assert [e.split(": field ")[0] for e in summary.errors] == [
        "arxiv-papers.jsonl.gz:4", "arxiv-papers.jsonl.gz:8", "arxiv-papers.jsonl.gz:10"]
    assert "'arxiv_id'" in summary.errors[0] and "'json'" in summary.errors[1]
    assert "'title'" in summary.errors[2]
    p = s.get_paper("2503.11677")
    assert p.categories == ["cs.CL", "cs.AI"] and p.primary_category == "cs.CL"
    assert p.published == dt.date(2025, 3, 18)
    # Re-import: stored records are skipped unparsed, the bad ones are reported again.
    again = import_paths(s, [path])
    assert again.counts()["unchanged"] == 27 and len(again.errors) == 3
    # A changed record is not skipped: the new upvote-free field (a new title) applies.
    lines[0] = lines[0].replace('"A. Author"', '"A. Author", "C. Newcomer"')
    path2 = tmp_path / "2025-03-18.jsonl"
    path2.write_text("\n".join(x for i, x in enumerate(lines) if i not in (3, 7, 9)) + "\n")
    third = import_paths(s, [path2])
    assert third.counts()["updated"] == 1 and third.counts()["unchanged"] == 26
    assert "C. Newcomer" in s.get_paper("2503.11677").authors


def test_nothing_stored_before_is_lost_when_a_file_is_broken(tmp_path, make_store):
    s = make_store()
    good = tmp_path / "good.jsonl"
    good.write_text("\n".join(arxiv_lines()[:5]) + "\n")
    import_paths(s, [good])
    broken = tmp_path / "broken.json"
    broken.write_text('{"papers": [', encoding="utf-8")
    summary = import_paths(s, [broken], fmt="hfday")
    assert summary.errors and "broken.json" in summary.errors[0]
    assert s.count_papers() == 5


def test_hf_api_dump(tmp_path, make_store):
    items = [{"paper": {"id": "2410.17243", "title": "Breaking the Memory\n  Barrier", "summary": ABS,
                        "authors": [{"_id": "1", "name": "Zesen Cheng", "hidden": False}],
                        "publishedAt": "2024-10-22T13:04:51.000Z", "upvotes": 80},
              "publishedAt": "2024-10-25T01:30:45.000Z", "title": "Breaking the Memory Barrier",
              "numComments": 3, "submittedBy": {"name": "akhaliq"}},
             {"paper": {"title": "no id"}, "publishedAt": "2024-10-25T01:30:45.000Z",
              "submittedBy": {}}]
    path = write(tmp_path / "daily.json", items)
    src = open_source(path)
    assert detect_format(src) == "hf-api"
    src.close()
    s = make_store()
    summary = import_paths(s, [path])
    assert len(summary.errors) == 1 and "daily.json:[1]" in summary.errors[0]
    p = s.get_paper("2410.17243")
    assert p.title == "Breaking the Memory Barrier" and p.upvotes == 80 and p.num_comments == 3
    assert p.hf_date == dt.date(2024, 10, 25)
    assert [x.id for x in s.papers_for_day(dt.date(2024, 10, 25))] == ["2410.17243"]


def test_hf_archive_and_detection(tmp_path, make_store):
    day = {"date": "2025-12-04", "papers": [
        {"title": "Qwen3-VL Technical Report", "paper_url": "https://huggingface.co/papers/2511.21631",
         "authors": [], "stars": "0", "details": {"abstract": "Qwen3-VL Technical Report",
                                                   "github_links": ["https://github.com/QwenLM/Qwen3-VL"]}}]}
    path = tmp_path / "archive.jsonl"
    path.write_text(json.dumps(day) + "\n")
    src = open_source(path)
    assert detect_format(src) == "hf-archive"
    src.close()
    s = make_store()
    import_paths(s, [path])
    p = s.get_paper("2511.21631")
    assert p.abstract == ""  # the scraper's non-abstract is not taken
    assert p.github_repo == "https://github.com/QwenLM/Qwen3-VL"
    assert [x.id for x in s.papers_for_day(dt.date(2025, 12, 4))] == ["2511.21631"]


def test_cli_import_and_errors(tmp_path):
    listing = tmp_path / "listing.txt"
    listing.write_text("Daily Papers\n\nJan 7\n\nA Paper Title\n\n" + ABS + "\n\n  • 3 authors\n·\n"
                       "Oct 3, 2024 7\n\nAnother Title\n\n" + ABS + "\n\n  • 2 authors\n·\nOct 32, 2024\n",
                       encoding="utf-8")
    runner = CliRunner()
    res = runner.invoke(app, ["import", str(listing), "--data-dir", str(tmp_path / "d")])
    assert res.exit_code == 0, res.output
    assert "1 inserted" in res.output and "1 errors" in res.output
    assert "listing.txt:" in res.output and "'date'" in res.output
    s = open_store(tmp_path / "d" / "papersift.db")
    assert s.count_papers() == 1 and s.recent_runs(1)[0].kind == "import"
    res = runner.invoke(app, ["import", str(tmp_path / "missing.json"), "--data-dir", str(tmp_path / "d")])
    assert res.exit_code == 1 and "no such file" in res.output
    res = runner.invoke(app, ["import", str(listing), "--format", "csv", "--data-dir", str(tmp_path / "d")])
    assert res.exit_code == 1 and "--format" in res.output


@pytest.mark.parametrize("runs", [2])
def test_demo_import_step_is_idempotent(tmp_path, runs):
    from papersift.jobs import import_sample, sample_path
    from papersift.store import open_store

    store = open_store(tmp_path / "d" / "papersift.db")
    counts = [import_sample(store).counts() for _ in range(runs)]
    n = sum(1 for line in sample_path().read_text().splitlines() if line.strip())
    assert counts[0]["inserted"] == n
    assert (counts[-1]["inserted"], counts[-1]["updated"], counts[-1]["unchanged"]) == (0, 0, n)
    assert store.count_papers() == n and len(store.days()) == 132
    merged = [p for p in store.iter_papers() if p.title.startswith("On student-teacher")]
    assert len(merged) == 1 and len(store.paper_sources(merged[0].id)) == 4


def test_single_hf_paper_and_unknown_documents(tmp_path, make_store):
    paper = {"id": "2502.02671", "title": "One Paper", "summary": ABS,
             "authors": [{"_id": "1", "name": "Ann Author"}], "upvotes": 5,
             "publishedAt": "2025-02-04T00:00:00.000Z"}
    path = write(tmp_path / "paper.json", paper)
    s = make_store()
    summary = import_paths(s, [path])
    assert summary.formats[str(path)] == "hf-api" and not summary.errors
    assert s.get_paper("2502.02671").authors == ["Ann Author"]
    other = write(tmp_path / "other.json", {"rows": [1, 2]})
    summary = import_paths(s, [other])
    assert summary.errors == ["other.json: unknown JSON document (keys: rows); pass --format"]


def test_truncated_gzip_keeps_the_records_before_the_damage(tmp_path, make_store):
    path = tmp_path / "cut.jsonl.gz"
    data = gzip.compress(("\n".join(arxiv_lines()) + "\n").encode())
    path.write_bytes(data[: len(data) - 40])  # the tail of the stream is missing
    s = make_store()
    summary = import_paths(s, [path])
    assert 20 <= s.count_papers() < 30
    assert len(summary.errors) == 1 and "truncated or corrupt" in summary.errors[0]
    assert summary.errors[0].startswith("cut.jsonl.gz:")
