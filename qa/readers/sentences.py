"""Inline marks and sentence splitting, shared by every reader.

Hand-written rather than a library (NLTK's punkt, spaCy, pySBD): the splitter must treat the
source's own marks as part of the sentence they close (``…point.[2]: 14 Next``,
``…2003. [1]``, ``…claim.[citation needed]``), never cut inside one, and return exact offsets
into the text it was given; none of those libraries knows Wikipedia's marks, and each would
add a model or a large dependency for a few regular expressions.

The marks, as the rendered page shows them:

- a reference ``[2]`` (also runs ``[7][8][9]``), with an optional page ``[2]: 14``,
  ``[2]: 14–15``, ``[2]:14`` (Wikipedia's ``{{rp}}``);
- a note ``[a]``, ``[note 1]``, ``[nb 1]`` (points into a Notes list, not References);
- a maintenance tag ``[citation needed]``, ``[when?]``, ``[dubious – discuss]`` … (no reference).
"""

from __future__ import annotations

import re

#: Longest stretch kept as one sentence; longer runs without sentence punctuation are split at
#: whitespace so that chunks stay embeddable (a 5 MB line must not become one "sentence").
MAX_SENTENCE_CHARS = 1000

#: A numbered reference marker ``[n]`` (references only; see MARK_RE for every mark).
MARKER_RE = re.compile(r"\[(\d{1,4})\]")

_NOTE = r"[a-z]{1,2}|(?:note|Note|nb|NB|n|N) ?\d{1,3}"
# Wikipedia's inline cleanup templates as rendered: "[citation needed]", "[when?]",
# "[dubious – discuss]", "[failed verification]" … A short lowercase phrase ending in "needed"
# or "?" or "– discuss" is one too; an editorial "[the king]" inside a quotation is not.
_TAG = (
    r"[a-z][a-z()'’ -]{1,40} needed|[a-z][a-z,'’ -]{0,40}\?|[a-z][a-z ]{1,30} [–-] discuss"
    r"|failed verification|dead link|permanent dead link|not in citation given|vague"
    r"|disputed|specify|unbalanced opinion|attribution needed|excessive citations"
)
_PAGE = r"(?:pp?\.\s?)?\d{1,5}(?:\s?[–-]\s?\d{1,5})?(?:,\s?\d{1,5}(?:[–-]\d{1,5})?)*(?![\w])"
#: Any inline mark; the ``num``/``note``/``tag`` group says which, ``page`` the {{rp}} page.
MARK_RE = re.compile(
    rf"\[(?:(?P<num>\d{{1,4}})|(?P<note>{_NOTE})|(?P<tag>{_TAG}))\]"
    rf"(?(num)(?::[ \u00a0]?(?P<page>{_PAGE}))?)"
)
# The same marks without named groups, to repeat inside other patterns.
_MARK = rf"(?:\[\d{{1,4}}\](?::[ \u00a0]?{_PAGE})?|\[(?:{_NOTE}|{_TAG})\])"
#: A run of adjacent marks (whitespace allowed between them): ``[7][8][9]``, ``[2]: 14 [a]``.
MARK_RUN_RE = re.compile(rf"{_MARK}(?:\s*{_MARK})*")
# A sentence end: terminal punctuation, optional closing quotes/brackets, optional marks (a
# mirror puts a space before them: "in 2003. [1]").
_SENT_END_RE = re.compile(
    rf"(?P<punct>[.!?…]+[\"'”’)\]]*)(?P<marks>(?:[ \t\u00a0]*{_MARK})*)(?=\s|$)"
)
_TRAILING_MARKS_RE = re.compile(rf"(?:\s*{_MARK})+$")
_NEXT_CHAR_RE = re.compile(r"\s*(\S)")
_ABBREVIATIONS = set(
    "mr mrs ms dr prof st jr sr vs etc inc ltd co corp no nos fig al approx dept est gen gov "
    "jan feb mar apr jun jul aug sep sept oct nov dec e.g i.e cf vol pp p mt ft lt col sgt "
    "capt rev hon".split()
)
#: Tags that say a claim lacks a (good) source; the others ask for precision ("[when?]").
_UNSOURCED_WORDS = ("citation", "source", "verification", "dubious", "original research")


def is_unsourced_tag(tag: str) -> bool:
    """True for a maintenance tag that says the claim needs a citation or a better one."""
    return any(w in tag for w in _UNSOURCED_WORDS)


def strip_markers(text: str) -> str:
    """Remove inline marks (for embedding and matching, never for quoting)."""
    return MARK_RE.sub("", text)


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

    Returns ``(start, end, span_end)`` triples: ``end`` stops before trailing marks,
    ``span_end`` after them. Never cuts inside a mark.

    Example:
        >>> t = "It is deep.[2]: 14 It is cold.[3]"
        >>> [t[s:e] for s, e, _ in split_sentences(t, 0, len(t))]
        ['It is deep.', 'It is cold.']
    """
    return [t for triple in sentence_spans(text, start, end) for t in split_long(text, *triple)]


def sentence_spans(text: str, start: int, end: int) -> list[tuple[int, int, int]]:
    """Sentences of ``text[start:end]`` at punctuation only, however long they are."""
    out: list[tuple[int, int, int]] = []
    s = start
    for m in _SENT_END_RE.finditer(text, start, end):
        punct_end = m.end("punct")
        has_marks = m.end() > punct_end
        if m.group(0)[0] == "." and _ends_with_abbreviation(text, m.start()):
            nxt = _NEXT_CHAR_RE.match(text, m.end(), min(end, m.end() + 5))
            if not (has_marks or (nxt and nxt.group(1).isdigit())):
                continue
        nxt = _NEXT_CHAR_RE.match(text, m.end(), end)
        if nxt and nxt.group(1).islower():
            continue  # "e.g. something" or an ellipsis inside a sentence
        if punct_end > s:
            out.append((s, punct_end, m.end()))
        s = m.end()
        while s < end and text[s].isspace():
            s += 1
    if s < end and text[s:end].strip():
        mm = _TRAILING_MARKS_RE.search(text, s, end)
        out.append((s, mm.start() if mm and mm.start() > s else end, end))
    return out


def _outside_marks(text: str, s: int, e: int, cut: int) -> int:
    """``cut``, moved before any mark it would fall inside (or after it, if that is at ``s``)."""
    for m in MARK_RE.finditer(text, max(s, cut - 60), min(e, cut + 60)):
        if m.start() < cut < m.end():
            return m.start() if m.start() > s else m.end()
    return cut


def split_long(text: str, s: int, e: int, span_end: int) -> list[tuple[int, int, int]]:
    """A sentence longer than MAX_SENTENCE_CHARS, cut at spaces (never inside a mark)."""
    if e - s <= MAX_SENTENCE_CHARS:
        return [(s, e, span_end)]
    pieces = []
    while e - s > MAX_SENTENCE_CHARS:
        cut = text.rfind(" ", s + MAX_SENTENCE_CHARS // 2, s + MAX_SENTENCE_CHARS)
        if cut <= s:
            cut = s + MAX_SENTENCE_CHARS
        cut = _outside_marks(text, s, e, cut)
        pieces.append((s, cut, cut))
        s = cut
        while s < e and text[s].isspace():
            s += 1
    pieces.append((s, e, span_end))
    return pieces
