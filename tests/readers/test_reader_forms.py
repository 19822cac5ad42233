"""Every form of the article gives the bundled .txt's sentences, refs, References and answers.

The forms in tests/data/forms/ are written by tests/data/make_forms.py from the plain text
(corpus/human_trafficking_in_laos.txt with one page-number mark added, and
tests/data/lake_atlantis.txt with notes, maintenance tags and pages): a browser copy (current
and older skin), a mirror's text, a saved page (.html), the wikitext (.wiki) and Markdown.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from helpers import FakeEmbedder

from qa.answering.answer import answer_with_index
from qa.api import load_index
from qa.index.build import build_index
from qa.index.chunking import chunk_document
from qa.index.sources import read_document
from qa.readers.document import MARK_RE, strip_markers

DATA = Path(__file__).resolve().parents[1] / "data"
FORMS = DATA / "forms"
ROOT = DATA.parent.parent
ARTICLE = ROOT / "corpus" / "human_trafficking_in_laos.txt"
SUFFIXES = [".browser.txt", ".browser_old_skin.txt", ".mirror.txt", ".html", ".wiki", ".md"]
QUESTIONS = [
    "Who runs the long-term shelter for victims?",
    "How many trafficking cases were investigated in 2007?",
    "What tier was Laos placed in in 2023?",
    "When did Laos ratify the UN TIP Protocol?",
]
#: What a reader must never make a passage, quote or reference entry of.
CHROME = [
    "Jump to content", "Main menu", "[edit]", "From Wikipedia", "Categories", "last edited",
    "Creative Commons", "Privacy policy", "Human trafficking in Asia", "UN Office on Drugs",
    "Part of a series", "For the film", "Contents", "View history", "5 languages", "languages",
    "Toggle", "Overview of the topic",
]  # fmt: skip
MARKUP = ["{{", "}}", "[[", "]]", "<ref", "'''", "''", "<", ">", "^ ", "Jump up", "cite-bracket"]


def _norm(text: str) -> str:
    """Text as compared across forms: marks out, apostrophes straight, spaces single."""
    return " ".join(strip_markers(text).replace("’", "'").split())


def _unlinked(entries: dict[int, str]) -> dict[int, str]:
    """Reference entries without the web addresses a form keeps (the .txt has none)."""
    return {n: re.sub(r" \(https?://[^\s)]+\)", "", e) for n, e in entries.items()}


def _sentences(doc):
    return [(_norm(s.text), s.refs, s.section) for s in doc.sentences]


@pytest.fixture(scope="module")
def txt_doc():
    return read_document(ARTICLE, ARTICLE.parent)


def _form(stem: str, suffix: str):
    return read_document(FORMS / f"{stem}{suffix}", FORMS)


# ------------------------------------------------------------------- the bundled article


def test_bundled_article_gives_the_same_chunks_as_before(txt_doc):
    """Recorded from the parser before the readers existed (tests/data/laos_baseline.json)."""
    base = json.loads((DATA / "laos_baseline.json").read_text(encoding="utf-8"))
    assert txt_doc.title == base["title"] and txt_doc.sections == base["sections"]
    assert {str(k): v for k, v in txt_doc.references.items()} == base["references"]
    got = [[s.start, s.end, s.span_end, list(s.refs), s.section, s.paragraph]
           for s in txt_doc.sentences]  # fmt: skip
    assert got == base["sentences"]
    chunks = [[c.text, list(c.refs), c.section, c.start, c.end] for c in chunk_document(txt_doc)]
    assert chunks == base["chunks"]
    assert txt_doc.text == ARTICLE.read_text(encoding="utf-8") and txt_doc.warnings == []


# ----------------------------------------------------------------- each form, same content


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_form_has_the_articles_structure(txt_doc, suffix):
    doc = _form("Human_trafficking_in_Laos", suffix)
    assert doc.title == "Human trafficking in Laos"
    assert doc.sections == txt_doc.sections
    assert _unlinked(doc.references) == txt_doc.references
    assert _sentences(doc) == _sentences(txt_doc)
    tier3 = next(s for s in doc.sentences if "Tier 3 Watchlist" in s.text)
    assert tier3.refs == (3,) and tier3.pages == ((3, "12"),)
    assert next(s for s in doc.sentences if s.text.startswith("In 2023 it")).refs == (4,)
    assert not any("has no entry" in w for w in doc.warnings)


@pytest.mark.parametrize("suffix", SUFFIXES)
@pytest.mark.parametrize("stem", ["Human_trafficking_in_Laos", "Lake_Atlantis"])
def test_form_offsets_hold_and_no_chrome_or_markup(stem, suffix):
    doc = _form(stem, suffix)
    for s in doc.sentences:
        assert doc.text[s.start : s.end] == s.text
        assert MARK_RE.sub("", doc.text[s.end : s.span_end]).strip() == ""
    for c in chunk_document(doc):
        assert doc.text[c.start : c.end] == c.text
        for word in CHROME + MARKUP:
            assert word not in c.text, (word, c.text)
    for entry in [*doc.references.values(), *doc.notes.values()]:
        for word in MARKUP:
            assert word not in entry, (word, entry)
    assert all("\n" not in w and w.startswith(str(FORMS)) for w in doc.warnings)


@pytest.mark.parametrize("suffix", [".browser.txt", ".browser_old_skin.txt"])
def test_browser_copy_warns_what_it_removed(suffix):
    doc = _form("Human_trafficking_in_Laos", suffix)
    assert doc.form == "browser copy"
    assert any(re.search(r": removed \d+ lines of site navigation", w) for w in doc.warnings)
    assert any("left out the See also, External links" in w for w in doc.warnings)


@pytest.mark.parametrize("suffix", [".html", ".wiki"])
def test_saved_page_and_wikitext_warn_what_they_left_out(suffix):
    doc = _form("Human_trafficking_in_Laos", suffix)
    said = " ".join(doc.warnings)
    assert (
        ("edit links (7)" in said and "navboxes" in said)
        if suffix == ".html"
        else ("template Human trafficking sidebar" in said and "categories (2)" in said)
    )


# ----------------------------------------------------- notes, maintenance tags, page numbers


@pytest.mark.parametrize("suffix", [*SUFFIXES, ".txt"])
def test_notes_tags_and_pages_in_every_form(suffix):
    doc = (
        read_document(DATA / "lake_atlantis.txt", DATA)
        if suffix == ".txt"
        else _form("Lake_Atlantis", suffix)
    )
    assert doc.title == "Lake Atlantis" and doc.sections == ["History", "Ecology"]
    by_text = {_norm(s.text): s for s in doc.sentences}
    deepest = by_text["Its deepest point is 212 metres below the surface."]
    assert (deepest.refs, deepest.pages) == ((2,), ((2, "14"),))
    assert by_text["The lake freezes over in most winters."].refs == (3,)  # not (2, 3)
    assert by_text["The first survey of the lake was made in 1802."].pages == ((2, "20–21"),)
    assert by_text["A stone bridge was built in 1790."].pages == ((2, "33"),)
    larger = by_text["Fishermen say the lake was once twice as large."]
    assert larger.refs == () and larger.tags == ("citation needed",) and larger.unsourced
    ferry = by_text["A ferry crossed it until the 1950s."]
    assert ferry.tags == ("when?",) and not ferry.unsourced and ferry.refs == ()
    passengers = by_text["The ferry carried 40 passengers."]
    assert passengers.notes == ("a",) and passengers.refs == ()
    assert by_text["The lake gave the island its name."].notes == ("b",)
    assert doc.notes["a"].startswith("The ferry's log gives 40") or doc.notes["a"].startswith(
        "The ferry’s log"
    )
    assert set(doc.references) == {1, 2, 3} and "Lake Island" in doc.notes["b"]
    assert by_text["Settlers reached the shore in 1650."].refs == (1, 3)
    assert by_text["Birds winter on its northern shore."].refs == ()


# ------------------------------------------------------------------------------ answers


def _answers(corpus: Path, tmp: Path) -> dict:
    fake = FakeEmbedder()
    build_index(corpus, tmp, embedder=fake, show_progress=False)
    idx = load_index(tmp, corpus, embedder=fake)
    out = {}
    for q in QUESTIONS:
        a = answer_with_index(idx, q)
        doc = idx.docs[0]
        for quote in a.quotes:
            assert doc.text[quote.start : quote.end] == quote.text
        out[q] = (
            [(_norm(x.text), x.refs) for x in a.quotes],
            list(_unlinked({r.number: r.text for r in a.references}).items()),
        )
        for word in CHROME + MARKUP:
            assert all(word not in x.text for x in a.quotes + a.passages), word
    return out


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_form_answers_like_the_txt(tmp_path, suffix):
    """The fake embedder (tests/conftest.py): same quotes, same refs as the bundled .txt."""
    base = tmp_path / "base"
    base.mkdir()
    shutil.copy(ARTICLE, base / ARTICLE.name)
    want = _answers(base, tmp_path / "index-base")
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(FORMS / f"Human_trafficking_in_Laos{suffix}", corpus)
    got = _answers(corpus, tmp_path / "index")
    assert got == want
    tier = got["What tier was Laos placed in in 2023?"][0]
    assert all(refs == (4,) for text, refs in tier if text.startswith("In 2023 it"))


@pytest.mark.slow
def test_every_form_answers_like_the_txt_with_the_real_model(tmp_path, real_embedder):
    """The README's questions on each form, with the real model: same sentences, same refs."""

    def answers(corpus: Path, index: Path) -> dict:
        build_index(corpus, index, embedder=real_embedder, show_progress=False)
        idx = load_index(index, corpus, embedder=real_embedder)
        out = {}
        for q in QUESTIONS:
            a = answer_with_index(idx, q)
            # answered or the closest the text comes, but a quote either way
            assert a.outcome != "not_found" and a.quotes, (corpus, q)
            out[q] = (a.outcome, [(_norm(x.text), x.refs) for x in a.quotes])
        return out

    base = tmp_path / "base"
    base.mkdir()
    shutil.copy(ARTICLE, base / ARTICLE.name)
    want = answers(base, tmp_path / "index-base")
    assert want["What tier was Laos placed in in 2023?"][1] == [
        ("In 2023 it was placed at Tier 2.", (4,))
    ]
    for suffix in SUFFIXES:
        corpus = tmp_path / suffix.strip(".")
        corpus.mkdir()
        shutil.copy(FORMS / f"Human_trafficking_in_Laos{suffix}", corpus)
        assert answers(corpus, tmp_path / f"index{suffix}") == want, suffix


