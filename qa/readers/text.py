"""Plain text: Wikipedia's plain-text form, mirrors, and pages copied from a browser.

Hand-written: no library reads "a Wikipedia page pasted into a .txt file". The file's own text
is the Document's text (offsets index into it); what is not article text is simply never made
a paragraph.

- Plain form: a title line, short heading lines, paragraphs between blank lines with inline
  marks, and a ``References`` list (``1. ^ a b Entry``, ``^ Jump up to: a b Entry``, ``^ Entry``
  or the bare entry), its entries right under the heading or after a blank line, numbered or
  not, indented or not.
- Browser copy (select all, copy, paste): recognised by "From Wikipedia, the free
  encyclopedia", "Jump to content" or "[edit]" lines. Every line is a block; the site chrome
  before the title, the contents box, hatnotes, navboxes, categories and footer are dropped
  (with one warning saying how many lines); a line followed by "[edit]" is a heading.
"""

from __future__ import annotations

import re

from .document import MARK_RE, Document, DocumentBuilder, note_position
from .headings import heading_kind, notes_heading

FROM_WIKIPEDIA = "From Wikipedia, the free encyclopedia"
#: Lines of site chrome as a browser copies them (tabs, menus, tools, the contents box).
CHROME_LINES = frozenset(
    (
        "jump to content", "main menu", "search", "create account", "log in", "personal tools",
        "donate", "toggle the table of contents", "contents", "hide", "show", "(top)",
        "article", "talk", "read", "edit", "view source", "view history", "tools", "actions",
        "general", "what links here", "related changes", "upload file", "special pages",
        "permanent link", "page information", "cite this page", "get shortened url",
        "download qr code", "wikidata item", "print/export", "download as pdf",
        "printable version", "in other projects", "appearance", "move to sidebar",
        "add languages", "add links", "navigation", "contribute", "help", "learn to edit",
        "community portal", "recent changes", "main page", "current events", "random article",
        "about wikipedia", "contact us", "add topic", "text", "small", "standard", "large",
        "width", "wide", "color (beta)", "automatic", "light", "dark",
    )
)  # fmt: skip
_LANGUAGES_RE = re.compile(r"^\d+ languages?$|^\(Redirected from .*\)$|^Coordinates: ")
_HATNOTE_RE = re.compile(
    r"^(?:Main articles?:|See also:|Further information:|For other uses,|"
    r"This article is about|Not to be confused with|\"[^\"]+\" redirects here)"
)
_TOC_LINE_RE = re.compile(r"^(?:\d+(?:\.\d+)*\s+\S.*|Toggle .* subsection|\(Top\)|hide|show)$")
_NAVBOX_RE = re.compile(r"^(?:v\s*t\s*e|vte)$")
_FOOTER_RE = re.compile(
    r"^(?:Categories?:|Hidden categories?:|This page was last edited on|Retrieved from |"
    r"Text is available under the Creative Commons)"
)
_RETRIEVED_FROM_RE = re.compile(r"^Retrieved from \"?(https?://[^\s\"'<>]+)\"?\s*$", re.M)
_EDIT_RE = re.compile(r"\s*\[\s*edit(?: source)?\s*\]$")
_NUMBERED_RE = re.compile(r"^\s*(\d{1,4})[.)]\s+(.*\S)\s*$")
_LETTERED_RE = re.compile(
    r"^\s*(?P<label>[a-z]{1,2}|(?:note|Note|nb|NB|n|N) ?\d{1,3})[.)]\s+(?P<entry>.*\S)\s*$"
)
_BACKLINK_RE = re.compile(
    r"^\^\s*(?:(?P<jump>Jump up to:|Jump up)\s*)?(?P<letters>(?:[a-z]{1,2}\s+)*)"
)


def strip_backlinks(entry: str) -> str:
    """An entry of a References or Notes list without its back-links (``^ a b c``).

    Example:
        >>> strip_backlinks("^ Jump up to: a b Smith (2001).")
        'Smith (2001).'
    """
    entry = entry.strip()
    m = _BACKLINK_RE.match(entry)
    if not m:
        return entry
    letters = m.group("letters").split()
    sequential = letters == [chr(ord("a") + i) for i in range(len(letters))]
    rest = entry[m.end() :].strip()
    # one "a" is a back-link before "Author" but entry text in "a study of …"
    if m.group("jump") or (sequential and (len(letters) >= 2 or rest[:1].isupper())):
        return rest
    return entry[1:].strip()  # "^ a c Odd entry.": the letters are entry text


def _is_heading(block: str) -> bool:
    if "\n" in block or len(block) > 80 or MARK_RE.search(block):
        return False
    if block.startswith("#"):
        return True
    words = block.split()
    # "Laos.)" or 'It ended."' is a sentence: look past closing brackets and quotes.
    core = block.rstrip(")]\"'”’") or block
    return 0 < len(words) <= 10 and core[-1] not in ".!?…:;," and block[0].isupper()


