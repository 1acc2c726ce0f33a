"""Every importer fed damaged versions of the real formats (hypothesis, seeded): never a
traceback; every error one line naming the file (and, for a record, its line and field); the
records a mutation did not touch are still imported. Through the library (import_paths,
import_archive, the HF and arXiv parsers) and through the real CLI.

PAPERSIFT_FUZZ_EXAMPLES raises the example counts for a deeper local run.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support import fuzz_inputs as fx
from support.site_fixture import fill_site_store
from typer.testing import CliRunner

from papersift.archive import export_store, import_archive
from papersift.cli import app
from papersift.errors import HttpError, PapersiftError
from papersift.http import BadBody
from papersift.ingest import ImportSummary, import_paths
from papersift.sources.archives import detect_format, open_source, read_source
from papersift.sources.arxiv import _parse_feed
from papersift.sources.hf import parse_items
from papersift.sources.records import FormatError, Record
from papersift.store import open_store

N = int(os.environ.get("PAPERSIFT_FUZZ_EXAMPLES", "0")) or None


def fuzz(examples: int) -> Callable[[Any], Any]:
    return settings(max_examples=N or examples, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture,
                                           HealthCheck.too_slow, HealthCheck.data_too_large])


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Any:
    """One store for a whole test: an import into it costs ~50 ms, a fresh store per example
    three times that. Which records a file holds is checked on what the reader yields."""
    s = open_store(tmp_path_factory.mktemp("fuzz") / "papersift.db")
    yield s
    s.close()


def _check_errors(errors: list[str], name: str) -> None:
    for e in errors:
        assert "\n" not in e and "Traceback" not in e, e
        where = e.split(": ", 1)[0]
        assert where == name or where.startswith(name + ":"), f"{e!r} does not start with {name}"
        if where != name and "the file" not in e:  # one record: file:line, and its field
            assert re.search(r"field '[^']+'", e), f"{e!r} names no field"


def _import(store, tmp: Path, name: str, data: bytes, fmt: str = "auto") -> tuple[set[str], ImportSummary]:
    """(ids of the records the reader yields, what importing the file into `store` did)."""
    path = tmp / name
    path.write_bytes(data)
    ids: set[str] = set()
    src = open_source(path)
    try:
        for item in read_source(src, detect_format(src) if fmt == "auto" else fmt):
            if isinstance(item, Record):
                ids.add(item.paper.id)
    except FormatError as e:
        _check_errors([str(e)], name)
    finally:
        src.close()
    summary = import_paths(store, [path], fmt)
    _check_errors(summary.errors, name)
    assert summary.records >= len(ids)
    return ids, summary


# -- one-record-per-line formats -------------------------------------------------------

LINE_FORMATS = {
    "daily-arxiv": ("2025-03-18.jsonl", fx.daily_arxiv_rows, lambda r: r["id"]),
    "papers": ("sample.jsonl", fx.papers_rows, lambda r: r["id"]),
}


@pytest.mark.parametrize("fmt", sorted(LINE_FORMATS))
@fuzz(20)
@given(data=st.data())
def test_jsonl_one_bad_line_keeps_the_others(store, tmp_path, fmt, data):
    name, rows_of, id_of = LINE_FORMATS[fmt]
    rows = rows_of()
    k = data.draw(st.integers(0, len(rows) - 1), label="line")
    _, bad = data.draw(fx.json_mutation(rows[k]), label="mutation")
    text = fx.jsonl(rows[:k]) + json.dumps(bad).encode() + b"\n" + fx.jsonl(rows[k + 1:])
    got, summary = _import(store, tmp_path, name, text, fmt)
    want = {id_of(r) for i, r in enumerate(rows) if i != k}
    assert want <= got, summary.errors
    assert summary.records + len(summary.errors) >= len(rows) - 1


@pytest.mark.parametrize("fmt", sorted(LINE_FORMATS))
@fuzz(15)
@given(data=st.data())
def test_jsonl_damaged_bytes(store, tmp_path, fmt, data):
    name, rows_of, _ = LINE_FORMATS[fmt]
    raw = fx.jsonl(rows_of())
    if data.draw(st.booleans(), label="gzip"):
        name, raw = name + ".gz", fx.gz(raw)
    _import(store, tmp_path, name, data.draw(fx.byte_mutation(raw), label="bytes"), fmt)


# -- HFday issues (one JSON document per day) -----------------------------------------

@pytest.mark.parametrize("make", [fx.hfday_current, fx.hfday_oldest], ids=["current", "oldest"])
@fuzz(25)
@given(data=st.data())
def test_hfday_one_bad_paper_keeps_the_others(store, tmp_path, make, data):
    doc = make()
    k = data.draw(st.integers(0, len(doc["papers"]) - 1), label="paper")
    _, bad = data.draw(fx.json_mutation(doc, ("papers", k)), label="mutation")
    got, summary = _import(store, tmp_path, "2025-12-31.json", json.dumps(bad, indent=1).encode())
    ids = [p["id"].rsplit("/", 1)[1] for i, p in enumerate(doc["papers"]) if i != k]
    assert set(ids) <= got, summary.errors


@fuzz(30)
@given(data=st.data())
def test_hfday_damaged_anywhere(store, tmp_path, data):
    doc = fx.hfday_current()
    if data.draw(st.booleans(), label="json"):
        _, doc = data.draw(fx.json_mutation(doc), label="mutation")
        raw = json.dumps(doc, indent=1).encode()
    else:
        raw = data.draw(fx.byte_mutation(json.dumps(doc, indent=1, ensure_ascii=False).encode()))
    name = "2025-12-31.json"
    if data.draw(st.booleans(), label="gzip"):  # a damaged .gz, or damage inside a good one
        name, raw = name + ".gz", data.draw(st.sampled_from([fx.gz(raw), fx.gz(raw)[:len(raw) // 3]]))
    _import(store, tmp_path, name, raw, data.draw(st.sampled_from(["auto", "hfday"])))


# -- HF API dumps and the scraped archive ---------------------------------------------

HF_LISTS = {"daily": fx.hf_daily_list, "search": fx.hf_search_list}


@pytest.mark.parametrize("kind", sorted(HF_LISTS))
@fuzz(20)
@given(data=st.data())
def test_hf_api_dump_one_bad_item_keeps_the_others(store, tmp_path, kind, data):
    items = HF_LISTS[kind]()
    k = data.draw(st.integers(0, len(items) - 1), label="item")
    _, bad = data.draw(fx.json_mutation(items, (k,)), label="mutation")
    got, summary = _import(store, tmp_path, f"{kind}.json", json.dumps(bad).encode())
    want = {it["paper"]["id"] for i, it in enumerate(items) if i != k}
    assert want <= got, summary.errors
    # The parser the collector uses, on the same damaged list.
    page = parse_items(bad, ref="daily_papers?date=2024-10-25", daily=kind == "daily")
    assert want <= {p.id for p in page.papers}
    assert all("\n" not in e for e in page.errors)


@fuzz(20)
@given(data=st.data())
def test_hf_archive_one_bad_value(store, tmp_path, data):
    rows = fx.hf_archive_rows()
    k = data.draw(st.integers(0, len(rows) - 1), label="line")
    _, bad = data.draw(fx.json_mutation(rows[k]), label="mutation")
    raw = fx.jsonl(rows[:k]) + json.dumps(bad).encode() + b"\n" + fx.jsonl(rows[k + 1:])
    got, summary = _import(store, tmp_path, "hf-daily-archive.jsonl", raw, "hf-archive")
    want = {p["paper_url"].rsplit("/", 1)[1] for i, r in enumerate(rows) if i != k for p in r["papers"]}
    assert want <= got, summary.errors


@fuzz(20)
@given(data=st.data())
def test_hf_dumps_damaged_bytes(store, tmp_path, data):
    kind = data.draw(st.sampled_from(["daily.json", "search.json.gz", "archive.jsonl.gz", "listing.txt.gz"]))
    raw = {"daily.json": lambda: json.dumps(fx.hf_daily_list(), indent=1).encode(),
           "search.json.gz": lambda: fx.gz(json.dumps(fx.hf_search_list()).encode()),
           "archive.jsonl.gz": lambda: fx.gz(fx.jsonl(fx.hf_archive_rows())),
           "listing.txt.gz": lambda: fx.gz(fx.HF_LISTING.encode())}[kind]()
    _import(store, tmp_path, kind, data.draw(fx.byte_mutation(raw), label="bytes"))


# -- saved listings -------------------------------------------------------------------

@pytest.mark.parametrize("text", [fx.HF_LISTING, fx.BIBLIO_LISTING], ids=["hf-page", "biblio"])
@fuzz(20)
@given(data=st.data())
def test_listing_damaged(store, tmp_path, text, data):
    if data.draw(st.booleans(), label="lines"):
        lines = text.splitlines()
        k = data.draw(st.integers(0, len(lines) - 1))
        lines[k] = data.draw(st.one_of(st.sampled_from(fx.HOSTILE_STRINGS), st.text(max_size=300)))
        raw = "\n".join(lines).encode("utf-8", "surrogatepass")
    else:
        raw = data.draw(fx.byte_mutation(text.encode()), label="bytes")
    _import(store, tmp_path, "listing.txt", raw, data.draw(st.sampled_from(["auto", "listing"])))


# -- the arXiv export API's Atom feed --------------------------------------------------

def _feed(body: bytes) -> Any:
    req = httpx.Request("GET", "http://127.0.0.1/api/query?search_query=x")
    return _parse_feed(httpx.Response(200, content=body, request=req), offset=0)


@fuzz(50)
@given(data=st.data())
def test_arxiv_feed_one_bad_entry_keeps_the_others(data):
    ids = ("2502.02671", "2502.02672", "2502.02673")
    feed = fx.atom_feed(ids).decode()
    k = data.draw(st.integers(0, len(ids) - 1), label="entry")
    start = feed.index("<entry>", feed.index(ids[k]) - 60)
    end = feed.index("</entry>", start) + len("</entry>")
    entry = feed[start:end]
    tags = re.findall(r"<([a-z:]+)[ >]", entry)
    tag = data.draw(st.sampled_from(sorted(set(tags) - {"entry"})), label="element")
    value = data.draw(st.one_of(st.sampled_from(fx.HOSTILE_STRINGS), st.text(max_size=60)))
    value = "".join(c for c in value if c in "\t\n\r" or (c >= " " and not "\ud800" <= c <= "\udfff"
                                                       and c not in "\ufffe\uffff"))
    how = data.draw(st.sampled_from(["text", "attr", "drop"]), label="how")
    if how == "text":
        entry = re.sub(rf"(<{tag}\b[^>]*>)[^<]*(</{tag}>)", lambda m: m[1] + escape(value) + m[2], entry, count=1)
    elif how == "attr":
        entry = re.sub(rf'(<{tag}\b[^>]*?)(\w+)="[^"]*"', lambda m: f'{m[1]}{m[2]}="{escape(value)}"',
                       entry, count=1)
    else:
        entry = re.sub(rf"<{tag}\b[^>]*?(/>|>.*?</{tag}>)", "", entry, count=1, flags=re.S)
    page = _feed((feed[:start] + entry + feed[end:]).encode())
    assert {i for j, i in enumerate(ids) if j != k} <= {p.id for p in page.papers}
    assert all("\n" not in e for e in page.errors)


@fuzz(50)
@given(data=st.data())
def test_arxiv_feed_damaged_bytes(data):
    try:
        page = _feed(data.draw(fx.byte_mutation(fx.atom_feed()), label="bytes"))
    except BadBody:
        return  # the client retries a body it cannot parse
    except HttpError as e:  # a body that declares entities is refused, in one line
        assert "\n" not in str(e)
        return
    assert all("\n" not in e for e in page.errors)


# -- papersift import DIR (an export archive) ----------------------------------------

@pytest.fixture(scope="module")
def archive(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("archive")
    s = fill_site_store(open_store(root / "src.db"))
    import datetime as dt
    s.record_day(dt.date(2025, 2, 6), ["2502.00006", "2502.00007"], "hf")
    s.record_failure("2502.00005", "timeout")
    s.cache_put("k1", {"answer": [1, 2]})
    run = s.start_run("collect-hf", {"date": "2025-02-06"})
    s.finish_run(run, {"fetched": 3}, ["one error"], "partial")
    export_store(s, root / "state")
    s.close()
    return root / "state"


def _archive_files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


@pytest.fixture(scope="module")
def fresh(tmp_path_factory) -> Callable[[], Any]:
    """A fresh empty store per example (an archive import adds only what is not there, so
    what a damaged archive still imports shows in an empty store): a copy of one migrated
    file, since opening a new store runs every migration."""
    root = tmp_path_factory.mktemp("fresh")
    open_store(root / "template.db").close()
    n = [0]
    opened: list[Any] = []

    def make() -> Any:
        while opened:
            opened.pop().close()
        n[0] += 1
        shutil.copy(root / "template.db", root / f"s{n[0]}.db")
        opened.append(open_store(root / f"s{n[0]}.db"))
        return opened[-1]

    yield make
    while opened:
        opened.pop().close()


def _stored(store: Any) -> set[str]:
    return {p.id for p in store.iter_papers()}


def _import_archive(fresh, tmp: Path, state: Path) -> tuple[Any, Any]:
    store = fresh()
    try:
        rep = import_archive(store, state)
    except PapersiftError as e:  # the archive as a whole cannot be read: one line
        assert "\n" not in str(e) and str(state) in str(e)
        return None, store
    for e in rep.errors:
        assert "\n" not in e and e.startswith(str(state)), e
        assert re.match(r"^\S+:\d+: ", e) is None or re.search(r"field '|not JSON|expected a JSON object", e), e
    return rep, store


@fuzz(30)
@given(data=st.data())
def test_archive_one_bad_line_keeps_the_others(fresh, tmp_path_factory, archive, data):
    state = tmp_path_factory.mktemp("state") / "state"
    shutil.copytree(archive, state)
    files = [f for f in _archive_files(state) if f.endswith(".jsonl") and (state / f).stat().st_size]
    rel = data.draw(st.sampled_from(files), label="file")
    lines = (state / rel).read_text(encoding="utf-8").splitlines()
    k = data.draw(st.integers(0, len(lines) - 1), label="line")
    _, bad = data.draw(fx.json_mutation(json.loads(lines[k])), label="mutation")
    ids_before = [json.loads(x)["paper"]["id"] for i, x in enumerate(lines) if i != k] \
        if rel.startswith("papers/") else []
    lines[k] = json.dumps(bad)
    (state / rel).write_text("\n".join(lines) + "\n", encoding="utf-8")
    rep, store = _import_archive(fresh, tmp_path_factory.getbasetemp(), state)
    assert rep is not None
    assert set(ids_before) <= _stored(store), rep.errors


@fuzz(25)
@given(data=st.data())
def test_archive_damaged_manifest(fresh, tmp_path_factory, archive, data):
    state = tmp_path_factory.mktemp("state") / "state"
    shutil.copytree(archive, state)
    manifest = json.loads((state / "manifest.json").read_text())
    manifest["vectors"] = {"minilm": {"count": 1, "dims": 8, "file": "vectors/abc", "included": True,
                                      "sha256": "0" * 64}}
    _, bad = data.draw(fx.json_mutation(manifest), label="mutation")
    (state / "manifest.json").write_text(json.dumps(bad))
    _import_archive(fresh, tmp_path_factory.getbasetemp(), state)


@fuzz(20)
@given(data=st.data())
def test_archive_damaged_bytes(fresh, tmp_path_factory, archive, data):
    state = tmp_path_factory.mktemp("state") / "state"
    shutil.copytree(archive, state)
    rel = data.draw(st.sampled_from(_archive_files(state)), label="file")
    path = state / rel
    path.write_bytes(data.draw(fx.byte_mutation(path.read_bytes()), label="bytes"))
    _import_archive(fresh, tmp_path_factory.getbasetemp(), state)


# -- the real CLI ----------------------------------------------------------------------

CLI_FILES: dict[str, Callable[[], bytes]] = {
    "2025-12-31.json": lambda: json.dumps(fx.hfday_current(), indent=1).encode(),
    "2025-03-18.jsonl": lambda: fx.jsonl(fx.daily_arxiv_rows()),
    "daily.json": lambda: json.dumps(fx.hf_daily_list()).encode(),
    "archive.jsonl": lambda: fx.jsonl(fx.hf_archive_rows()),
    "listing.txt": lambda: fx.HF_LISTING.encode(),
}


def _no_traceback(res: Any) -> None:
    assert res.exception is None or isinstance(res.exception, SystemExit), repr(res.exception)
    assert res.exit_code in (0, 1), res.output
    assert "Traceback" not in res.output, res.output


@fuzz(10)
@given(data=st.data())
def test_cli_import_never_a_traceback(tmp_path_factory, data):
    tmp = tmp_path_factory.mktemp("cli")
    name = data.draw(st.sampled_from(sorted(CLI_FILES)), label="file")
    raw = CLI_FILES[name]()
    if name.endswith((".json", ".jsonl")) and data.draw(st.booleans(), label="json"):
        doc = json.loads(raw) if name.endswith(".json") else json.loads(raw.splitlines()[0])
        _, doc = data.draw(fx.json_mutation(doc), label="mutation")
        raw = json.dumps(doc).encode()
    else:
        raw = data.draw(fx.byte_mutation(raw), label="bytes")
    (tmp / name).write_bytes(raw)
    res = CliRunner().invoke(app, ["import", str(tmp / name), "--data-dir", str(tmp / "d")])
    _no_traceback(res)


@fuzz(5)
@given(data=st.data())
def test_cli_import_archive_never_a_traceback(tmp_path_factory, archive, data):
    tmp = tmp_path_factory.mktemp("cli")
    shutil.copytree(archive, tmp / "state")
    rel = data.draw(st.sampled_from(_archive_files(tmp / "state")), label="file")
    path = tmp / "state" / rel
    path.write_bytes(data.draw(fx.byte_mutation(path.read_bytes()), label="bytes"))
    res = CliRunner().invoke(app, ["import", str(tmp / "state"), "--data-dir", str(tmp / "d")])
    _no_traceback(res)


def test_subprocess_import_of_damaged_files(tmp_path):
    """`papersift import` as a user runs it, on a handful of damaged files at once."""
    files = []
    for name, make in CLI_FILES.items():
        raw = make()
        (tmp_path / name).write_bytes(raw[: len(raw) * 2 // 3])  # every one cut short
        files.append(str(tmp_path / name))
    (tmp_path / "empty.json").write_bytes(b"")
    (tmp_path / "binary.jsonl.gz").write_bytes(b"\x1f\x8b\x08\x00garbage\xff\xfe")
    files += [str(tmp_path / "empty.json"), str(tmp_path / "binary.jsonl.gz")]
    env = {**os.environ, "PAPERSIFT_DATA_DIR": str(tmp_path / "d")}
    proc = subprocess.run([sys.executable, "-m", "papersift", "import", *files], env=env,
                          capture_output=True, text=True, timeout=300)
    out = proc.stdout + proc.stderr
    assert proc.returncode in (0, 1) and "Traceback" not in out, out
    assert "empty.json: the file is empty" in out and "binary.jsonl.gz" in out


# -- regressions: one test per bug the fuzzing found -----------------------------------

def test_a_damaged_xml_encoding_declaration_is_a_bad_body():
    """ET raised LookupError (not a ParseError) for encoding="TTF-8": the collector crashed
    instead of retrying and reporting the page."""
    with pytest.raises(BadBody):
        _feed(fx.atom_feed().replace(b'encoding="UTF-8"', b'encoding="TTF-8"'))


@pytest.mark.parametrize("field, value", [("score", 2**63), ("score", 2**64 - 1)])
def test_a_count_beyond_64_bits_is_one_bad_record(tmp_path, store, field, value):
    """upvotes=2**63 passed validation and failed the whole import at the SQLite write
    (OverflowError, a traceback)."""
    doc = fx.hfday_current()
    doc["papers"][1][field] = value
    got, summary = _import(store, tmp_path, "2025-12-31.json", json.dumps(doc).encode())
    assert got == {"2512.21185", "2512.21187"}
    assert len(summary.errors) == 1 and "papers[1]: field 'upvotes'" in summary.errors[0]


def test_a_version_beyond_64_bits_is_one_bad_record(tmp_path, store):
    rows = fx.papers_rows()
    rows[0]["version"] = 2**63
    got, summary = _import(store, tmp_path, "sample.jsonl", fx.jsonl(rows), "papers")
    assert got == {"2502.02672", "2502.02673"}
    assert "sample.jsonl:1: field 'version'" in summary.errors[0]


def test_a_scraped_day_with_non_list_authors_and_links(tmp_path, fresh):
    """`authors: true` raised TypeError out of the reader (a traceback); a github_links
    string was read character by character into github_repo."""
    store = fresh()
    rows = fx.hf_archive_rows()
    rows[0]["papers"][0]["authors"] = True
    rows[0]["papers"][1]["details"]["github_links"] = "javascript:alert(1)"
    got, summary = _import(store, tmp_path, "scraped.jsonl", fx.jsonl(rows), "hf-archive")
    assert len(got) == 4 and not summary.errors
    assert store.get_paper("2511.24630").authors == []
    assert store.get_paper("2511.24631").github_repo is None


def test_hfday_lists_that_are_not_lists(tmp_path, store):
    doc = fx.hfday_current()
    doc["papers"][0]["authors"] = 7
    doc["papers"][1]["data"]["categories"] = True
    got, summary = _import(store, tmp_path, "2025-12-31.json", json.dumps(doc).encode())
    assert len(got) == 3 and not summary.errors


@pytest.mark.parametrize("name, fmt", [("daily.json", "auto"), ("2025-03-18.jsonl", "auto")])
def test_a_lone_surrogate_is_replaced_not_the_whole_file_refused(tmp_path, fresh, name, fmt):
    """orjson refuses "\\ud83d" (half an emoji, as JavaScript and Python write it): a whole HF
    dump was refused for one cut emoji. Now it reads as U+FFFD, which the store can keep."""
    if name == "daily.json":
        items = fx.hf_daily_list()
        items[0]["paper"]["title"] = "Breaking \ud83d the barrier"
        raw = json.dumps(items).encode()
    else:
        rows = fx.daily_arxiv_rows()
        rows[0]["title"] = "Simulation \ud83d of vision"
        raw = b"".join(json.dumps(r).encode() + b"\n" for r in rows)
    assert b"\\ud83d" in raw
    store = fresh()
    got, summary = _import(store, tmp_path, name, raw, fmt)
    assert len(got) in (3, 4) and not summary.errors
    first = "2410.17243" if name == "daily.json" else "2503.11677"
    assert "\ufffd" in store.get_paper(first).title


def test_hf_api_answers_with_lone_surrogates_can_be_stored(store):
    """The HTTP client reads JSON with the stdlib, which keeps lone surrogates in the str:
    the collector's papers then failed at the SQLite write (UnicodeEncodeError)."""
    items = fx.hf_daily_list()
    items[0]["paper"]["title"] = "Barrier \ud83d"
    items[0]["paper"]["authors"] = [{"name": "Ann \udc00 Author"}]
    page = parse_items(json.loads(json.dumps(items)), ref="daily_papers?date=2024-10-25", daily=True)
    assert len(page.papers) == 3
    store.upsert_papers(page.papers)
    assert store.get_paper("2410.17243").authors == ["Ann \ufffd Author"]


