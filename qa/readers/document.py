"""The Document model shared by every reader, and citation attribution.

A reader (``qa.readers``) turns one file into a rendered plain text and says where its title,
headings, paragraphs, reference entries and notes are; ``DocumentBuilder`` turns that into a
``Document``: sentences (``qa.readers.sentences``) with the references, pages, notes and maintenance
tags the source attaches to them. All offsets index into ``Document.text``, the rendered text
that quotes slice from.

Citation attribution follows the source's convention: a mark covers the text since the
previous mark in the same paragraph (adjacent marks ``[7][8][9]`` all cover it); a sentence
carries the marks inside it and the run that closes it. A sentence after the last mark of its
paragraph carries none. Notes (``[a]``) and maintenance tags (``[citation needed]``) are marks
too (they end the text the next reference covers) but carry no reference number.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field

from .sentences import (
    MARK_RE,
    MARK_RUN_RE,
    MARKER_RE,
    MAX_SENTENCE_CHARS,
    is_unsourced_tag,
    sentence_spans,
    split_long,
    split_sentences,
    strip_markers,
)

__all__ = [  # the names readers and other modules use, some from qa.readers.sentences
    "MARKER_RE", "MARK_RE", "MARK_RUN_RE", "MAX_SENTENCE_CHARS", "Citation", "Document",
    "DocumentBuilder", "Paragraph", "Sentence", "attribute", "is_unsourced_tag", "mark_runs",
    "note_position", "span_citation", "span_refs", "split_sentences", "strip_markers",
]  # fmt: skip


@dataclass(frozen=True)
class Citation:
    """What marks attach to a span: reference numbers, their pages, notes and tags.

    Attributes:
        refs: reference numbers, in order of appearance.
        pages: ``(ref, page)`` pairs from page-number marks (``[2]: 14`` → ``(2, "14")``).
        notes: note labels (``"a"``, ``"note 1"``).
        tags: maintenance tags (``"citation needed"``, ``"when?"``).
    """

    refs: tuple[int, ...] = ()
    pages: tuple[tuple[int, str], ...] = ()
    notes: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()

    def __or__(self, other: Citation) -> Citation:
        def union(a: tuple, b: tuple) -> tuple:
            return a + tuple(x for x in b if x not in a)

        return Citation(
            union(self.refs, other.refs),
            union(self.pages, other.pages),
            union(self.notes, other.notes),
            union(self.tags, other.tags),
        )


@dataclass(frozen=True)
class Sentence:
    """One sentence: ``text`` excludes its trailing marks, ``span_end`` includes them.

    ``pages``, ``notes`` and ``tags`` are as in ``Citation``.
    """

    doc_id: str
    index: int
    paragraph: int
    section: str
    start: int
    end: int
    span_end: int
    refs: tuple[int, ...]
    text: str
    pages: tuple[tuple[int, str], ...] = ()
    notes: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()

    @property
    def unsourced(self) -> bool:
        """The source marks this sentence as needing a citation (``[citation needed]`` …)."""
        return any(is_unsourced_tag(t) for t in self.tags)


@dataclass(frozen=True)
class Paragraph:
    """A block of body text (not a heading, not a References or Notes entry)."""

    index: int
    section: str
    start: int
    end: int
    sentences: tuple[Sentence, ...]


@dataclass
class Document:
    """A read source file. All offsets index into ``text``, its rendered plain text.

    ``form`` names the reader's form ("text", "browser copy", "html", "wikitext", "markdown").
    ``references`` maps a number to its full entry; ``notes`` a note label to its text.
    ``url`` is the page's web address when the file gives one ("" otherwise).
    """

    doc_id: str
    path: str
    title: str
    text: str
    sha256: str
    sections: list[str] = field(default_factory=list)
    paragraphs: list[Paragraph] = field(default_factory=list)
    references: dict[int, str] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    form: str = "text"
    url: str = ""

    @property
    def sentences(self) -> list[Sentence]:
        """All sentences of the document in reading order."""
        return [s for p in self.paragraphs for s in p.sentences]


# ------------------------------------------------------------------------------ attribution

Run = tuple[int, int, Citation]


def _mark_citation(m: re.Match) -> Citation:
    if m.group("num"):
        n = int(m.group("num"))
        page = m.group("page")
        return Citation((n,), ((n, page),) if page else ())
    if m.group("note"):
        return Citation(notes=(" ".join(m.group("note").split()),))
    return Citation(tags=(m.group("tag"),))


def mark_runs(text: str, start: int, end: int) -> list[Run]:
    """The runs of adjacent marks in ``text[start:end]`` (whitespace between marks allowed)."""
    runs: list[Run] = []
    for m in MARK_RE.finditer(text, start, end):
        c = _mark_citation(m)
        if runs and not text[runs[-1][1] : m.start()].strip():
            s, _, prev = runs[-1]
            runs[-1] = (s, m.end(), prev | c)
        else:
            runs.append((m.start(), m.end(), c))
    return runs


def _attribute(sentences: list[tuple[int, int, int]], runs: list[Run]) -> list[Citation]:
    result = []
    first = 0  # runs before this one end before the current sentence starts
    for s, e, _ in sentences:
        while first < len(runs) and runs[first][0] <= s:
            first += 1
        cit = Citation()
        prev_end = runs[first - 1][1] if first > 0 else -1
        i = first
        while i < len(runs) and prev_end < e:
            cit = cit | runs[i][2]
            if runs[i][0] >= e:
                break
            prev_end = runs[i][1]
            i += 1
        result.append(cit)
    return result


def attribute(sentences: list[tuple[int, int, int]], runs: list) -> list[tuple[int, ...]]:
    """Give each sentence the refs of every mark run whose covered text overlaps it.

    A run covers the text from the end of the previous run in the paragraph to its own start.
    ``runs`` are ``(start, end, refs)`` or ``(start, end, Citation)``.
    """
    runs = [(s, e, c if isinstance(c, Citation) else Citation(tuple(c))) for s, e, c in runs]
    return [c.refs for c in _attribute(sentences, runs)]


def _paragraph_bounds(doc_or_text: Document | str, start: int, end: int) -> tuple[str, int, int]:
    if isinstance(doc_or_text, Document):
        for p in doc_or_text.paragraphs:
            if p.start <= start < p.end or (start == end == p.end):
                return doc_or_text.text, p.start, p.end
        text = doc_or_text.text
    else:
        text = doc_or_text
    before = text.rfind("\n\n", 0, start)
    lo = before + 2 if before >= 0 else 0
    hi = text.find("\n\n", end)
    return text, lo, len(text) if hi < 0 else hi


def span_citation(doc_or_text: Document | str, start: int, end: int) -> Citation:
    """The Citation of ``text[start:end]`` by the attribution rule (see ``span_refs``)."""
    text, lo, hi = _paragraph_bounds(doc_or_text, start, end)
    return _attribute([(start, end, end)], mark_runs(text, lo, hi))[0]


def span_refs(doc_or_text: Document | str, start: int, end: int) -> tuple[int, ...]:
    """The reference numbers of any span, by the rule sentences get theirs.

    A mark covers the text since the previous mark of the same paragraph, so a span carries
    the marks inside it and the run that closes it. The paragraph is the Document's (or, for
    a plain string, the blank-line separated block) holding ``start``. Public: quote
    verification and evaluation use it.

    Example:
        >>> t = "A;[7] B.[8]"
        >>> span_refs(t, 0, 1), span_refs(t, 6, 8), span_refs(t, 0, 8)
        ((7,), (8,), (7, 8))
    """
    return span_citation(doc_or_text, start, end).refs


# --------------------------------------------------------------------------------- building


def note_position(label: str) -> int:
    """The 1-based place of a note in its list: ``"a"`` → 1, ``"ab"`` → 28, ``"note 3"`` → 3."""
    label = label.strip()
    m = re.search(r"(\d+)$", label)
    if m:
        return int(m.group(1))
    n = 0
    for ch in label.lower():
        n = n * 26 + ord(ch) - ord("a") + 1
    return n


def line_of(text: str, offset: int) -> int:
    """1-based line number of ``offset`` in ``text``."""
    return text.count("\n", 0, offset) + 1


class DocumentBuilder:
    """Collects what a reader found and builds the Document.

    A reader either hands over the file's own text (``text=``) and gives spans into it, or
    writes the rendered text piece by piece with ``write`` (HTML, wikitext, Markdown).
    """

    def __init__(self, doc_id: str, path: str, form: str, text: str | None = None):
        self.doc_id, self.path, self.form = doc_id, path, form
        self._parts: list[str] = [] if text is None else [text]
        self._len = 0 if text is None else len(text)
        self._fixed = text is not None
        self.title = ""
        self.section = ""
        self.sections: list[str] = []
        self.paragraph_spans: list[tuple[str, int, int]] = []  # (section, start, end)
        self.references: dict[int, str] = {}
        self.notes: dict[str, str] = {}
        self.warnings: list[str] = []
        self.url = ""

    @property
    def text(self) -> str:
        if len(self._parts) > 1:
            self._parts = ["".join(self._parts)]
        return self._parts[0] if self._parts else ""

    def write(self, piece: str) -> tuple[int, int]:
        """Append one block of rendered text (a blank line separates blocks); its span."""
        if self._fixed:
            raise ValueError("this builder holds the file's own text; give spans instead")
        if self._len:
            self._parts.append("\n\n")
            self._len += 2
        start = self._len
        self._parts.append(piece)
        self._len += len(piece)
        return start, self._len

    def warn(self, message: str, offset: int | None = None) -> None:
        """A one-line warning naming the file (and the line, for a file's own text)."""
        where = f"{self.path}:{line_of(self.text, offset)}" if offset is not None else self.path
        self.warnings.append(f"{where}: {message}")

    def heading(self, name: str, span: tuple[int, int] | None = None) -> None:
        """A section heading (written to the rendered text unless ``span`` says where it is)."""
        if span is None and not self._fixed:
            self.write(name)
        self.section = name
        self.sections.append(name)

    def paragraph(self, start: int, end: int) -> None:
        """A block of body text at ``text[start:end]`` in the current section."""
        self.paragraph_spans.append((self.section, start, end))

    def write_paragraph(self, text: str) -> None:
        """Write a block of body text and add it as a paragraph."""
        if text.strip():
            self.paragraph(*self.write(text))

    def reference(self, number: int, entry: str, offset: int | None = None) -> None:
        """Reference ``number``'s full entry; a second entry for the number is warned about."""
        entry = " ".join(entry.split())
        if number in self.references:
            self.warn(f"reference {number} is listed twice; keeping the first entry", offset)
        elif entry:
            self.references[number] = entry

    def build(self) -> Document:
        """The Document: sentences split and attributed, citations checked."""
        text = self.text
        doc = Document(
            doc_id=self.doc_id,
            path=self.path,
            title=self.title or self.doc_id.rsplit("/", 1)[-1].rsplit(".", 1)[0].replace("_", " "),
            text=text,
            sha256=hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest(),
            sections=self.sections,
            references=self.references,
            notes={k: " ".join(v.split()) for k, v in self.notes.items()},
            warnings=self.warnings,
            form=self.form,
            url=self.url,
        )
        n = 0
        for section, b_start, b_end in self.paragraph_spans:
            raw = sentence_spans(text, b_start, b_end)
            long = [e - s for s, e, _ in raw if e - s > MAX_SENTENCE_CHARS]
            if long:
                self.warn(
                    f"{len(long)} stretch(es) of text without sentence punctuation (the longest "
                    f"{max(long)} characters) were split at spaces into pieces of at most "
                    f"{MAX_SENTENCE_CHARS} characters",
                    b_start if self._fixed else None,
                )
            spans = [t for triple in raw for t in split_long(text, *triple)]
            cits = _attribute(spans, mark_runs(text, b_start, b_end))
            p_index = len(doc.paragraphs)
            sentences = []
            for (s, e, se), c in zip(spans, cits, strict=True):
                sentences.append(
                    Sentence(self.doc_id, n, p_index, section, s, e, se, c.refs, text[s:e],
                             c.pages, c.notes, c.tags)
                )  # fmt: skip
                n += 1
            doc.paragraphs.append(Paragraph(p_index, section, b_start, b_end, tuple(sentences)))
        self._check_citations(doc)
        return doc

    def _check_citations(self, doc: Document) -> None:
        cited: set[int] = set()
        noted: set[str] = set()
        for p in doc.paragraphs:
            for m in MARK_RE.finditer(doc.text, p.start, p.end):
                if m.group("note"):
                    label = " ".join(m.group("note").split())
                    if doc.notes and label not in doc.notes and label not in noted:
                        self.warn(f"note [{label}] has no entry in the Notes list", self._at(m))
                    noted.add(label)
                if not m.group("num"):
                    continue
                n = int(m.group("num"))
                if doc.references and n not in doc.references and n not in cited:
                    self.warn(
                        f"marker [{n}] has no entry in the References list; it is kept but "
                        "cannot be listed in full",
                        self._at(m),
                    )
                cited.add(n)
        if doc.references and not cited:
            self.warn(
                "has a References list but no [n] markers in the text; "
                "sentences will carry no references"
            )
        if cited and not doc.references:
            self.warn("has [n] markers but no References list; references cannot be listed")
        if noted and not doc.notes:
            self.warn("has note marks ([a], [note 1]) but no Notes list; notes cannot be shown")

    def _at(self, m: re.Match) -> int | None:
        return m.start() if self._fixed else None
