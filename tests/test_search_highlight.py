"""Highlight spans always concatenate to the original text; snippets cut at words."""

from hypothesis import given
from hypothesis import strategies as st

from papersift.search.highlight import highlight, snippet, text_of
from papersift.search.lexical import Analyzer

A = Analyzer()


@given(st.text(max_size=400), st.lists(st.text(min_size=1, max_size=8), max_size=4))
def test_spans_concatenate_to_original(text, words):
    stems = set(A(" ".join(words)))
    spans = highlight(text, stems, A.stem_word)
    assert text_of(spans) == text
    assert all(s["text"] for s in spans)
    cut = text_of(snippet(spans, 60)).strip("…")
    assert cut in text


def test_stems_and_phrases_join():
    spans = highlight("Deep  learning exaggerates; Exaggerating models.", set(A("deep learning exaggeration")),
                      A.stem_word)
    assert [(s["type"], s["text"]) for s in spans] == [
        ("highlight", "Deep  learning exaggerates"), ("text", "; "),
        ("highlight", "Exaggerating"), ("text", " models.")]


def test_snippet_centres_on_first_highlight():
    text = "filler " * 80 + "the needle is here " + "tail " * 80
    spans = snippet(highlight(text, set(A("needle")), A.stem_word), 100)
    assert spans[0]["text"] == "…" and spans[-1]["text"] == "…"
    assert any(s["type"] == "highlight" and s["text"] == "needle" for s in spans)
    assert len(text_of(spans)) <= 102


def test_snippet_without_whole_text_highlight_equals_the_full_path():
    """snippet_of_text (what the API uses) highlights only the window; it must give what
    snippet_parts(highlight_parts(...)) gives, also when the window cuts a word."""
    import random

    from papersift.search.highlight import highlight_parts, snippet_of_text, snippet_parts
    from papersift.search.lexical import Analyzer

    rng = random.Random(11)
    an = Analyzer()
    vocab = ["models", "model", "modeling", "learning", "learned", "transformer", "transformers", "data", "diffusion", "sparse", "attention", "retrieval", "agents", "policy", "the", "of", "and", "a", "for", "with"]
    for n in range(600):
        sep = " " if n % 2 else rng.choice(["-", " ", "/"])  # long hyphenated runs: cuts mid-word
        text = sep.join(rng.choice(vocab) for _ in range(rng.randint(5, 120))).capitalize() + "."
        stems = set(an(" ".join(rng.sample(vocab, rng.randint(1, 3)))))
        for width in (60, 240):
            full = snippet_parts(highlight_parts(text, stems, an.stem_word), width)
            assert snippet_of_text(text, stems, an.stem_word, width) == full, (text, stems, width)
