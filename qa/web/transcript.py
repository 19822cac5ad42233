"""Answers and conversations as exact plain text and Markdown: what copy and export give.

The plain text is what a reader pastes into their own work, so a quote is the source's
characters, unchanged, followed by the source's reference numbers (``quote [7][8][9]``), and
then the reference entries, also unchanged. Nothing is escaped in plain text. The Markdown
form escapes only what would change how it renders (``*``, ``_``, `````, ``<``, ``\\`` …), never
the brackets of ``[n]``, so it reads as the plain text does.

Example:
    >>> from qa.results import Answer, Quote, Reference
    >>> q = Quote("Boats *sank*.", (7, 8), "b.txt", "History", 0, 13, 0.9, "Boats")
    >>> ans = Answer("Did boats sink?", True, [q], [Reference("b.txt", 7, "Atlas."),
    ...                                           Reference("b.txt", 8, "Log.")])
    >>> print(answer_text(Exchange("Did boats sink?", "Did boats sink?", ans, ans.references)))
    Boats *sank*. [7][8]
    <BLANKLINE>
    References
    [7] Atlas.
    [8] Log.
    >>> print(quote_markdown(q))
    > Boats \\*sank\\*. [7][8]
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from ..answering.render import claim_marks, md, notes_of, tags, why_not
from ..results import Answer, Passage, Quote, Reference

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
    """

    shown: str | None
    question: str | None
    answer: Answer | None = None
    references: Sequence[Reference] = field(default_factory=tuple)
    notice: str = ""
    version: str = ""
    k: int = 0


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
    """``quote [n]``: the verbatim quote, then the source's markers it does not hold itself."""
    marks = missing_tags(q.text, q.refs, q.pages)
    return f"{q.text} {marks}" if marks else q.text


def passage_line(p: Passage) -> str:
    marks = missing_tags(p.text, p.refs)
    return f"{p.text} {marks}" if marks else p.text


def where(title: str, section: str) -> str:
    return f"{title}, {section}" if section else title


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


def quote_text(q: Quote, refs: Sequence[Reference]) -> str:
    """One quote for the clipboard: ``quote [n]``, then the entries of its own references."""
    lines = [quote_line(q), *_claim_lines(q)]
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
        for q in ans.quotes:
            lines += [quote_line(q), *_claim_lines(q)]
    if notes_of(ans):
        lines += ["", "Notes", *(f"[{label}] {text}" for label, text in notes_of(ans))]
    more = _reference_lines(e.references)
    return "\n".join(lines + ([""] + more if more else []))


# ----------------------------------------------------------------------------- Markdown

# md (from qa.answering.render): the one Markdown escaping, links from the corpus included


def quote_markdown(q: Quote) -> str:
    return f"> {md(quote_line(q))}"


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
                lines += ["", f"> {md(passage_line(p))}", f"> — *{md(where(p.title, p.section))}*"]
    else:
        for q in ans.quotes:
            lines += [quote_markdown(q), f"> — *{md(where(q.title, q.section))}*"]
            lines += [f"> *{md(m)}*" for m in _claim_lines(q)]
            lines.append("")
    if notes_of(ans):
        lines += ["", "**Notes**", ""]
        lines += [f"- {md(f'[{label}] {text}')}" for label, text in notes_of(ans)]
    if e.references:
        lines += ["", "**References**", ""]
        lines += [f"- {md(f'[{r.number}] {r.text}')}" for r in e.references]
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