def test_archive_lines_that_cannot_be_stored_are_skipped(fresh, tmp_path, archive):
    """A JSON integer beyond 64 bits (TypeError from orjson), a lone surrogate
    (UnicodeEncodeError from SQLite) or an enrichment whose model is not a string
    (sqlite3.ProgrammingError) failed the whole `papersift import DIR`."""
    state = tmp_path / "state"
    shutil.copytree(archive, state)
    (state / "cache.jsonl").write_text(json.dumps({"key": "k1", "value": 2**64, "created_at": "x"}) + "\n")
    day = sorted((state / "papers").rglob("*.jsonl"))[0]
    lines = day.read_text(encoding="utf-8").splitlines()
    first, second = json.loads(lines[0]), json.loads(lines[1])
    first["paper"]["title"] = "cut \ud83d"
    second["enrichment"]["model"] = []
    lines[0], lines[1] = json.dumps(first), json.dumps(second)
    day.write_text("\n".join(lines) + "\n", encoding="utf-8")
    rep, store = _import_archive(fresh, tmp_path, state)
    assert rep is not None and len(rep.errors) == 3, rep.errors
    assert any("cache.jsonl:1: not JSON" in e and "64-bit" in e for e in rep.errors)
    assert any(f"{day.name}:1: not JSON" in e for e in rep.errors)
    assert any(f"{day.name}:2: field 'enrichment': field 'model'" in e for e in rep.errors)
    kept = {json.loads(x)["paper"]["id"] for x in lines[2:]}
    assert kept <= _stored(store)


