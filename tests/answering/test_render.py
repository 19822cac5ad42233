"""One Markdown rendering of an Answer: the library's and the web transcript's agree."""

from __future__ import annotations

from qa.answering.render import md, render_markdown, where
from qa.results import Answer, Quote, Reference
from qa.web.transcript import answer_markdown


def _answer() -> Answer:
    text = "Boats *sank* <b>near</b> the_port."
    q = Quote(text, (7,), "b.txt", "History", 0, len(text), 0.9, "Boats")
    return Answer("Did boats sink?", True, [q], [Reference("b.txt", 7, "Atlas *2nd* ed.")])


def test_the_library_and_the_web_escape_an_answer_the_same_way():
    lib, web = render_markdown(_answer()), answer_markdown(_answer())
    quote = "> " + md("Boats *sank* <b>near</b> the_port.")
    assert quote + "[7]" in lib.splitlines()  # markers follow at once, as sources write them
    assert quote + "[7]" in web.splitlines()
    for out in (lib, web):
        assert "> — *Boats, History*" in out
        assert "- [7] Atlas \\*2nd\\* ed." in out
        assert "<b>" not in out


def test_where_is_one_title_section_line():
    assert where("Boats", "History") == "Boats, History"
    assert where("Boats", "") == "Boats"
