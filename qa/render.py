"""Answers as Markdown (block quotes tagged with the source's [n], then its References), and
verifications as text."""

from __future__ import annotations

from .results import Answer, Verification


def tags(refs: tuple[int, ...]) -> str:
    """``(7, 8, 9)`` → ``[7][8][9]``."""
    return "".join(f"[{r}]" for r in refs)


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
            lines.append(_blockquote(f"{q.text} {tags(q.refs)}".rstrip()))
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
