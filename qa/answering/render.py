"""Answers as Markdown (block quotes tagged with the source's [n], then its References), and
verifications as text.

Every piece of source text in the Markdown passes through :func:`md`, so it renders to exactly
the source's characters: no HTML (``<img onerror=…>``, ``<script>``) and no link
(``[x](javascript:…)``, ``[2]: javascript:…``) from the corpus ever becomes markup.
"""

from __future__ import annotations

import re

from ..results import Answer, Quote, Verification

_MD_SPECIAL = re.compile(r"([\\`*_<>~|])")
_MD_ENTITY = re.compile(r"&(?=#?\w+;)")
_MD_LINE_START = re.compile(r"^(\s*)([#+=-]|\d+[.)])(?=\s|$)")
#: ``](`` opens an inline link, and ``[x]:`` at the start of a line defines one; ``[n]``
#: alone, and ``[2]: 14`` within a line, stay as they are.
_MD_LINK = re.compile(r"\]\(")
_MD_DEFINITION = re.compile(r"^(\s*\[[^\]\n]*)\]:", re.MULTILINE)


def md(text: str) -> str:
    """``text`` as Markdown that renders to exactly ``text``: no HTML, no link, no emphasis;
    ``[n]`` is left as it is."""
    text = _MD_ENTITY.sub("&amp;", _MD_SPECIAL.sub(r"\\\1", text))
    text = _MD_DEFINITION.sub(r"\1]\\:", _MD_LINK.sub(r"]\\(", text))
    return _MD_LINE_START.sub(lambda m: m.group(1) + "\\" + m.group(2), text)


#: The label of a tentative answer: it is the closest the text comes, not an answer.
TENTATIVE = "**The text may not answer this.** The closest it comes"


def tags(refs: tuple[int, ...], pages: dict[int, str] | None = None) -> str:
    """``(7, 8, 9)`` → ``[7][8][9]``; with ``pages={2: "14"}``, ``(2,)`` → ``[2]: 14``."""
    pages = pages or {}
    return "".join(f"[{r}]: {pages[r]} " if r in pages else f"[{r}]" for r in refs).rstrip()


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


def _blockquote(text: str) -> str:
    return "\n".join("> " + line if line.strip() else ">" for line in text.splitlines())


def why_not(reasons: list[str]) -> str:
    """One sentence from ``Answer.reasons``."""
    return "The closest passage " + "; it ".join(reasons) + "."


def _quotes(ans: Answer, multi_doc: bool) -> list[str]:
    lines: list[str] = []
    for q in ans.quotes:
        lines.append(_blockquote(f"{md(q.text)} {tags(q.refs, q.pages)}".rstrip()))
        lines.append(f"> — *{md(_where(q, multi_doc))}*")
        lines.extend(f"> *{md(m)}*" for m in claim_marks(q))
        lines.append("")
    if notes_of(ans):
        lines.append("**Notes**")
        lines.append("")
        lines.extend(f"- {md(f'[{label}] {text}')}" for label, text in notes_of(ans))
        lines.append("")
    if ans.references:
        lines.append("**References**")
        lines.append("")
        for r in ans.references:
            prefix = f"{r.doc_id}: " if multi_doc else ""
            lines.append(f"- [{r.number}] {md(prefix + r.text)}")
    return lines


def _where(q: Quote, multi_doc: bool) -> str:
    return f"{q.title}, {q.section}" if q.section else q.title


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
            where = f"{p.title}, {p.section}" if p.section else p.title
            lines.append(_blockquote(md(p.text)))
            lines.append(f"> — *{md(where)}*")
            lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def render_verification(v: Verification) -> str:
    """A verification as a few lines of text, as `qa verify` prints it."""
    where = f"{v.title} › {v.section}" if v.section else v.title
    lines = []
    if v.verbatim:
        lines.append(f"verbatim: {where}, characters {v.start}–{v.end}")
        lines.append(f"> {v.quote} {tags(v.closing_refs)}".rstrip())
        if v.uncited:
            lines.append("the source gives no reference for the end of this text")
    elif v.closest:
        head = "NOT verbatim. Closest" if v.similarity >= 0.5 else "NOT in the source. Nearest"
        lines.append(f"{head} in the source ({where}, similarity {v.similarity}):")
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
