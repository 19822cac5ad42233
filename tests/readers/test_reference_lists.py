"""A References (or Notes) list is read in every common shape (issue 21, point 11).

Each fixture under tests/data/reference_lists/ is the same three-sentence article with its list
written one way: with or without a blank line after the heading, numbered ``1.`` or not,
indented or not, with ``^`` or ``^ Jump up to: a b`` back-links, or none.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from qa.readers import parse_text

SHAPES = Path(__file__).parent.parent / "data" / "reference_lists"
ENTRIES = {1: "Atlas of Nowhere. 1990.", 2: "Flood Survey (2001).", 3: "Delta Maps. 1851."}


@pytest.mark.parametrize("name", sorted(p.name for p in SHAPES.glob("*.txt")))
def test_every_shape_of_list_gives_every_entry(name):
    doc = parse_text((SHAPES / name).read_text(encoding="utf-8"), "rivers")
    assert doc.references == ENTRIES
    # the entries are not article text: three sentences, each with its own marker
    assert [s.refs for s in doc.sentences] == [(1,), (2,), (3,)]
    assert not any("no References list" in w for w in doc.warnings)


def test_all_shapes_are_present():
    """The shapes the issue names each have a fixture (a missing file would pass silently)."""
    names = {p.stem for p in SHAPES.glob("*.txt")}
    assert names >= {
        "blank_line",
        "no_blank_line",
        "unnumbered",
        "indented",
        "indented_unnumbered_no_blank",
        "notes_no_blank_no_backlinks",
        "no_blank_then_end_matter",
    }


def test_heading_without_blank_line_keeps_the_body_intact():
    text = (SHAPES / "no_blank_line.txt").read_text(encoding="utf-8")
    doc = parse_text(text, "rivers")
    assert doc.sections == []
    assert doc.sentences[-1].text == "Its delta was first mapped in 1850."


def test_a_body_paragraph_that_merely_starts_with_the_word_is_not_a_list():
    text = "Title\n\nNotes on the river follow.[1]\nIt floods.\n\nReferences\n1. ^ Atlas.\n"
    doc = parse_text(text, "t")
    assert doc.references == {1: "Atlas."}
    assert doc.sentences[0].text == "Notes on the river follow."
