"""Extractive answers: verbatim quotes with the source's reference numbers.

Every sentence of the retrieved passages is scored by a model fitted across articles
(``features``, ``scorer``); the best is quoted verbatim with the refs the source gives
it. A calibrated model of the evidence (``qa.answering.abstention``) gives the probability that the
quote is right, which decides the outcome: "answered" (the quote is the answer), "tentative"
(shown, clearly labelled, as the closest the text comes) or "not_found". A further quote is
added only for another part of a compound question, and only when it passes the same bar on
its own: nothing is quoted because it merely scored well.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field

import numpy as np

from ..index.bm25 import stem, tokenize
from ..index.loaded import LoadedIndex
from ..index.wordvec import SentenceWords, Words, encode_query, sentence_words
from ..readers.document import is_unsourced_tag
from ..results import Answer, Evidence, Passage, Quote, Reference
from .abstention import NO_EVIDENCE, assess, confidence
from .features import FEATURES, QuestionView, candidate_features
from .names import known_token, named_terms
from .question import check_k, clean_history, clean_question, question_parts, resolve_query
from .render import render_markdown
from .reranker import Reranker
from .retrieval import depth_for, passage, rank
from .scorer import Fitted, fitted_for

#: Sentences of this many top passages are candidates (at least k): 8 holds an answering
#: sentence for 97% of answerable questions across the four articles, 5 for 95%.
POOL_PASSAGES = 8
MAX_SENTENCES_PER_QUOTE = 3
#: The margin feature of a lone candidate (no runner-up to beat).
LONE_MARGIN = 5.0

_ANAPHOR_RE = re.compile(
    r"^(?:It|Its|This|That|These|Those|They|Their|Them|He|She|His|Her|Such|The event|"
    r"The same|An additional)\b"
)


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
    cands = [
        _Candidate(si, pos, float(X[i, 0]), float(logits[i]), X[i])
        for i, (si, pos) in enumerate(pool)
    ]
    cands.sort(key=lambda c: (-c.score, c.sentence))
    if reranker is not None and cands:
        cands = reranker.reorder(view.text, cands, [index.sentence_text(c.sentence) for c in cands])
    scored = Scored(view, cands)
    if cands:
        best = cands[0]
        margin = best.score - max((c.score for c in cands[1:]), default=best.score - LONE_MARGIN)
        scored.evidence = assess(index, view, best.sentence, best.row, best.score, margin, words)
    scored.confidence = confidence(scored.evidence.features, fitted, variant)
    return scored


def own_words(words: Words | None, question: str, query: str) -> Words | None:
    return words.since(len(query) - len(question)) if words is not None else None


def candidates(
    index: LoadedIndex,
    question: str,
    query: str,
    k: int,
    fitted: Fitted | None = None,
    reranker: Reranker | None = None,
) -> tuple[list[Passage], Scored]:
    """The top-k passages for ``query`` and the question's scored candidates with a verdict.

    One model call: the query's vector and its words' vectors come from the same pass.
    """
    fitted = fitted or fitted_for(index.manifest.model)
    qvec, qwords = encode_query(index, query)
    ranked, _ = rank(index, query, depth_for(k), qvec=qvec)
    pool = pool_rows(index, [passage(index, r) for r in ranked[: max(k, POOL_PASSAGES)]])
    passages = [passage(index, r) for r in ranked[:k]]
    words = sentence_words(index) if qwords is not None else None
    view = QuestionView.of(index, question, query, own_words(qwords, question, query))
    return passages, score_view(index, view, qvec, pool, fitted, words, reranker)


# ------------------------------------------------------------------------------- selection


def question_anchors(question: str) -> set[str]:
    """Numbers, years and names in the question, as tokens: what a quote must not leave out."""
    anchors = {t for t in tokenize(question) if t[:1].isdigit()}
    for _, toks in named_terms(question):
        anchors.update(stem(t) for t in toks)
    return anchors


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


def _part_picks(parts: list[Scored], depth: int = 8) -> list[_Candidate]:
    """One distinct sentence per part, maximising the summed scores."""
    tops = [p.cands[:depth] for p in parts]
    best, best_total = None, -np.inf
    for combo in itertools.product(*tops):
        if len({c.sentence for c in combo}) < len(combo):
            continue
        total = sum(c.score for c in combo)
        if total > best_total:
            best, best_total = combo, total
    return list(best) if best else [p.cands[0] for p in parts]


def part_answers(
    index: LoadedIndex, scored: Scored, fitted: Fitted, reranker: Reranker | None = None
) -> tuple[list[int], set[int]]:
    """The sentence rows to quote, in the order of the question's parts, and the parts (by
    position) that they answer.

    The best sentence for the whole question is always quoted (the verdict was about it). For
    a compound question ("How many were brought home, and how many are still in centres?")
    each part is encoded (one model call per part) and scored over the same candidates, and
    another part's sentence is added only when its own confidence reaches the answer threshold.
    """
    best = scored.cands[0].sentence
    texts = question_parts(scored.view.text)
    if len(texts) < 2:
        return [best], {0}
    pool = [(c.sentence, c.passage_rank) for c in scored.cands]
    words = sentence_words(index)
    parts = []
    for text in texts:
        pvec, pwords = encode_query(index, text)
        view = QuestionView.of(index, text, text, pwords if words is not None else None)
        parts.append(score_view(index, view, pvec, pool, fitted, words, reranker))
    picks = _part_picks(parts)
    picked = {p.sentence for p in picks}
    chosen = {best: _best_part(best, parts)}
    for i, (part, pick) in enumerate(zip(parts, picks, strict=True)):
        if pick.sentence in chosen:
            continue
        # judge the sentence quoted for this part against those no other part quotes: the
        # answer to "how many remained?" is no rival of the answer to "how many came home?"
        rivals = [c.score for c in part.cands if c.sentence not in picked]
        margin = pick.score - max(rivals, default=pick.score - LONE_MARGIN)
        ev = assess(index, part.view, pick.sentence, pick.row, pick.score, margin, words)
        variant = "words" if part.view.words is not None and words is not None else "plain"
        if confidence(ev.features, fitted, variant) >= fitted.answer:
            chosen[pick.sentence] = i
    return sorted(chosen, key=lambda si: (chosen[si], si)), set(chosen.values())


@dataclass
class PartAnswers:
    """What the parts of a compound question get when each is asked on its own.

    Attributes:
        rows: the sentences to quote for the parts that are answered, in the parts' order.
        unanswered: the parts the text does not answer, as asked.
        confidences: the confidence of each answered part.
        scores: the scorer's logit of each quoted row.
    """

    rows: list[int] = field(default_factory=list)
    unanswered: list[str] = field(default_factory=list)
    confidences: list[float] = field(default_factory=list)
    scores: dict[int, float] = field(default_factory=dict)


def answer_parts(
    index: LoadedIndex,
    parts: list[str],
    covered: set[int],
    quoted: list[int],
    k: int,
    fitted: Fitted,
    reranker: Reranker | None = None,
) -> PartAnswers:
    """Ask each part that no quote answers yet (not in ``covered``) on its own.

    A part gets its own retrieval: the passages found for the whole question may say nothing
    about it ("…, and which penal code article bans trafficking?"). Its best sentence is quoted
    when it reaches the answer threshold (a sentence already in ``quoted`` answers it as it
    stands); otherwise the part is named as unanswered, so that no part is dropped silently.
    """
    out = PartAnswers()
    for i, part in enumerate(parts):
        if i in covered:
            continue
        _, scored = candidates(index, part, part, k, fitted, reranker)
        if scored.cands and scored.confidence >= fitted.answer:
            best = scored.cands[0]
            if best.sentence not in quoted:
                out.rows.append(best.sentence)
            out.confidences.append(scored.confidence)
            out.scores[best.sentence] = best.score
        else:
            out.unanswered.append(part if part[-1:] in "?.!" else part + "?")
    return out


def _best_part(si: int, parts: list[Scored]) -> int:
    """The part whose scores rank sentence ``si`` highest (where its quote belongs)."""
    ranks = [next((r for r, c in enumerate(p.cands) if c.sentence == si), 99) for p in parts]
    return int(np.argmin(ranks))


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
    question = clean_question(question)
    k = check_k(k)
    history = clean_history(history)
    query = resolve_query(question, history)
    fitted = fitted or fitted_for(index.manifest.model)
    reranker = reranker if reranker is not None else index.reranker
    passages, scored = candidates(index, question, query, k, fitted, reranker)
    conf = scored.confidence
    outcome = outcome_of(conf, fitted) if scored.cands else "not_found"
    ans = Answer(question=question, found=False, passages=passages, query=query)
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
    parts = question_parts(question) if scored.cands else []
    if len(parts) > 1:  # a compound question: each part is answered, or named as not answered
        quoted = rows if outcome == "answered" else []
        split = answer_parts(index, parts, covered, quoted, k, fitted, reranker)
        if split.confidences or outcome == "answered":
            if outcome != "answered":  # the whole was not answered, but a part on its own is
                rows, ans.reasons = [], []
                ans.confidence = round(min(split.confidences), 4)
            rows = list(dict.fromkeys(rows + split.rows))
            outcome = ans.outcome = "answered"
            ans.unanswered = split.unanswered
            scores.update(split.scores)
    if rows:
        anchors, taken = question_anchors(question), set(rows)
        groups = [quote_group(index, si, anchors, taken) for si in rows]
        ans.quotes = [_quote(index, g, max(scores.get(s, 0.0) for s in g)) for g in groups]
        ans.references = _references(index, ans.quotes)
        ans.found = outcome == "answered"
    ans.markdown = render_markdown(ans, multi_doc=len(index.docs) > 1)
    return ans
