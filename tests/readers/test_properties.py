"""Property tests (hypothesis) of the parser and chunker on generated Wikipedia-like articles.

An article is a title, headings, paragraphs of sentences with random ``[n]`` markers (single or
runs like ``[3][7]``, at sentence ends and mid-sentence, some with a page ``[3]: 14``, some after
a space as mirrors write them), notes ``[a]``, maintenance tags ``[citation needed]`` and a
References list. The properties:
offsets are exact, no sentence or chunk boundary cuts a marker, chunks start at sentence starts
and end at sentence span ends, every ref exists in the References when the generator listed them
all, missing ones are warned about, parse_text never raises on arbitrary text, and sentence refs
equal a naive implementation of the source's convention.
"""

from __future__ import annotations

import re

from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from qa.index.chunking import ChunkerSettings, chunk_document
from qa.readers import parse_text
from qa.readers.document import MARK_RE, MARK_RUN_RE

#: How many examples: the hypothesis profile's (conftest: "fast" by default, "thorough" in CI).
SETTINGS = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
MARKER = re.compile(r"\[(\d{1,4})\]")
#: Any run of marks (references, pages, notes, tags), a space allowed before each.
MARK_RUN = re.compile(rf"\s*(?:{MARK_RUN_RE.pattern})")

# -------------------------------------------------------------------------------- strategies

_WORDS = st.sampled_from(
    [
        "tea", "river", "government", "Laos", "victims", "2007", "38", "3.5", "U.S.", "Dr.",
        "e.g.", "i.e.", "Mr.", "St.", "No.", "etc.", "J.", "a.m.", "ພາສາລາວ", "نعم", "שלום",
        "🙂", "café", "(see", "below)", '"quoted"', "it's", "—", "co-operation", "1,200",
        "Vientiane", "trafficking", "...", "…", "A.B.C.", "x[y]", "[citation", "needed]",
    ]
)  # fmt: skip
_FIRST = st.sampled_from(["The", "A", "In", "Laos", "Some", "Tea", "Its", "Between", "ພາສາ"])
_END = st.sampled_from([".", "!", "?", '."', ".”", "…", "?!"])


_OTHER_MARKS = st.sampled_from(["[a]", "[note 1]", "[citation needed]", "[when?]"])


@st.composite
def marker_run(draw, numbers):
    run = "".join(f"[{n}]" for n in draw(st.lists(numbers, min_size=1, max_size=3)))
    extra = draw(st.integers(0, 9))
    if extra == 0:  # a page number, as {{rp}} renders it
        run += draw(st.sampled_from([": 14", ":14", ": 14–15", ": 363"]))
    elif extra == 1:  # a note or a maintenance tag instead
        run = draw(_OTHER_MARKS)
    elif extra == 2:  # a mirror's space before the marker
        run = " " + run
    return run


@st.composite
def sentence(draw, numbers):
    words = [draw(_FIRST)]
    for _ in range(draw(st.integers(0, 12))):
        w = draw(_WORDS)
        if draw(st.integers(0, 9)) == 0:  # a mid-sentence marker
            w += draw(marker_run(numbers))
        words.append(w)
    text = " ".join(words) + draw(_END)
    if draw(st.booleans()):
        text += draw(marker_run(numbers))
    return text


@st.composite
def article(draw, complete_references=True):
    """(text, numbers used in paragraphs, numbers listed in References)."""
    numbers = st.integers(1, 40)
    title = draw(st.sampled_from(["Tea culture in Atlantis", "Human trafficking in Laos", "X"]))
    heading = st.sampled_from(
        ["History", "Modern era", "Prosecution (2008)", "Tier 2", "## Early years"]
    )
    blocks = [title]
    for _ in range(draw(st.integers(1, 4))):
        if draw(st.booleans()):
            blocks.append(draw(heading))
        for _ in range(draw(st.integers(1, 3))):
            sents = draw(st.lists(sentence(numbers), min_size=1, max_size=6))
            blocks.append(" ".join(sents))
    body = "\n\n".join(blocks)
    used = sorted({int(n) for n in MARKER.findall(body)})
    listed = list(used)
    if not complete_references and used:
        dropped = draw(st.sets(st.sampled_from(used), min_size=1))
        listed = [n for n in used if n not in dropped]
    extra = draw(st.lists(st.integers(41, 60), max_size=2, unique=True))
    entries = []
    for n in listed + extra:
        backlinks = " ".join("abcdef"[: draw(st.integers(0, 4))])
        entries.append(f"  {n}. ^ {backlinks} Author, A. Title {n}. Publisher. 19{n % 100:02d}.")
    refs = "\n\nReferences\n\n" + "\n".join(entries) + "\n" if entries else "\n"
    return body + refs, set(used), set(listed + extra)


CHUNKER = st.builds(
    lambda m, o, c: ChunkerSettings(m, min(o, m - 1), c),
    st.integers(1, 4),
    st.integers(0, 3),
    st.sampled_from([40, 120, 600, 5000]),
)

# ------------------------------------------------------------------------------- properties


def _inside_markers(text: str) -> set[int]:
    """Offsets strictly inside a mark (after its '[', up to its end): never a cut."""
    return {i for m in MARK_RE.finditer(text) for i in range(m.start() + 1, m.end())}


