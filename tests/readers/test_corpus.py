"""Parsing: title, sections, references, sentences, citation attribution, warnings and errors."""

from __future__ import annotations

import bisect
import shutil
import time

import pytest

from qa.errors import CorpusError
from qa.index.sources import load_corpus, read_document
from qa.readers import parse_text
from qa.readers.document import MARKER_RE, MAX_SENTENCE_CHARS, split_sentences


def sentence_starting(doc, prefix: str):
    found = [s for s in doc.sentences if s.text.startswith(prefix)]
    assert len(found) == 1, f"expected one sentence starting {prefix!r}, got {len(found)}"
    return found[0]


def sentence_ending(doc, suffix: str):
    found = [s for s in doc.sentences if s.text.endswith(suffix)]
    assert len(found) == 1, f"expected one sentence ending {suffix!r}, got {len(found)}"
    return found[0]


# ------------------------------------------------------------------------------ the article


def test_article_title_and_sections(article_doc):
    assert article_doc.title == "Human trafficking in Laos"
    assert article_doc.sections == [
        "Sex trafficking",
        "Prosecution (2008)",
        "Protection (2008)",
        "Prevention (2008)",
    ]
    # the References list is not a section and its entries are not paragraphs
    assert all("Trafficking in Persons Report" not in s.text for s in article_doc.sentences)


def test_article_references_parsed_and_backlinks_stripped(article_doc):
    refs = article_doc.references
    assert sorted(refs) == list(range(1, 10))
    assert refs[2].startswith('"Laos". Trafficking in Persons Report 2008.')
    assert refs[1].startswith("United Nations Treaty Collection website")
    assert refs[6] == '"LAO PDR UN ACT". UN ACT.'
    for n, entry in refs.items():
        assert not entry.startswith("^"), (n, entry)
        assert not entry.startswith("a b"), (n, entry)


def test_article_parses_without_warnings(article_doc):
    assert article_doc.warnings == []


@pytest.mark.parametrize(
    ("prefix", "refs"),
    [
        ("Laos ratified the 2000 UN TIP Protocol", (1,)),
        ("In 2023 it was placed at Tier 2.", (4,)),
        ("A number of citizens, primarily women and girls,", (7, 8, 9)),
        ("Laos is mainly an origin country", (6,)),
        ("In 2023, the Organised Crime Index", (5,)),
    ],
)
def test_article_citation_attribution(article_doc, prefix, refs):
    assert sentence_starting(article_doc, prefix).refs == refs


def test_article_tier3_sentence_cites_3(article_doc):
    s = sentence_ending(article_doc, 'placed the country in "Tier 3 Watchlist" in 2018.')
    assert s.refs == (3,)
    assert s.text.startswith("The U.S. State Department's Office")


@pytest.mark.parametrize(
    "section", ["Prosecution (2008)", "Protection (2008)", "Prevention (2008)"]
)
def test_article_2008_sections_all_cite_2(article_doc, section):
    sentences = [s for s in article_doc.sentences if s.section == section]
    assert len(sentences) >= 9
    assert {s.refs for s in sentences} == {(2,)}


def test_article_unmarked_sentences_take_next_marker(article_doc):
    # the 2008 overview paragraph carries a single [2] at its end; every sentence gets it
    s = sentence_starting(article_doc, "Some Lao men who migrated willingly")
    assert s.refs == (2,)


def test_article_sentence_offsets_are_exact(article_doc, article_text):
    assert article_doc.text == article_text
    for s in article_doc.sentences:
        assert article_text[s.start : s.end] == s.text
        assert s.start < s.end <= s.span_end
        trailing = article_text[s.end : s.span_end]
        assert MARKER_RE.sub("", trailing) == "", trailing
        assert not MARKER_RE.search(s.text[-6:]), f"trailing marker kept in {s.text!r}"


def test_article_sentence_count_and_indices(article_doc):
    sentences = article_doc.sentences
    assert [s.index for s in sentences] == list(range(len(sentences)))
    assert len(sentences) == 48


# ---------------------------------------------------------------------- sentence splitting


def test_no_split_at_us_abbreviation(article_doc):
    s = sentence_starting(article_doc, "The U.S. State Department")
    assert "Tier 3 Watchlist" in s.text


def test_split_sentences_handles_abbreviations_and_markers():
    text = "The U.S. Army met Dr. Smith.[1] Then it rained. Finally[2] done.[3][4]"
    spans = split_sentences(text, 0, len(text))
    assert [text[s:e] for s, e, _ in spans] == [
        "The U.S. Army met Dr. Smith.",
        "Then it rained.",
        "Finally[2] done.",
    ]
    assert [text[e:se] for _, e, se in spans] == ["[1]", "", "[3][4]"]


def test_sentence_after_last_marker_carries_no_refs(data_dir):
    doc = read_document(data_dir / "wiki_sample.txt", data_dir)
    last = sentence_starting(doc, "Many families grew their own leaves.")
    assert last.refs == ()
    final = sentence_starting(doc, "Annual consumption is about 3 kg per person.")
    assert final.refs == ()


