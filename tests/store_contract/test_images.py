"""Contract: the papers' image metadata (records, failures, replacing, touching the paper)."""

import datetime as dt
import time

from papersift.model import Paper
from papersift.store.base import ImageRecord


def test_images_round_trip_and_replace(store):
    store.upsert_papers([Paper(arxiv_id="2502.00001", title="One"), Paper(arxiv_id="2502.00002", title="Two")])
    assert store.get_images() == {} and store.get_images(["2502.00001"]) == {}
    title = ImageRecord("2502.00001", "title", file="2502.00001.title.abc.webp", bytes=1234,
                        width=800, height=300, hash="abc", source_hash="pdf1", source_url="http://x/pdf")
    fig = ImageRecord("2502.00001", "figure", caption="Figure 1: <b>ours</b> & theirs",
                      file="f.webp", bytes=10, width=80, height=40, hash="f")
    bad = ImageRecord("2502.00002", "title", failure="encrypted PDF (needs a password)")
    store.save_images([title, fig, bad])
    got = store.get_images()
    assert set(got) == {"2502.00001", "2502.00002"} and set(got["2502.00001"]) == {"title", "figure"}
    t = got["2502.00001"]["title"]
    assert (t.file, t.bytes, t.width, t.height, t.hash, t.source_hash, t.source_url) == \
        (title.file, 1234, 800, 300, "abc", "pdf1", "http://x/pdf")
    assert t.updated_at
    assert got["2502.00001"]["figure"].caption == "Figure 1: <b>ours</b> & theirs"
    b = store.get_images(["2502.00002", "nope"])["2502.00002"]["title"]
    assert b.file == "" and b.failure.startswith("encrypted") and b.retry is False
    # one record per paper and kind: saving again replaces it
    store.save_images([ImageRecord("2502.00002", "title", failure="network", retry=True)])
    b = store.get_images(["2502.00002"])["2502.00002"]["title"]
    assert b.failure == "network" and b.retry is True
    store.save_images([ImageRecord("2502.00001", "figure", failure="no arXiv HTML version")])
    got = store.get_images(["2502.00001"])["2502.00001"]
    assert got["figure"].file == "" and got["title"].file == title.file


def test_saving_an_image_touches_its_paper(store):
    store.upsert_papers([Paper(arxiv_id="2502.00001", title="One"), Paper(arxiv_id="2502.00002", title="Two")])
    time.sleep(1.1)  # timestamps have one-second resolution
    mark = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    assert store.touched_since(mark) == set()
    store.save_images([ImageRecord("2502.00002", "title", file="a.webp", bytes=1, width=1, height=1, hash="a")])
    assert store.touched_since(mark) == {"2502.00002"}
