"""Compound questions ("When was it ratified, and which article bans it?"): a quote per part,
or the part named as one the text does not answer; never a part dropped silently."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import numpy as np

from ..index.loaded import LoadedIndex
from ..index.wordvec import encode_query, sentence_words
from .candidates import LONE_MARGIN, Scored, _Candidate, candidates, judge, score_view
from .features import QuestionView
from .question import Question, resolve_query
from .reranker import Reranker
from .scorer import Fitted


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
    asked_parts = scored.view.question.parts
    if len(asked_parts) < 2:
        return [best], {0}
    pool = [(c.sentence, c.passage_rank) for c in scored.cands]
    words = sentence_words(index)
    parts = []
    for asked in asked_parts:
        pvec, pwords = encode_query(index, asked.text)
        view = QuestionView.of(index, asked, pwords if words is not None else None)
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
        if judge(index, part, pick, margin, fitted) >= fitted.answer:
            chosen[pick.sentence] = i
    return sorted(chosen, key=lambda si: (chosen[si], si)), set(chosen.values())


@dataclass
class PartAnswers:
    """What the parts of a compound question get when each is asked on its own.

    Attributes:
        rows: the sentences to quote for the parts that are answered, in the parts' order.
        pending: the other parts, as asked, with their scored candidates.
        confidences: the confidence of each answered part.
        scores: the scorer's logit of each quoted row.
    """

    rows: list[int] = field(default_factory=list)
    pending: list[tuple[str, Scored]] = field(default_factory=list)
    confidences: list[float] = field(default_factory=list)
    scores: dict[int, float] = field(default_factory=dict)


def answer_parts(
    index: LoadedIndex,
    parts: list[Question],
    covered: set[int],
    quoted: list[int],
    k: int,
    fitted: Fitted,
    reranker: Reranker | None = None,
) -> PartAnswers:
    """Ask each part that no quote answers yet (not in ``covered``) on its own.

    A part gets its own retrieval: the passages found for the whole question may say nothing
    about it ("…, and which penal code article bans trafficking?"). An elliptical part ("and
    what was its focus?") is searched with the part before it, as a follow-up would be. Its
    best sentence is quoted when it reaches the answer threshold; any other part is pending,
    for :func:`unanswered` to name unless a quote answers it, so that no part is dropped
    silently.
    """
    out = PartAnswers()
    for i, asked in enumerate(parts):
        if i in covered:
            continue
        part = asked.text
        query = resolve_query(part, [p.text for p in parts[:i]])
        _, scored = candidates(index, Question.of(part, query, split=False), k, fitted, reranker)
        if scored.cands and scored.confidence >= fitted.answer:
            best = scored.cands[0]
            if best.sentence not in quoted:
                out.rows.append(best.sentence)
            out.confidences.append(scored.confidence)
            out.scores[best.sentence] = best.score
        else:
            out.pending.append((part if part[-1:] in "?.!" else part + "?", scored))
    return out


def unanswered(
    index: LoadedIndex, split: PartAnswers, quoted: list[int], fitted: Fitted
) -> list[str]:
    """The pending parts that the quotes leave open (``quoted``: every sentence of every quote).

    A part is taken as answered by the quotes when its own best candidate is quoted, or a quoted
    sentence answers it at least tentatively: one sentence often answers both halves of "What
    event …, and what was its focus?", and a quote's neighbour sentence the second half.
    """
    return [
        part
        for part, scored in split.pending
        if not (scored.cands and scored.cands[0].sentence in quoted)
        and not any(confidence_for(index, scored, si, fitted) >= fitted.tentative for si in quoted)
    ]


def confidence_for(index: LoadedIndex, scored: Scored, si: int, fitted: Fitted) -> float:
    """How likely sentence ``si`` answers ``scored``'s question; 0 when not a candidate."""
    cand = next((c for c in scored.cands if c.sentence == si), None)
    if cand is None:
        return 0.0
    rivals = [c.score for c in scored.cands if c.sentence != si]
    margin = cand.score - max(rivals, default=cand.score - LONE_MARGIN)
    return judge(index, scored, cand, margin, fitted)


def _best_part(si: int, parts: list[Scored]) -> int:
    """The part whose scores rank sentence ``si`` highest (where its quote belongs)."""
    ranks = [next((r for r, c in enumerate(p.cands) if c.sentence == si), 99) for p in parts]
    return int(np.argmin(ranks))
