"""Answers as Markdown (block quotes tagged with the source's [n], then its References), and
verifications as text.

The Markdown pieces (``md``, ``where``, ``quote_block``, ``notes_block``, ``references_block``)
are the only ones: the web transcript composes its copies and exports from them, so an answer
is escaped one way wherever it is shown. ``md`` escapes only what would change how the text
renders (``*``, ``_``, `````, ``<``, ``\\`` …), never the brackets of ``[n]``.

Every piece of source text in the Markdown passes through :func:`md`, so it renders to exactly
the source's characters: no HTML (``<img onerror=…>``, ``<script>``) and no link
(``[x](javascript:…)``, ``[2]: javascript:…``) from the corpus ever becomes markup.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from ..readers.sentences import MARK_RE
from ..results import Answer, Quote, Reference, Verification

_MD_SPECIAL = re.compile(r"([\\`*_<>~|])")
_MD_ENTITY = re.compile(r"&(?=#?\w+;)")
_MD_LINE_START = re.compile(r"^(\s*)([#+=-]|\d+[.)])(?=\s|$)")
#: ``](`` opens an inline link, and ``[x]:`` at the start of a line defines one; ``[n]``
#: alone, and ``[2]: 14`` within a line, stay as they are.
_MD_LINK = re.compile(r"\]\(")
_MD_DEFINITION = re.compile(r"^(\s*\[[^\]\n]*)\]:", re.MULTILINE)


def md(text: str) -> str:
    """``text`` as Markdown that renders to exactly ``text``: no HTML, no link, no emphasis;
    ``[n]`` is left as it is.

    Example:
        >>> md("Boats *sank* [7]")
        'Boats \\\\*sank\\\\* [7]'
    """
    text = _MD_ENTITY.sub("&amp;", _MD_SPECIAL.sub(r"\\\1", text))
    text = _MD_DEFINITION.sub(r"\1]\\:", _MD_LINK.sub(r"]\\(", text))
    return _MD_LINE_START.sub(lambda m: m.group(1) + "\\" + m.group(2), text)


#: The label of a tentative answer: it is the closest the text comes, not an answer.
TENTATIVE = "**The text may not answer this.** The closest it comes"


#: Opens the line naming a part of a compound question that no quote answers (the scorer did
#: not find its answer with enough confidence; the text may still say it elsewhere).
UNANSWERED = "**No quote answers this part:**"


def tags(refs: tuple[int, ...], pages: dict[int, str] | None = None) -> str:
    """``(7, 8, 9)`` → ``[7][8][9]``; with ``pages={2: "14"}``, ``(2,)`` → ``[2]: 14``."""
    pages = pages or {}
    return "".join(f"[{r}]: {pages[r]} " if r in pages else f"[{r}]" for r in refs).rstrip()


def as_written(q: Quote) -> str:
    """The quote with its reference markers exactly where and as the source writes them.

    ``Quote.written`` is the source's own text, marks included (``"… 2003.[1]"``, never
    ``"… 2003. [1]"``). A number the quote carries that no marker inside it shows (the
    sentence is covered by a marker later in its paragraph) follows at once, as the source
    places its markers; a Quote without ``written`` shows all its numbers that way.

    Example:
        >>> q = Quote("It was ratified in 2003.", (1,), "d", "", 0, 24, 1.0,
        ...           written="It was ratified in 2003.[1]")
        >>> as_written(q)
        'It was ratified in 2003.[1]'
        >>> as_written(Quote("Rivers flood.", (2,), "d", "", 0, 13, 1.0, written="Rivers flood."))
        'Rivers flood.[2]'
    """
    text = q.written or q.text
    shown = {int(m.group("num")) for m in MARK_RE.finditer(text) if m.group("num")}
    rest = tags(tuple(r for r in q.refs if r not in shown), q.pages)
    return f"{text}{rest}"


def claim_marks(q: Quote) -> list[str]:
    """What the source says about the quoted claim besides its references, one line each."""
    out = []
    if q.unsourced:
        shown = ", ".join(f"[{t}]" for t in q.tags)
        out.append(f"The article marks this claim as needing a citation ({shown}).")
    elif q.tags:
        out.append("The article tags this claim: " + ", ".join(f"[{t}]" for t in q.tags) + ".")
    return out


def notes_of(ans: Answer) -> list[tuple[str, str]]:
    """The notes the quotes carry, each once: (label, text)."""
    seen: dict[str, str] = {}
    for q in ans.quotes:
        for label, text in q.notes.items():
            seen.setdefault(label, text or "(this note has no entry in the source's Notes list)")
    return list(seen.items())


def where(title: str, section: str) -> str:
    """The one "title, section" line that says where a quote or passage is from."""
    return f"{title}, {section}" if section else title


def _blockquote(text: str) -> str:
    return "\n".join("> " + md(line) if line.strip() else ">" for line in text.splitlines())


def quote_block(line: str, place: str, marks: Sequence[str] = ()) -> list[str]:
    """A quote (or passage) ``line`` as a Markdown block quote, where it is from, its marks."""
    return [_blockquote(line), f"> — *{md(place)}*", *(f"> *{md(m)}*" for m in marks)]


def notes_block(notes: Sequence[tuple[str, str]]) -> list[str]:
    """``**Notes**`` and a ``- [label] text`` item per note (nothing without notes)."""
    return ["**Notes**", "", *(f"- {md(f'[{label}] {text}')}" for label, text in notes)]


def references_block(refs: Sequence[Reference], multi_doc: bool = False) -> list[str]:
    """``**References**`` and a ``- [n] entry`` item each (prefixed by the document's id when
    the index holds several documents)."""
    items = [
        f"[{r.number}] {r.doc_id}: {r.text}" if multi_doc else f"[{r.number}] {r.text}"
        for r in refs
    ]
    return ["**References**", "", *(f"- {md(item)}" for item in items)]


def why_not(reasons: list[str]) -> str:
    """One sentence from ``Answer.reasons``."""
    return "The closest passage " + "; it ".join(reasons) + "."


def _quotes(ans: Answer, multi_doc: bool) -> list[str]:
    lines: list[str] = []
    for q in ans.quotes:
        lines += [*quote_block(as_written(q), where(q.title, q.section), claim_marks(q)), ""]
    for part in ans.unanswered:  # a compound question's part: said, never dropped
        lines += [f"{UNANSWERED} {md(part)}", ""]
    if notes_of(ans):
        lines += [*notes_block(notes_of(ans)), ""]
    if ans.references:
        lines += references_block(ans.references, multi_doc)
    return lines


def render_markdown(ans: Answer, multi_doc: bool = False) -> str:
    """The answer as Markdown: block quotes tagged with [n], then the References.

    A tentative answer is labelled as the closest the text comes, with its confidence and
    what the passage seems to lack; "not found" shows the closest passages for context.
    """
    if ans.found:
        return "\n".join(_quotes(ans, multi_doc)).rstrip() + "\n"
    if ans.outcome == "tentative" and ans.quotes:
        lines = [f"{TENTATIVE} (confidence {ans.confidence:.0%} that it answers):", ""]
        if ans.reasons:
            lines[1:1] = ["", md(why_not(ans.reasons))]
        return "\n".join(lines + _quotes(ans, multi_doc)).rstrip() + "\n"
    lines = ["**The text does not say.** No passage of the source answers this question."]
    if ans.reasons:
        lines.append("")
        lines.append(md(why_not(ans.reasons)))
    if ans.passages:
        lines.append("")
        lines.append("Closest passages (shown for context; they do not answer the question):")
        lines.append("")
        for p in ans.passages[:3]:
            lines += [*quote_block(p.text, where(p.title, p.section)), ""]
    return "\n".join(lines).rstrip() + "\n"


def render_verification(v: Verification) -> str:
    """A verification as a few lines of text, as `qa verify` prints it."""
    place = where(v.title, v.section)
    lines = []
    if v.verbatim:
        lines.append(f"verbatim: {place}, characters {v.start}–{v.end}")
        lines.append(f"> {v.quote} {tags(v.closing_refs)}".rstrip())
        if v.uncited:
            lines.append("the source gives no reference for the end of this text")
    elif v.closest:
        head = "NOT verbatim. Closest" if v.similarity >= 0.5 else "NOT in the source. Nearest"
        lines.append(f"{head} in the source ({place}, similarity {v.similarity}):")
        lines.append(f"> {v.closest} {tags(v.closing_refs)}".rstrip())
        lines.append(f"diff (source → given): {v.diff_text()}")
    else:
        lines.append("NOT in the source: no sentence shares its words")
    for c in v.ref_checks:
        verdict = "right" if c.ok else "WRONG" if c.wrong else "INCOMPLETE"
        detail = []
        if c.wrong:
            detail.append(f"the source does not attach {tags(c.wrong)}")
        if c.missing:
            detail.append(f"it attaches {tags(c.missing)} too")
        why = f" ({'; '.join(detail)})" if detail else ""
        lines.append(f"claimed {tags(c.claimed)}: {verdict}; source {tags(c.source)}{why}")
    if v.references:
        lines.append("References:")
        lines.extend(f"- [{r.number}] {r.text}" for r in v.references)
    return "\n".join(lines)
