"""Candidate sentences: every sentence of the top passages, scored for a question (or one part
of it) by the fitted scorer (with the answerhood cross-encoder over the best few), with the
verdict on the best (``answering.abstention``)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..index.loaded import LoadedIndex
from ..index.wordvec import SentenceWords, Words, encode_query, sentence_words
from ..results import Evidence, Passage
from . import answerhood
from .abstention import NO_EVIDENCE, assess, confidence
from .features import FEATURES, QuestionView, candidate_features
from .question import Question
from .reranker import Reranker
from .retrieval import depth_for, passage, rank
from .scorer import Fitted, fitted_for

#: Sentences of this many top passages are candidates (at least k): 8 holds an answering
#: sentence for 97% of answerable questions across the four articles, 5 for 95%.
POOL_PASSAGES = 8
#: The margin feature of a lone candidate (no runner-up to beat).
LONE_MARGIN = 5.0


@dataclass
class _Candidate:
    sentence: int  # row in index.sentences
    passage_rank: int
    dense: float
    score: float  # the fitted scorer's logit
    row: np.ndarray  # the candidate's FEATURES
    rerank: float | None = None  # the cross-encoder's score, with a re-ranker


@dataclass
class Scored:
    """A question (or part) with its candidates, best first, and the verdict on the best."""

    view: QuestionView
    cands: list[_Candidate]
    evidence: Evidence = field(default_factory=lambda: NO_EVIDENCE)
    confidence: float = 0.0
    #: "plain", "words" or "answerhood": which fitted models judged it
    variant: str = "plain"
    #: the answerhood cross-encoder's logit per candidate sentence (its variant only)
    ce: dict[int, float] = field(default_factory=dict)


def pool_rows(index: LoadedIndex, passages: list[Passage]) -> list[tuple[int, int]]:
    """(sentence row, passage rank) of every sentence of ``passages``, first occurrence."""
    seen: dict[int, int] = {}
    for pos, p in enumerate(passages):
        for si in index.chunks[p.chunk].sentences:
            seen.setdefault(si, pos)
    return list(seen.items())


def score_view(
    index: LoadedIndex,
    view: QuestionView,
    qvec: np.ndarray,
    pool: list[tuple[int, int]],
    fitted: Fitted,
    words: SentenceWords | None,
    reranker: Reranker | None = None,
) -> Scored:
    """Score the pool for one question (or part), judge the best, and say how sure we are."""
    variant = "words" if view.words is not None and words is not None else "plain"
    rows = [si for si, _ in pool]
    X = candidate_features(index, view, qvec, rows, words if variant == "words" else None)
    logits = fitted.scorer[variant].logits(X, FEATURES) if rows else np.zeros(0)
    model = None
    if variant == "words" and "answerhood" in fitted.scorer and index.use_answerhood:
        model = answerhood.shipped()
    col = None
    if model is not None and rows:  # the cross-encoder reads the first stage's best few
        col = answerhood.score(model, index, view.question.query, rows, logits)
        X = answerhood.extend(X, col)
        variant = "answerhood"
        logits = fitted.scorer[variant].logits(X, FEATURES + answerhood.FEATURES)
    cands = [
        _Candidate(si, pos, float(X[i, 0]), float(logits[i]), X[i])
        for i, (si, pos) in enumerate(pool)
    ]
    cands.sort(key=lambda c: (-c.score, c.sentence))
    if reranker is not None and cands:
        cands = reranker.reorder(view.text, cands, [index.sentence_text(c.sentence) for c in cands])
    scored = Scored(view, cands, variant=variant)
    if col is not None:
        scored.ce = {si: float(v) for si, v in zip(rows, col, strict=True)}
    if cands:
        best = cands[0]
        margin = best.score - max((c.score for c in cands[1:]), default=best.score - LONE_MARGIN)
        scored.evidence = evidence_for(index, scored, best, margin)
    scored.confidence = confidence(scored.evidence.features, fitted, variant)
    return scored


def evidence_for(index: LoadedIndex, scored: Scored, cand: _Candidate, margin: float) -> Evidence:
    """The abstention's evidence that candidate ``cand`` answers ``scored``'s question (with the
    cross-encoder's logit and lead when it judged the candidates)."""
    words = sentence_words(index) if scored.variant != "plain" else None
    ev = assess(index, scored.view, cand.sentence, cand.row, cand.score, margin, words)
    if scored.variant != "answerhood":
        return ev
    mine = scored.ce.get(cand.sentence, min(scored.ce.values(), default=0.0))
    others = [v for si, v in scored.ce.items() if si != cand.sentence]
    lead = mine - max(others, default=mine - LONE_MARGIN)
    return Evidence(ev.features + (mine, lead), ev.reasons)


def judge(
    index: LoadedIndex, scored: Scored, cand: _Candidate, margin: float, fitted: Fitted
) -> float:
    """The calibrated confidence that ``cand`` answers ``scored``'s question."""
    return confidence(evidence_for(index, scored, cand, margin).features, fitted, scored.variant)


def own_words(words: Words | None, q: Question) -> Words | None:
    """The word vectors of the question's own words (a follow-up's query starts with another)."""
    return words.since(len(q.query) - len(q.text)) if words is not None else None


def candidates(
    index: LoadedIndex,
    q: Question,
    k: int,
    fitted: Fitted | None = None,
    reranker: Reranker | None = None,
) -> tuple[list[Passage], Scored]:
    """The top-k passages for ``q.query`` and the question's scored candidates with a verdict.

    One model call: the query's vector and its words' vectors come from the same pass.
    """
    fitted = fitted or fitted_for(index.manifest.model)
    qvec, qwords = encode_query(index, q.query)
    ranked, _ = rank(index, q, depth_for(k), qvec=qvec)
    pool = pool_rows(index, [passage(index, r) for r in ranked[: max(k, POOL_PASSAGES)]])
    passages = [passage(index, r) for r in ranked[:k]]
    words = sentence_words(index) if qwords is not None else None
    view = QuestionView.of(index, q, own_words(qwords, q))
    return passages, score_view(index, view, qvec, pool, fitted, words, reranker)
