"""The one Markdown rendering of an Answer (CLI, MCP, API ``markdown``) places the source's
markers as the source writes them: ``September 2003.[1]``, never ``September 2003. [1]``."""

from __future__ import annotations

import pytest
from helpers import FakeEmbedder

from qa.answering.answer import _quote
from qa.answering.render import as_written, render_markdown
from qa.api import load_index
from qa.results import Answer


@pytest.fixture
def idx(fake_index):
    index_dir, corpus, _ = fake_index
    return load_index(index_dir, corpus, embedder=FakeEmbedder())


def _row(idx, start: str) -> int:
    rows = [i for i in range(len(idx.sentences)) if idx.sentence_text(i).startswith(start)]
    assert len(rows) == 1, start
    return rows[0]


def _answer(idx, *groups: list[int]) -> Answer:
    quotes = [_quote(idx, g, 1.0) for g in groups]
    return Answer("q?", found=True, quotes=quotes)


def test_a_quote_keeps_its_marker_against_the_full_stop(idx):
    q = _quote(idx, [_row(idx, "Laos ratified the 2000 UN TIP Protocol")], 1.0)
    assert q.written == "Laos ratified the 2000 UN TIP Protocol in September 2003.[1]"
    assert idx.document_text(q.doc_id)[q.start : q.start + len(q.written)] == q.written
    md = render_markdown(_answer(idx, [_row(idx, "Laos ratified the 2000 UN TIP Protocol")]))
    assert "> Laos ratified the 2000 UN TIP Protocol in September 2003.[1]\n" in md
    assert "2003. [1]" not in md


def test_a_multi_sentence_quote_shows_each_marker_once_where_it_stands(idx):
    """Inner markers stay where they are; the closing run is not repeated after the quote."""
    ss = idx.sentences
    first = next(
        i
        for i in range(len(ss) - 1)
        if idx.adjacent(i, i + 1)
        and ss[i].span_end > ss[i].end
        and ss[i + 1].span_end > ss[i + 1].end
        and set(ss[i].refs) != set(ss[i + 1].refs)
    )
    q = _quote(idx, [first, first + 1], 1.0)
    source = idx.document_text(q.doc_id)[q.start : ss[first + 1].span_end]
    assert as_written(q) == q.written == source
    assert render_markdown(_answer(idx, [first, first + 1])).startswith("> " + source + "\n")


def test_a_number_from_a_later_marker_follows_at_once(idx):
    """A sentence with no marker of its own is covered by the next one in its paragraph: that
    number follows the quote at once, as the source places its markers (one convention for
    every rendering, the web's copies included)."""
    doc_text = idx.document_text(idx.docs[0].doc_id)
    row = next(
        i
        for i, s in enumerate(idx.sentences)
        if s.refs and s.span_end == s.end and doc_text[s.end : s.end + 1] != "["
    )
    q = _quote(idx, [row], 1.0)
    assert as_written(q) == q.written + "".join(f"[{r}]" for r in q.refs)