@pytest.mark.parametrize("name, raw", [
    ("2025-12-31.json.gz", fx.gz(json.dumps(fx.hfday_current()).encode())),
    ("daily.json.gz", fx.gz(json.dumps(fx.hf_daily_list()).encode())),
    ("listing.txt.gz", fx.gz(fx.HF_LISTING.encode())),
    ("scraped.jsonl.gz", fx.gz(fx.jsonl(fx.hf_archive_rows() * 40))),
])
def test_a_cut_gzip_of_any_format_is_one_line(tmp_path, store, name, raw):
    """Reading a whole document (HFday, an HF dump, a listing) or a scraped-day line from a
    cut .gz raised EOFError out of the importer: a traceback instead of the file's error."""
    got, summary = _import(store, tmp_path, name, raw[: len(raw) * 2 // 3])
    assert len(summary.errors) == 1 and "truncated or corrupt" in summary.errors[0]
    if name.startswith("scraped"):
        assert got and summary.records  # the days before the damage are kept


def test_archive_days_and_vectors_that_would_break_later_commands(fresh, tmp_path, archive):
    """A day that is not a date was stored and broke every later `build` (days() parses
    them); a manifest whose vectors entry had dims "8" or a file outside vectors/ crashed
    the import (ValueError) or read a file outside the archive."""
    state = tmp_path / "state"
    shutil.copytree(archive, state)
    year = sorted((state / "days").glob("*.jsonl"))[0]
    lines = year.read_text().splitlines()
    row = json.loads(lines[0])
    row["day"] = "someday"
    year.write_text("\n".join([json.dumps(row)] + lines[1:]) + "\n")
    manifest = json.loads((state / "manifest.json").read_text())
    manifest["vectors"] = {"a": {"included": True, "dims": "8", "file": "vectors/x"},
                           "b": {"included": True, "dims": 8, "file": "../../secret"}}
    (state / "manifest.json").write_text(json.dumps(manifest))
    rep, store = _import_archive(fresh, tmp_path, state)
    assert rep is not None
    assert any(f"{year.name}:1: field 'day'" in e for e in rep.errors), rep.errors
    assert sum("field 'vectors." in e for e in rep.errors) == 2, rep.errors
    assert store.days()  # still readable
