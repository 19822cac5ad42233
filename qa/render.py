"""Answers as Markdown: block quotes tagged with the source's [n], then its References."""

from __future__ import annotations

from .results import Answer, Quote

#: The label of a tentative answer: it is the closest the text comes, not an answer.
TENTATIVE = "**The text may not answer this.** The closest it comes"


def tags(refs: tuple[int, ...]) -> str:
    """``(7, 8, 9)`` → ``[7][8][9]``."""
    return "".join(f"[{r}]" for r in refs)


def _blockquote(text: str) -> str:
    return "\n".join("> " + line if line.strip() else ">" for line in text.splitlines())


def why_not(reasons: list[str]) -> str:
    """One sentence from ``Answer.reasons``."""
    return "The closest passage " + "; it ".join(reasons) + "."


def _quotes(ans: Answer, multi_doc: bool) -> list[str]:
    lines: list[str] = []
    for q in ans.quotes:
        lines.append(_blockquote(f"{q.text} {tags(q.refs)}".rstrip()))
        lines.append(f"> — *{_where(q, multi_doc)}*")
        lines.append("")
    if ans.references:
        lines.append("**References**")
        lines.append("")
        for r in ans.references:
            prefix = f"{r.doc_id}: " if multi_doc else ""
            lines.append(f"- [{r.number}] {prefix}{r.text}")
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
            lines[1:1] = ["", why_not(ans.reasons)]
        return "\n".join(lines + _quotes(ans, multi_doc)).rstrip() + "\n"
    lines = ["**The text does not say.** No passage of the source answers this question."]
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