def test_reference_entries_keep_their_web_addresses():
    """Saved pages and wikitext link their references to the sources: the entry keeps the
    address, "label (address)", so that the app can link it (issue 21); only http(s)."""
    from qa.readers.html import parse_html
    from qa.readers.wikitext import parse_wikitext

    wiki = _form("Human_trafficking_in_Laos", ".wiki")
    assert wiki.references[1].startswith(
        "United Nations Treaty Collection website (https://treaties.un.org/), Chapter XVIII"
    )
    doc = parse_wikitext(
        "Deep.<ref>{{cite web|title=Atlas|url=https://a.org/x|work=Maps}}</ref> "
        "Wide.<ref>{{cite web|title=Bad|url=javascript:alert(1)}}</ref>",
        "Lake.wiki",
    )
    assert doc.references == {1: '"Atlas" (https://a.org/x). Maps.', 2: '"Bad".'}
    page = parse_html(
        '<div><p>Deep.<sup class="reference"><a href="#cite_note-1">[1]</a></sup></p>'
        '<ol class="references"><li id="cite_note-1"><span class="reference-text">'
        '<a class="external text" href="https://a.org/x">"Atlas"</a>. Maps. '
        '<a href="javascript:alert(1)">Bad</a> <a href="https://b.org/">https://b.org/</a>'
        "</span></li></ol></div>",
        "Lake.html",
    )
    assert page.references == {1: '"Atlas" (https://a.org/x). Maps. Bad https://b.org/'}
    assert "(https://" not in " ".join(s.text for s in page.sentences)
