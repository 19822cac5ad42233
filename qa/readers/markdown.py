"""Markdown (.md), rendered to plain text.

Parsed with markdown-it-py (CommonMark). The first ``#`` heading is the title, the others are
sections; emphasis, links and inline HTML keep only their text. Citation marks are ``[2]``
(or ``\\[2\\]``), footnote references ``[^2]`` (rendered ``[2]``); the References are an
ordered list under a References heading (``1. ^ a b Entry``) or footnote definitions
(``[^2]: Entry``). Code blocks and raw HTML blocks are left out with a warning.
"""

from __future__ import annotations

import re
from collections import Counter

from markdown_it import MarkdownIt
from markdown_it.token import Token

from .document import Document, DocumentBuilder, note_position
from .headings import heading_kind, notes_heading
from .text import strip_backlinks

_FOOTNOTE_REF_RE = re.compile(r"\[\^(\d{1,4})\]")
_FOOTNOTE_DEF_RE = re.compile(r"^\[\^(\d{1,4})\]:\s*(.*)$", re.S)
# "[^1]: Entry" must stay a paragraph, not a CommonMark link reference definition.
_MD = MarkdownIt("commonmark").disable("reference")


def _inline(token: Token) -> str:
    out = []
    for c in token.children or []:
        if c.type in ("text", "code_inline"):
            out.append(c.content)
        elif c.type in ("softbreak", "hardbreak"):
            out.append(" ")
    return " ".join(_FOOTNOTE_REF_RE.sub(r"[\1]", "".join(out)).split())


def parse_markdown(text: str, doc_id: str, path: str | None = None) -> Document:
    """Read a Markdown document.

    Example:
        >>> doc = parse_markdown("# Lakes\\n\\nDeep.[^1]\\n\\n[^1]: Atlas.\\n", "lakes.md")
        >>> doc.title, doc.sentences[0].text, doc.sentences[0].refs, doc.references
        ('Lakes', 'Deep.', (1,), {1: 'Atlas.'})
    """
    b = DocumentBuilder(doc_id, path or doc_id, "markdown")
    tokens = _MD.parse(text)
    kind, is_notes = "body", False
    lists: list[int] = []  # start number of each open ordered list (0: a bullet list)
    items: list[int] = []  # position of the current item in each open list
    left_out: Counter[str] = Counter()
    end_matter: list[str] = []
    stray = 0
    started = False
    headings = [
        _inline(tokens[i + 1]).lower() for i, t in enumerate(tokens) if t.type == "heading_open"
    ]

    def title_from_name() -> None:
        if not b.title:
            b.title = doc_id.rsplit("/", 1)[-1].rsplit(".", 1)[0].replace("_", " ")
            b.write(b.title)

    for i, tok in enumerate(tokens):
        if tok.type == "heading_open":
            name = _inline(tokens[i + 1])
            if tok.tag == "h1" and not started and not b.title:
                b.title = name
                b.write(name)
            elif heading_kind(name) == "list":
                title_from_name()
                kind = "list"
                is_notes = notes_heading(name, headings)
            elif heading_kind(name) == "end":
                title_from_name()
                kind = "end"
                end_matter.append(name)
            else:
                title_from_name()
                kind = "body"
                b.heading(name)
            started = True
        elif tok.type in ("ordered_list_open", "bullet_list_open"):
            lists.append(int(tok.attrs.get("start", 1)) if tok.type == "ordered_list_open" else 0)
            items.append(0)
        elif tok.type in ("ordered_list_close", "bullet_list_close"):
            lists.pop()
            items.pop()
        elif tok.type == "list_item_open":
            items[-1] += 1
        elif tok.type == "inline" and tokens[i - 1].type == "paragraph_open":
            started = True
            title_from_name()
            content = _inline(tok)
            raw = tok.content.strip()
            footnote = _FOOTNOTE_DEF_RE.match(raw)
            if footnote:
                b.reference(int(footnote.group(1)), _inline_text(footnote.group(2)))
            elif kind == "list" and lists and lists[-1]:
                number = lists[-1] + items[-1] - 1
                entry = strip_backlinks(content)
                if is_notes:
                    b.notes[chr(ord("a") + number - 1) if number <= 26 else str(number)] = entry
                else:
                    b.reference(number, entry)
            elif kind == "body":
                b.write_paragraph(content)
            elif kind == "list" and content:
                stray += 1
        elif tok.type in ("fence", "code_block", "html_block"):
            left_out["code blocks" if tok.type != "html_block" else "HTML blocks"] += 1
    if b.references:
        b.write("References")
        b.write("\n".join(f"{n}. {e}" for n, e in sorted(b.references.items())))
    if b.notes:
        b.write("Notes")
        b.write("\n".join(f"[{k}] {v}" for k, v in sorted(b.notes.items(), key=_note_key)))
    if left_out:
        b.warn("left out " + ", ".join(f"{n} {w}" for w, n in left_out.items()))
    if end_matter:
        b.warn(f"left out the {', '.join(end_matter)} section(s): lists of links")
    if stray:
        b.warn(f"{stray} block(s) of text in the References or Notes section not indexed")
    return b.build()


def _note_key(kv: tuple[str, str]) -> int:
    return note_position(kv[0])


def _inline_text(markdown: str) -> str:
    tokens = _MD.parseInline(markdown)
    return _inline(tokens[0]) if tokens else markdown