def _check_sentences(doc):
    text = doc.text
    inside = _inside_markers(text)
    for para in doc.paragraphs:
        assert text[para.start : para.end].strip() == text[para.start : para.end]
        prev = para.start
        for s in para.sentences:
            assert text[s.start : s.end] == s.text
            assert prev <= s.start < s.end <= s.span_end <= para.end
            assert MARK_RUN.fullmatch(text[s.end : s.span_end]) or s.end == s.span_end
            for pos in (s.start, s.end, s.span_end):
                assert pos not in inside, (pos, text[pos - 5 : pos + 5])
            prev = s.span_end
        # nothing but whitespace between sentences: no text is dropped
        if para.sentences:
            assert para.sentences[0].start == para.start
            assert para.sentences[-1].span_end == para.end
        for a, b in zip(para.sentences, para.sentences[1:], strict=False):
            assert text[a.span_end : b.start].strip() == ""


def _check_chunks(doc, chunks):
    text = doc.text
    inside = _inside_markers(text)
    starts = {s.start for s in doc.sentences}
    span_ends = {s.span_end for s in doc.sentences}
    by_start = {s.start: s for s in doc.sentences}
    for c in chunks:
        assert text[c.start : c.end] == c.text
        assert c.start in starts and c.end in span_ends
        assert c.start not in inside and c.end not in inside
        window = [by_start[s[0]] for s in c.sentences]
        assert window[0].start == c.start and window[-1].span_end == c.end
        assert all(s.paragraph == c.paragraph for s in window)
        refs = []
        for s in window:
            refs.extend(r for r in s.refs if r not in refs)
        assert c.refs == tuple(refs)
    # every sentence is in at least one chunk
    covered = {s[0] for c in chunks for s in c.sentences}
    assert covered == starts


def naive_refs(doc) -> list[tuple[int, ...]]:
    """The convention, literally: a marker run covers the text from the end of the previous
    run in its paragraph (or the paragraph start) to its own start; a sentence carries every
    run whose covered text overlaps the sentence's own text. Notes and maintenance tags are
    marks too (they end a run's text) but carry no reference number."""
    out = []
    for para in doc.paragraphs:
        runs = []
        prev_end = para.start
        for m in MARK_RUN_RE.finditer(doc.text, para.start, para.end):
            nums = tuple(int(n) for n in MARKER.findall(m.group(0)))
            runs.append((prev_end, m.start(), nums))
            prev_end = m.end()
        for s in para.sentences:
            refs: list[int] = []
            for cov_start, cov_end, nums in runs:
                if max(cov_start, s.start) < min(cov_end, s.end):
                    refs.extend(n for n in nums if n not in refs)
            out.append(tuple(refs))
    return out


@SETTINGS
@given(art=article(), cfg=CHUNKER)
def test_offsets_and_boundaries(art, cfg):
    text, _, _ = art
    doc = parse_text(text, "gen.txt")
    _check_sentences(doc)
    _check_chunks(doc, chunk_document(doc, cfg))


@SETTINGS
@given(art=article())
def test_sentence_refs_follow_the_convention(art):
    text, _, _ = art
    doc = parse_text(text, "gen.txt")
    assert [s.refs for s in doc.sentences] == naive_refs(doc)


@SETTINGS
@given(art=article(complete_references=True), cfg=CHUNKER)
def test_every_chunk_ref_is_in_the_references(art, cfg):
    text, used, listed = art
    doc = parse_text(text, "gen.txt")
    assert set(doc.references) == listed
    assert all(doc.references[n].startswith("Author, A. Title") for n in doc.references)
    for c in chunk_document(doc, cfg):
        assert set(c.refs) <= set(doc.references)
    cited = {r for s in doc.sentences for r in s.refs}
    assert cited <= used
    assert not [w for w in doc.warnings if "has no entry" in w]


@SETTINGS
@given(art=article(complete_references=False))
def test_missing_reference_entries_are_warned(art):
    text, used, listed = art
    doc = parse_text(text, "gen.txt")
    assume(used)
    if not listed:  # every entry dropped: the whole list is missing
        assert any("gen.txt: has [n] markers but no References list" in w for w in doc.warnings)
        return
    for n in used - listed:
        assert any(f"marker [{n}] has no entry" in w and "gen.txt:" in w for w in doc.warnings)


# Arbitrary text, and text built from the characters the parser cares about.
_PIECES = st.sampled_from(
    ["[", "]", "[1]", "[12][3]", "[99999]", "1", ".", "?", "!", "…", " ", "\n", "\n\n", "\n \n",
     "\t", "\r\n", "References", "Notes", "\n\nReferences\n\n", "1. ^ a b ", "2) ", "^", "#",
     "# Title", "U.S.", "e.g.", "Dr.", "a", "Word", "\"", "”", ")", "\ufeff", "\x00", "\ud800"]
)  # fmt: skip
_PARSER_TEXT = st.one_of(
    st.text(),
    st.text(alphabet=st.one_of(st.characters(), st.characters(categories=["Cs"]))),
    st.lists(_PIECES, max_size=60).map("".join),
)


@SETTINGS
@given(text=_PARSER_TEXT, cfg=CHUNKER)
@example(text="A\ud800 lone surrogate.[1]\n\nReferences\n\n1. ^ x", cfg=ChunkerSettings())
@example(text="\x00[1]\n\n[2][\n\n1. ^\n\nReferences\n\n1)", cfg=ChunkerSettings(1, 0, 40))
@example(text="\ufeff#\n\n# \n\n[9999][0]. .[1]", cfg=ChunkerSettings(2, 1, 40))
def test_parse_never_raises_and_offsets_hold(text, cfg):
    doc = parse_text(text, "any.txt")
    _check_sentences(doc)
    _check_chunks(doc, chunk_document(doc, cfg))
    for w in doc.warnings:
        assert w.startswith("any.txt") and "\n" not in w
