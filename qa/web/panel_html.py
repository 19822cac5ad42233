"""The side panels as HTML: the Sources of the last answer, and a passage or quote in context.

Every piece of source or user text goes through :func:`html.escape`; only the app's own
tags (``<div>``, ``<mark>``, ``<span>``, ``<p>``) remain. A source card carries
``data-passage`` (its position) so that a click can open it in context.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Iterable, Sequence

from ..answering.render import tags, where
from ..index.loaded import LoadedIndex
from ..results import Answer, Passage, Quote, Reference
from .transcript import Exchange

NO_CONTEXT = '<div class="qa-empty">Click a quote or a source to see it in the article.</div>'
NO_SOURCES = (
    '<div class="qa-empty">Ask a question: the passages it was answered from will appear '
    "here, with the quoted sentences highlighted.</div>"
)


def spans_in(quotes: Sequence[Quote], doc_id: str, start: int, end: int) -> list[tuple[int, int]]:
    """Quote spans inside [start, end) of a document, merged, relative to ``start``."""
    spans = sorted(
        (max(q.start, start) - start, min(q.end, end) - start)
        for q in quotes
        if q.doc_id == doc_id and q.start < end and q.end > start
    )
    merged: list[list[int]] = []
    for s, e in spans:
        if merged and s <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], e)
        else:
            merged.append([s, e])
    return [(s, e) for s, e in merged]


def marked_html(text: str, spans: Iterable[tuple[int, int]], cls: str = "") -> str:
    """``text`` HTML-escaped, with each span wrapped in <mark>."""
    out, pos = [], 0
    mark = f'<mark class="{cls}">' if cls else "<mark>"
    for s, e in spans:
        out += [html.escape(text[pos:s]), mark, html.escape(text[s:e]), "</mark>"]
        pos = e
    out.append(html.escape(text[pos:]))
    return "".join(out)


def quote_homes(ans: Answer) -> dict[int, list[Quote]]:
    """Passage position → the quotes highlighted in it: each quote in one passage only.

    Passages overlap (neighbouring chunks share a sentence), so a quote can lie in two; it is
    marked in the best-ranked one that holds all of it (else the first that holds part).
    """
    homes: dict[int, list[Quote]] = {}
    for q in ans.quotes:
        inside = [
            i
            for i, p in enumerate(ans.passages)
            if p.doc_id == q.doc_id and p.start <= q.start and q.end <= p.end
        ]
        touching = [
            i
            for i, p in enumerate(ans.passages)
            if p.doc_id == q.doc_id and p.start < q.end and q.start < p.end
        ]
        if inside or touching:
            homes.setdefault((inside or touching)[0], []).append(q)
    return homes


def _overlaps(passages: Sequence[Passage], i: int) -> list[int]:
    p = passages[i]
    return [
        j + 1
        for j, o in enumerate(passages[:i])
        if o.doc_id == p.doc_id and o.start < p.end and p.start < o.end
    ]


def sources_head(e: Exchange, k_now: int | None = None) -> str:
    """The line above the sources: how many passages for which question, and what changed."""
    ans = e.answer
    if ans is None:
        return ""
    n = len(ans.passages)
    head = (
        f"<b>{n}</b> passage{'s' if n != 1 else ''} for <em>{html.escape(ans.question)}</em>"
        + (
            f"<br>Searched for: {html.escape(ans.query)}"
            if ans.query and ans.query != ans.question
            else ""
        )
        + f"<br>Confidence that the text answers: {ans.confidence:.0%}"
    )
    if k_now is not None and e.k and k_now != e.k:
        head += (
            f'<div class="qa-note" role="status">These are the passages for k = {e.k}. '
            f"Ask again to search {k_now}.</div>"
        )
    return f'<div class="qa-sources-head">{head}</div>'


def sources_html(e: Exchange | None, k_now: int | None = None) -> str:
    """The Sources panel: each passage with its section and refs, its quotes highlighted."""
    if e is None or e.answer is None:
        return NO_SOURCES
    ans = e.answer
    if not ans.passages:
        return sources_head(e, k_now) + '<div class="qa-empty">No passages retrieved.</div>'
    homes = quote_homes(ans)
    cards = []
    for i, p in enumerate(ans.passages):
        quoted = spans_in(homes.get(i, []), p.doc_id, p.start, p.end)
        badge = '<span class="qa-badge">quoted</span>' if quoted else ""
        shared = _overlaps(ans.passages, i)
        also = (
            f'<span class="qa-shared">shares text with {", ".join(f"#{j}" for j in shared)}</span>'
            if shared
            else ""
        )
        rank = "best match" if i == 0 else f"match {i + 1}"
        detail = (
            f"fused rank score {p.score:.4f} · meaning similarity {p.dense_score:.2f} · "
            f"word match (BM25) {p.lexical_score:.1f}"
        )
        cards.append(
            f'<div class="qa-passage{" qa-quoted" if quoted else ""}" data-passage="{i}" '
            f'role="button" tabindex="0" title="Show in context">'
            f'<div class="qa-meta"><span><b>#{i + 1}</b> · '
            f"{html.escape(where(p.title, p.section))} {html.escape(tags(p.refs))} {badge}"
            f'</span><span class="qa-score" title="{detail}">{rank}</span>{also}</div>'
            f'<div class="qa-text">{marked_html(p.text, quoted)}</div></div>'
        )
    return sources_head(e, k_now) + "".join(cards)


def _clip(spans: Iterable[tuple[int, int]], lo: int, hi: int) -> list[tuple[int, int]]:
    return [(max(s, lo) - lo, min(e, hi) - lo) for s, e in spans if s < hi and e > lo]


def _in_context(
    index: LoadedIndex,
    doc_id: str,
    start: int,
    end: int,
    expect: str,
    marks: Callable[[int, int], list[tuple[int, int]]],
    title: str,
) -> str:
    """``text[start:end]`` framed inside its paragraph and one paragraph either side."""
    try:
        text = index.document_text(doc_id)
    except KeyError:
        return '<div class="qa-empty">This document is no longer in the index.</div>'
    if text[start:end] != expect:
        return '<div class="qa-empty">The index was rebuilt; ask the question again.</div>'
    # One paragraph either side: paragraphs are separated by blank lines in the source.
    lo = text.rfind("\n\n", 0, start)
    lo = text.rfind("\n\n", 0, lo) if lo > 0 else -1
    hi = text.find("\n\n", end)
    hi = text.find("\n\n", hi + 2) if hi >= 0 else -1
    lo, hi = (0 if lo < 0 else lo + 2), (len(text) if hi < 0 else hi)
    window, spans = text[lo:hi], marks(lo, hi)
    s, e = start - lo, end - lo
    cls = "qa-target" if (s, e) in spans else ""
    rendered = (
        marked_html(window[:s], _clip(spans, 0, s))
        + '<span class="qa-here">'
        + marked_html(window[s:e], _clip(spans, s, e), cls)
        + "</span>"
        + marked_html(window[e:], _clip(spans, e, hi - lo))
    )
    paragraphs = "".join(f"<p>{para}</p>" for para in rendered.split("\n\n") if para.strip())
    meta = f'<div class="qa-meta">{html.escape(title)}</div>'
    # focusable: on a wide screen it scrolls in its box, and a keyboard must reach it
    return (
        f'<div class="qa-context" tabindex="0" role="region" aria-label="In context">'
        f"{meta}{paragraphs}</div>"
    )


def context_html(index: LoadedIndex, ans: Answer, i: int) -> str:
    """Passage ``i`` of ``ans`` inside its paragraph and the paragraphs around it."""
    p = ans.passages[i]
    return _in_context(
        index,
        p.doc_id,
        p.start,
        p.end,
        p.text,
        lambda lo, hi: spans_in(ans.quotes, p.doc_id, lo, hi),
        f"#{i + 1} · {where(p.title, p.section)}",
    )


def quote_context_html(index: LoadedIndex, q: Quote) -> str:
    """A quote inside its paragraph and the paragraphs around it, the quote highlighted."""
    return _in_context(
        index,
        q.doc_id,
        q.start,
        q.end,
        q.text,
        lambda lo, hi: spans_in([q], q.doc_id, lo, hi),
        f"Quoted from {where(q.title, q.section)}",
    )


def passage_references(index: LoadedIndex, passages: Sequence[Passage]) -> list[Reference]:
    """The source's entries for the markers of ``passages``, each once, in order of use."""
    seen: dict[tuple[str, int], Reference] = {}
    for p in passages:
        try:
            entries = index.references(p.doc_id)
        except KeyError:
            continue
        for n in p.refs:
            if n in entries and (p.doc_id, n) not in seen:
                seen[(p.doc_id, n)] = Reference(p.doc_id, n, entries[n])
    return list(seen.values())