def test_mid_sentence_marker(data_dir):
    doc = read_document(data_dir / "wiki_sample.txt", data_dir)
    s = sentence_starting(doc, "Merchants said prices[4] doubled")
    assert s.text == "Merchants said prices[4] doubled within a decade."
    assert s.refs == (4,)
    assert s.end == s.span_end


def test_marker_run_and_following_marker(data_dir):
    doc = read_document(data_dir / "wiki_sample.txt", data_dir)
    assert sentence_starting(doc, "The first tea house").refs == (2, 3)
    assert sentence_starting(doc, "Today tea is").refs == (1, 4)
    # three unmarked sentences before one [5]: all covered by it
    for prefix in ("Tea houses spread", "Most served green tea.", "Some also sold pastries."):
        assert sentence_starting(doc, prefix).refs == (5,)


def test_wiki_sample_structure(data_dir):
    doc = read_document(data_dir / "wiki_sample.txt", data_dir)
    assert doc.title == "Tea culture in Atlantis"
    assert doc.sections == ["History", "Modern era"]
    assert len(doc.paragraphs) == 4
    assert doc.references[2].startswith("Smith, J. A History")  # "^ a b c d e" stripped
    assert doc.references[4].startswith("Jones, M. (2001).")  # "^ a b" stripped
    assert doc.references[3].startswith('"First Tea House"')  # plain "^" stripped
    assert doc.warnings == []
    assert sentence_starting(doc, "The U.S. Navy").section == "History"
    for s in doc.sentences:
        assert doc.text[s.start : s.end] == s.text


def test_backlink_letters_that_are_not_sequential_stay_in_text():
    doc = parse_text("T\n\nFact.[1]\n\nReferences\n\n1. ^ a c Odd entry.\n", "t.txt")
    assert doc.references[1] == "a c Odd entry."


def test_markdown_file(data_dir):
    doc = read_document(data_dir / "notes.md", data_dir)
    assert doc.title == "Field notes on kettles"
    assert doc.sections == ["Materials", "Care"]
    assert doc.references == {}
    assert [s.text for s in doc.sentences] == [
        "Copper kettles heat quickly.",
        "Iron kettles keep heat for a long time.",
        "Enamel kettles are easy to clean.",
        "Descale a kettle once a month in hard-water areas.",
        "Dry it after use.",
    ]
    assert all(s.refs == () for s in doc.sentences)
    assert doc.warnings == []


def test_title_defaults_to_file_name_without_heading():
    doc = parse_text("This file starts with a sentence. And has another.\n", "my_notes.txt")
    assert doc.title == "my notes"
    assert len(doc.sentences) == 2


# --------------------------------------------------------------------------------- warnings


def test_warning_marker_without_reference(data_dir):
    path = data_dir / "missing_reference.txt"
    doc = read_document(path, data_dir)
    assert len(doc.warnings) == 1
    w = doc.warnings[0]
    assert str(path) in w
    assert f"{path}:3:" in w  # line of the [7] marker
    assert "[7]" in w
    # the marker still attributes
    assert sentence_starting(doc, "It floods every spring.").refs == (7,)


def test_warning_duplicate_reference_keeps_first(data_dir):
    path = data_dir / "duplicate_reference.txt"
    doc = read_document(path, data_dir)
    assert doc.references[2] == "Lake Survey. 1991."
    assert len(doc.warnings) == 1
    assert f"{path}:9:" in doc.warnings[0]
    assert "reference 2" in doc.warnings[0]


def test_warning_references_without_markers(data_dir):
    path = data_dir / "references_without_markers.txt"
    doc = read_document(path, data_dir)
    assert len(doc.warnings) == 1
    assert str(path) in doc.warnings[0]
    assert "no [n] markers" in doc.warnings[0]
    assert all(s.refs == () for s in doc.sentences)


def test_load_corpus_returns_warnings(tmp_path, data_dir):
    shutil.copy(data_dir / "missing_reference.txt", tmp_path / "a.txt")
    docs, warnings = load_corpus(tmp_path)
    assert len(docs) == 1
    assert len(warnings) == 1 and "a.txt:3:" in warnings[0]


# ----------------------------------------------------------------------------------- errors


def test_non_utf8_file_raises_naming_file(tmp_path):
    path = tmp_path / "latin1.txt"
    path.write_bytes("Title\n\nCaf\xe9 culture is old.\n".encode("latin-1"))
    with pytest.raises(CorpusError, match="latin1.txt") as info:
        read_document(path, tmp_path)
    assert "UTF-8" in str(info.value)
    assert isinstance(info.value.__cause__, UnicodeDecodeError)


@pytest.mark.parametrize("content", [b"", b"   \n\n\t\n"])
def test_empty_file_raises_naming_file(tmp_path, content):
    path = tmp_path / "empty.txt"
    path.write_bytes(content)
    with pytest.raises(CorpusError, match="empty.txt"):
        read_document(path, tmp_path)


