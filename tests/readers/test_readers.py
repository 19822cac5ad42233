"""The readers one behaviour at a time: marks, span_refs, browser chrome, HTML, wikitext,
citation templates, Markdown, and how quotes show pages, notes and maintenance tags."""

from __future__ import annotations

import pytest

from qa.answering.render import render_markdown
from qa.readers import parse_html, parse_markdown, parse_text, parse_wikitext, read_text
from qa.readers.citations import render_citation
from qa.readers.document import span_refs
from qa.readers.text import strip_backlinks
from qa.results import Answer, Quote, Reference
from qa.web.state import answer_markdown


def _by_text(doc):
    return {s.text: s for s in doc.sentences}


# --------------------------------------------------------------------------- page numbers


@pytest.mark.parametrize("mark", ["[2]: 14", "[2]: 14–15", "[2]:14", "[2]: 363", "[2]: pp. 4-5"])
def test_sentence_ends_after_a_page_number_mark(mark):
    doc = parse_text(f"T\n\nIt is deep.{mark} It is cold.[3] It is old.[4]\n", "t.txt")
    s = _by_text(doc)
    assert list(s) == ["It is deep.", "It is cold.", "It is old."]
    assert s["It is deep."].refs == (2,) and s["It is cold."].refs == (3,)
    assert s["It is deep."].pages == ((2, mark.split(":", 1)[1].strip()),)


def test_page_mark_mid_sentence_keeps_the_sentence_whole():
    doc = parse_text("T\n\nThe lake[2]: 14 is deep and cold.[3]\n", "t.txt")
    (s,) = doc.sentences
    assert s.text == "The lake[2]: 14 is deep and cold." and s.refs == (2, 3)


def test_mirror_space_before_markers():
    doc = parse_text("T\n\nLaos ratified it in September 2003. [1] It's late. [2][3]\n", "m.txt")
    s = _by_text(doc)
    assert list(s) == ["Laos ratified it in September 2003.", "It's late."]
    assert s["It's late."].refs == (2, 3) and s["Laos ratified it in September 2003."].refs == (1,)


# ------------------------------------------------------------------------------ span_refs


def test_span_refs_follows_the_attribution_rule():
    text = "A;[7] B.[8]\n\nC.[9]"
    assert span_refs(text, 0, 1) == (7,)
    assert span_refs(text, 6, 8) == (8,)
    assert span_refs(text, 0, 8) == (7, 8)
    assert span_refs(text, 13, 15) == (9,)
    assert span_refs("A fact.\n\nB.[9]", 0, 7) == ()  # [9] closes another paragraph
    doc = parse_text("T\n\nA;[7] B.[8]\n\nC.[9]\n", "t.txt")
    a = doc.text.index("A;")
    assert span_refs(doc, a, a + 1) == (7,)
    assert span_refs(doc, doc.text.index("B."), doc.text.index("B.") + 2) == (8,)


def test_span_refs_after_a_maintenance_tag_has_none():
    text = "Old claim.[citation needed] New claim.[4]"
    assert span_refs(text, 0, 10) == ()
    assert span_refs(text, text.index("New"), len(text) - 3) == (4,)


# -------------------------------------------------------------------------- browser copies


def test_browser_copy_without_back_links_and_with_jump_up():
    text = (
        "Jump to content\nMain menu\nLakes\nFrom Wikipedia, the free encyclopedia\n"
        "Lakes are deep.[1] Ponds are shallow.[2][12]\nHistory\n[edit]\nLakes are old.[1]\n"
        "References\n[edit]\n^ Jump up to: a b Atlas of lakes.\nSurvey of ponds.\n"
        "Categories: Lakes\nThis page was last edited on 1 May 2024.\n"
    )
    doc = parse_text(text, "lakes.txt")
    assert doc.title == "Lakes" and doc.sections == ["History"]
    assert doc.references == {1: "Atlas of lakes.", 2: "Survey of ponds."}
    assert [s.text for s in doc.sentences] == ["Lakes are deep.", "Ponds are shallow.",
                                               "Lakes are old."]  # fmt: skip
    assert any("removed 7 lines of site navigation" in w for w in doc.warnings)
    assert any("marker [12] has no entry in the References list" in w for w in doc.warnings)


def test_text_after_the_references_list_is_warned_about():
    text = "T\n\nA fact.[1]\n\nReferences\n\n1. ^ Atlas.\n\nA stray paragraph of prose.\n"
    doc = parse_text(text, "t.txt")
    (w,) = doc.warnings
    assert "t.txt:9:" in w and "A stray paragraph" in w and "not indexed" in w
    assert doc.references == {1: "Atlas."}


