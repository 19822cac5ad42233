"""Extractive answers: verbatim quotes with the source's reference numbers.

Every sentence of the retrieved passages is scored by a model fitted across articles
(``features``, ``scorer``); the best is quoted verbatim with the refs the source gives
it. A calibrated model of the evidence (``qa.answering.abstention``) gives the probability that the
quote is right, which decides the outcome: "answered" (the quote is the answer), "tentative"
(shown, clearly labelled, as the closest the text comes) or "not_found". A further quote is
added only for another part of a compound question, and only when it passes the same bar on
its own: nothing is quoted because it merely scored well; a part that gets none is named
(``qa.answering.compound``).
"""

from __future__ import annotations

import dataclasses
import re

from ..index.loaded import LoadedIndex
from ..index.text import tokenize
from ..readers.document import is_unsourced_tag
from ..results import Answer, Quote, Reference
from .candidates import (  # re-exported: evaluation and tests reach them through this module
    LONE_MARGIN,
    POOL_PASSAGES,
    Scored,
    _Candidate,
    candidates,
    own_words,
    pool_rows,
    score_view,
)
from .compound import answer_parts, part_answers, unanswered
from .names import known_token
from .question import Question, check_k, clean_history, clean_question, resolve_query
from .render import render_markdown
from .reranker import Reranker
from .scorer import Fitted, fitted_for
from .span import answer_span

__all__ = [
    "LONE_MARGIN", "POOL_PASSAGES", "Scored", "_Candidate", "answer_parts", "answer_with_index",
    "candidates", "outcome_of", "own_words", "part_answers", "pool_rows", "quote_group",
    "score_view",
]  # fmt: skip

MAX_SENTENCES_PER_QUOTE = 3

_ANAPHOR_RE = re.compile(
    r"^(?:It|Its|This|That|These|Those|They|Their|Them|He|She|His|Her|Such|The event|"
    r"The same|An additional)\b"
)


def _tokens(index: LoadedIndex, si: int) -> set[str]:
    return set(tokenize(index.sentence_text(si)))


def quote_group(index: LoadedIndex, si: int, anchors: set[str], taken: set[int]) -> list[int]:
    """Sentence ``si``, with its predecessor when it opens by pointing back ("It", "This" …)
    and with a neighbour that holds a number or name of the question it lacks.

    "How did the ranking change between 2018 and 2023?" needs "In 2023 it was placed at
    Tier 2." after the 2018 sentence; a neighbour that only repeats ordinary question words
    is not needed and stays out.
    """
    g = [si]
    points_back = _ANAPHOR_RE.match(index.sentence_text(si))
    if si > 0 and si - 1 not in taken and index.adjacent(si - 1, si) and points_back:
        g.insert(0, si - 1)
    title = set(tokenize(index.docs[index.sentences[si].doc].title))  # the subject is said
    while len(g) < MAX_SENTENCES_PER_QUOTE:
        have = title.union(*(_tokens(index, s) for s in g))
        wanted = {a for a in anchors if not known_token(a, have)}
        extra = [
            s
            for s in (g[0] - 1, g[-1] + 1)
            if s not in taken
            and 0 <= s < len(index.sentences)
            and (index.adjacent(s, g[0]) or index.adjacent(s, g[-1]))
            and any(known_token(a, _tokens(index, s)) for a in wanted)
        ]
        if not extra:
            break
        g.append(extra[-1])  # the following sentence first: it continues the quote
        g.sort()
    taken.update(g)
    return g


def _quote(index: LoadedIndex, group: list[int], score: float) -> Quote:
    first, last = index.sentences[group[0]], index.sentences[group[-1]]
    doc = index.docs[first.doc]
    refs: list[int] = []
    pages: dict[int, str] = {}
    notes: dict[str, str] = {}
    tags: list[str] = []
    for si in group:
        s = index.sentences[si]
        refs.extend(r for r in s.refs if r not in refs)
        for n, page in s.pages:
            pages[n] = f"{pages[n]}, {page}" if n in pages and page not in pages[n] else page
        notes.update((label, doc.notes.get(label, "")) for label in s.notes)
        tags.extend(t for t in s.tags if t not in tags)
    return Quote(
        text=doc.text[first.start : last.end],
        refs=tuple(refs),
        doc_id=doc.doc_id,
        section=first.section,
        start=first.start,
        end=last.end,
        score=round(float(score), 4),
        title=doc.title,
        pages=pages,
        notes=notes,
        tags=tuple(tags),
        unsourced=any(is_unsourced_tag(t) for t in tags),
        written=doc.text[first.start : last.span_end],
    )


