"""Decide whether the source answers a question: evidence about the best sentence, weighed.

The evidence is graded, and a logistic model fitted across articles (``qa.eval.fitting``) turns it
into a confidence: the probability that the quote shown is right. It looks at the best
candidate sentence and its paragraph:

- how it scored (the fitted scorer's logit, its margin over the runner-up, dense similarity,
  soft word alignment); word coverage is left to the scorer: here its weight came out
  negative (question writers build unanswerable questions from the text's own words), which
  would make a plain question in the text's words look doubtful;
- whether it holds the kind of value asked for (a date for "when", a count for "how many", an
  agent for "who"), beyond the values the question gives itself;
- numbers and years of the question the paragraph never mentions;
- names of the question the document never mentions, and those only this paragraph lacks
  (a question's context names weigh less than a name the text has never heard of);
- the question's words: the IDF-weighted share the paragraph lacks, the share the whole
  corpus lacks, and through word vectors (``qa.index.wordvec``) the question word the paragraph
  matches worst ("How deep is the lake?" over a paragraph that never speaks of depth).

No list of words fitted to an evaluation set takes part; the weights are fitted.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..index.loaded import LoadedIndex
from ..index.text import figures, tokenize
from ..index.wordvec import SentenceWords, alignment
from ..results import Evidence
from .answerhood import EVIDENCE as ANSWERHOOD_EVIDENCE
from .answertype import holds
from .features import FEATURES, QuestionView, title_words
from .names import missing_names
from .scorer import Fitted

#: Evidence features, in the order of ``Evidence.features``.
EVIDENCE = (
    "score",
    "margin",
    "dense",
    "type_match",
    "type_missing",
    "missing_number",
    "names_absent_doc",
    "names_absent_para",
    "missing_para",
    "missing_doc",
    "followup",
    "soft",
    "soft_min",
    "para_soft",
    "para_soft_min",
    "para_gap",
)
#: Evidence features that need word vectors; the "plain" model is fitted without them.
WORD_EVIDENCE = frozenset({"soft", "soft_min", "para_soft", "para_soft_min", "para_gap"})
#: The evidence when there is no candidate sentence at all (an empty index).
NO_EVIDENCE = Evidence(
    tuple(-20.0 if f == "score" else 0.0 for f in EVIDENCE), ("the text has no sentences",)
)


def paragraph_text(index: LoadedIndex, si: int) -> str:
    """The sentence's section heading and every sentence of its paragraph."""
    rows = index.paragraph_sentences(si)
    return " ".join([index.sentences[si].section] + [index.sentence_text(o) for o in rows])


def assess(
    index: LoadedIndex,
    view: QuestionView,
    si: int,
    row: np.ndarray,
    score: float,
    margin: float,
    sentence_words: SentenceWords | None,
) -> Evidence:
    """Evidence features (``EVIDENCE``) about sentence ``si`` and reasons for what it lacks.

    ``row`` is the sentence's candidate features (``qa.answering.features.FEATURES``); ``score`` and
    ``margin`` its scorer logit and its lead over the next candidate. Reasons are short phrases
    about the closest passage ("never mentions Thailand"), for telling a user why the text was
    judged not to answer.
    """
    q = view.question
    s = index.sentences[si]
    doc = index.docs[s.doc]
    text = index.sentence_text(si)
    para = paragraph_text(index, si)
    reasons: list[str] = []
    absent_numbers = sorted(q.figures - figures(para))
    if absent_numbers:
        reasons.append(f"never mentions {', '.join(absent_numbers)}")
    type_missing = q.kind in ("date", "quantity") and not holds(q, text)
    if type_missing:
        what = "number" if q.kind == "quantity" else "date"
        beyond = " beyond the question's own" if q.values else ""
        reasons.append(f"gives no {what}{beyond}")
    in_para = missing_names(q.names, f"{doc.title} {para}")
    in_doc = set(missing_names(q.names, f"{doc.title} {doc.text}"))
    if in_para:
        reasons.append(f"never mentions {', '.join(in_para)}")
    para_tokens = set(tokenize(f"{doc.title} {para}"))
    weights = {t: w for t, w in view.weights.items() if t in set(q.tokens)} or view.weights
    total = sum(weights.values()) or 1.0
    unknown = [t for t in weights if t not in index.bm25.vocab]
    named = {t for written in in_para for t in tokenize(written)}
    if not reasons and [t for t in unknown if t not in named]:  # the plainest reason only
        shown = sorted((t for t in unknown if t not in named), key=lambda t: -weights[t])[:2]
        reasons.append("never mentions " + ", ".join(f"“{q.spelled.get(t, t)}”" for t in shown))
    soft = soft_min = para_soft = para_soft_min = para_gap = 0.0
    if view.words is not None and sentence_words is not None:
        said = title_words(index, si)
        soft, soft_min, _ = alignment(view.words, view.word_weights, sentence_words(si), said)
        pv = np.concatenate([sentence_words(o) for o in index.paragraph_sentences(si)])
        para_soft, para_soft_min, para_gap = alignment(view.words, view.word_weights, pv, said)
    n = len(q.names) or 1
    features = {
        "score": score,
        "margin": margin,
        "dense": float(row[FEATURES.index("dense")]),
        "type_match": float(row[FEATURES.index("type_match")]),
        "type_missing": float(type_missing),
        "missing_number": float(bool(absent_numbers)),
        "names_absent_doc": len(in_doc) / n,
        "names_absent_para": (len(in_para) - len(in_doc & set(in_para))) / n,
        "missing_para": sum(w for t, w in weights.items() if t not in para_tokens) / total,
        "missing_doc": sum(weights[t] for t in unknown) / total,
        "followup": float(q.followup),
        "soft": soft,
        "soft_min": soft_min,
        "para_soft": para_soft,
        "para_soft_min": para_soft_min,
        "para_gap": para_gap,
    }
    return Evidence(tuple(features[f] for f in EVIDENCE), tuple(reasons))


def confidence(features: Sequence[float], fitted: Fitted, variant: str) -> float:
    """Calibrated probability that the quote shown for this evidence is right (the
    "answerhood" variant's evidence carries the cross-encoder's two features after ours)."""
    names = EVIDENCE + (ANSWERHOOD_EVIDENCE if variant == "answerhood" else ())
    z = float(fitted.abstention[variant].logits(np.asarray([features]), names)[0])
    return fitted.confidence(z)
