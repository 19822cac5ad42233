"""Answers and conversations as exact plain text and Markdown: what copy and export give.

The plain text is what a reader pastes into their own work, so a quote is the source's
characters, unchanged, with the source's reference numbers placed as the source places them
(``September 2003.[1]``: the marker run that follows the quote in the source, as written; see
:func:`written_line`), and then the reference entries, also unchanged. Nothing is escaped in
plain text. The Markdown form escapes only what would change how it renders (``*``, ``_``,
`````, ``<``, ``\\`` …), never the brackets of ``[n]``, so it reads as the plain text does.

Example:
    >>> from qa.results import Answer, Quote, Reference
    >>> q = Quote("Boats *sank*.", (7, 8), "b.txt", "History", 0, 13, 0.9, "Boats")
    >>> ans = Answer("Did boats sink?", True, [q], [Reference("b.txt", 7, "Atlas."),
    ...                                           Reference("b.txt", 8, "Log.")])
    >>> print(answer_text(Exchange("Did boats sink?", "Did boats sink?", ans, ans.references)))
    Boats *sank*.[7][8]
    <BLANKLINE>
    References
    [7] Atlas.
    [8] Log.
    >>> print(quote_markdown(q))
    > Boats \\*sank\\*.[7][8]
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from ..answering.render import (
    as_written,
    claim_marks,
    md,
    notes_block,
    notes_of,
    quote_block,
    references_block,
    tags,
    where,
    why_not,
)
from ..readers.document import MARK_RE, MARK_RUN_RE
from ..results import Answer, Passage, Quote, Reference


class HasTexts(Protocol):
    """What :func:`written_lines` needs of an index: the documents' rendered texts."""

    def document_text(self, doc_id: str) -> str: ...


NOT_FOUND = "The text does not say."
NOT_FOUND_LINE = f"{NOT_FOUND} No passage of the source answers this question."
CLOSEST = "Closest passages (for context; they do not answer the question):"
#: How many closest passages a "not found" reply shows.
CLOSEST_SHOWN = 2


@dataclass(frozen=True)
class Exchange:
    """One question and the reply to it, as the conversation keeps them.

    Attributes:
        shown: the question as shown in the conversation (None: the reply stands alone, as
            the prompt for an empty question does).
        question: the cleaned question, remembered for follow-ups (None: it was refused).
        answer: the Answer (None for a refusal or an error: ``notice`` is the reply).
        references: the entries the reply cites: the answer's own, or, when the text does not
            answer, those of the closest passages shown.
        notice: the reply when there is no answer, one line.
        version: the version of the index that answered (see ``qa.web.state.index_version``).
        k: how many passages were searched.
        written: each quote of ``answer`` with its markers as the source writes them (see
            :func:`written_line`); empty: they are placed as :func:`quote_line` places them.
    """

    shown: str | None
    question: str | None
    answer: Answer | None = None
    references: Sequence[Reference] = field(default_factory=tuple)
    notice: str = ""
    version: str = ""
    k: int = 0
    written: tuple[str, ...] = ()

    def quote_lines(self) -> list[str]:
        """Each quote of the answer with its markers, as the source writes them."""
        quotes = self.answer.quotes if self.answer is not None else []
        if len(self.written) == len(quotes):
            return list(self.written)
        return [quote_line(q) for q in quotes]


def outcome(ans: Answer) -> str:
    """ "answered", "tentative" or "not_found", whether or not the Answer has ``outcome``."""
    value = getattr(ans, "outcome", None)
    if value in ("answered", "tentative", "not_found"):
        return value
    return "answered" if ans.found else "not_found"


def tentative_line(ans: Answer) -> str:
    return (
        f"Tentative (confidence {ans.confidence:.0%}): the closest the text comes; "
        "it may not answer the question."
    )


def missing_tags(text: str, refs: Sequence[int], pages: dict[int, str] | None = None) -> str:
    """``[n]`` tags for the refs not already marked inside the verbatim ``text``."""
    return tags(tuple(r for r in refs if f"[{r}]" not in text), pages)


def quote_line(q: Quote) -> str:
    """``quote[n]``: the verbatim quote, then the source's markers it does not hold itself,
    right after its last character, as sources write them (``September 2003.[1]``)."""
    return q.text + missing_tags(q.text, q.refs, q.pages)


def written_line(document_text: str, q: Quote) -> str:
    """The quote and its markers exactly as the source writes them.

    When the markers the quote lacks follow it in the source (``2003.[1]``, or a mirror's
    ``2003. [1]``), this is the source's own slice up to the end of that marker run. When they
    do not (a marker later in the paragraph covers the quoted sentence too), the quote is
    followed at once by its markers, as :func:`quote_line` does.
    """
    if q.written:  # the answerer kept the source's own slice: one way to place markers
        return as_written(q)
    if document_text[q.start : q.end] != q.text:
        return quote_line(q)
    missing = {r for r in q.refs if f"[{r}]" not in q.text}
    if not missing:
        return q.text
    pos = q.end
    while pos < len(document_text) and document_text[pos] in " \t\u00a0":
        pos += 1
    run = MARK_RUN_RE.match(document_text, pos)
    if run is None:
        return quote_line(q)
    numbers = {int(m.group("num")) for m in MARK_RE.finditer(run.group()) if m.group("num")}
    return document_text[q.start : run.end()] if numbers == missing else quote_line(q)


