"""Answers for a person at a terminal: quote blocks, the answer in bold, references dimmed.

``qa ask`` uses this when its output is a terminal; piped, it prints the Markdown of
:func:`qa.answering.render.render_markdown`, and ``--json`` the Answer. Both forms carry the
same content: the quotes as the source writes them (:func:`~qa.answering.render.as_written`),
where they stand, the source's notes and tags, the parts a compound question left unanswered,
and the reference entries.

Everything shown comes from the corpus, so it is cleaned before it reaches the terminal: control
characters (an escape sequence could recolour, move the cursor or retitle the window) and
bidirectional overrides (which reorder what is displayed) are removed; text is given to rich as
``Text``, never as markup, so ``[b]`` in a source stays ``[b]``.
"""

from __future__ import annotations

import re
import unicodedata
from typing import TextIO

from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.segment import Segment
from rich.style import Style
from rich.text import Text

from .answering.render import TENTATIVE, UNANSWERED, as_written, claim_marks, notes_of, why_not
from .readers.sentences import MARK_RE
from .results import Answer, Passage, Quote

#: Bidirectional embeddings, overrides and isolates: they reorder what a terminal displays.
_BIDI = re.compile("[\u202a-\u202e\u2066-\u2069]")


def clean(text: str) -> str:
    """``text`` safe to print on a terminal: control characters and bidi overrides removed.

    Newlines stay; tabs become spaces.

    Example:
        >>> clean("red\\x1b[31m alert\\x07\\tnow\\u202e!\\nnext")
        'red[31m alert now!\\nnext'
    """
    text = _BIDI.sub("", text.replace("\t", " "))
    return "".join(ch for ch in text if ch == "\n" or unicodedata.category(ch) != "Cc")


def _quote_text(q: Quote) -> Text:
    """The quote with its markers as written (cyan); the words that answer in bold (the whole
    quote when no words are marked: ``Quote.answer_start``)."""
    written = clean(as_written(q))
    a, b = _answer_range(q, written)
    out = Text()
    pos = 0
    for m in MARK_RE.finditer(written):
        _plain(out, written, pos, m.start(), a, b)
        out.append(m.group(), style="cyan")
        pos = m.end()
    _plain(out, written, pos, len(written), a, b)
    return out


def _answer_range(q: Quote, written: str) -> tuple[int, int]:
    """Where the marked answer words stand in ``written`` (the whole of it when none are)."""
    if q.answer_start is None or q.answer_end is None:
        return 0, len(written)
    a, b = q.answer_start - q.start, q.answer_end - q.start
    return (a, b) if written[a:b] == q.answer_text else (0, len(written))


def _plain(out: Text, text: str, start: int, end: int, a: int, b: int) -> None:
    """``text[start:end]`` with the part inside ``[a, b)`` bold."""
    cuts = sorted({start, end, min(max(a, start), end), min(max(b, start), end)})
    for x, y in zip(cuts, cuts[1:], strict=False):
        if x < y:
            out.append(text[x:y], style="bold" if a <= x and y <= b else "")


def _where(title: str, section: str) -> str:
    return clean(f"{title}, {section}" if section else title)


class _Block:
    """A quote block: a bar down the left of every line of the wrapped text, as rich draws
    Markdown's ``>``."""

    def __init__(self, body: RenderableType) -> None:
        self.body = body

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        width = max(1, options.max_width - 2)
        bar = Segment("▌ ", Style(dim=True))
        for line in console.render_lines(self.body, options.update(width=width), pad=False):
            yield bar
            yield from line
            yield Segment.line()


def _block(body: Text, *more: Text) -> RenderableType:
    return _Block(Text("\n").join([body, *more]))


def _quotes(ans: Answer, multi_doc: bool) -> list[RenderableType]:
    parts: list[RenderableType] = []
    for q in ans.quotes:
        more = [Text(f"— {_where(q.title, q.section)}", style="italic dim")]
        more += [Text(clean(m), style="italic") for m in claim_marks(q)]
        parts += [_block(_quote_text(q), *more), Text()]
    for part in ans.unanswered:
        line = Text(UNANSWERED.replace("**", "") + " ", style="bold yellow")
        parts += [Text.assemble(line, (clean(part), "yellow")), Text()]
    if notes := notes_of(ans):
        parts.append(Text("Notes", style="bold dim"))
        parts += [Text(clean(f"[{label}] {text}"), style="dim") for label, text in notes]
        parts.append(Text())
    if ans.references:
        parts.append(Text("References", style="bold dim"))
        for r in ans.references:
            prefix = f"{r.doc_id}: " if multi_doc else ""
            parts.append(Text(clean(f"[{r.number}] {prefix}{r.text}"), style="dim"))
    return parts


def _passages(passages: list[Passage]) -> list[RenderableType]:
    parts: list[RenderableType] = [
        Text("Closest passages (shown for context; they do not answer the question):"),
        Text(),
    ]
    for p in passages[:3]:
        where = Text(f"— {_where(p.title, p.section)}", style="italic dim")
        parts += [_block(Text(clean(p.text), style="dim"), where), Text()]
    return parts


def answer_renderable(ans: Answer, multi_doc: bool = False) -> RenderableType:
    """The answer as rich renderables, in the order and words of the Markdown rendering."""
    parts: list[RenderableType] = []
    if ans.found:
        parts += _quotes(ans, multi_doc)
    elif ans.outcome == "tentative" and ans.quotes:
        said, rest = TENTATIVE.replace("**", "").split(".", 1)
        head = Text.assemble(
            (said + ".", "bold yellow"),
            f"{rest} (confidence {ans.confidence:.0%} that it answers):",
        )
        parts += [head, Text()]
        if ans.reasons:
            parts += [Text(clean(why_not(ans.reasons))), Text()]
        parts += _quotes(ans, multi_doc)
    else:
        head = Text.assemble(
            ("The text does not say.", "bold yellow"),
            " No passage of the source answers this question.",
        )
        parts += [head, Text()]
        if ans.reasons:
            parts += [Text(clean(why_not(ans.reasons))), Text()]
        if ans.passages:
            parts += _passages(ans.passages)
    while parts and isinstance(parts[-1], Text) and not parts[-1].plain:
        parts.pop()
    return Group(*parts)


def print_answer(ans: Answer, file: TextIO | None = None, multi_doc: bool = False) -> None:
    """Print ``ans`` formatted for a terminal (colours follow rich's rules, NO_COLOR too)."""
    Console(file=file, highlight=False, soft_wrap=False).print(answer_renderable(ans, multi_doc))