def _mark_answer(index: LoadedIndex, quote: Quote, question: str, si: int) -> Quote:
    """The quote with the words of sentence ``si`` that answer ``question`` marked."""
    s = index.sentences[si]
    found = answer_span(question, index.document_text(quote.doc_id), s.start, s.end)
    if found is None:
        return quote
    return dataclasses.replace(quote, answer_start=found[0], answer_end=found[1])


def _references(index: LoadedIndex, quotes: list[Quote]) -> list[Reference]:
    """The References entries of the numbers the shown quotes carry, and no others."""
    out: list[Reference] = []
    seen = set()
    for q in quotes:
        refs = index.references(q.doc_id)
        for n in q.refs:
            if (q.doc_id, n) in seen:
                continue
            seen.add((q.doc_id, n))
            text = refs.get(n, "(this number has no entry in the source's References list)")
            out.append(Reference(q.doc_id, n, text))
    return out


def outcome_of(conf: float, fitted: Fitted) -> str:
    """ "answered", "tentative" or "not_found" for a confidence, by the fitted thresholds."""
    if conf >= fitted.answer:
        return "answered"
    return "tentative" if conf >= fitted.tentative else "not_found"


def answer_with_index(
    index: LoadedIndex,
    question: str,
    k: int = 5,
    history: list[str] | None = None,
    fitted: Fitted | None = None,
    reranker: Reranker | None = None,
) -> Answer:
    """Answer ``question`` from a loaded index (``qa.answer`` on the default index).

    ``fitted`` replaces the shipped models (evaluation uses the leave-one-article-out ones);
    ``reranker`` a cross-encoder (default: ``index.reranker``, from QA_RERANKER, if any).
    """
    text = clean_question(question)
    k = check_k(k)
    q = Question.of(text, resolve_query(text, clean_history(history)))
    fitted = fitted or fitted_for(index.manifest.model)
    reranker = reranker if reranker is not None else index.reranker
    passages, scored = candidates(index, q, k, fitted, reranker)
    conf = scored.confidence
    outcome = outcome_of(conf, fitted) if scored.cands else "not_found"
    ans = Answer(question=q.text, found=False, passages=passages, query=q.query)
    ans.confidence = round(conf, 4)
    ans.outcome = outcome
    if outcome != "answered":
        ans.reasons = list(scored.evidence.reasons)
    rows: list[int] = []
    covered: set[int] = set()
    if outcome == "answered":
        rows, covered = part_answers(index, scored, fitted, reranker)
    elif outcome == "tentative":
        rows = [scored.cands[0].sentence]
    scores = {c.sentence: c.score for c in scored.cands}
    parts = list(q.parts) if scored.cands else []
    if len(parts) > 1:  # a compound question: each part is answered, or named as not answered
        quoted = rows if outcome == "answered" else []
        split = answer_parts(index, parts, covered, quoted, k, fitted, reranker)
        if split.confidences or outcome == "answered":
            if outcome != "answered":  # the whole was not answered, but a part on its own is
                rows, ans.reasons = [], []
                ans.confidence = round(min(split.confidences), 4)
            rows = list(dict.fromkeys(rows + split.rows))
            outcome = ans.outcome = "answered"
            scores.update(split.scores)
    if rows:
        taken = set(rows)
        groups = [quote_group(index, si, q.anchors, taken) for si in rows]
        if len(parts) > 1 and outcome == "answered":
            ans.unanswered = unanswered(index, split, [si for g in groups for si in g], fitted)
        ans.quotes = [_quote(index, g, max(scores.get(s, 0.0) for s in g)) for g in groups]
        ans.quotes[0] = _mark_answer(index, ans.quotes[0], q.text, rows[0])
        ans.references = _references(index, ans.quotes)
        ans.found = outcome == "answered"
    ans.markdown = render_markdown(ans, multi_doc=len(index.docs) > 1)
    return ans