def test_binary_file_raises_naming_file(tmp_path):
    path = tmp_path / "image.txt"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    with pytest.raises(CorpusError, match="image.txt") as info:
        read_document(path, tmp_path)
    assert "binary" in str(info.value)


def test_utf8_bom_is_dropped(tmp_path):
    path = tmp_path / "bom.txt"
    path.write_bytes("\ufeffBom title\n\nA sentence here.\n".encode())
    doc = read_document(path, tmp_path)
    assert doc.title == "Bom title"


def test_load_corpus_skips_bad_file_keeps_good(tmp_path, article_path):
    shutil.copy(article_path, tmp_path / article_path.name)
    (tmp_path / "broken.txt").write_bytes(b"\xff\xfe\x00\x00garbage")
    (tmp_path / "empty.md").write_text("", encoding="utf-8")
    (tmp_path / "ignored.csv").write_text("a,b\n", encoding="utf-8")
    docs, warnings = load_corpus(tmp_path)
    assert [d.doc_id for d in docs] == [article_path.name]
    assert len(warnings) == 2
    assert any("broken.txt" in w for w in warnings)
    assert any("empty.md" in w for w in warnings)


def test_load_corpus_only_bad_files_raises(tmp_path):
    (tmp_path / "broken.txt").write_bytes(b"\x00\x01\x02")
    with pytest.raises(CorpusError, match="broken.txt"):
        load_corpus(tmp_path)


def test_missing_corpus_dir_raises(tmp_path):
    missing = tmp_path / "nope"
    with pytest.raises(CorpusError, match="does not exist") as info:
        load_corpus(missing)
    assert str(missing) in str(info.value)


def test_empty_corpus_dir_raises(tmp_path):
    (tmp_path / ".hidden.txt").write_text("Hidden\n\nNot indexed.\n", encoding="utf-8")
    (tmp_path / "data.json").write_text("{}", encoding="utf-8")
    with pytest.raises(CorpusError, match="no .txt, .md") as info:
        load_corpus(tmp_path)
    assert str(tmp_path) in str(info.value)


# ------------------------------------------------------------------------------- huge input


def _cut_markers(text, sentences) -> int:
    bounds = sorted({b for s in sentences for b in (s.start, s.end, s.span_end)})
    cut = 0
    for m in MARKER_RE.finditer(text):
        i = bisect.bisect_right(bounds, m.start())
        if i < len(bounds) and bounds[i] < m.end():
            cut += 1
    return cut


@pytest.mark.parametrize(
    "unit",
    [
        "lorem ipsum dolor[12] sit amet ",  # words, no sentence punctuation
        "x" * 995 + "[12]",  # no whitespace at all, markers near every cut
        "y" * 993 + "[1234]",
    ],
)
def test_five_megabyte_single_line(tmp_path, unit):
    body = unit * (5_000_000 // len(unit))
    path = tmp_path / "huge.txt"
    path.write_text("Huge file\n\n" + body + "\n", encoding="utf-8")
    t0 = time.perf_counter()
    doc = read_document(path, tmp_path)
    elapsed = time.perf_counter() - t0
    assert elapsed < 30, f"parsing 5 MB took {elapsed:.1f}s"
    sentences = doc.sentences
    assert len(sentences) >= 5_000_000 // MAX_SENTENCE_CHARS
    assert max(s.end - s.start for s in sentences) <= MAX_SENTENCE_CHARS
    assert _cut_markers(doc.text, sentences) == 0
    # the sentences tile the paragraph: nothing is lost between them
    covered = sum(s.span_end - s.start for s in sentences)
    assert covered >= len(body.strip()) - len(sentences)
    for s in sentences[:50] + sentences[-50:]:
        assert doc.text[s.start : s.end] == s.text


def test_many_cited_paragraphs_each_get_their_ref():
    """Thousands of cited paragraphs (a 5 MB article): every sentence keeps its marker's ref.

    (Parse time is measured by the benchmark, not asserted here.)
    """
    n = 6000
    text = "Title\n\n" + "A fact here.[1]\n\n" * n + "References\n\n1. ^ Source.\n"
    doc = parse_text(text, "many.txt")
    assert len(doc.paragraphs) == n
    assert all(s.refs == (1,) for s in doc.sentences)
    assert not doc.warnings


def test_short_sentence_ending_in_a_bracket_or_quote_is_not_a_heading():
    """Found by the generated-documents property test: "Laos.)" was taken for a heading."""
    doc = parse_text('Title\n\nLaos.)\n\nIt ended."\n\nProsecution (2008)\n\nA fact.[1]\n', "t")
    assert [doc.text[p.start : p.end] for p in doc.paragraphs] == [
        "Laos.)",
        'It ended."',
        "A fact.[1]",
    ]
    assert doc.sections == ["Prosecution (2008)"]
