"""A saved Wikipedia page (.html, "Save page as…"), rendered to plain text.

Parsed with selectolax (the Lexbor HTML5 engine: real-world pages, CSS selectors, no other
dependency). The article is the page's ``.mw-parser-output``; site chrome around it is never
read, and inside it edit links, the contents box, navboxes, sidebars, infoboxes, hatnotes,
banners, images and tables are left out (one warning line says what). Citations
``<sup class="reference">`` keep their rendered text (``[2]``, page ``: 14``) in the
paragraph and are resolved through their link into ``<ol class="references">``; maintenance
tags keep theirs (``[citation needed]``). Plain HTML without those classes works too: ``[n]``
in the text and an ordered list under a References heading.
"""

from __future__ import annotations

import re
from collections import Counter

from selectolax.lexbor import LexborHTMLParser, LexborNode

from .document import MARK_RE, Document, DocumentBuilder, note_position
from .headings import heading_kind
from .text import strip_backlinks

#: Left out inside the article: selector → what the warning calls it (None: not worth saying).
DROPPED = (
    (".mw-editsection", "edit links"),
    ("#toc, .toc, .vector-toc", "contents box"),
    (".navbox, .vertical-navbox", "navboxes"),
    (".sidebar", "sidebars"),
    (".infobox", "infoboxes"),
    (".hatnote, .dablink, .rellink", "hatnotes"),
    (".ambox, .ombox, .tmbox, .mbox-small, .box-Multiple_issues", "maintenance banners"),
    ("#catlinks, .catlinks", "category links"),
    ("figure, .thumb, .gallery", "images"),
    ("table", "tables"),
    (".navbox-styles, .shortdescription, .mw-empty-elt, .printfooter, style, script, link, "
     "meta, noscript, .mw-jump-link, #siteSub, #contentSub", None),
)  # fmt: skip
_ROOTS = ("#mw-content-text .mw-parser-output", ".mw-parser-output", "#mw-content-text",
          "#bodyContent", "main", "article", "body")  # fmt: skip
_HEADINGS = {"h1", "h2", "h3", "h4", "h5", "h6"}
_CONTAINERS = {"div", "section", "blockquote", "main", "article", "body", "center", "span"}
_NOTE_LIST_RE = re.compile(r"notelist|lower-alpha|lower-roman|upper-alpha")


def _classes(node: LexborNode) -> set[str]:
    return set((node.attributes.get("class") or "").split())


def _collapse(text: str) -> str:
    return " ".join(text.split())


class _Reader:
    def __init__(self, b: DocumentBuilder):
        self.b = b
        self.kind = "body"
        self.links: list[tuple[str, str]] = []  # (mark label, target id) of citation marks
        self.lists: list[tuple[bool, list[tuple[str, str]]]] = []  # (is notes, [(id, entry)])
        self.left_out: list[str] = []
        self.stray = 0
        self.in_entry = False  # reading a reference entry: links keep their addresses

    # -- inline ------------------------------------------------------------------------------

    def inline(self, node: LexborNode, out: list[str]) -> None:
        for child in node.iter(include_text=True):
            tag = child.tag
            if tag == "-text":
                out.append(child.text_content or "")
            elif tag == "br":
                out.append(" ")
            elif tag in ("script", "style", "-comment") or tag is None:
                continue
            elif tag == "sup" and "reference" in _classes(child):
                mark = _collapse(child.text(deep=True))
                out.append(mark)
                a = child.css_first("a")
                href = (a.attributes.get("href") or "") if a is not None else ""
                if "#" in href:
                    self.links.append((mark.strip("[]"), href.split("#", 1)[1]))
            elif "mw-editsection" in _classes(child) or "mw-cite-backlink" in _classes(child):
                continue
            elif tag == "a" and self.in_entry and _web_address(child.attributes.get("href")):
                # a reference entry keeps its links' addresses, "label (address)", so that
                # the app can link to the source (the page shows them only as links)
                href = _web_address(child.attributes.get("href"))
                before = len(out)
                self.inline(child, out)
                if _collapse("".join(out[before:])) != href:
                    out.append(f" ({href})")
            else:
                self.inline(child, out)

    def text_of(self, node: LexborNode) -> str:
        out: list[str] = []
        self.inline(node, out)
        return _collapse("".join(out))

    # -- blocks ------------------------------------------------------------------------------

    def walk(self, node: LexborNode) -> None:
        for child in node.iter():
            tag, cls = child.tag, _classes(child)
            if tag in _HEADINGS:
                self.heading(self.text_of(child))
            elif tag == "div" and "mw-heading" in cls:
                h = child.css_first("h1, h2, h3, h4, h5, h6")
                if h is not None:
                    self.heading(self.text_of(h))
            elif tag == "ol" and "references" in cls:
                self.reference_list(child)
            elif self.kind == "end":
                continue
            elif tag == "ol" and self.kind == "list":
                self.reference_list(child)
            elif tag in ("ul", "ol", "dl"):
                self.list_items(child)
            elif tag in ("p", "pre", "dd", "dt", "li"):
                self.block(self.text_of(child))
            elif tag in _CONTAINERS:
                self.walk(child)

    def heading(self, name: str) -> None:
        kind = heading_kind(name)
        if kind == "list":
            self.kind = "list"
        elif kind == "end":
            self.kind = "end"
            self.left_out.append(name)
        elif name:
            self.kind = "body"
            self.b.heading(name)

    def block(self, text: str) -> None:
        if not text:
            return
        if self.kind == "body":
            self.b.write_paragraph(text)
        else:
            self.stray += 1

    def list_items(self, node: LexborNode) -> None:
        for li in node.iter():
            if li.tag not in ("li", "dd", "dt"):
                continue
            nested = [c for c in li.iter() if c.tag in ("ul", "ol", "dl")]
            for c in nested:
                c.remove()  # read after the item's own text, as items of their own
            self.block(self.text_of(li))
            for c in nested:
                self.list_items(c)

    def reference_list(self, ol: LexborNode) -> None:
        style = " ".join(
            (n.attributes.get("class") or "") + " " + (n.attributes.get("style") or "")
            for n in (ol, ol.parent, ol.parent.parent if ol.parent else None)
            if n is not None
        )
        entries = []
        for li in ol.iter():
            if li.tag != "li":
                continue
            body = li.css_first(".reference-text")
            self.in_entry = True
            text = self.text_of(body if body is not None else li)
            self.in_entry = False
            entries.append((li.attributes.get("id") or "", strip_backlinks(text)))
        self.lists.append((bool(_NOTE_LIST_RE.search(style)), entries))

    # -- references --------------------------------------------------------------------------

    def resolve(self) -> None:
        b = self.b
        by_id = {i: entry for _, entries in self.lists for i, entry in entries if i}
        linked: set[str] = set()
        for label, target in self.links:
            m = MARK_RE.fullmatch(f"[{label}]")
            if not m or target not in by_id:
                continue
            linked.add(target)
            if m.group("num") and int(label) not in b.references:
                b.reference(int(label), by_id[target])
            elif m.group("note"):
                b.notes.setdefault(" ".join(label.split()), by_id[target])
        for is_notes, entries in self.lists:
            if any(i in linked for i, _ in entries):
                continue  # resolved through the marks' links
            for pos, (_, entry) in enumerate(entries, 1):
                if is_notes:
                    b.notes.setdefault(chr(ord("a") + pos - 1) if pos <= 26 else str(pos), entry)
                elif pos not in b.references:
                    b.reference(pos, entry)
        if b.references:
            b.write("References")
            b.write("\n".join(f"{n}. {e}" for n, e in sorted(b.references.items())))
        if b.notes:
            b.write("Notes")
            notes = sorted(b.notes.items(), key=lambda kv: note_position(kv[0]))
            b.write("\n".join(f"[{k}] {v}" for k, v in notes))


