"""BM25 scores against a hand computation, the save/load round trip, and the stemmer."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from qa.errors import StaleIndexError
from qa.index.bm25 import BM25
from qa.index.text import TOKENIZER, stem, tokenize

# A tiny corpus, already tokenized: N = 3 documents of lengths 3, 2 and 4, so avgdl = 3.
CORPUS = [
    ["shelter", "laos", "shelter"],
    ["tier", "laos"],
    ["tier", "2", "report", "laos"],
]
K1, B = 1.2, 0.75


def test_scores_match_a_hand_computation():
    """score(q, d) = sum over terms t of q:  idf(t) * tf * (k1 + 1) / (tf + k1 * L(d)),

    with idf(t) = ln(1 + (N - df + 0.5) / (df + 0.5)) and L(d) = 1 - b + b * |d| / avgdl.
    """
    bm = BM25.build(CORPUS, k1=K1, b=B)

    # idf, N = 3
    idf_shelter = math.log(1 + (3 - 1 + 0.5) / (1 + 0.5))  # df 1: ln(8/3)
    idf_tier = math.log(1 + (3 - 2 + 0.5) / (2 + 0.5))  # df 2: ln(1.6)
    idf_laos = math.log(1 + (3 - 3 + 0.5) / (3 + 0.5))  # df 3: ln(8/7)
    assert idf_shelter == pytest.approx(math.log(8 / 3))
    assert idf_tier == pytest.approx(math.log(1.6))
    assert idf_laos == pytest.approx(math.log(8 / 7))

    # length normalisation k1 * L(d), avgdl = 3
    norm0 = 1.2 * (1 - 0.75 + 0.75 * 3 / 3)  # = 1.2
    norm1 = 1.2 * (1 - 0.75 + 0.75 * 2 / 3)  # = 0.9 (shorter than average: boosted)
    norm2 = 1.2 * (1 - 0.75 + 0.75 * 4 / 3)  # = 1.5 (longer: damped)
    assert (norm0, norm1, norm2) == pytest.approx((1.2, 0.9, 1.5))

    # "shelter" occurs twice in document 0 only
    shelter = [idf_shelter * 2 * 2.2 / (2 + norm0), 0.0, 0.0]
    np.testing.assert_allclose(bm.scores(["shelter"]), shelter, rtol=1e-6)
    assert shelter[0] == pytest.approx(1.375 * math.log(8 / 3))

    # "tier" once in documents 1 and 2: the shorter document scores higher
    tier = [0.0, idf_tier * 1 * 2.2 / (1 + norm1), idf_tier * 1 * 2.2 / (1 + norm2)]
    np.testing.assert_allclose(bm.scores(["tier"]), tier, rtol=1e-6)
    assert tier[1] > tier[2] > 0

    # a query sums its terms; a repeated query term counts twice; unknown terms add nothing
    np.testing.assert_allclose(
        bm.scores(["tier", "shelter", "unknown"]),
        np.add(tier, shelter),
        rtol=1e-6,
    )
    laos = [idf_laos * 2.2 / (1 + n) for n in (norm0, norm1, norm2)]
    np.testing.assert_allclose(bm.scores(["laos", "laos"]), np.multiply(2, laos), rtol=1e-6)
    np.testing.assert_array_equal(bm.scores([]), np.zeros(3))


def test_other_parameters_and_empty_documents():
    """k1 and b are used as given: with b = 0 the length does not matter."""
    bm = BM25.build(CORPUS, k1=2.0, b=0.0)
    idf_tier = math.log(1.6)
    expected = idf_tier * 1 * 3.0 / (1 + 2.0)  # tf (k1 + 1) / (tf + k1), same for both
    np.testing.assert_allclose(bm.scores(["tier"]), [0.0, expected, expected], rtol=1e-6)
    empty = BM25.build([[], ["tier"]])
    assert empty.n_docs == 2
    assert empty.scores(["tier"])[0] == 0.0 and empty.scores(["tier"])[1] > 0


@pytest.mark.parametrize("mmap", [True, False])
def test_save_load_round_trip(tmp_path, mmap):
    bm = BM25.build(CORPUS)
    bm.save(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(BM25.FILES)
    for name in BM25.FILES:
        if name.endswith(".npy"):
            np.load(tmp_path / name, allow_pickle=False)  # plain arrays, no objects
    loaded = BM25.load(tmp_path, mmap=mmap)
    assert loaded.n_docs == 3
    assert loaded.vocab == bm.vocab
    for name in ("indptr", "docs", "weights"):
        a, b = getattr(loaded, name), getattr(bm, name)
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)
    assert isinstance(loaded.weights, np.memmap) is mmap
    for query in (["shelter"], ["tier", "laos"], ["2", "report"], ["nothing"]):
        np.testing.assert_array_equal(loaded.scores(query), bm.scores(query))


@pytest.mark.parametrize("tokenizer", [None, "hand-suffix-0"])
def test_index_from_another_tokenizer_is_stale(tmp_path, tokenizer):
    """Terms made by another stemmer would silently miss the query's: rebuild instead."""
    BM25.build(CORPUS).save(tmp_path)
    path = tmp_path / "bm25_vocab.json"
    meta = json.loads(path.read_text(encoding="utf-8"))
    assert meta["tokenizer"] == TOKENIZER
    if tokenizer is None:
        del meta["tokenizer"]  # as written before the tokenizer was recorded
    else:
        meta["tokenizer"] = tokenizer
    path.write_text(json.dumps(meta), encoding="utf-8")
    with pytest.raises(StaleIndexError, match="qa build") as info:
        BM25.load(tmp_path)
    assert str(tmp_path) in str(info.value)


# ------------------------------------------------------------------------------- stemmer

SAME_STEM = [
    ("cases", "case"),
    ("centres", "centre"),
    ("status", "statuses"),
    ("victims", "victim"),
    ("trafficked", "trafficking"),
    ("investigations", "investigation"),
    ("provided", "provide"),
    ("countries", "country"),
    ("arrested", "arrests"),
]
DIFFERENT_STEM = [
    ("news", "new"),
    ("police", "policy"),
    ("tier", "tie"),
]


@pytest.mark.parametrize(("a", "b"), SAME_STEM)
def test_word_forms_share_a_stem(a, b):
    assert stem(a) == stem(b)


@pytest.mark.parametrize(("a", "b"), DIFFERENT_STEM)
def test_different_words_keep_different_stems(a, b):
    assert stem(a) != stem(b)


def test_stems_and_tokens():
    assert [stem(w) for w in ("cases", "status", "2007", "laos")] == [
        "case",
        "status",
        "2007",
        "lao",
    ]
    # lowercased, stopwords dropped, numbers kept, punctuation split
    assert tokenize("The CASES of 2007: victims were trafficked to the centres.") == [
        "case",
        "2007",
        "victim",
        "traffick",
        "centr",
    ]
    assert tokenize("") == [] and tokenize("the of and") == []


def test_query_and_document_forms_meet_in_bm25():
    """A question in one word form finds a passage in another."""
    docs = ["Thirty-eight cases were investigated.", "The centre shelters victims."]
    bm = BM25.build([tokenize(d) for d in docs])
    assert int(bm.scores(tokenize("How many case investigations?")).argmax()) == 0
    assert int(bm.scores(tokenize("Which centres shelter a victim?")).argmax()) == 1
    assert bm.scores(tokenize("case"))[0] > 0 and bm.scores(tokenize("centres"))[1] > 0
