"""Contract: archive_rows pages every table in key order as plain values, and restore_rows
into an empty store of the same backend gives the same rows back (export/import, migrate)."""

import numpy as np

from papersift.store.base import ARCHIVE_TABLES


def test_archive_rows_round_trip_across_pages(site_store, make_store):
    va = np.array([1, 0, 0], dtype=np.float32)
    site_store.put_vectors("m", [(f"v{i:03d}", f"h{i}", va * i) for i in range(7)])
    before = {t: list(site_store.archive_rows(t, batch=3)) for t in ARCHIVE_TABLES}
    assert before["papers"] and len(before["vectors"]) == 7
    for t, rows in before.items():  # key order, and one page size gives the same as another
        keys = ARCHIVE_TABLES[t]
        assert [tuple(r[k] for k in keys) for r in rows] == sorted(tuple(r[k] for k in keys) for r in rows)
        assert rows == list(site_store.archive_rows(t))
    assert before["vectors"][3]["vec"] == (va * 3).tobytes()
    other = make_store("copy")
    for t in ARCHIVE_TABLES:
        assert other.restore_rows(t, before[t]) == len(before[t])
    after = {t: list(other.archive_rows(t)) for t in ARCHIVE_TABLES}
    assert after["vectors"] == before["vectors"]
    assert [r["id"] for r in after["papers"]] == [r["id"] for r in before["papers"]]
    assert after["papers"][0]["title"] == before["papers"][0]["title"]
    assert other.restore_rows("papers", before["papers"]) == 0  # only new keys are added
