"""Features of a candidate sentence for a question: what the fitted scorer weighs.

Every sentence of the retrieved passages is described by the same numbers: its dense cosine
with the question (and its gap to the best candidate's), BM25 over sentences and IDF-weighted
word coverage, shared phrases (bigrams and trigrams of lemmas: "carries out" / "carried
out"), whether it holds the kind of value the question asks for (``qa.answering.answertype``), the
question's numbers and names it lacks, how much it says beyond the question, its length,
and, when the index stores word vectors (``qa.index.wordvec``), a soft alignment of the question's
words with its words. Nothing here names an article, a topic or a question of any
evaluation set.
"""

from __future__ import annotations

import math
import re
import weakref
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..index.loaded import LoadedIndex
from ..index.text import STOPWORDS, lemmas, numbers, stem, tokenize
from ..index.text import words as text_words
from ..index.wordvec import SentenceWords, Words, alignment
from .answertype import holds
from .names import names_missing
from .question import Question

#: Scorer features, in the order of the fitted coefficients.
FEATURES = (
    "dense",
    "dense_gap",
    "coverage",
    "bm25",
    "bm25_gap",
    "bigrams",
    "trigrams",
    "type_match",
    "type_free",
    "novelty",
    "length",
    "anaphor",
    "numbers_missing",
    "names_missing",
    "soft",
    "soft_gap",
    "soft_min",
)
#: Features that need word vectors; the "plain" scorer is fitted without them.
WORD_FEATURES = frozenset({"soft", "soft_gap", "soft_min"})

#: In a follow-up, the new question's own words carry this share of the lexical weight; the
#: previous question's words only say where to look.
OWN_WORDS_SHARE = 0.7
_ANAPHOR_RE = re.compile(
    r"^(?:It|Its|This|That|These|Those|They|Their|Them|He|She|His|Her|Such|The event|"
    r"The same|An additional)\b"
)
_BM25_K1, _BM25_B = 1.2, 0.75


def _ngrams(words: Sequence[str], n: int) -> set[tuple[str, ...]]:
    return {
        tuple(words[i : i + n])
        for i in range(len(words) - n + 1)
        if not all(w in STOPWORDS for w in words[i : i + n])
    }


def query_weights(index: LoadedIndex, q: Question) -> dict[str, float]:
    """IDF weight per query token; in a follow-up the question's own words weigh 70%."""
    weights = {t: index.bm25.idf(t) for t in set(q.query_tokens)}
    own = set(q.tokens) & set(weights)
    context = set(weights) - own
    if own and context:
        own_total = sum(weights[t] for t in own) or 1.0
        context_total = sum(weights[t] for t in context) or 1.0
        scale = context_total / own_total * OWN_WORDS_SHARE / (1.0 - OWN_WORDS_SHARE)
        for t in own:
            weights[t] *= scale
    return weights


@dataclass(frozen=True)
class QuestionView:
    """A ``Question`` (or one part of a compound one) read against an index: its terms' IDF
    weights, phrases, and word vectors when the index has them."""

    question: Question
    weights: dict[str, float]
    bigrams: frozenset[tuple[str, ...]]
    trigrams: frozenset[tuple[str, ...]]
    words: Words | None
    word_weights: np.ndarray

    @property
    def text(self) -> str:
        return self.question.text

    @property
    def kind(self) -> str:
        return self.question.kind

    @classmethod
    def of(cls, index: LoadedIndex, q: Question, words: Words | None) -> QuestionView:
        ww = np.array([index.bm25.idf(stem(w)) for w in words.words]) if words else np.zeros(0)
        return cls(
            q,
            query_weights(index, q),
            frozenset(_ngrams(q.lemmas, 2)),
            frozenset(_ngrams(q.lemmas, 3)),
            words,
            ww,
        )


def title_words(index: LoadedIndex, si: int) -> frozenset[str]:
    """The lowercased words of the title of sentence ``si``'s document: said by every sentence."""
    return frozenset(text_words(index.docs[index.sentences[si].doc].title))


_AVG_LEN: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _avg_sentence_tokens(index: LoadedIndex) -> float:
    if index not in _AVG_LEN:
        lengths = [len(tokenize(index.sentence_text(i))) for i in range(len(index.sentences))]
        _AVG_LEN[index] = float(np.mean(lengths)) if lengths else 1.0
    return _AVG_LEN[index]


def candidate_features(
    index: LoadedIndex,
    q: QuestionView,
    qvec: np.ndarray,
    rows: list[int],
    sentence_words: SentenceWords | None,
) -> np.ndarray:
    """One row of ``FEATURES`` per sentence row in ``rows`` (word features 0 without words)."""
    avg = _avg_sentence_tokens(index)
    total = sum(q.weights.values()) or 1.0
    out = np.zeros((len(rows), len(FEATURES)), dtype=np.float64)
    free = float(q.kind in ("reason", "yesno", "other"))
    for r, si in enumerate(rows):
        text = index.sentence_text(si)
        toks = tokenize(text)
        tf = Counter(toks)
        tset = set(tf)
        norm = _BM25_K1 * (1 - _BM25_B + _BM25_B * len(toks) / avg)
        bm25 = sum(
            w * tf[t] * (_BM25_K1 + 1) / (tf[t] + norm) for t, w in q.weights.items() if t in tf
        )
        ls = lemmas(text)
        nums = numbers(text)
        soft = soft_min = 0.0
        if q.words is not None and sentence_words is not None:
            said = title_words(index, si)
            soft, soft_min, _ = alignment(q.words, q.word_weights, sentence_words(si), said)
        out[r] = (
            float(np.dot(index.sentence_vectors[si], qvec)),
            0.0,
            sum(w for t, w in q.weights.items() if t in tset) / total,
            bm25,
            0.0,
            len(q.bigrams & _ngrams(ls, 2)) / max(1, len(q.bigrams)),
            len(q.trigrams & _ngrams(ls, 3)) / max(1, len(q.trigrams)),
            holds(q.question, text, index.docs[index.sentences[si].doc].title),
            free,
            len([t for t in tset if t not in q.weights]) / max(1, len(tset)),
            math.log1p(len(toks)),
            float(bool(_ANAPHOR_RE.match(text))),
            len(q.question.numbers - nums) / max(1, len(q.question.numbers)),
            names_missing(q.question.names, f"{index.docs[index.sentences[si].doc].title} {text}"),
            soft,
            0.0,
            soft_min,
        )  # fmt: skip
    if len(rows):
        for col, gap in (("dense", "dense_gap"), ("bm25", "bm25_gap"), ("soft", "soft_gap")):
            i, j = FEATURES.index(col), FEATURES.index(gap)
            out[:, j] = out[:, i] - out[:, i].max()
    return out
