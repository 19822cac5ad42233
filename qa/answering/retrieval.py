"""Ranking: dense (FAISS) and lexical (BM25) rankings fused by reciprocal rank → Passages."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..index.loaded import LoadedIndex
from ..results import Passage
from .question import Question, check_k, clean_question

RRF_K = 60


class Ranked(NamedTuple):
    """One fused candidate chunk: its row, fused RRF score, dense cosine and BM25 score."""

    chunk: int
    fused: float
    dense: float
    lexical: float


def sentence_ranking(index: LoadedIndex, sentence_ids: np.ndarray, depth: int) -> list[int]:
    """Chunks in the order of their best sentence's similarity to the query (``depth`` at most).

    A passage whose one sentence answers the question can look unlike the question as a
    whole; its sentence can still be the closest. Each sentence hit votes for the chunks
    that hold it.
    """
    order: dict[int, None] = {}
    for si in sentence_ids:
        if si < 0:
            continue
        for ci in index.sentence_chunks(int(si)):
            order.setdefault(int(ci))
        if len(order) >= depth:
            break
    return list(order)[:depth]


def rank(
    index: LoadedIndex, question: Question | str, depth: int, qvec: np.ndarray | None = None
) -> tuple[list[Ranked], np.ndarray | None]:
    """Fused candidates for the question's query, best first, plus the query vector.

    Three rankings are fused by reciprocal rank: chunks by dense similarity, chunks by
    BM25, and chunks by their best sentence's dense similarity. A plain string is searched as
    it is (``Question.of``).
    """
    q = Question.of(question, split=False) if isinstance(question, str) else question
    n = len(index.chunks)
    depth = min(n, depth)
    if depth == 0:
        return [], qvec
    if qvec is None:
        qvec = index.encode(q.query)
    dense_scores, dense_ids, sentence_ids = index.search(qvec, depth, 2 * depth)
    by_sentence = sentence_ranking(index, sentence_ids, depth)
    lex = index.bm25.scores(list(q.query_tokens))
    lex_top = np.argpartition(-lex, depth - 1)[:depth] if depth < n else np.arange(n)
    lex_top = lex_top[np.argsort(-lex[lex_top], kind="stable")]
    fused: dict[int, float] = {}
    dense_of: dict[int, float] = {}
    for r, (i, s) in enumerate(zip(dense_ids, dense_scores, strict=True)):
        if i < 0:
            continue
        fused[int(i)] = fused.get(int(i), 0.0) + 1.0 / (RRF_K + r + 1)
        dense_of[int(i)] = float(s)
    r = 0
    for i in lex_top:
        if lex[i] <= 0:
            break
        fused[int(i)] = fused.get(int(i), 0.0) + 1.0 / (RRF_K + r + 1)
        r += 1
    for r, i in enumerate(by_sentence):
        fused[i] = fused.get(i, 0.0) + 1.0 / (RRF_K + r + 1)
    out = []
    for i in sorted(fused, key=lambda i: (-fused[i], i)):
        dense = dense_of.get(i)
        if dense is None:
            dense = float(np.dot(index.chunk_vector(i), qvec))
        out.append(Ranked(i, fused[i], dense, float(lex[i])))
    return out, qvec


def passage(index: LoadedIndex, r: Ranked) -> Passage:
    """The Passage of a ranked chunk: its verbatim text, section, refs and scores."""
    c = index.chunks[r.chunk]
    d = index.docs[c.doc]
    return Passage(
        text=d.text[c.start : c.end],
        doc_id=d.doc_id,
        title=d.title,
        section=c.section,
        refs=c.refs,
        score=float(r.fused),
        start=c.start,
        end=c.end,
        dense_score=float(r.dense),
        lexical_score=float(r.lexical),
        chunk=r.chunk,
    )


def depth_for(k: int) -> int:
    """How many fused candidates to rank for ``k`` passages (RRF needs some depth)."""
    return max(50, 4 * k)


def retrieve_with_index(index: LoadedIndex, question: str, k: int = 5) -> list[Passage]:
    """The ``k`` best passages for ``question`` from a loaded index, best first."""
    q = Question.of(clean_question(question), split=False)
    k = check_k(k)
    ranked, _ = rank(index, q, depth_for(k))
    return [passage(index, r) for r in ranked[:k]]
