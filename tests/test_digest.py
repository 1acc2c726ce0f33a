"""Digests end to end on loopback: a real SMTP server (aiosmtpd) receives the e-mail, a real
HTTP server receives what apprise's json:// and form:// services post; the send log makes a
rerun send nothing, failures are retried and recorded, and one failing channel never stops
the others."""

from __future__ import annotations

import datetime as dt
import json
import re
from html.parser import HTMLParser

import feedparser
import pytest
from support.delivery import http_sink, smtp_server
from typer.testing import CliRunner

from papersift.cli import app
from papersift.config import Settings
from papersift.digest.channels import parse_channel, split_blocks
from papersift.digest.send import send_digests
from papersift.errors import ConfigError
from papersift.http import RetryPolicy
from papersift.jobs import build, run_daily
from papersift.model import Enrichment, Paper, Review
from papersift.profiles import Profile
from papersift.search.embed import HashingEmbedder
from papersift.search.index import build_vectors
from papersift.store import open_store

DAY = dt.date(2025, 3, 4)
HOSTILE = '<script>alert("x")</script> & <b>Diffusion</b>'
SITE = "https://papers.example.org/sift/"
FAST = RetryPolicy(attempts=3, backoff=0.01, max_backoff=0.02)


def _fill(store) -> None:
    papers = [Paper(arxiv_id=f"2503.{n:05d}", title=f"Latent diffusion sampler number {n}",
                    abstract=f"Diffusion models for image generation, variant {n}. " + "Long text. " * 30,
                    hf_date=DAY, upvotes=n) for n in range(1, 9)]
    papers.append(Paper(arxiv_id="2503.00099", title=HOSTILE, abstract="Diffusion for images, hostile.",
                        hf_date=DAY, upvotes=50))
    store.upsert_papers(papers)
    store.record_day(DAY, [p.id for p in papers], "hf")
    store.save_enrichment(Enrichment(
        paper_id="2503.00099", method="llm", emoji="🎨", tags=["cv"],
        reviews={"en": Review(title=HOSTILE, review="A <img src=x onerror=alert(1)> review."),
                 "ru": Review(title="Диффузия <i>опасно</i>", review="Обзор на русском.")}))
    store.save_enrichment(Enrichment(paper_id="2503.00001", method="llm", emoji="🚀", tags=["cv"],
                                     reviews={"en": Review(title="Catchy one", review="English only.")}))
    build_vectors(store, HashingEmbedder(256))


@pytest.fixture()
def world(tmp_path):
    store = open_store(tmp_path / "data" / "papersift.db")
    _fill(store)
    yield store, tmp_path
    store.close()


def _settings(tmp, port: int = 1, **kw) -> Settings:
    return Settings(data_dir=tmp / "data", embedder="hash256", site_url=SITE, smtp_host="127.0.0.1",
                    smtp_port=port, smtp_security="none", smtp_from="digest@papers.example.org",
                    config_path=tmp / "papersift.toml", **kw)


def _profile(channels: list[str], **kw) -> Profile:
    return Profile(name="alice", keywords=["diffusion"], min_score=0.2, languages=["ru"],
                   channels=channels, **kw)


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []
        self.scripts = 0

    def handle_starttag(self, tag, attrs):
        self.scripts += tag == "script"
        self.hrefs += [v for k, v in attrs if k in ("href", "src") and v]


def test_email_digest_mime_parts_links_and_escaping(world):
    store, tmp = world
    with smtp_server() as (port, box):
        rep = send_digests(store, _settings(tmp, port), [_profile(["alice@example.org"])], DAY,
                           base_dir=tmp, retry=FAST)
        assert (rep.sent, rep.messages, rep.failed) == (1, 1, [])
        (msg,) = box.messages
    assert box.envelopes == [("digest@papers.example.org", ["alice@example.org"])]
    assert msg["To"] == "alice@example.org" and "papersift for alice" in msg["Subject"]
    assert msg.get_content_type() == "multipart/alternative"
    text = msg.get_body(("plain",)).get_content()
    html = msg.get_body(("html",)).get_content()
    # The hostile title: plain in the text part, escaped in the HTML part.
    assert "Диффузия <i>опасно</i>" in text and "Обзор на русском." in text  # the profile's language
    assert "English only." in text  # English where Russian is missing
    assert '<script>alert("x")</script>' in text
    assert "<script" not in html and "&lt;script&gt;" in html and "<img src=x" not in html
    p = _Links()
    p.feed(html)
    assert p.scripts == 0 and p.hrefs
    assert all(h.startswith(("https://", "http://")) for h in p.hrefs), p.hrefs
    assert f"{SITE}p/2503.00099.html" in p.hrefs and "https://arxiv.org/abs/2503.00099" in p.hrefs
    assert 'name="color-scheme" content="light dark"' in html and "prefers-color-scheme: dark" in html
    assert "🎨" in html and "#cv" in html and "why: " in text and "keyword “diffusion”" in text
    assert f"{SITE}p/2503.00001.html" in text