def passage_line(p: Passage) -> str:
    """A closest passage: its text holds its markers; any it lacks follow it at once."""
    return p.text + missing_tags(p.text, p.refs)


def shown_passages(ans: Answer) -> list[Passage]:
    """The closest passages a "not found" reply shows."""
    return [] if outcome(ans) != "not_found" else ans.passages[:CLOSEST_SHOWN]


def _reference_lines(refs: Sequence[Reference], numbers: Sequence[int] | None = None) -> list[str]:
    wanted = [r for r in refs if numbers is None or r.number in numbers]
    return ["References", *(f"[{r.number}] {r.text}" for r in wanted)] if wanted else []


def _claim_lines(q: Quote) -> list[str]:
    if not q.refs and not q.unsourced:
        return ["(The source gives no reference for this sentence.)", *claim_marks(q)]
    return claim_marks(q)


def written_lines(index: HasTexts, ans: Answer) -> tuple[str, ...]:
    """Each quote of ``ans`` with its markers as its document in ``index`` writes them."""
    lines = []
    for q in ans.quotes:
        try:
            lines.append(written_line(index.document_text(q.doc_id), q))
        except KeyError:  # no longer in the index (rebuilt meanwhile): the usual placing
            lines.append(quote_line(q))
    return tuple(lines)


def quote_text(q: Quote, refs: Sequence[Reference], line: str = "") -> str:
    """One quote with its references: ``line`` (default :func:`quote_line`), what the source
    says of the claim, then the entries of the quote's own references."""
    lines = [line or quote_line(q), *_claim_lines(q)]
    more = _reference_lines(refs, q.refs)
    return "\n".join(lines + ([""] + more if more else []))


def answer_text(e: Exchange) -> str:
    """A reply as plain text: ``quote [n]`` lines, notes, then the full reference entries."""
    ans = e.answer
    if ans is None:
        return e.notice
    kind, lines = outcome(ans), []
    if kind == "tentative":
        lines += [tentative_line(ans), ""]
    if kind == "not_found":
        lines.append(NOT_FOUND_LINE)
        if ans.reasons:
            lines.append(why_not(ans.reasons))
        if shown_passages(ans):
            lines += ["", CLOSEST]
            lines += [passage_line(p) for p in shown_passages(ans)]
    else:
        for q, line in zip(ans.quotes, e.quote_lines(), strict=True):
            lines += [line, *_claim_lines(q)]
    if notes_of(ans):
        lines += ["", "Notes", *(f"[{label}] {text}" for label, text in notes_of(ans))]
    more = _reference_lines(e.references)
    return "\n".join(lines + ([""] + more if more else []))


# ----------------------------------------------------------------------------- Markdown


def quote_markdown(q: Quote, line: str = "") -> str:
    """A quote as a Markdown block quote: ``line`` (default :func:`quote_line`), escaped."""
    return quote_block(line or quote_line(q), "")[0]


def answer_markdown_of(e: Exchange) -> str:
    """A reply as Markdown: block quotes with their [n], notes, then the References list."""
    ans = e.answer
    if ans is None:
        return md(e.notice)
    kind, lines = outcome(ans), []
    if kind == "tentative":
        lines += [f"*{md(tentative_line(ans))}*", ""]
    if kind == "not_found":
        lines.append(f"**{NOT_FOUND}** No passage of the source answers this question.")
        if ans.reasons:
            lines += ["", md(why_not(ans.reasons))]
        if shown_passages(ans):
            lines += ["", md(CLOSEST)]
            for p in shown_passages(ans):
                lines += ["", *quote_block(passage_line(p), where(p.title, p.section))]
    else:
        for q, line in zip(ans.quotes, e.quote_lines(), strict=True):
            lines += [*quote_block(line, where(q.title, q.section), _claim_lines(q)), ""]
    if notes_of(ans):
        lines += ["", *notes_block(notes_of(ans))]
    if e.references:
        lines += ["", *references_block(e.references)]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def answer_markdown(ans: Answer) -> str:
    """An Answer as Markdown (its own references; the closest passages' are not looked up)."""
    return answer_markdown_of(Exchange(ans.question, ans.question, ans, ans.references))


# ------------------------------------------------------------------------ conversations


def conversation_text(exchanges: Sequence[Exchange], title: str = "") -> str:
    """The whole conversation as plain text: each question, then its reply verbatim."""
    parts = [f"Questions about {title}"] if title else []
    for e in exchanges:
        if e.shown is not None:
            parts.append(f"Q: {e.shown}")
        parts.append(answer_text(e))
    version = next((e.version for e in reversed(exchanges) if e.version), "")
    if version:
        parts.append(f"Answered from the index {version}.")
    return "\n\n".join(parts) + "\n"


def conversation_markdown(exchanges: Sequence[Exchange], title: str = "") -> str:
    """The whole conversation as Markdown: a heading per question, then its reply."""
    parts = [f"# Questions about {md(title)}"] if title else []
    for e in exchanges:
        if e.shown is not None:
            parts.append(f"## {md(e.shown)}")
        parts.append(answer_markdown_of(e))
    version = next((e.version for e in reversed(exchanges) if e.version), "")
    if version:
        parts.append(f"*Answered from the index {md(version)}.*")
    return "\n\n".join(parts) + "\n"