@pytest.mark.parametrize(
    ("entry", "want"),
    [("^ a b c Smith.", "Smith."), ("^ Jump up to: a b Smith.", "Smith."), ("^ Smith.", "Smith."),
     ("^ a study of lakes.", "a study of lakes."), ("Smith.", "Smith."),
     ("^ a c Odd.", "a c Odd.")],
)  # fmt: skip
def test_strip_backlinks(entry, want):
    assert strip_backlinks(entry) == want


# ---------------------------------------------------------------------------------- HTML


def test_plain_html_without_wikipedia_classes():
    page = (
        "<html><body><h1>Rivers</h1><p>The river is long.[1] It floods.[2]</p>"
        "<h2>References</h2><ol><li>^ a b Atlas.</li><li>Survey.</li></ol></body></html>"
    )
    doc = parse_html(page, "rivers.html")
    assert doc.title == "Rivers" and doc.references == {1: "Atlas.", 2: "Survey."}
    assert [s.refs for s in doc.sentences] == [(1,), (2,)]
    for s in doc.sentences:
        assert doc.text[s.start : s.end] == s.text


def test_saved_page_named_txt_is_read_as_html():
    doc = read_text("<!DOCTYPE html><html><body><p>Deep lake.</p></body></html>", "x.txt",
                    "x.txt", ".txt")  # fmt: skip
    assert doc.form == "html" and doc.sentences[0].text == "Deep lake."


# ------------------------------------------------------------------------------ wikitext


def test_wikitext_numbers_refs_in_order_of_first_use():
    wiki = (
        "{{Short description|Lakes}}\n{{Infobox lake|name=X}}\n"
        "'''Lakes''' are deep.<ref name=\"b\">Second.</ref> [[Pond|Ponds]] are not.<ref>First."
        '</ref>\n\n== History ==\nLakes are old.<ref name="b" />{{rp|14}} Ponds too.<ref '
        'name="later" />\n\n== References ==\n{{Reflist|refs=<ref name="later">Later.</ref>}}'
        "\n[[Category:Lakes]]\n"
    )
    doc = parse_wikitext(wiki, "Lakes.wiki")
    assert doc.title == "Lakes" and doc.sections == ["History"]
    assert doc.references == {1: "Second.", 2: "First.", 3: "Later."}
    s = _by_text(doc)
    assert s["Lakes are deep."].refs == (1,) and s["Ponds are not."].refs == (2,)
    assert s["Lakes are old."].refs == (1,) and s["Lakes are old."].pages == ((1, "14"),)
    assert s["Ponds too."].refs == (3,)
    assert "{{" not in doc.text and "[[" not in doc.text and "'''" not in doc.text
    assert any("template Infobox lake" in w and "categories" in w for w in doc.warnings)


def test_wikitext_undefined_ref_and_unbalanced_markup_are_warned():
    doc = parse_wikitext('A claim.<ref name="x" /> A {{broken claim.\n', "Odd.wiki")
    assert any("reference [1] is used but never defined" in w for w in doc.warnings)
    assert all("{{" not in s.text for s in doc.sentences)
    assert any("unbalanced markup" in w for w in doc.warnings)


def test_wikitext_notes_and_maintenance_templates():
    wiki = (
        "Ferries ran.{{efn|Until 1950.}} Boats sank.{{cn|date=May 2020}} Rafts float.<ref "
        'group="note">A raft note.</ref><ref>Source.</ref>\n'
    )
    doc = parse_wikitext(wiki, "Boats.wiki")
    s = _by_text(doc)
    assert s["Ferries ran."].notes == ("a",) and doc.notes["a"] == "Until 1950."
    assert s["Boats sank."].tags == ("citation needed",) and s["Boats sank."].refs == ()
    assert s["Rafts float."].notes == ("note 1",) and s["Rafts float."].refs == (1,)
    assert doc.notes["note 1"] == "A raft note." and doc.references == {1: "Source."}


@pytest.mark.parametrize(
    ("name", "params", "want"),
    [
        ("cite book", {"last": "Smith", "first": "J.", "title": "Lakes", "publisher": "OUP",
                       "location": "Oxford", "year": "1955", "isbn": "123"},
         "Smith, J. (1955). Lakes. Oxford: OUP. ISBN 123."),
        ("cite journal", {"author1": "Jones, M.", "date": "2001", "title": "Prices",
                          "journal": "Tea Studies", "volume": "12", "issue": "3",
                          "pages": "45–67"},
         'Jones, M. (2001). "Prices". Tea Studies. 12 (3): 45–67.'),
        ("cite web", {"title": "Laos", "format": "PDF", "website": "crs.gov",
                      "access-date": "2019-10-12"},
         '"Laos" (PDF). crs.gov. Retrieved 2019-10-12.'),
        ("cite news", {"title": "Rescued", "work": "Thanh Nien News", "date": "November 4, 2014",
                       "archive-date": "February 24, 2021", "access-date": "March 28, 2020"},
         '"Rescued". Thanh Nien News. November 4, 2014. Archived from the original on '
         "February 24, 2021. Retrieved March 28, 2020."),
    ],
)  # fmt: skip
def test_citation_templates_render_like_the_page(name, params, want):
    assert render_citation(name, params) == want