def test_apprise_json_and_form_payloads_split_within_limit(world):
    store, tmp = world
    with http_sink() as (hport, sink):
        chans = [f"json://127.0.0.1:{hport}/hook?papersift-maxlen=700", f"form://127.0.0.1:{hport}/form"]
        rep = send_digests(store, _settings(tmp), [_profile(chans)], DAY, base_dir=tmp, retry=FAST)
        assert rep.failed == [] and rep.sent == 2
        parts = sink.payloads("/hook")
        forms = sink.payloads("/form")
    assert len(parts) >= 3 and all(len(p["message"]) <= 700 for p in parts)
    assert all(p["title"].startswith("🎨") for p in parts)  # ties: most upvoted first
    joined = "\n".join(p["message"] for p in parts)
    for n in range(1, 9):  # every paper arrives, none cut in half
        assert joined.count(f"2503.{n:05d}.html") == 1
    assert f"({len(parts)}/{len(parts)})" in parts[-1]["title"]
    assert len(forms) == 1 and "2503.00099" in forms[0]["message"]  # 32k limit: one message
    log = store.sends_for(DAY)
    assert {r.status for r in log.values()} == {"sent"} and sorted(r.parts for r in log.values()) == [1, len(parts)]
    assert all("127.0.0.1" not in label for _, label in log)  # labels carry no URL


def test_failing_channels_are_retried_recorded_and_do_not_block_others(world):
    store, tmp = world
    with smtp_server() as (port, box), http_sink() as (hport, sink):
        sink.fail.add("/down")
        sink.stall.add("/slow")
        sink.stall_s = 1.5
        chans = ["alice@example.org", f"json://127.0.0.1:{hport}/down",
                 f"json://127.0.0.1:{hport}/slow?rto=0.5&cto=0.5", f"json://127.0.0.1:{hport}/ok"]
        rep = send_digests(store, _settings(tmp, port), [_profile(chans)], DAY, base_dir=tmp, retry=FAST)
        assert rep.sent == 2 and len(rep.failed) == 2
        assert sink.hits["/down"] == 3 and sink.hits["/slow"] == 3  # retried
        assert len(box.messages) == 1 and len(sink.payloads("/ok")) == 1
        log = store.sends_for(DAY)
        failed = {label: r for (_, label), r in log.items() if r.status == "failed"}
        assert len(failed) == 2 and all(r.attempts == 3 and r.reason for r in failed.values())
        # Rerun: nothing that went out is sent again; the failed channels are tried again.
        sink.fail.clear()
        sink.stall.clear()
        rep2 = send_digests(store, _settings(tmp, port), [_profile(chans)], DAY, base_dir=tmp, retry=FAST)
        assert (rep2.sent, rep2.skipped, rep2.failed) == (2, 2, [])
        assert len(box.messages) == 1 and len(sink.payloads("/ok")) == 1
        assert len(sink.payloads("/down")) == 1
        rep3 = send_digests(store, _settings(tmp, port), [_profile(chans)], DAY, base_dir=tmp, retry=FAST)
        assert (rep3.sent, rep3.skipped, rep3.messages) == (0, 4, 0)
        assert len(box.messages) == 1 and sum(sink.hits.values()) == 3 + 3 + 1 + 1 + 1
    assert {r.status for r in store.sends_for(DAY).values()} == {"sent"}


