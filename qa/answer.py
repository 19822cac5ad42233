"""Extractive answers: verbatim quotes with the source's reference numbers.

The answer is built only from sentences of the source: the best one is quoted verbatim with
the refs the source attaches to it, neighbours are added when needed, and a calibrated model
of the evidence decides whether the text answers at all (``found``).
"""

from __future__ import annotations

import itertools
import re
from dataclasses import asdict, dataclass, field

import numpy as np

from .abstention import (
    NO_EVIDENCE,
    _idf,
    _known,
    _sentence_text,
    assess,
    calibration_for,
    confidence,
    named_terms,
)
from .bm25 import STOPWORDS, stem, tokenize
from .retrieval import check_k, clean_question


@dataclass(frozen=True)
class Quote:
    """A verbatim span of a source document: ``document_text[start:end] == text``."""

    text: str
    refs: tuple[int, ...]
    doc_id: str
    section: str
    start: int
    end: int
    score: float
    title: str = ""


@dataclass(frozen=True)
class Reference:
    """One entry of a source's References list, in the source's own wording."""

    doc_id: str
    number: int
    text: str


@dataclass
class Answer:
    """The answer to a question.

    Attributes:
        found: False when the source does not answer the question.
        quotes: verbatim quotes, most relevant first (empty when not found).
        references: full entries for every number cited by the quotes.
        markdown: the rendered answer.
        passages: the retrieved passages the quotes were drawn from (closest passages when
            not found).
        question: the question as asked; ``query`` what was searched (follow-ups resolved).
        confidence: calibrated probability that the source answers the question.
        reasons: when not found, what the closest passage lacks that the question needs
            ("never mentions Thailand"); empty when it was judged too far from the question.
    """

    question: str
    found: bool
    quotes: list[Quote] = field(default_factory=list)
    references: list[Reference] = field(default_factory=list)
    markdown: str = ""
    passages: list = field(default_factory=list)
    query: str = ""
    confidence: float = 0.0
    reasons: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        """Plain JSON-ready dict."""
        return asdict(self)


# ----------------------------------------------------------------------------- the answerer

_ANAPHOR_RE = re.compile(
    r"^(?:It|Its|This|That|These|Those|They|Their|Them|He|She|His|Her|Such|The event|"
    r"The same|An additional)\b"
)
_FOLLOWUP_RE = re.compile(
    r"^(?:and|also|so|then|what about|how about|what of|and what|and how|and who|and when|"
    r"and where|same for|what else)\b",
    re.I,
)
_PRONOUN_RE = re.compile(r"\b(?:it|its|that|this|they|them|their|those|these|there|he|she)\b", re.I)


def is_followup(question: str) -> bool:
    """An elliptical question that needs the previous turn to make sense."""
    content = [t for t in re.findall(r"\w+", question.lower()) if t not in STOPWORDS]
    return bool(_FOLLOWUP_RE.match(question.strip())) or (
        len(content) <= 3 and bool(_PRONOUN_RE.search(question))
    )


def resolve_query(question: str, history: list[str] | None) -> str:
    """The text to search for: a follow-up is joined to the question it follows."""
    if history:
        previous = [h for h in history if isinstance(h, str) and h.strip()]
        if previous and is_followup(question):
            return f"{previous[-1].strip()} {question}"
    return question


@dataclass
class _Candidate:
    sentence: int  # row in index.sentences
    passage_rank: int
    dense: float
    coverage: float
    score: float = 0.0
    parts: tuple[float, ...] = ()  # score against each part of a compound question
    features: list[float] = field(default_factory=list)  # see qa.abstention.assess (best only)
    reasons: list[str] = field(default_factory=list)


_PART_SPLIT_RE = re.compile(
    r",?\s+and\s+(?=(?:about\s+|also\s+)?(?:how|what|who|whom|whose|when|where|which|why|"
    r"was|were|is|are|did|does|do|has|have|had)\b)",
    re.I,
)


