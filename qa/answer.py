"""Extractive answers: verbatim quotes with the source's reference numbers.

The answer is built only from sentences of the source: the best one is quoted verbatim with
the refs the source attaches to it, neighbours are added when needed, and a calibrated model
of the evidence decides whether the text answers at all (``found``).
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass

import numpy as np

from .abstention import NO_EVIDENCE, assess, calibration_for, confidence, known_token, named_terms
from .bm25 import stem, tokenize
from .corpus import is_unsourced_tag
from .loaded import LoadedIndex
from .questions import check_k, clean_history, clean_question, question_parts, resolve_query
from .render import render_markdown
from .results import Answer, Evidence, Passage, Quote, Reference
from .retrieval import depth_for, passage, rank

# ----------------------------------------------------------------------------- the answerer

_ANAPHOR_RE = re.compile(
    r"^(?:It|Its|This|That|These|Those|They|Their|Them|He|She|His|Her|Such|The event|"
    r"The same|An additional)\b"
)


@dataclass
class _Candidate:
    sentence: int  # row in index.sentences
    passage_rank: int
    dense: float
    coverage: float
    score: float = 0.0
    parts: tuple[float, ...] = ()  # score against each part of a compound question
    evidence: Evidence | None = None  # see qa.abstention.assess (best candidate only)


#: In a follow-up, the new question's own words carry this share of the lexical weight; the
#: previous question's words only say where to look. "And who led it?" after a question about
#: a December 2007 event should quote who led it, not the sentence that repeats the event.
OWN_WORDS_SHARE = 0.7


def _question_weights(index: LoadedIndex, question: str, query: str) -> dict[str, float]:
    """IDF weight per query token (query = question, or previous turn + question)."""
    weights = {t: index.bm25.idf(t) for t in set(tokenize(query))}
    own = set(tokenize(question)) & set(weights)
    context = set(weights) - own
    if own and context:
        own_total = sum(weights[t] for t in own) or 1.0
        context_total = sum(weights[t] for t in context) or 1.0
        scale = context_total / own_total * OWN_WORDS_SHARE / (1.0 - OWN_WORDS_SHARE)
        for t in own:
            weights[t] *= scale
    return weights


# Scoring weights: dense similarity is the backbone; IDF-weighted coverage of the question's
# words (numbers and years included) breaks ties between sentences of the same passage; the
# passage's rank adds a nudge. Swept on the gold set (see README, "Evaluation").
W_COVERAGE = 0.4
W_RANK = 0.02


def _coverage(weights: dict[str, float], tokens, sentence_tokens: set[str]) -> float:
    total = sum(weights.get(t, 0.0) for t in tokens) or 1.0
    return sum(weights.get(t, 0.0) for t in tokens if t in sentence_tokens) / total


def score_candidates(
    index: LoadedIndex,
    question: str,
    query: str,
    qvec: np.ndarray,
    passages: list[Passage],
    parts: list[tuple[str, np.ndarray]] | None = None,
) -> list[_Candidate]:
    """Every sentence of the retrieved passages, scored against the question, best first.

    ``parts`` are (text, vector) for each part of a compound question (``question_parts``);
    each candidate then also gets a score against each part.
    """
    weights = _question_weights(index, question, query)
    part_tokens = [set(tokenize(text)) for text, _ in parts or ()]
    seen: dict[int, _Candidate] = {}
    for pos, p in enumerate(passages):
        for si in index.chunks[p.chunk].sentences:
            if si in seen:
                continue
            toks = set(tokenize(index.sentence_text(si)))
            vec = index.sentence_vectors[si]
            cand = _Candidate(si, pos, float(np.dot(vec, qvec)), _coverage(weights, weights, toks))
            cand.score = cand.dense + W_COVERAGE * cand.coverage + W_RANK / (1 + pos)
            if part_tokens:
                cand.parts = tuple(
                    float(np.dot(vec, pv)) + W_COVERAGE * _coverage(weights, pt, toks)
                    for pt, (_, pv) in zip(part_tokens, parts or (), strict=True)
                )
            seen[si] = cand
    return sorted(seen.values(), key=lambda c: (-c.score, c.sentence))


# ------------------------------------------------------------------------------- selection

#: A further sentence is quoted only if it scores within this margin of the best one.
MARGIN = 0.08
MAX_QUOTES = 3
MAX_SENTENCES_PER_QUOTE = 3
#: Sentences this similar (cosine) to a chosen one repeat its evidence and are left out.
DUPLICATE_SIMILARITY = 0.92


def _needs_previous(index: LoadedIndex, si: int) -> bool:
    """The sentence opens with a word that points back ("It", "This", "The event" …)."""
    return (
        si > 0 and index.adjacent(si - 1, si) and bool(_ANAPHOR_RE.match(index.sentence_text(si)))
    )


def _assign_parts(cands: list[_Candidate], depth: int = 8) -> tuple[_Candidate, ...]:
    """One distinct sentence per part of a compound question, maximising their summed scores."""
    n = len(cands[0].parts)
    tops = [sorted(cands, key=lambda c: -c.parts[i])[:depth] for i in range(n)]
    best, best_total = None, -np.inf
    for combo in itertools.product(*tops):
        if len({c.sentence for c in combo}) < n:
            continue
        total = sum(c.parts[i] for i, c in enumerate(combo))
        if total > best_total:
            best, best_total = combo, total
    return best or (cands[0],)


def question_anchors(question: str) -> set[str]:
    """Numbers, years and names in the question, as tokens: what a quote must not leave out."""
    anchors = {t for t in tokenize(question) if t[:1].isdigit()}
    for _, toks in named_terms(question):
        anchors.update(stem(t) for t in toks)
    return anchors


def _continue_groups(index: LoadedIndex, groups: list[list[int]], anchors: set[str]) -> None:
    """Extend each quote with a neighbour that holds a number or name of the question it lacks.

    "How did the ranking change between 2018 and 2023?" needs "In 2023 it was placed at
    Tier 2." after the 2018 sentence; a neighbour that only repeats ordinary question words
    is not needed and stays out.
    """
    taken = {si for g in groups for si in g}
    for g in groups:
        # the document's title counts as said: every sentence of "… in Laos" is about Laos
        title = set(tokenize(index.docs[index.sentences[g[0]].doc].title))
        while len(g) < MAX_SENTENCES_PER_QUOTE:
            have = title.union(*(_tokens(index, si) for si in g))
            wanted = {a for a in anchors if not known_token(a, have)}
            extra = [
                si
                for si in (g[0] - 1, g[-1] + 1)
                if si not in taken
                and 0 <= si < len(index.sentences)
                and (index.adjacent(si, g[0]) or index.adjacent(si, g[-1]))
                and any(known_token(a, _tokens(index, si)) for a in wanted)
            ]
            if not extra:
                break
            g.append(extra[-1])  # the following sentence first: it continues the quote
            g.sort()
            taken.add(extra[-1])


def _tokens(index: LoadedIndex, si: int) -> set[str]:
    return set(tokenize(index.sentence_text(si)))


def select_sentences(
    index: LoadedIndex, cands: list[_Candidate], anchors: set[str] | None = None
) -> list[list[int]]:
    """The quotes, as lists of adjacent sentence rows, most relevant first.

    Each quote is one sentence, plus the one before it when it opens with a word that points
    back, plus a neighbour that holds a number or name of the question (``anchors``, from
    ``question_anchors``) that the quote lacks. Another sentence scoring within ``MARGIN`` of
    the best becomes a quote of its own (its refs stay its own), unless it repeats a chosen
    one. A compound question starts with one sentence per part.
    """
    if not cands:
        return []
    best = cands[0]
    groups: list[list[int]] = []
    chosen_vecs: list[np.ndarray] = []
    seeds = list(_assign_parts(cands)) if best.parts else [best]
    seed_rows = {c.sentence for c in seeds}
    for c in seeds + [c for c in cands if c.sentence not in seed_rows]:
        if c.sentence not in seed_rows and c.score < best.score - MARGIN:
            break
        if any(c.sentence in g for g in groups):
            continue
        vec = np.asarray(index.sentence_vectors[c.sentence], dtype=np.float32)
        vec = vec / (float(np.linalg.norm(vec)) or 1.0)
        if chosen_vecs and max(float(np.dot(vec, v)) for v in chosen_vecs) >= DUPLICATE_SIMILARITY:
            continue
        if len(groups) >= MAX_QUOTES:
            break
        group = [c.sentence]
        if _needs_previous(index, c.sentence) and not any(c.sentence - 1 in g for g in groups):
            group.insert(0, c.sentence - 1)
        groups.append(group)
        chosen_vecs.append(vec)
    if anchors:
        _continue_groups(index, groups, anchors)
    return groups


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
    )


def _references(index: LoadedIndex, quotes: list[Quote]) -> list[Reference]:
    out: list[Reference] = []
    seen = set()
    for q in quotes:
        refs = index.references(q.doc_id)
        for n in q.refs:
            if (q.doc_id, n) in seen:
                continue
            seen.add((q.doc_id, n))
            out.append(
                Reference(
                    q.doc_id,
                    n,
                    refs.get(n, "(this number has no entry in the source's References list)"),
                )
            )
    return out


def candidates(
    index: LoadedIndex, question: str, query: str, k: int
) -> tuple[list[Passage], list[_Candidate]]:
    """The top-k passages for ``query`` and their sentences scored against ``question``.

    The best candidate carries its evidence (``.evidence``): it decides whether the text
    answers at all.
    """
    ranked, qvec = rank(index, query, depth_for(k))
    passages = [passage(index, r) for r in ranked[:k]]
    if qvec is None:  # an empty index: nothing to score
        return passages, []
    parts = question_parts(question)
    encoded = [(p, index.encode(p)) for p in parts] if len(parts) > 1 else None
    cands = score_candidates(index, question, query, qvec, passages, encoded)
    if cands:
        cands[0].evidence = assess(index, question, query, cands[0], query != question)
    return passages, cands


def answer_with_index(
    index: LoadedIndex, question: str, k: int = 5, history: list[str] | None = None
) -> Answer:
    """Answer ``question`` from a loaded index (``qa.answer`` on the default index)."""
    question = clean_question(question)
    k = check_k(k)
    history = clean_history(history)
    query = resolve_query(question, history)
    passages, cands = candidates(index, question, query, k)
    best = cands[0] if cands else None
    evidence = best.evidence if best is not None and best.evidence else Evidence(NO_EVIDENCE)
    calibration = calibration_for(index.manifest.model)
    conf = confidence(evidence.features, calibration)
    ans = Answer(
        question=question, found=False, passages=passages, query=query, confidence=round(conf, 4)
    )
    if best is not None and conf < calibration.get("threshold", 0.5):
        ans.reasons = list(evidence.reasons)
    elif best is not None:
        groups = select_sentences(index, cands, question_anchors(question))
        by_sentence = {c.sentence: c.score for c in cands}
        ans.quotes = [_quote(index, g, max(by_sentence.get(s, 0.0) for s in g)) for g in groups]
        ans.references = _references(index, ans.quotes)
        ans.found = True
    ans.markdown = render_markdown(ans, multi_doc=len(index.docs) > 1)
    return ans