def test_smtp_down_is_recorded_with_its_reason(world):
    store, tmp = world
    rep = send_digests(store, _settings(tmp, port=1), [_profile(["a@example.org"])], DAY,
                       base_dir=tmp, retry=FAST)
    assert rep.sent == 0 and "a@example.org" in rep.failed[0] and "after 3 tries" in rep.failed[0]
    (rec,) = store.sends_for(DAY).values()
    assert rec.status == "failed" and "Connection" in rec.reason


def test_channels_parse_and_never_show_secrets(monkeypatch):
    monkeypatch.setenv("TG_TOKEN", "123:SECRET")
    ch = parse_channel("tgram://${TG_TOKEN}/42", "profile 'a'")
    assert ch.kind == "apprise" and "SECRET" in ch.target and "SECRET" not in ch.label
    assert parse_channel("mailto:bob@example.org", "p").label == "email:bob@example.org"
    with pytest.raises(ConfigError, match=r"\$\{NOPE\}"):
        parse_channel("tgram://${NOPE}/42", "profile 'a'")
    with pytest.raises(ConfigError, match="neither an e-mail address"):
        parse_channel("not a channel", "profile 'a'")
    parts = split_blocks("HEAD", ["a" * 150, "b" * 150, "c" * 500], 200)
    assert all(len(p) <= 200 for p in parts) and parts[0].startswith("HEAD")
    assert "".join(parts).count("a") == 150


def test_dry_run_writes_files_and_sends_nothing(world, monkeypatch):
    store, tmp = world
    cfg = tmp / "papersift.toml"
    cfg.write_text(f'[papersift]\nsite_url = "{SITE}"\nembedder = "hash256"\n\n[[profiles]]\nname = "alice"\n'
                   'keywords = ["diffusion"]\nmin_score = 0.2\nchannels = ["alice@example.org"]\n')
    store.close()
    out = tmp / "dry"
    r = CliRunner().invoke(app, ["digest", "--date", DAY.isoformat(), "--dry-run", str(out), "--config",
                                 str(cfg), "--data-dir", str(tmp / "data")], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    names = sorted(p.name for p in out.iterdir())
    assert names == ["alice-2025-03-04.eml", "alice-2025-03-04.html", "alice-2025-03-04.txt"]
    assert "&lt;script&gt;" in (out / "alice-2025-03-04.html").read_text()
    s = open_store(tmp / "data" / "papersift.db")
    assert s.sends_for(DAY) == {}
    s.close()


def test_run_sends_digests_after_the_build_and_profile_feeds(world, monkeypatch):
    store, tmp = world
    (tmp / "papersift.toml").write_text('[[profiles]]\nname = "alice"\nkeywords = ["diffusion"]\n'
                                        'min_score = 0.2\nchannels = ["alice@example.org"]\n')
    with smtp_server() as (port, box):
        settings = _settings(tmp, port, site_dir=tmp / "site")
        rep = run_daily(store, settings, DAY, collect=False)
        assert rep.published and not [e for e in rep.errors if e.startswith("digest")], rep.errors
        assert any(line.startswith("digest 2025-03-04: 1 profiles, 1 sent") for line in rep.lines)
        assert len(box.messages) == 1
        rep = run_daily(store, settings, DAY, collect=False)  # rerun: nothing sent again
        assert len(box.messages) == 1
        assert any("1 already sent" in line for line in rep.lines)
    atom = feedparser.parse((tmp / "site" / "feeds" / "profile" / "alice.atom.xml").read_bytes())
    assert not atom.bozo and len(atom.entries) == 9
    assert atom.entries[0].link == f"{SITE}p/2503.00099.html"
    jf = json.loads((tmp / "site" / "feeds" / "profile" / "alice.json").read_text())
    assert jf["items"][0]["title"] == f"🎨 {HOSTILE}"  # JSON Feed titles are plain text
    assert all(re.fullmatch(r"https://papers\.example\.org/sift/p/2503\.\d+\.html", i["url"]) for i in jf["items"])
    # A profile that is gone loses its feeds on the next build.
    (tmp / "papersift.toml").write_text('[[profiles]]\nname = "bob"\nkeywords = ["diffusion"]\n')
    build(store, _settings(tmp, site_dir=tmp / "site"), tmp / "site")
    assert sorted(p.name for p in (tmp / "site" / "feeds" / "profile").iterdir()) == ["bob.atom.xml", "bob.json"]