def _web_address(value: str | None) -> str:
    """``value`` if it is an http(s) address, else ""."""
    value = (value or "").strip()
    return value if re.fullmatch(r"https?://[^\s\"'<>]+", value) else ""


def parse_html(text: str, doc_id: str, path: str | None = None) -> Document:
    """Read a saved HTML page: the article's title, sections, paragraphs and References.

    Example:
        >>> page = ('<h1 id="firstHeading">Lakes</h1><div class="mw-parser-output">'
        ...         '<p>Deep.<sup class="reference"><a href="#cite_note-1">[1]</a></sup></p>'
        ...         '<ol class="references"><li id="cite_note-1">Atlas.</li></ol></div>')
        >>> doc = parse_html(page, "lakes.html")
        >>> doc.title, doc.sentences[0].text, doc.sentences[0].refs, doc.references
        ('Lakes', 'Deep.', (1,), {1: 'Atlas.'})
    """
    tree = LexborHTMLParser(text)
    b = DocumentBuilder(doc_id, path or doc_id, "html")
    root = next((n for n in (tree.css_first(s) for s in _ROOTS) if n is not None), None)
    if root is None:
        b.title = ""
        return b.build()
    counts: Counter[str] = Counter()
    for selector, what in DROPPED:
        nodes = {n.mem_id: n for n in root.css(selector)}  # one node can match twice
        for node in nodes.values():
            if what:
                counts[what] += 1
            node.decompose()
    link = tree.css_first('link[rel="canonical"]') or tree.css_first('meta[property="og:url"]')
    if link is not None:
        b.url = _web_address(link.attributes.get("href") or link.attributes.get("content"))
    first = tree.css_first("#firstHeading")
    title_tag = tree.css_first("title")
    if first is not None:
        b.title = _collapse(first.text(deep=True))
    elif title_tag is not None:
        b.title = _collapse(title_tag.text(deep=True)).removesuffix(" - Wikipedia")
    h1 = root.css_first("h1")
    if not b.title and h1 is not None:
        b.title = _collapse(h1.text(deep=True))
    reader = _Reader(b)
    if b.title:
        b.write(b.title)
    for h1 in root.css("h1"):
        if _collapse(h1.text(deep=True)) == b.title:
            h1.decompose()  # the title inside the article, as plain HTML has it
    reader.walk(root)
    reader.resolve()
    if root.tag != "body":
        counts["site navigation around the article"] = 1
    said = [w if w.startswith("site") else f"{w} ({n})" for w, n in counts.items()]
    if said:
        b.warn("left out " + ", ".join(said))
    if reader.left_out:
        b.warn(f"left out the {', '.join(reader.left_out)} section(s): lists of links")
    if reader.stray:
        b.warn(f"{reader.stray} block(s) of text in the References or Notes section not indexed")
    return b.build()
