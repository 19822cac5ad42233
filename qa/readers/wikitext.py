"""Wikitext (.wiki, .wikitext: the page's source), rendered to plain text as the page shows it.

Parsed with mwparserfromhell. ``<ref>`` becomes ``[n]``, numbered in order of first use (a
named ref reused as ``<ref name="x" />`` keeps its number), ``{{rp|14}}`` becomes ``: 14``,
``{{efn}}`` and ``<ref group="note">`` become notes ``[a]`` / ``[note 1]``, maintenance
templates become ``[citation needed]`` …; citation templates are rendered to a readable entry
(``qa.readers.citations``); links keep their label, bold and italic their text. Other
templates (short description, infoboxes, sidebars, navboxes, reflist), categories, files and
tables are left out, with one warning line that names them. The title is the file's name
(``Human_trafficking_in_Laos.wiki``) unless ``{{DISPLAYTITLE:…}}`` says otherwise.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from pathlib import PurePosixPath
from typing import Any

import mwparserfromhell
from mwparserfromhell.nodes import (
    Comment,
    ExternalLink,
    Heading,
    HTMLEntity,
    Node,
    Tag,
    Template,
    Text,
    Wikilink,
)

from .citations import CITATION_TEMPLATES, MAINTENANCE, render_citation
from .document import Document, DocumentBuilder, note_position
from .headings import heading_kind

#: Templates that render as (part of) their argument: name → which positional argument.
_TEXT_TEMPLATES = {"lang": 2, "nowrap": 1, "nobr": 1, "small": 1, "nobold": 1, "noitalic": 1,
                   "transl": 2, "keep together": 1, "abbr": 1, "em": 1, "strong": 1}  # fmt: skip
_SYMBOLS = {"nbsp": " ", "ndash": "–", "mdash": "—", "'": "'", "snd": " – ", "spaced ndash": " – "}
#: Housekeeping templates left out without a word.
_SILENT = {"short description", "reflist", "notelist", "notelist-ua", "references",
           "use dmy dates", "use mdy dates", "use british english", "use american english",
           "authority control", "italic title", "good article", "featured article", "toc",
           "pp", "pp-protected", "pp-semi-indef", "clear", "-", "refbegin", "refend"}  # fmt: skip
_NOTE_GROUPS = {"note", "nb", "n", "Note", "NB"}
_LEFTOVER_RE = re.compile(r"\{\{|\}\}|\[\[|\]\]|<ref[^>]*>|</ref>|'{2,}")


def _name(t: Template) -> str:
    return " ".join(str(t.name).replace("_", " ").split()).strip().lower()


class _Wiki:
    def __init__(self, b: DocumentBuilder):
        self.b = b
        self.para: list[str] = []
        self.item = False  # inside a list item: a newline ends it
        self.kind = "body"
        self.numbers: dict[str, dict[str, int]] = {}  # group → ref name → number
        self.counts: Counter[str] = Counter()
        self.entries: dict[tuple[str, int], str] = {}  # (group, number) → entry
        self.left_out: Counter[str] = Counter()
        self.end_matter: list[str] = []
        self.markup = 0
        self.stray = 0
        self.in_entry = False  # reading a reference entry: links keep their addresses

    # -- paragraphs --------------------------------------------------------------------------

    def flush(self) -> None:
        text = " ".join("".join(self.para).split())
        self.para = []
        self.item = False
        cleaned, n = _LEFTOVER_RE.subn("", text)
        self.markup += n
        if cleaned.strip() and self.kind == "body":
            self.b.write_paragraph(" ".join(cleaned.split()))
        elif cleaned.strip() and self.kind == "list":
            self.stray += 1

    def text(self, s: str) -> None:
        pieces = re.split(r"\n[ \t]*\n", s)
        for i, piece in enumerate(pieces):
            if i:
                self.flush()
            if self.item and "\n" in piece:
                head, piece = piece.split("\n", 1)
                self.para.append(head)
                self.flush()
            self.para.append(piece)

    # -- nodes -------------------------------------------------------------------------------

    def body(self, nodes: Iterable[Node]) -> None:
        for n in nodes:
            if isinstance(n, Heading):
                self.flush()
                self.heading(" ".join(self.plain(n.title.nodes).split()))
            elif isinstance(n, Text):
                self.text(str(n.value))
            elif isinstance(n, Tag) and str(n.tag) == "ref":
                self.ref(n)
            elif isinstance(n, Tag) and n.wiki_markup in ("*", "#", ":", ";"):
                self.flush()
                self.item = True
            elif isinstance(n, Tag) and str(n.tag) in ("table", "gallery", "math", "timeline"):
                self.left_out[f"{n.tag}s"] += 1  # tables, galleries …
            elif isinstance(n, Tag) and str(n.tag) in ("references", "br", "hr"):
                self.para.append(" ")
            elif isinstance(n, Tag):
                self.body(n.contents.nodes if n.contents else [])
            elif isinstance(n, Template):
                self.template(n)
            else:
                self.para.append(self.plain([n]))

    def heading(self, name: str) -> None:
        kind = heading_kind(name)
        if kind == "list":
            self.kind = "list"
        elif kind == "end":
            self.kind = "end"
            self.end_matter.append(name)
        elif name:
            self.kind = "body"
            self.b.heading(name)

    def plain(self, nodes: Iterable[Node]) -> str:
        """Nodes as plain text, without marks (headings, link labels, reference entries)."""
        out = []
        for n in nodes:
            if isinstance(n, Text):
                out.append(str(n.value))
            elif isinstance(n, Wikilink):
                target = str(n.title).strip()
                ns = target.split(":", 1)[0].strip().lower() if ":" in target else ""
                if ns in ("category", "file", "image"):
                    self.left_out["categories" if ns == "category" else "images"] += 1
                elif ns not in ("", "wikt", "wiktionary", "s", "commons", "w"):
                    continue  # interlanguage links
                else:
                    label = n.text if n.text is not None else n.title
                    out.append(self.plain(label.nodes).split("#")[0] if n.text is None
                               else self.plain(label.nodes))  # fmt: skip
            elif isinstance(n, ExternalLink):
                url = str(n.url).strip()
                shown = self.plain(n.title.nodes) if n.title else str(n.url)
                # a reference entry keeps the address of a labelled link, "label (address)",
                # so that the app can link to the source (the page shows only the label)
                keep = self.in_entry and n.title and re.match(r"https?://", url, re.I)
                out.append(f"{shown} ({url})" if keep else shown)
            elif isinstance(n, HTMLEntity):
                out.append(n.normalize())
            elif isinstance(n, Comment):
                continue
            elif isinstance(n, Tag):
                if str(n.tag) == "br":
                    out.append(" ")
                elif str(n.tag) not in ("ref", "references", "table", "math") and n.contents:
                    out.append(self.plain(n.contents.nodes))
            elif isinstance(n, Template):
                out.append(self.inline_template(n))
        return "".join(out)

    def inline_template(self, t: Template) -> str:
        """What a template shows inside text; "" (and counted) for one that is left out."""
        name = _name(t)
        args = [p for p in t.params if not p.showkey]
        if name in CITATION_TEMPLATES:
            params = {str(p.name).strip(): self.plain(p.value.nodes) for p in t.params}
            return render_citation(name, params)
        if name in _TEXT_TEMPLATES and len(args) >= _TEXT_TEMPLATES[name]:
            return self.plain(args[_TEXT_TEMPLATES[name] - 1].value.nodes)
        if name in _SYMBOLS:
            return _SYMBOLS[name]
        if name == "convert" and len(args) >= 2:
            return f"{self.plain(args[0].value.nodes)} {self.plain(args[1].value.nodes)}"
        if name not in _SILENT and not name.startswith(("defaultsort", "displaytitle")):
            self.left_out[f"template {str(t.name).strip()}"] += 1
        return ""

    # -- citations ---------------------------------------------------------------------------

    def cite(self, group: str, name: str | None, entry: str | None) -> None:
        """Write the mark of a reference (numbered at first use) and keep its entry."""
        names = self.numbers.setdefault(group, {})
        if name and name in names:
            number = names[name]
        else:
            self.counts[group] += 1
            number = self.counts[group]
            if name:
                names[name] = number
        if entry and (group, number) not in self.entries:
            cleaned, n = _LEFTOVER_RE.subn("", entry)
            self.markup += n
            self.entries[(group, number)] = " ".join(cleaned.split())
        self.para.append(f"[{self.label(group, number)}]")

    @staticmethod
    def label(group: str, number: int) -> str:
        if not group:
            return str(number)
        if group in _NOTE_GROUPS:
            return f"{group} {number}"
        if group == "lower-alpha" and number <= 26:
            return chr(ord("a") + number - 1)
        return f"note {number}"

    def ref(self, tag: Tag) -> None:
        name = str(tag.get("name").value).strip() if tag.has("name") else None
        group = str(tag.get("group").value).strip() if tag.has("group") else ""
        entry = self.entry(tag.contents.nodes) if tag.contents else None
        self.cite(group, name, entry)

    def entry(self, nodes: Any) -> str:
        """A reference entry as plain text, its links' web addresses kept."""
        self.in_entry = True
        try:
            return self.plain(nodes)
        finally:
            self.in_entry = False

    def template(self, t: Template) -> None:
        name = _name(t)
        args = [p for p in t.params if not p.showkey]
        named = {str(p.name).strip(): p for p in t.params if p.showkey}
        if name.startswith("displaytitle:"):
            self.b.title = str(t.name).split(":", 1)[1].strip()
        elif name in MAINTENANCE:
            self.para.append(f"[{MAINTENANCE[name]}]")
        elif name == "rp" and (args or named):
            value = args[0].value if args else next(iter(named.values())).value
            self.para.append(f": {self.plain(value.nodes).strip()}")
        elif name in ("r", "ref label") and args:
            self.cite("", str(args[0].value).strip(), None)
        elif name in ("efn", "efn-lr", "refn", "efn-la", "notetag"):
            group = "lower-alpha" if name != "refn" else str(named["group"].value).strip() \
                if "group" in named else ""  # fmt: skip
            ref_name = str(named["name"].value).strip() if "name" in named else None
            entry = self.entry(args[0].value.nodes) if args else None
            self.cite(group, ref_name, entry)
        elif name in ("sfn", "harvnb", "sfnp"):
            authors = [str(a.value).strip() for a in args]
            page = next((str(named[k].value).strip() for k in ("p", "pp", "loc") if k in named), "")
            who = (
                " & ".join(authors[:-1]) + f" {authors[-1]}"
                if len(authors) > 1
                else "".join(authors)
            )
            entry = f"{who}, p. {page}." if page else f"{who}."
            self.cite("", f"sfn:{who}:{page}", entry)
        elif name in ("reflist", "references") and "refs" in named:
            self.defined(named["refs"].value.nodes)
        elif name in ("quote", "blockquote", "cquote", "quotation") and (args or named):
            value = named["text"].value if "text" in named else args[0].value
            self.flush()
            self.para.append(self.plain(value.nodes))
            self.flush()
        else:
            self.para.append(self.inline_template(t))

    def defined(self, nodes: Iterable[Node]) -> None:
        """List-defined references (``{{reflist|refs=<ref name=…>…</ref>}}``)."""
        for n in nodes:
            if isinstance(n, Tag) and str(n.tag) == "ref" and n.has("name") and n.contents:
                group = str(n.get("group").value).strip() if n.has("group") else ""
                number = self.numbers.get(group, {}).get(str(n.get("name").value).strip())
                if number is not None and (group, number) not in self.entries:
                    self.entries[(group, number)] = " ".join(self.entry(n.contents.nodes).split())

    def finish(self) -> None:
        self.flush()
        b = self.b
        for (group, number), entry in sorted(self.entries.items()):
            if group:
                b.notes[self.label(group, number)] = entry
            else:
                b.reference(number, entry)
        for group, count in self.counts.items():
            for number in range(1, count + 1):
                if (group, number) not in self.entries:
                    b.warn(f"reference [{self.label(group, number)}] is used but never defined")
        if b.references:
            b.write("References")
            b.write("\n".join(f"{n}. {e}" for n, e in sorted(b.references.items())))
        if b.notes:
            b.write("Notes")
            notes = sorted(b.notes.items(), key=lambda kv: note_position(kv[0]))
            b.write("\n".join(f"[{k}] {v}" for k, v in notes))
        said = [f"{w} ({n})" for w, n in self.left_out.items()]
        if said:
            b.warn("left out " + ", ".join(said))
        if self.end_matter:
            b.warn(f"left out the {', '.join(self.end_matter)} section(s): lists of links")
        if self.stray:
            b.warn(f"{self.stray} block(s) of text in the References or Notes section not indexed")
        if self.markup:
            b.warn(f"removed {self.markup} piece(s) of unbalanced markup ({{{{, [[, '')")


def parse_wikitext(text: str, doc_id: str, path: str | None = None) -> Document:
    """Read a page's wikitext: title, sections, paragraphs, references in order of first use.

    Example:
        >>> doc = parse_wikitext("Deep.<ref>{{cite web|title=Atlas|work=Maps}}</ref>", "Lake.wiki")
        >>> doc.title, doc.sentences[0].text, doc.sentences[0].refs, doc.references
        ('Lake', 'Deep.', (1,), {1: '"Atlas". Maps.'})
    """
    b = DocumentBuilder(doc_id, path or doc_id, "wikitext")
    b.title = PurePosixPath(doc_id).stem.replace("_", " ")
    w = _Wiki(b)
    code = mwparserfromhell.parse(text)
    for t in code.filter_templates(recursive=False):
        if _name(t).startswith("displaytitle:"):
            b.title = str(t.name).split(":", 1)[1].strip()
    b.write(b.title)
    w.body(code.nodes)
    w.finish()
    return b.build()
