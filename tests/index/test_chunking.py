"""Chunking: exact offsets, sentence alignment, paragraph bounds, refs and settings."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qa.index.chunking import ChunkerSettings, chunk_document, chunk_documents, embed_text
from qa.index.sources import read_document
from qa.readers import parse_text
from qa.readers.document import MARKER_RE

SETTINGS = [
    ChunkerSettings(1, 0, 600),
    ChunkerSettings(2, 1, 600),
    ChunkerSettings(3, 1, 600),
    ChunkerSettings(4, 2, 600),
    ChunkerSettings(5, 0, 600),
    ChunkerSettings(3, 2, 150),  # max_chars binds before max_sentences on long sentences
    ChunkerSettings(),
]
FIXTURES = ["wiki_sample.txt", "notes.md", "missing_reference.txt", "duplicate_reference.txt"]


def check_chunks(doc, chunks, cfg: ChunkerSettings) -> None:
    """Every invariant a chunk list must satisfy."""
    assert chunks, "a document with paragraphs must give chunks"
    paragraphs = {p.index: p for p in doc.paragraphs}
    starts = {s.start: s for s in doc.sentences}
    span_ends = {s.span_end for s in doc.sentences}
    covered = set()
    for c in chunks:
        assert doc.text[c.start : c.end] == c.text
        assert c.doc_id == doc.doc_id and c.title == doc.title
        para = paragraphs[c.paragraph]
        # never crosses a paragraph
        assert para.start <= c.start < c.end <= para.end
        assert "\n\n" not in c.text
        assert c.section == para.section
        # begins at a sentence start and ends at a sentence span_end: nothing is cut
        assert c.start in starts
        assert c.end in span_ends
        assert 1 <= len(c.sentences) <= cfg.max_sentences
        assert c.sentences[0][0] == c.start and c.sentences[-1][2] == c.end
        sentence_objs = [starts[s[0]] for s in c.sentences]
        assert all(s.paragraph == c.paragraph for s in sentence_objs)
        assert [(s.start, s.end, s.span_end, s.refs) for s in sentence_objs] == list(c.sentences)
        # sentences are consecutive in the document
        idx = [s.index for s in sentence_objs]
        assert idx == list(range(idx[0], idx[0] + len(idx)))
        # refs are the ordered union of its sentences' refs
        union: list[int] = []
        for s in sentence_objs:
            union.extend(r for r in s.refs if r not in union)
        assert c.refs == tuple(union)
        # only a window of one sentence may exceed max_chars
        if len(c.sentences) > 1:
            assert c.end - c.start <= cfg.max_chars
        # no marker is cut at either end
        for m in MARKER_RE.finditer(doc.text, max(0, c.start - 6), c.end + 6):
            assert not (m.start() < c.start < m.end()) and not (m.start() < c.end < m.end())
        covered.update(idx)
    # every sentence is in some chunk
    assert covered == {s.index for s in doc.sentences}


def check_overlap(chunks, cfg: ChunkerSettings) -> None:
    for a, b in zip(chunks, chunks[1:], strict=False):
        if a.paragraph != b.paragraph:
            continue
        shared = set(a.sentences) & set(b.sentences)
        assert len(shared) == min(cfg.overlap, len(a.sentences) - 1)
        assert b.start > a.start  # windows advance


@pytest.mark.parametrize("cfg", SETTINGS, ids=str)
def test_article_chunks(article_doc, cfg):
    chunks = chunk_document(article_doc, cfg)
    check_chunks(article_doc, chunks, cfg)
    check_overlap(chunks, cfg)


@pytest.mark.parametrize("cfg", SETTINGS, ids=str)
@pytest.mark.parametrize("name", FIXTURES)
def test_fixture_chunks(data_dir, name, cfg):
    doc = read_document(data_dir / name, data_dir)
    chunks = chunk_document(doc, cfg)
    check_chunks(doc, chunks, cfg)
    check_overlap(chunks, cfg)


def test_article_chunk_refs_known(article_doc):
    chunks = chunk_document(article_doc, ChunkerSettings(2, 1, 600))
    by_text = {c.text: c for c in chunks}
    tier = next(c for t, c in by_text.items() if "Tier 3 Watchlist" in t and "Tier 2." in t)
    assert tier.refs == (3, 4)
    cases = [c for c in chunks if "38 cases" in c.text]
    assert cases and all(c.refs == (2,) and c.section == "Prosecution (2008)" for c in cases)
    sex = next(c for c in chunks if c.text.startswith("Laos is mainly an origin country"))
    assert sex.refs == (6, 7, 8, 9)


def test_single_sentence_chunks_equal_sentences(article_doc):
    chunks = chunk_document(article_doc, ChunkerSettings(1, 0, 600))
    assert [(c.start, c.end) for c in chunks] == [
        (s.start, s.span_end) for s in article_doc.sentences
    ]


def test_chunk_documents_keeps_corpus_order(article_doc, data_dir):
    other = read_document(data_dir / "notes.md", data_dir)
    cfg = ChunkerSettings(2, 1, 600)
    chunks = chunk_documents([other, article_doc], cfg)
    assert chunks == chunk_document(other, cfg) + chunk_document(article_doc, cfg)


def test_embed_text_has_context_and_no_markers(article_doc):
    chunks = chunk_document(article_doc, ChunkerSettings(2, 1, 600))
    c = next(c for c in chunks if c.section == "Sex trafficking")
    assert c.embed_text.startswith("Human trafficking in Laos — Sex trafficking: ")
    assert "[6]" in c.text and not MARKER_RE.search(c.embed_text)
    assert embed_text("", "", "A  b\n c.[1]") == "A b c."


def test_chunks_are_deterministic(article_doc):
    cfg = ChunkerSettings(3, 1, 600)
    assert chunk_document(article_doc, cfg) == chunk_document(article_doc, cfg)


@pytest.mark.parametrize(
    ("max_sentences", "overlap"), [(2, 2), (2, 3), (1, 1), (0, 0), (3, -1), (-1, 0)]
)
def test_settings_validation(max_sentences, overlap):
    with pytest.raises(ValueError, match="overlap"):
        ChunkerSettings(max_sentences, overlap)


def test_settings_to_dict():
    assert ChunkerSettings(4, 2, 300).to_dict() == {
        "max_sentences": 4,
        "overlap": 2,
        "max_chars": 300,
    }


# --------------------------------------------------------------------- generated documents

_words = st.sampled_from(["alpha", "beta", "Gamma", "delta", "U.S.", "e.g.", "42", "Dr."])
_marker = st.integers(1, 12).map(lambda n: f"[{n}]")
_sentence = st.builds(
    lambda first, words, end, markers: " ".join([first, *words]) + end + "".join(markers),
    st.sampled_from(["The", "A", "Some", "Laos", "In"]),
    st.lists(st.one_of(_words, _words.flatmap(lambda w: _marker.map(lambda m: w + m))), max_size=8),
    st.sampled_from([".", "!", "?", '."', ".)"]),
    st.lists(_marker, max_size=3),
)
_paragraph = st.lists(_sentence, min_size=1, max_size=6).map(" ".join)


@settings(deadline=None, database=None)  # examples: the profile's (conftest)
@given(
    paragraphs=st.lists(_paragraph, min_size=1, max_size=4),
    max_sentences=st.integers(1, 4),
    overlap=st.integers(0, 3),
    max_chars=st.sampled_from([40, 120, 600]),
)
def test_generated_documents(paragraphs, max_sentences, overlap, max_chars):
    overlap = min(overlap, max_sentences - 1)
    cfg = ChunkerSettings(max_sentences, overlap, max_chars)
    text = "Generated\n\n" + "\n\nSection\n\n".join(paragraphs) + "\n"
    doc = parse_text(text, "gen.txt")
    for s in doc.sentences:
        assert text[s.start : s.end] == s.text
    chunks = chunk_document(doc, cfg)
    check_chunks(doc, chunks, cfg)
    check_overlap(chunks, cfg)
