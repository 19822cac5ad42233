"""Readers: one per input form, each turning a file's text into the same ``Document``.

``text`` (plain text, mirrors, browser copies), ``html`` (a saved page), ``wikitext`` (the
page's source) and ``markdown``. ``read_text`` picks one by the file's suffix.
"""

from __future__ import annotations

from collections.abc import Callable

from .document import Document
from .html import parse_html
from .markdown import parse_markdown
from .text import parse_text
from .wikitext import parse_wikitext

Reader = Callable[[str, str, str], Document]

#: File suffix → reader. The suffixes are the files a corpus directory is searched for.
READERS: dict[str, Reader] = {
    ".txt": parse_text,
    ".md": parse_markdown,
    ".markdown": parse_markdown,
    ".html": parse_html,
    ".htm": parse_html,
    ".wiki": parse_wikitext,
    ".wikitext": parse_wikitext,
}
SUFFIXES = tuple(READERS)

__all__ = [
    "READERS",
    "SUFFIXES",
    "parse_html",
    "parse_markdown",
    "parse_text",
    "parse_wikitext",
    "read_text",
]


def _looks_like_html(text: str) -> bool:
    head = text[:1000].lstrip().lower()
    return head.startswith(("<!doctype html", "<html"))


def read_text(text: str, doc_id: str, path: str, suffix: str) -> Document:
    """Read ``text`` with the reader for ``suffix`` (a saved page named ``.txt`` is HTML)."""
    suffix = suffix.lower()
    if suffix == ".txt" and _looks_like_html(text):
        return parse_html(text, doc_id, path)
    return READERS.get(suffix, parse_text)(text, doc_id, path)