# ------------------------------------------------------------------------------ Markdown


def test_markdown_footnotes_and_reference_list():
    md = (
        "# Kettles\n\nCopper kettles *heat* [quickly](http://x).[^1] Iron ones keep heat.[2]\n\n"
        "## References\n\n1. ^ a b Kettle book.\n2. Iron survey.\n"
    )
    doc = parse_markdown(md, "k.md")
    assert doc.title == "Kettles" and doc.references == {1: "Kettle book.", 2: "Iron survey."}
    assert [(s.text, s.refs) for s in doc.sentences] == [
        ("Copper kettles heat quickly.", (1,)), ("Iron ones keep heat.", (2,))
    ]  # fmt: skip


# ----------------------------------------------------------------- quotes in the answers


def _answer(refs=(), **quote) -> Answer:
    q = Quote("Boats sank.", refs, "b.txt", "History", 0, 11, 0.9, "Boats", **quote)
    return Answer("Did boats sink?", True, [q], [Reference("b.txt", 2, "Atlas.")])


def test_rendered_answer_says_the_claim_needs_a_citation():
    ans = _answer(tags=("citation needed",), unsourced=True)
    for text in (render_markdown(ans), answer_markdown(ans)):
        assert "The article marks this claim as needing a citation" in text
    ans = _answer(tags=("when?",))
    assert "The article tags this claim: [when?]" in render_markdown(ans)
    assert "needing a citation" not in render_markdown(_answer(refs=(2,)))


def test_rendered_answer_lists_notes_and_page_numbers():
    ans = _answer(notes={"a": "Until 1950."})
    ans.quotes[0] = Quote("Boats sank.", (2,), "b.txt", "", 0, 11, 0.9, "Boats",
                          pages={2: "14"}, notes={"a": "Until 1950."})  # fmt: skip
    md = render_markdown(ans)
    assert "Boats sank.[2]: 14" in md and "**Notes**" in md and "- [a] Until 1950." in md
    web = answer_markdown(ans)
    # unescaped (issue 13); the marker right after the quote, as sources write it (issue 21)
    assert "Boats sank.[2]: 14" in web and "- [a] Until 1950." in web


# ---------------------------------------------------------------- the index keeps them all


def test_index_keeps_pages_notes_and_tags_for_quotes(tmp_path):
    from helpers import DATA, FakeEmbedder

    from qa.answering.answer import _quote
    from qa.api import load_index
    from qa.index.build import build_index
    from qa.index.records import FORMAT_VERSION

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "Lake_Atlantis.html").write_bytes(
        (DATA / "forms" / "Lake_Atlantis.html").read_bytes()
    )
    build_index(corpus, tmp_path / "index", embedder=FakeEmbedder(), show_progress=False)
    idx = load_index(tmp_path / "index", corpus, embedder=FakeEmbedder())
    assert idx.manifest.format_version == FORMAT_VERSION == 3
    rows = {idx.sentence_text(i): i for i in range(len(idx.sentences))}

    q = _quote(idx, [rows["Fishermen say the lake was once twice as large."]], 1.0)
    assert (q.refs, q.tags, q.unsourced) == ((), ("citation needed",), True)
    q = _quote(idx, [rows["Its deepest point is 212 metres below the surface."]], 1.0)
    assert (q.refs, q.pages) == ((2,), {2: "14"})
    first = rows["The first survey of the lake was made in 1802."]
    q = _quote(idx, [first, first + 1, first + 2, first + 3], 1.0)
    assert q.notes == {"a": "The ferry's log gives 40 seated and 12 standing passengers."}
    assert q.tags == ("citation needed", "when?") and q.pages == {2: "20–21"}
    assert idx.document_text(q.doc_id)[q.start : q.end] == q.text
    assert "[citation needed]" in q.text  # the source's own marks stay in the verbatim text


def test_a_notes_list_with_written_labels_maps_each_to_its_own_note():
    """Labels written out ("a. ^", "note 1. ^") are used as written, not by position: a list
    that mixes [a] and [note 1] gives each marker its own entry, with no stray text."""
    text = (
        "Mills\n\nThe mill burned down.[a] It was rebuilt in stone.[note 1][1]\n\n"
        "Notes\n\n  a. ^ A fire in 1977.\n  note 1. ^ Only the foundation survives.\n\n"
        "References\n\n  1. ^ A history of mills.\n"
    )
    doc = parse_text(text, "mills.txt")
    assert doc.notes == {"a": "A fire in 1977.", "note 1": "Only the foundation survives."}
    assert doc.warnings == []
    assert doc.references == {1: "A history of mills."}
