"""A small BM25 index stored as numpy arrays (memory-mappable, no pickles).

Why BM25 is written here rather than taken from a library: it is one scatter-add over
precomputed weights (about sixty lines), and its arrays are files of *our* index format, listed
and checksummed in the manifest, memory-mapped on load, and read directly by abstention for
idf. rank_bm25 keeps per-document Python dicts that can only be saved by pickling, which the
index format forbids; bm25s would bring its own file layout and tokenizer conventions to keep in
step with the manifest. Stemming, where a hand-written rule is easy to get wrong, is the Snowball
English stemmer from PyStemmer (the tokeniser is ``qa.index.text``).

Term weights are precomputed at build time, so a query costs one slice and one scatter-add
per query term.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from pathlib import Path
from typing import Literal

import numpy as np

from ..errors import StaleIndexError
from .text import TOKENIZER


class BM25:
    """Okapi BM25 over precomputed per-(term, document) weights.

    Example:
        >>> bm = BM25.build([["laos", "shelter"], ["tier", "2"]])
        >>> int(bm.scores(["shelter"]).argmax())
        0
    """

    FILES = ("bm25_vocab.json", "bm25_indptr.npy", "bm25_docs.npy", "bm25_weights.npy")

    def __init__(
        self,
        vocab: dict[str, int],
        indptr: np.ndarray,
        docs: np.ndarray,
        weights: np.ndarray,
        n_docs: int,
    ) -> None:
        self.vocab = vocab
        self.indptr = indptr
        self.docs = docs
        self.weights = weights
        self.n_docs = n_docs

    @classmethod
    def build(cls, corpus: list[list[str]], k1: float = 1.2, b: float = 0.75) -> BM25:
        n = len(corpus)
        lengths = np.array([len(d) for d in corpus], dtype=np.float32)
        avgdl = float(lengths.mean()) if n and lengths.sum() else 1.0
        postings: dict[str, list[tuple[int, int]]] = {}
        for i, doc in enumerate(corpus):
            for term, tf in Counter(doc).items():
                postings.setdefault(term, []).append((i, tf))
        vocab = {t: j for j, t in enumerate(sorted(postings))}
        indptr = np.zeros(len(vocab) + 1, dtype=np.int64)
        total = sum(len(p) for p in postings.values())
        docs = np.empty(total, dtype=np.int32)
        weights = np.empty(total, dtype=np.float32)
        pos = 0
        for term, j in vocab.items():
            plist = postings[term]
            df = len(plist)
            idf = np.log(1.0 + (n - df + 0.5) / (df + 0.5))
            ids = np.fromiter((d for d, _ in plist), dtype=np.int32, count=df)
            tfs = np.fromiter((t for _, t in plist), dtype=np.float32, count=df)
            norm = k1 * (1 - b + b * lengths[ids] / avgdl)
            docs[pos : pos + df] = ids
            weights[pos : pos + df] = idf * tfs * (k1 + 1) / (tfs + norm)
            pos += df
            indptr[j + 1] = pos
        return cls(vocab, indptr, docs, weights, n)

    def scores(self, query_tokens: list[str]) -> np.ndarray:
        """BM25 score of every document for the query."""
        out = np.zeros(self.n_docs, dtype=np.float32)
        for term, count in Counter(query_tokens).items():
            j = self.vocab.get(term)
            if j is None:
                continue
            a, b = int(self.indptr[j]), int(self.indptr[j + 1])
            np.add.at(out, self.docs[a:b], self.weights[a:b] * count)
        return out

    def idf(self, term: str) -> float:
        """The term's inverse document frequency, as the scores use it (0 df for unknown terms)."""
        j = self.vocab.get(term)
        df = int(self.indptr[j + 1] - self.indptr[j]) if j is not None else 0
        return math.log(1.0 + (self.n_docs - df + 0.5) / (df + 0.5))

    def save(self, directory: Path) -> None:
        (directory / "bm25_vocab.json").write_text(
            json.dumps({"tokenizer": TOKENIZER, "n_docs": self.n_docs, "vocab": self.vocab}),
            encoding="utf-8",
        )
        np.save(directory / "bm25_indptr.npy", self.indptr)
        np.save(directory / "bm25_docs.npy", self.docs)
        np.save(directory / "bm25_weights.npy", self.weights)

    @classmethod
    def load(cls, directory: Path, mmap: bool = True) -> BM25:
        meta = json.loads((directory / "bm25_vocab.json").read_text(encoding="utf-8"))
        made_by = meta.get("tokenizer", "an older tokenizer")
        if made_by != TOKENIZER:
            raise StaleIndexError(
                f"the lexical index in {directory} was made by {made_by}, not {TOKENIZER}; "
                "run `qa build` to rebuild it"
            )
        mode: Literal["r"] | None = "r" if mmap else None
        return cls(
            meta["vocab"],
            np.load(directory / "bm25_indptr.npy", mmap_mode=mode, allow_pickle=False),
            np.load(directory / "bm25_docs.npy", mmap_mode=mode, allow_pickle=False),
            np.load(directory / "bm25_weights.npy", mmap_mode=mode, allow_pickle=False),
            int(meta["n_docs"]),
        )