def question_parts(question: str) -> list[str]:
    """The parts of a compound question, or ``[question]``.

    "How many victims were brought home, and how many were still in centers?" has two parts;
    each should get its own quote. A part needs content words of its own.
    """
    parts = [p for p in _PART_SPLIT_RE.split(question) if tokenize(p)]
    return parts if len(parts) > 1 else [question]


#: In a follow-up, the new question's own words carry this share of the lexical weight; the
#: previous question's words only say where to look. "And who led it?" after a question about
#: a December 2007 event should quote who led it, not the sentence that repeats the event.
OWN_WORDS_SHARE = 0.7


def _question_weights(index, question: str, query: str) -> dict[str, float]:
    """IDF weight per query token (query = question, or previous turn + question)."""
    weights = {t: _idf(index, t) for t in set(tokenize(query))}
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
    index, question: str, query: str, qvec, passages, parts=None
) -> list[_Candidate]:
    """Every sentence of the retrieved passages, scored against the question, best first.

    ``parts`` are (text, vector) for each part of a compound question (``question_parts``);
    each candidate then also gets a score against each part.
    """
    weights = _question_weights(index, question, query)
    part_tokens = [set(tokenize(text)) for text, _ in parts or ()]
    seen: dict[int, _Candidate] = {}
    for rank, p in enumerate(passages):
        for si in index.chunks[p.chunk].sentences:
            if si in seen:
                continue
            toks = set(tokenize(_sentence_text(index, index.sentences[si])))
            vec = index.sentence_vectors[si]
            cand = _Candidate(si, rank, float(np.dot(vec, qvec)), _coverage(weights, weights, toks))
            cand.score = cand.dense + W_COVERAGE * cand.coverage + W_RANK / (1 + rank)
            if part_tokens:
                cand.parts = tuple(
                    float(np.dot(vec, pv)) + W_COVERAGE * _coverage(weights, pt, toks)
                    for pt, (_, pv) in zip(part_tokens, parts, strict=True)
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


def _adjacent(index, a: int, b: int) -> bool:
    sa, sb = index.sentences[a], index.sentences[b]
    return abs(a - b) == 1 and sa.doc == sb.doc and sa.paragraph == sb.paragraph


def _needs_previous(index, si: int) -> bool:
    """The sentence opens with a word that points back ("It", "This", "The event" …)."""
    s = index.sentences[si]
    return (
        si > 0
        and _adjacent(index, si - 1, si)
        and bool(_ANAPHOR_RE.match(_sentence_text(index, s)))
        and index.sentences[si - 1].paragraph == s.paragraph
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


def _continue_groups(index, groups: list[list[int]], anchors: set[str]) -> None:
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
            wanted = {a for a in anchors if not _known(a, have)}
            extra = [
                si
                for si in (g[0] - 1, g[-1] + 1)
                if si not in taken
                and 0 <= si < len(index.sentences)
                and (_adjacent(index, si, g[0]) or _adjacent(index, si, g[-1]))
                and any(_known(a, _tokens(index, si)) for a in wanted)
            ]
            if not extra:
                break
            g.append(extra[-1])  # the following sentence first: it continues the quote
            g.sort()
            taken.add(extra[-1])


def _tokens(index, si: int) -> set[str]:
    return set(tokenize(_sentence_text(index, index.sentences[si])))


def select_sentences(
    index, cands: list[_Candidate], anchors: set[str] | None = None
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


def _quote(index, group: list[int], score: float) -> Quote:
    first, last = index.sentences[group[0]], index.sentences[group[-1]]
    doc = index.docs[first.doc]
    refs: list[int] = []
    for si in group:
        refs.extend(r for r in index.sentences[si].refs if r not in refs)
    return Quote(
        text=doc.text[first.start : last.end],
        refs=tuple(refs),
        doc_id=doc.doc_id,
        section=first.section,
        start=first.start,
        end=last.end,
        score=round(float(score), 4),
        title=doc.title,
    )


def _tags(refs) -> str:
    return "".join(f"[{r}]" for r in refs)


def _references(index, quotes) -> list[Reference]:
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


def _blockquote(text: str) -> str:
    return "\n".join("> " + line if line.strip() else ">" for line in text.splitlines())


def why_not(reasons: list[str]) -> str:
    """One sentence from ``Answer.reasons``."""
    return "The closest passage " + "; it ".join(reasons) + "."


def render_markdown(ans: Answer, multi_doc: bool = False) -> str:
    """The answer as Markdown: block quotes tagged with [n], then the References."""
    lines: list[str] = []
    if ans.found:
        for q in ans.quotes:
            where = f"{q.title}, {q.section}" if q.section else q.title
            lines.append(_blockquote(f"{q.text} {_tags(q.refs)}".rstrip()))
            lines.append(f"> — *{where}*" if multi_doc or q.section else f"> — *{q.title}*")
            lines.append("")
        if ans.references:
            lines.append("**References**")
            lines.append("")
            for r in ans.references:
                prefix = f"{r.doc_id}: " if multi_doc else ""
                lines.append(f"- [{r.number}] {prefix}{r.text}")
        return "\n".join(lines).rstrip() + "\n"
    lines.append("**The text does not say.** No passage of the source answers this question.")
    if ans.reasons:
        lines.append("")
        lines.append(why_not(ans.reasons))
    if ans.passages:
        lines.append("")
        lines.append("Closest passages (shown for context; they do not answer the question):")
        lines.append("")
        for p in ans.passages[:3]:
            where = f"{p.title}, {p.section}" if p.section else p.title
            lines.append(_blockquote(f"{p.text}"))
            lines.append(f"> — *{where}*")
            lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def candidates(index, question: str, query: str, k: int) -> tuple[list, list[_Candidate]]:
    """The top-k passages for ``query`` and their sentences scored against ``question``.

    The best candidate carries its evidence features (``.features``): they decide whether
    the text answers at all.
    """
    ranked, qvec = index.ranked(query, max(50, 4 * k))
    passages = [index.passage(i, f, d, lx) for i, f, d, lx in ranked[:k]]
    parts = question_parts(question)
    encoded = [(p, index.encode(p)) for p in parts] if len(parts) > 1 else None
    cands = score_candidates(index, question, query, qvec, passages, encoded)
    if cands:
        best = cands[0]
        best.features, best.reasons = assess(index, question, query, best, query != question)
    return passages, cands


def answer_with_index(index, question: str, k: int = 5, history: list[str] | None = None) -> Answer:
    """Answer ``question`` from a loaded index (see ``answer``)."""
    question = clean_question(question)
    k = check_k(k)
    history = [clean_question(h) for h in (history or []) if isinstance(h, str) and h.strip()]
    query = resolve_query(question, history)
    passages, cands = candidates(index, question, query, k)
    best = cands[0] if cands else None
    features = best.features if best is not None else list(NO_EVIDENCE)
    calibration = calibration_for(index.manifest["model"])
    conf = confidence(features, calibration)
    ans = Answer(
        question=question, found=False, passages=passages, query=query, confidence=round(conf, 4)
    )
    if best is not None and conf < calibration.get("threshold", 0.5):
        ans.reasons = list(best.reasons)
    elif best is not None:
        groups = select_sentences(index, cands, question_anchors(question))
        by_sentence = {c.sentence: c.score for c in cands}
        ans.quotes = [_quote(index, g, max(by_sentence.get(s, 0.0) for s in g)) for g in groups]
        ans.references = _references(index, ans.quotes)
        ans.found = True
    ans.markdown = render_markdown(ans, multi_doc=len(index.docs) > 1)
    return ans


def answer(question: str, k: int = 5, history: list[str] | None = None, index=None) -> Answer:
    """Answer a question with verbatim quotes from the source and its reference numbers.

    ``history`` holds the previous questions of a conversation, so that a follow-up such as
    "and how many arrests?" is understood. ``found`` is False when the text does not answer;
    the closest passages are then in ``passages`` and the markdown says so.

    Example:
        >>> import qa
        >>> a = qa.answer("Who runs the long-term shelter for victims?")  # doctest: +SKIP
        >>> a.quotes[0].refs, a.references[0].number  # doctest: +SKIP
        ((2,), 2)
    """
    from .retrieval import default_index

    return answer_with_index(index or default_index(), question, k, history)
