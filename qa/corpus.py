"""Parse source texts into Documents: sections, paragraphs, sentences, citations, references.

The main target is Wikipedia's plain-text form: a title line, short heading lines, paragraphs
with inline markers ``[n]`` (also runs like ``[7][8][9]``) and a ``References`` list whose
entries may carry back-links (``^ a b c``). Any other ``.txt``/``.md`` file is read as plain
paragraphs.

Citation attribution follows the source's convention: a marker covers the text since the
previous marker in the same paragraph. A sentence after the last marker of its paragraph
carries no references.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path

from .errors import CorpusError

log = logging.getLogger(__name__)

SUFFIXES = (".txt", ".md")
#: Longest stretch kept as one sentence; longer runs without sentence punctuation are split at
#: whitespace so that chunks stay embeddable (a 5 MB line must not become one "sentence").
MAX_SENTENCE_CHARS = 1000
REFERENCE_HEADINGS = {"references", "notes", "citations", "sources", "footnotes"}
MARKER_RE = re.compile(r"\[(\d{1,4})\]")
MARKER_RUN_RE = re.compile(r"(?:\[\d{1,4}\])+")
_REF_ENTRY_RE = re.compile(r"^\s*(\d{1,4})[.)]\s+(.*\S)\s*$")
_BACKLINK_RE = re.compile(r"^\^\s*((?:[a-z]{1,2}\s+)*)")
_ABBREVIATIONS = {
    "mr",
    "mrs",
    "ms",
    "dr",
    "prof",
    "st",
    "jr",
    "sr",
    "vs",
    "etc",
    "inc",
    "ltd",
    "co",
    "corp",
    "no",
    "nos",
    "fig",
    "al",
    "approx",
    "dept",
    "est",
    "gen",
    "gov",
    "jan",
    "feb",
    "mar",
    "apr",
    "jun",
    "jul",
    "aug",
    "sep",
    "sept",
    "oct",
    "nov",
    "dec",
    "e.g",
    "i.e",
    "cf",
    "vol",
    "pp",
    "p",
    "mt",
    "ft",
    "lt",
    "col",
    "sgt",
    "capt",
    "rev",
    "hon",
}
# A sentence end: terminal punctuation, optional closing quotes/brackets, optional markers.
_NEXT_CHAR_RE = re.compile(r"\s*(\S)")
_SPACE_RE = re.compile(r"\s*")
_SENT_END_RE = re.compile(r"[.!?…]+[\"'”’)\]]*(?:\[\d{1,4}\])*(?=\s|$)")


@dataclass(frozen=True)
class Sentence:
    """One sentence: ``text`` excludes its trailing citation markers, ``span_end`` includes them."""

    doc_id: str
    index: int
    paragraph: int
    section: str
    start: int
    end: int
    span_end: int
    refs: tuple[int, ...]
    text: str


@dataclass(frozen=True)
class Paragraph:
    """A block of text between blank lines, outside the References list."""

    index: int
    section: str
    start: int
    end: int
    sentences: tuple[Sentence, ...]


@dataclass
class Document:
    """A parsed source file. All offsets index into ``text`` (the file's exact content)."""

    doc_id: str
    path: str
    title: str
    text: str
    sha256: str
    sections: list[str] = field(default_factory=list)
    paragraphs: list[Paragraph] = field(default_factory=list)
    references: dict[int, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    @property
    def sentences(self) -> list[Sentence]:
        """All sentences of the document in reading order."""
        return [s for p in self.paragraphs for s in p.sentences]


def strip_markers(text: str) -> str:
    """Remove inline ``[n]`` markers (for embedding and matching, never for quoting)."""
    return MARKER_RE.sub("", text)


def _line_of(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


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


def _is_heading(block: str) -> bool:
    if "\n" in block or len(block) > 80 or MARKER_RE.search(block):
        return False
    if block.startswith("#"):
        return True
    words = block.split()
    # "Laos.)" or 'It ended."' is a sentence: look past closing brackets and quotes.
    core = block.rstrip(")]\"'”’") or block
    return 0 < len(words) <= 10 and core[-1] not in ".!?…:;," and block[0].isupper()


def _ends_with_abbreviation(text: str, dot: int) -> bool:
    """True when the period at ``dot`` closes an abbreviation or an initial, not a sentence."""
    m = re.search(r"([A-Za-z][A-Za-z.]*)$", text[max(0, dot - 20) : dot])
    if not m:
        return False
    word = m.group(1)
    if re.fullmatch(r"(?:[A-Za-z]\.)+[A-Za-z]", word):  # U.S  e.g  i.e
        return True
    if len(word) == 1 and word.isupper():  # an initial: "J. Smith"
        return True
    return word.lower() in _ABBREVIATIONS


def split_sentences(text: str, start: int, end: int) -> list[tuple[int, int, int]]:
    """Split ``text[start:end]`` into sentences.

    Returns ``(start, end, span_end)`` triples: ``end`` stops before trailing markers,
    ``span_end`` after them. Never cuts inside a marker.
    """
    return [t for triple in _sentence_spans(text, start, end) for t in _split_long(text, *triple)]


def _sentence_spans(text: str, start: int, end: int) -> list[tuple[int, int, int]]:
    """Sentences of ``text[start:end]`` at punctuation only, however long they are."""
    out: list[tuple[int, int, int]] = []
    s = start
    for m in _SENT_END_RE.finditer(text, start, end):
        punct_end = m.start() + len(m.group(0).split("[", 1)[0])
        if m.group(0)[0] == "." and _ends_with_abbreviation(text, m.start()):
            nxt = _NEXT_CHAR_RE.match(text, m.end(), min(end, m.end() + 5))
            if not (m.group(0).find("[") >= 0 or (nxt and nxt.group(1).isdigit())):
                continue
        nxt = _NEXT_CHAR_RE.match(text, m.end(), end)
        if nxt and nxt.group(1).islower():
            continue  # "e.g. something" or an ellipsis inside a sentence
        if punct_end > s:
            out.append((s, punct_end, m.end()))
        space = _SPACE_RE.match(text, m.end(), end)
        s = space.end() if space else m.end()
    if s < end and text[s:end].strip():
        tail_end = end
        mm = re.search(r"(?:\[\d{1,4}\])+$", text[s:end])
        out.append((s, s + mm.start() if mm and mm.start() > 0 else tail_end, tail_end))
    return out


def _split_long(text: str, s: int, e: int, span_end: int) -> list[tuple[int, int, int]]:
    if e - s <= MAX_SENTENCE_CHARS:
        return [(s, e, span_end)]
    pieces = []
    while e - s > MAX_SENTENCE_CHARS:
        cut = text.rfind(" ", s + MAX_SENTENCE_CHARS // 2, s + MAX_SENTENCE_CHARS)
        if cut <= s:
            cut = s + MAX_SENTENCE_CHARS
            # never cut a marker: move the cut before an open bracket
            open_b = text.rfind("[", cut - 6, cut)
            if open_b > s and "]" not in text[open_b:cut]:
                cut = open_b
        pieces.append((s, cut, cut))
        s = cut
        while s < e and text[s].isspace():
            s += 1
    pieces.append((s, e, span_end))
    return pieces


def _marker_runs(text: str, start: int, end: int) -> list[tuple[int, int, tuple[int, ...]]]:
    return [
        (m.start(), m.end(), tuple(int(n) for n in MARKER_RE.findall(m.group(0))))
        for m in MARKER_RUN_RE.finditer(text, start, end)
    ]


def attribute(
    sentences: list[tuple[int, int, int]], runs: list[tuple[int, int, tuple[int, ...]]]
) -> list[tuple[int, ...]]:
    """Give each sentence the refs of every marker run whose covered text overlaps it.

    A run covers the text from the end of the previous run in the paragraph to its own start.
    """
    result = []
    first = 0  # runs before this one end before the current sentence starts
    for s, e, _ in sentences:
        while first < len(runs) and runs[first][0] <= s:
            first += 1
        refs: list[int] = []
        prev_end = runs[first - 1][1] if first > 0 else -1
        i = first
        while i < len(runs) and prev_end < e:
            refs.extend(n for n in runs[i][2] if n not in refs)
            if runs[i][0] >= e:
                break
            prev_end = runs[i][1]
            i += 1
        result.append(tuple(refs))
    return result


def _parse_reference_block(doc: Document, text: str, start: int, end: int) -> None:
    for m in re.finditer(r"[^\n]+", text[start:end]):
        line = m.group(0)
        entry = _REF_ENTRY_RE.match(line)
        if not entry:
            continue
        number, body = int(entry.group(1)), entry.group(2)
        back = _BACKLINK_RE.match(body)
        if back:
            letters = back.group(1).split()
            expected = [chr(ord("a") + i) for i in range(len(letters))]
            # "^ a b c" back-links are sequential letters; anything else is entry text.
            body = body[back.end() :] if letters == expected else body[1:].lstrip()
        if number in doc.references:
            doc.warnings.append(
                f"{doc.path}:{_line_of(text, start + m.start())}: reference {number} is listed "
                "twice; keeping the first entry"
            )
            continue
        doc.references[number] = body.strip()


def parse_text(text: str, doc_id: str, path: str | None = None) -> Document:
    """Parse one document's text.

    Example:
        >>> doc = parse_text("Title\\n\\nA fact.[1]\\n\\nReferences\\n\\n1. ^ Source.\\n", "t")
        >>> doc.sentences[0].refs
        (1,)
    """
    path = path or doc_id
    doc = Document(
        doc_id=doc_id,
        path=path,
        title=Path(doc_id).stem.replace("_", " "),
        text=text,
        sha256=hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest(),
    )
    blocks = _blocks(text)
    section = ""
    in_refs = False
    first = True
    sent_index = 0
    for b_start, b_end in blocks:
        block = text[b_start:b_end]
        if first:
            first = False
            if _is_heading(block) or (block.startswith("# ") and "\n" not in block):
                doc.title = block.lstrip("#").strip()
                continue
        if _is_heading(block):
            name = block.lstrip("#").strip()
            in_refs = name.lower() in REFERENCE_HEADINGS
            if not in_refs:
                section = name
                doc.sections.append(name)
            continue
        if in_refs:
            _parse_reference_block(doc, text, b_start, b_end)
            continue
        raw = _sentence_spans(text, b_start, b_end)
        long = [e - s for s, e, _ in raw if e - s > MAX_SENTENCE_CHARS]
        if long:
            doc.warnings.append(
                f"{doc.path}:{_line_of(text, b_start)}: {len(long)} stretch(es) of text without "
                f"sentence punctuation (the longest {max(long)} characters) were split at spaces "
                f"into pieces of at most {MAX_SENTENCE_CHARS} characters"
            )
        spans = [t for triple in raw for t in _split_long(text, *triple)]
        refs = attribute(spans, _marker_runs(text, b_start, b_end))
        p_index = len(doc.paragraphs)
        sentences = []
        for (s, e, se), r in zip(spans, refs, strict=True):
            sentences.append(Sentence(doc_id, sent_index, p_index, section, s, e, se, r, text[s:e]))
            sent_index += 1
        doc.paragraphs.append(Paragraph(p_index, section, b_start, b_end, tuple(sentences)))
    _check_citations(doc)
    return doc


def _check_citations(doc: Document) -> None:
    cited: set[int] = set()
    markers = (m for p in doc.paragraphs for m in MARKER_RE.finditer(doc.text, p.start, p.end))
    for m in markers:
        n = int(m.group(1))
        cited.add(n)
        if doc.references and n not in doc.references:
            doc.warnings.append(
                f"{doc.path}:{_line_of(doc.text, m.start())}: marker [{n}] has no entry in the "
                "References list; it is kept but cannot be listed in full"
            )
    if doc.references and not cited:
        doc.warnings.append(
            f"{doc.path}: has a References list but no [n] markers in the text; "
            "sentences will carry no references"
        )
    if cited and not doc.references:
        doc.warnings.append(
            f"{doc.path}: has [n] markers but no References list; references cannot be listed"
        )


def read_document(path: Path, root: Path) -> Document:
    """Read and parse one file; raises CorpusError naming the file when it cannot be used."""
    doc_id = path.relative_to(root).as_posix()
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise CorpusError(f"{path}: cannot be read ({e.strerror}); check its permissions") from e
    if b"\x00" in raw[:8192]:
        raise CorpusError(
            f"{path}: looks like a binary file (NUL bytes); remove it from the corpus"
        )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        raise CorpusError(
            f"{path}:{line}: is not valid UTF-8 (byte {e.start}); re-save the file as UTF-8"
        ) from e
    if text.startswith("\ufeff"):
        text = text[1:]
    if not text.strip():
        raise CorpusError(f"{path}: is empty; add text or remove the file")
    doc = parse_text(text, doc_id, str(path))
    if not doc.paragraphs:
        raise CorpusError(f"{path}: has no paragraphs of text to index")
    return doc


def corpus_files(corpus_dir: Path) -> list[Path]:
    """The ``.txt``/``.md`` files under ``corpus_dir``, sorted; hidden files are skipped."""
    corpus_dir = Path(corpus_dir)
    if corpus_dir.exists() and not corpus_dir.is_dir():
        raise CorpusError(
            f"corpus directory {corpus_dir} is a file, not a directory; point --corpus (or "
            "QA_CORPUS_DIR) at a directory of .txt or .md files"
        )
    if not corpus_dir.is_dir():
        raise CorpusError(
            f"corpus directory {corpus_dir} does not exist; create it and put .txt or .md files "
            "in it (or set QA_CORPUS_DIR)"
        )
    return sorted(
        p
        for p in corpus_dir.rglob("*")
        if p.is_file()
        and p.suffix.lower() in SUFFIXES
        and not any(part.startswith(".") for part in p.relative_to(corpus_dir).parts)
    )


def corpus_fingerprint(corpus_dir: Path) -> dict[str, str]:
    """SHA-256 of every corpus file (usable or not), keyed by path relative to the corpus."""
    corpus_dir = Path(corpus_dir)
    out = {}
    for p in corpus_files(corpus_dir):
        with open(p, "rb") as f:
            out[p.relative_to(corpus_dir).as_posix()] = hashlib.file_digest(f, "sha256").hexdigest()
    return out


def load_corpus(corpus_dir: Path) -> tuple[list[Document], list[str]]:
    """Parse every usable file of ``corpus_dir``.

    Returns the documents and the warnings (bad files are skipped with a warning naming them,
    so a good file beside a bad one is still indexed). Raises CorpusError when nothing is usable.

    Example:
        >>> docs, warnings = load_corpus(Path("corpus"))  # doctest: +SKIP
    """
    files = corpus_files(corpus_dir)
    if not files:
        raise CorpusError(f"corpus directory {corpus_dir} has no .txt or .md files; add some")
    docs, warnings = [], []
    for path in files:
        try:
            doc = read_document(path, Path(corpus_dir))
        except CorpusError as e:
            warnings.append(f"skipped {e}")
            continue
        warnings.extend(doc.warnings)
        docs.append(doc)
    for w in warnings:
        log.warning(w)
    if not docs:
        raise CorpusError(
            f"no usable file in {corpus_dir}: " + "; ".join(warnings) if warnings else ""
        )
    return docs, warnings
