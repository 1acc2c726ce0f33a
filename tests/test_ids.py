"""arXiv id normalisation: every form users paste maps to the bare id (property tests)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from papersift.ids import InvalidArxivId, normalize_arxiv_id, parse_arxiv_id, try_arxiv_id


@st.composite
def new_ids(draw) -> str:
    yy = draw(st.integers(7, 99))
    mm = draw(st.integers(1, 12))
    # 4-digit numbers until 2014-12, 5 digits from 2015-01 (arXiv's scheme).
    digits = 4 if (yy, mm) < (15, 1) else 5
    n = draw(st.integers(1, 10**digits - 1))
    return f"{yy:02d}{mm:02d}.{n:0{digits}d}"


ARCHIVES = ["hep-th", "hep-ph", "hep-ex", "gr-qc", "astro-ph", "cond-mat", "quant-ph", "math",
            "cs", "nlin", "q-bio", "physics", "math-ph"]


@st.composite
def old_ids(draw) -> tuple[str, str]:
    """(canonical id, id as pasted, maybe with a subject class like math.GT)."""
    archive = draw(st.sampled_from(ARCHIVES))
    yymm = draw(st.sampled_from(["9108", "9901", "0309", "0612", "0703"]))
    num = f"{yymm}{draw(st.integers(1, 999)):03d}"
    subj = draw(st.one_of(st.just(""), st.sampled_from([".GT", ".AG", ".AI", ".CL", ".gt"])))
    return f"{archive}/{num}", f"{archive}{subj}/{num}"


versions = st.one_of(st.none(), st.integers(1, 40))


def dress(bare: str, version: int | None, form: int, pdf_suffix: bool, scheme: str) -> str:
    """Wrap an id in one of the forms people paste."""
    v = f"v{version}" if version else ""
    return [
        f"{bare}{v}",
        f"arXiv:{bare}{v}",
        f"ARXIV: {bare}{v}",
        f"{scheme}arxiv.org/abs/{bare}{v}",
        f"{scheme}www.arxiv.org/abs/{bare}{v}/",
        f"{scheme}export.arxiv.org/abs/{bare}{v}",
        f"{scheme}arxiv.org/pdf/{bare}{v}" + (".pdf" if pdf_suffix else ""),
        f"{scheme}huggingface.co/papers/{bare}",
        f"{scheme}huggingface.co/papers/{bare}#community",
        f"  {bare}{v}\n",
    ][form]


@given(new_ids(), versions, st.integers(0, 9), st.booleans(),
       st.sampled_from(["https://", "http://", ""]))
def test_new_style_every_form(bare, version, form, pdf_suffix, scheme):
    text = dress(bare, version, form, pdf_suffix, scheme)
    got, got_version = parse_arxiv_id(text)
    assert got == bare
    if version and "huggingface" not in text:
        assert got_version == version
    assert normalize_arxiv_id(got) == got  # idempotent


@given(old_ids(), versions, st.integers(0, 9), st.booleans(), st.sampled_from(["https://", ""]))
def test_old_style_every_form(ids, version, form, pdf_suffix, scheme):
    canonical, pasted = ids
    text = dress(pasted, version, form, pdf_suffix, scheme)
    assert normalize_arxiv_id(text) == canonical
    assert normalize_arxiv_id(canonical) == canonical


@given(st.text(max_size=40))
def test_garbage_never_crashes(text):
    # Either an id or the one documented exception; nothing else escapes.
    try:
        out = normalize_arxiv_id(text)
    except InvalidArxivId as e:
        assert "not an arXiv id" in str(e)
    else:
        assert normalize_arxiv_id(out) == out


@pytest.mark.parametrize("text,expected", [
    ("2502.02671", ("2502.02671", None)),
    ("2502.02671v3", ("2502.02671", 3)),
    ("arXiv:2502.02671", ("2502.02671", None)),
    ("https://arxiv.org/abs/2502.02671v2", ("2502.02671", 2)),
    ("https://arxiv.org/pdf/2502.02671v2.pdf", ("2502.02671", 2)),
    ("https://arxiv.org/pdf/2502.02671.pdf", ("2502.02671", None)),
    ("https://huggingface.co/papers/2502.02671", ("2502.02671", None)),
    ("hep-th/9901001", ("hep-th/9901001", None)),
    ("math.GT/0309136", ("math/0309136", None)),
    ("http://arxiv.org/abs/math/0309136v1", ("math/0309136", 1)),  # as the arXiv API writes it
    ("0704.0001", ("0704.0001", None)),
])
def test_parse_arxiv_id_gives_id_and_version(text, expected):
    assert parse_arxiv_id(text) == expected


@pytest.mark.parametrize("text", ["", "2502", "2502.026", "hello", "https://example.com/abs/2502.02671",
                                  "hep-th/990100", "2502.02671v"])
def test_rejects_non_ids(text):
    assert try_arxiv_id(text) is None
    with pytest.raises(InvalidArxivId):
        normalize_arxiv_id(text)
