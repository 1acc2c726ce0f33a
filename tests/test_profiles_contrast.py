"""The contrast model (profiles/contrast.py): what sets a profile's papers apart from a
background of stored papers."""

from __future__ import annotations

import numpy as np

from papersift.profiles.contrast import Background, contrast_vector, sample_ids
from papersift.profiles.lexical import LexicalSpace, similarities
from papersift.search.lexical import BM25Index

# A field where every paper says "language model": the profile's papers are about language
# models for protein folding; the background is language models for everything else.
BACKGROUND = [(f"b{i}", f"Language model for {topic}", f"We train a large language model on {topic} data "
               f"and evaluate the language model on {topic} benchmarks.")
              for i, topic in enumerate(["translation", "code", "math", "dialogue", "summarization",
                                         "retrieval", "reasoning", "tables", "law", "medicine",
                                         "music", "chemistry reactions", "finance", "poetry"])]
SEEDS = [("s1", "Protein folding with a language model",
          "A language model predicts protein folding structure from residue sequences."),
         ("s2", "Residue contacts for protein folding",
          "Residue contact maps improve protein folding accuracy.")]
CANDIDATES = [("c_protein", "Folding proteins from residues", "We predict protein structure from residues."),
              ("c_lm", "A language model for language model evaluation",
               "A large language model evaluates another language model.")]


def _space() -> LexicalSpace:
    rows = [(i, t, a, "") for i, t, a in BACKGROUND + SEEDS + CANDIDATES]
    space = LexicalSpace.from_index(BM25Index.build(rows, "t"))
    return space


def test_contrast_weighs_up_what_the_background_lacks():
    space = _space()
    bg = Background.build(space, BACKGROUND)
    assert len(bg.ids) == len(BACKGROUND) and bg.gram.shape == (len(BACKGROUND),) * 2
    np.testing.assert_allclose(np.diag(bg.gram), 1.0, atol=1e-5)  # unit vectors
    seeds = space.vectors(SEEDS)
    w = contrast_vector(seeds, bg, {"s1", "s2"})
    assert w is not None
    weight = {t: float(x) for t, x in zip(w.terms, w.weights, strict=True)}
    protein, language = (space.vocab[space.analyze.stem_word(x)] for x in ("protein", "language"))
    # "language" is in a seed too, but every background paper has it: it sets nothing apart
    assert weight[protein] > 0 and weight[protein] > weight.get(language, 0.0)
    cands = space.vectors(CANDIDATES)
    score = similarities(cands, [w])[:, 0]
    assert score[0] > score[1]  # the protein paper, not the one that only shares "language model"
    # deterministic: the same input gives the same model
    again = contrast_vector(space.vectors(SEEDS), Background.build(space, BACKGROUND), {"s1", "s2"})
    assert again is not None and np.array_equal(again.terms, w.terms) and np.array_equal(again.weights, w.weights)


def test_seeds_in_the_background_are_left_out_of_it_and_nothing_to_contrast_gives_none():
    space = _space()
    bg = Background.build(space, SEEDS + BACKGROUND)
    with_seeds = contrast_vector(space.vectors(SEEDS), bg, {"s1", "s2"})
    without = contrast_vector(space.vectors(SEEDS), Background.build(space, BACKGROUND), {"s1", "s2"})
    assert with_seeds is not None and without is not None
    np.testing.assert_allclose(with_seeds.weights, without.weights, rtol=1e-5, atol=1e-6)
    assert contrast_vector(space.vectors(SEEDS), Background.build(space, SEEDS), {"s1", "s2"}) is None
    assert contrast_vector([], bg, set()) is None
    # a paper with no usable word is not part of a background
    assert Background.build(space, [("e", "the", "and of")]).ids == []


def test_sample_ids_is_an_even_deterministic_sample():
    ids = [f"p{i}" for i in range(10)]
    assert sample_ids(ids, 20) == ids
    assert sample_ids(ids, 5) == ["p0", "p2", "p4", "p6", "p8"]
    assert sample_ids(ids, 5) == sample_ids(list(ids), 5)