def _blocks(text: str) -> list[tuple[int, int]]:
    """Spans of blank-line separated blocks, trimmed of surrounding whitespace."""
    spans = []
    pos = 0
    for sep in [*re.finditer(r"\n[ \t\r]*\n", text), None]:
        end = sep.start() if sep else len(text)
        chunk = text[pos:end]
        stripped = chunk.strip()
        if stripped:
            lead = len(chunk) - len(chunk.lstrip())
            spans.append((pos + lead, pos + lead + len(stripped)))
        if sep:
            pos = sep.end()
    return spans


def _lines(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """Spans of the non-blank lines of ``text[start:end]``, trimmed."""
    out = []
    for m in re.finditer(r"[^\n]+", text[start:end] if end is not None else text[start:]):
        s, e = start + m.start(), start + m.end()
        line = text[s:e]
        if line.strip():
            lead = len(line) - len(line.lstrip())
            out.append((s + lead, s + lead + len(line.strip())))
    return out


def is_browser_copy(text: str) -> bool:
    """The text was copied from a rendered Wikipedia page (site chrome, "[edit]" lines)."""
    head = text[:20000]
    return (
        FROM_WIKIPEDIA in head
        or head.lstrip().startswith("Jump to content")
        or len(re.findall(r"^\s*\[edit\]\s*$", text, re.M)) >= 2
    )


class _Items:
    """Headings and blocks in reading order, before sections are told apart."""

    def __init__(self) -> None:
        self.items: list[tuple[str, int, int, str]] = []  # (kind, start, end, heading name)
        self.dropped = 0  # lines of site chrome left out

    def heading(self, s: int, e: int, name: str) -> None:
        self.items.append(("heading", s, e, name))

    def block(self, s: int, e: int) -> None:
        self.items.append(("block", s, e, ""))


def _plain_items(b: DocumentBuilder, text: str) -> _Items:
    items = _Items()
    for i, (s, e) in enumerate(_blocks(text)):
        block = text[s:e]
        if i == 0 and (_is_heading(block) or (block.startswith("# ") and "\n" not in block)):
            b.title = block.lstrip("#").strip()
        elif _is_heading(block):
            items.heading(s, e, block.lstrip("#").strip())
        elif (head := _list_heading(text, s, e)) is not None:
            # "References" with its entries on the next lines, no blank line between
            items.heading(s, head, text[s:head].lstrip("#").strip())
            rest = s + len(text[s:e]) - len(text[head:e].lstrip())
            items.block(rest, e)
        else:
            items.block(s, e)
    return items


def _list_heading(text: str, s: int, e: int) -> int | None:
    """Where a References or Notes heading ends when the block opens with one, else None."""
    first = text[s:e].split("\n", 1)[0].rstrip()
    key = first.lstrip("#").strip().lower()
    if "\n" not in text[s:e] or heading_kind(key) != "list":
        return None
    return s + len(first)


def _browser_items(b: DocumentBuilder, text: str) -> _Items:
    items = _Items()
    lines = _lines(text)
    words = [" ".join(text[s:e].split()) for s, e in lines]
    start = 0
    if FROM_WIKIPEDIA in words:
        fw = words.index(FROM_WIKIPEDIA)
        for i in range(fw - 1, -1, -1):
            if words[i].lower() not in CHROME_LINES and not _LANGUAGES_RE.match(words[i]):
                b.title = words[i]
                break
        start = fw + 1
        items.dropped = fw + 1 - (1 if b.title else 0)
    else:
        while start < len(words) and words[start].lower() in CHROME_LINES:
            start += 1
        items.dropped = start
        if start < len(words) and _is_heading(words[start]):
            b.title = words[start]
            start += 1
    end = len(words)
    for i in range(start, len(words)):
        if (
            _FOOTER_RE.match(words[i])
            or _NAVBOX_RE.match(words[i])
            or words[i : i + 3] == list("vte")
        ):
            end = i  # a navbox ("v t e") or the footer: nothing after it is article text
            break
    items.dropped += len(words) - end
    has_edit_links = any(_EDIT_RE.search(w) for w in words[start:end])
    in_toc = False
    for i in range(start, end):
        (s, e), line = lines[i], words[i]
        if line == "Contents" or (in_toc and _TOC_LINE_RE.match(line)):
            in_toc, items.dropped = True, items.dropped + 1
            continue
        in_toc = False
        if _EDIT_RE.fullmatch(line) or _HATNOTE_RE.match(line) or _LANGUAGES_RE.match(line):
            items.dropped += 1
            continue
        edit = _EDIT_RE.search(line)
        if edit and edit.start() > 0:  # older skins: "Sex trafficking[edit]" on one line
            items.heading(s, s + len(text[s:e][: edit.start()].rstrip()), line[: edit.start()])
        elif i + 1 < end and _EDIT_RE.fullmatch(words[i + 1]):
            items.heading(s, e, line)
        elif not has_edit_links and _is_heading(line) and not MARK_RE.search(line):
            items.heading(s, e, line)
        else:
            items.block(s, e)
    return items


def parse_text(text: str, doc_id: str, path: str | None = None) -> Document:
    """Read one plain-text document (plain form, mirror or browser copy).

    Example:
        >>> doc = parse_text("Title\\n\\nA fact.[1]\\n\\nReferences\\n\\n1. ^ Source.\\n", "t")
        >>> doc.sentences[0].refs, doc.references
        ((1,), {1: 'Source.'})
    """
    browser = is_browser_copy(text)
    b = DocumentBuilder(doc_id, path or doc_id, "browser copy" if browser else "text", text)
    items = _browser_items(b, text) if browser else _plain_items(b, text)
    if items.dropped:
        b.warn(
            f"removed {items.dropped} lines of site navigation (menus, tabs, edit links, footer)"
        )
    _sections(b, text, items, line_entries=browser)
    if browser and (m := _RETRIEVED_FROM_RE.search(text)):
        b.url = m.group(1)  # the footer of a copied Wikipedia page names its address
    return b.build()


def _sections(b: DocumentBuilder, text: str, items: _Items, line_entries: bool) -> None:
    """Body blocks become paragraphs; References and Notes lists are read; end matter left out."""
    lists: list[tuple[str, list[tuple[int, int]]]] = []  # (heading, blocks) of list sections
    left_out: list[str] = []
    kind = "body"
    for what, s, e, name in items.items:
        if what == "heading":
            kind = heading_kind(name)
            if kind == "list":
                lists.append((name, []))
            elif kind == "end":
                left_out.append(name)
            else:
                b.heading(name, (s, e))
        elif kind == "body":
            b.paragraph(s, e)
        elif kind == "list":
            lists[-1][1].append((s, e))
    if left_out:
        b.warn(f"left out the {', '.join(left_out)} section(s): lists of links, not article text")
    _lists(b, text, lists, line_entries)


def _used_notes(b: DocumentBuilder, text: str) -> list[str]:
    labels: list[str] = []
    for _, s, e in b.paragraph_spans:
        for m in MARK_RE.finditer(text, s, e):
            if m.group("note") and " ".join(m.group("note").split()) not in labels:
                labels.append(" ".join(m.group("note").split()))
    return labels


def _lists(
    b: DocumentBuilder, text: str, lists: list[tuple[str, list[tuple[int, int]]]], by_line: bool
) -> None:
    notes_used = _used_notes(b, text)
    names = [n for n, _ in lists]
    notes_list = None
    if notes_used:
        for i, n in enumerate(names):
            if notes_heading(n, names):
                notes_list = i
                break
    for i, (name, blocks) in enumerate(lists):
        entries, stray = _entries(text, blocks, by_line)
        for s, e in stray:
            snippet = " ".join(text[s:e].split())[:60]
            b.warn(
                f"text in the {name} list that is not an entry was not indexed ({snippet!r}); "
                "move it above the list if it belongs to the article",
                s,
            )
        if i == notes_list:
            by_position = {note_position(label): label for label in notes_used}
            for pos, (_, s, entry) in enumerate(entries, 1):
                label = _LETTERED_RE.match(text[s:].split("\n", 1)[0])
                if label and " ".join(label.group("label").split()) in notes_used:
                    key = " ".join(label.group("label").split())  # written out: "a." "note 1."
                else:  # by position, as a copy without the list's letters gives them
                    key = by_position.get(pos, chr(ord("a") + pos - 1) if pos <= 26 else str(pos))
                b.notes[key] = strip_backlinks(entry)
            continue
        if b.references and any(n is None for n, _, _ in entries):
            b.warn(f"left out the {name} list: a second list of unnumbered entries")
            continue
        last = max(b.references, default=0)
        for number, s, entry in entries:
            last = number if number is not None else last + 1
            b.reference(last, strip_backlinks(entry), s)


def _entries(
    text: str, blocks: list[tuple[int, int]], by_line: bool
) -> tuple[list[tuple[int | None, int, str]], list[tuple[int, int]]]:
    """The entries ``(number or None, offset, text)`` of a list section, and stray text."""
    entries: list[tuple[int | None, int, str]] = []
    stray: list[tuple[int, int]] = []
    for bs, be in blocks:
        for s, e in _lines(text, bs, be):
            line = text[s:e]
            m = _NUMBERED_RE.match(line)
            lettered = _LETTERED_RE.match(line)
            if m:
                entries.append((int(m.group(1)), s, m.group(2)))
            elif lettered:  # a Notes entry as a mirror writes it: "a. The note.", "note 1. …"
                entries.append((None, s, lettered.group("entry")))
            elif by_line or line.startswith("^"):
                entries.append((None, s, line))
            elif not stray or stray[-1][1] < bs:
                stray.append((bs, be))
    return entries, stray
