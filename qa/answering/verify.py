"""Is this text in the source, verbatim, and are its reference numbers the source's?

``verify_with_index(index, text)`` looks for the text in every document's rendered text after
normalising only whitespace (any run is one space) and quote marks (curly and straight
apostrophes and quotes are the same); citation markers are set aside on both sides and
checked separately. A match gives the document, section, offsets and the source's reference
numbers for the span, by the source's rule (DESIGN.md, "Citation attribution"): a marker run
covers the text since the previous run in its paragraph, so a span's refs are the runs inside
it plus the run that closes the text it ends in. Markers the text itself carries ("… 2003.[1]")
are claims, each checked against the source's refs for the text it follows. When the text is
not verbatim, the closest sentence (or run of sentences) is found lexically (BM25, then
difflib) and a word-level diff says what differs.
"""

from __future__ import annotations

import bisect
import difflib
import re
import threading
import weakref

from ..errors import QuestionError
from ..index.loaded import LoadedIndex
from ..index.records import SentenceRecord
from ..index.text import tokenize
from ..readers.sentences import MARK_RUN_RE, MARKER_RE
from ..results import DiffOp, RefCheck, Reference, Verification

#: Longest text accepted for checking (a few paragraphs).
MAX_VERIFY_CHARS = 5000
_QUOTES = str.maketrans(
    {"\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'",
     "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"'}
)  # fmt: skip
_SPACE_RE = re.compile(r"\s+")
_SENTENCE_END_RE = re.compile(r"[.!?…](?:\s|$)")


# ------------------------------------------------------------------------- normalisation


def normalize(text: str) -> tuple[str, list[int], list[tuple[int, tuple[int, ...]]]]:
    """Text with markers removed, quote marks unified and whitespace runs made one space.

    Returns the normalised text, the original offset of each of its characters, and the marker
    runs removed: ``(position in the normalised text, numbers)``.
    """
    chars: list[str] = []
    offsets: list[int] = []
    runs: list[tuple[int, tuple[int, ...]]] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c == "[":
            m = MARK_RUN_RE.match(text, i)
            if m:
                runs.append((len(chars), tuple(int(x) for x in MARKER_RE.findall(m.group(0)))))
                i = m.end()
                continue
        if c.isspace():
            if chars and chars[-1] != " ":
                chars.append(" ")
                offsets.append(i)
            i += 1
            continue
        chars.append(c.translate(_QUOTES))
        offsets.append(i)
        i += 1
    return "".join(chars), offsets, runs


def span_refs(
    text: str, start: int, end: int, paragraph_end: int
) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """The source's refs for ``text[start:end]``, and those of the run that closes its end.

    The runs inside the span, plus the first run at or after ``end`` in the paragraph (it
    closes the text the span ends in; none when the paragraph's last marker comes before).
    The same rule as ``span_refs``, which gives the refs alone; claims also need the
    closing run. Notes, page numbers and maintenance tags are marks too (``MARK_RUN_RE``): a
    run of only a note or tag closes the text before it and carries no reference.
    """
    refs: list[int] = []
    for m in MARK_RUN_RE.finditer(text, start, max(paragraph_end, end)):
        run = tuple(int(x) for x in MARKER_RE.findall(m.group(0)))
        refs.extend(n for n in run if n not in refs)
        if m.start() >= end:
            return tuple(refs), run
    return tuple(refs), ()


class _DocView:
    """One document's normalised text, sentence spans and paragraph ends, built once."""

    def __init__(self, index: LoadedIndex, doc: int, rows: list[SentenceRecord]):
        d = index.docs[doc]
        self.doc_id, self.title, self.text = d.doc_id, d.title, d.text
        self.norm, self.offsets, _ = normalize(d.text)
        self.sentences = sorted(rows, key=lambda s: s.start)
        self.starts = [s.start for s in self.sentences]
        self.paragraph_end: dict[int, int] = {}
        for s in self.sentences:
            self.paragraph_end[s.paragraph] = max(
                self.paragraph_end.get(s.paragraph, 0), s.span_end
            )

    def sentence_at(self, offset: int) -> SentenceRecord | None:
        i = bisect.bisect_right(self.starts, offset) - 1
        return self.sentences[max(i, 0)] if self.sentences else None

    def refs(self, start: int, end: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
        last = self.sentence_at(max(start, end - 1))
        para_end = self.paragraph_end.get(last.paragraph, end) if last else end
        return span_refs(self.text, start, end, para_end)


_VIEWS: weakref.WeakKeyDictionary[LoadedIndex, list[_DocView]] = weakref.WeakKeyDictionary()
_VIEWS_LOCK = threading.Lock()


def _views(index: LoadedIndex) -> list[_DocView]:
    with _VIEWS_LOCK:
        views = _VIEWS.get(index)
        if views is None:
            rows: list[list[SentenceRecord]] = [[] for _ in index.docs]
            for s in index.sentences:
                rows[s.doc].append(s)
            views = [_DocView(index, i, rows[i]) for i in range(len(index.docs))]
            _VIEWS[index] = views
        return views


# ------------------------------------------------------------------------------ checking


def check_text(text: object) -> str:
    """The text to verify, refused with a QuestionError saying why when it cannot be checked."""
    if not isinstance(text, str):
        raise QuestionError(f"the text to verify must be text, not {type(text).__name__}")
    if len(text) > MAX_VERIFY_CHARS:
        raise QuestionError(
            f"the text to verify has {len(text)} characters; the limit is {MAX_VERIFY_CHARS}. "
            "Check it a paragraph at a time"
        )
    if not normalize(text)[0].strip():
        raise QuestionError("the text to verify is empty; give the passage to look for")
    return text


def verify_with_index(index: LoadedIndex, text: str) -> Verification:
    """Look ``text`` up verbatim in ``index``'s documents (see the module docstring)."""
    text = check_text(text)
    given, _, claims = normalize(text)
    lead = len(given) - len(given.lstrip())
    given = given.strip()
    claims = [(max(0, min(pos - lead, len(given))), nums) for pos, nums in claims]
    for view in _views(index):
        at = view.norm.find(given)
        if at < 0:
            continue
        start, end = view.offsets[at], view.offsets[at + len(given) - 1] + 1
        refs, closing = view.refs(start, end)
        first = view.sentence_at(start)
        checks: list[RefCheck] = []
        prev = 0
        for pos, nums in claims:
            segment = given[prev:pos]
            if not segment.strip():  # "[7] [8]": one claim; a run before any text claims none
                if checks:
                    c = checks.pop()
                    checks.append(
                        RefCheck(c.text, tuple(dict.fromkeys(c.claimed + nums)), c.source)
                    )
                continue
            lo = prev + len(segment) - len(segment.lstrip())
            hi = prev + len(segment.rstrip())
            a, b = view.offsets[at + lo], view.offsets[at + hi - 1] + 1
            checks.append(RefCheck(given[lo:hi], nums, view.refs(a, b)[0]))
            prev = pos
        return Verification(
            text=text,
            verbatim=True,
            doc_id=view.doc_id,
            title=view.title,
            section=first.section if first else "",
            start=start,
            end=end,
            quote=view.text[start:end],
            refs=refs,
            closing_refs=closing,
            references=_references(index, view.doc_id, refs),
            ref_checks=checks,
        )
    return _closest(index, text, given, claims)


def _references(index: LoadedIndex, doc_id: str, refs: tuple[int, ...]) -> list[Reference]:
    entries = index.references(doc_id)
    return [Reference(doc_id, n, entries[n]) for n in refs if n in entries]


def _closest(
    index: LoadedIndex, text: str, given: str, claims: list[tuple[int, tuple[int, ...]]]
) -> Verification:
    """Not verbatim: the nearest sentence window among the best BM25 chunks, and a word diff."""
    words = given.split()
    lex = index.bm25.scores(tokenize(given))
    top = [int(i) for i in lex.argsort()[::-1][:8] if lex[i] > 0]
    n_sentences = max(1, len(_SENTENCE_END_RE.findall(given)))
    views = _views(index)
    best: tuple[float, int, int, int] | None = None  # (ratio, doc, start, end)
    seen: set[tuple[int, int]] = set()
    for ci in top:
        rows = list(index.chunks[ci].sentences)
        for i in range(len(rows)):
            for width in range(1, n_sentences + 2):
                window = rows[i : i + width]
                if len(window) < width:
                    break
                first, last = index.sentences[window[0]], index.sentences[window[-1]]
                if (first.start, last.end) in seen or first.paragraph != last.paragraph:
                    continue
                seen.add((first.start, last.end))
                source = normalize(views[first.doc].text[first.start : last.end])[0].split()
                ratio = difflib.SequenceMatcher(None, source, words, autojunk=False).ratio()
                if best is None or ratio > best[0]:
                    best = (ratio, first.doc, first.start, last.end)
    result = Verification(text=text, verbatim=False)
    if best is None:
        return result
    ratio, doc, start, end = best
    view = views[doc]
    refs, closing = view.refs(start, end)
    source = normalize(view.text[start:end])[0].split()
    claimed = tuple(dict.fromkeys(n for _, nums in claims for n in nums))
    result.doc_id, result.title = view.doc_id, view.title
    sentence = view.sentence_at(start)
    result.section = sentence.section if sentence else ""
    result.closest, result.closest_start, result.closest_end = view.text[start:end], start, end
    result.refs, result.closing_refs, result.similarity = refs, closing, round(ratio, 4)
    result.references = _references(index, view.doc_id, refs)
    result.diff = _diff(source, words)
    if claimed:
        result.ref_checks = [RefCheck(given, claimed, refs)]
    return result


def _diff(source: list[str], given: list[str]) -> list[DiffOp]:
    sm = difflib.SequenceMatcher(None, source, given, autojunk=False)
    return [
        DiffOp(op, " ".join(source[i1:i2]), " ".join(given[j1:j2]))
        for op, i1, i2, j1, j2 in sm.get_opcodes()
    ]
