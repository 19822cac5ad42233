"""The page's pieces without a browser (issue 21): quotes with their markers as the source
writes them, linked reference entries, the "Check a quote" verdicts, turn headings and control
names, the announcement of a new answer, export names and the index version."""

from __future__ import annotations

import datetime as dt
import html
import re

from qa.results import Answer, DiffOp, Quote, RefCheck, Reference, Verification

SOURCE = (
    "Laos ratified the 2000 UN TIP Protocol in September 2003.[1] It signed later. "
    "Boats sank.[2][3]\n\nA mirror writes it so. [4]"
)


def _q(text: str, refs: tuple[int, ...]) -> Quote:
    start = SOURCE.index(text)
    return Quote(text, refs, "a.txt", "History", start, start + len(text), 0.9, "Laos")


def test_quotes_carry_their_markers_as_the_source_writes_them():
    from qa.web.transcript import quote_line, written_line

    glued = _q("Laos ratified the 2000 UN TIP Protocol in September 2003.", (1,))
    assert (
        written_line(SOURCE, glued)
        == "Laos ratified the 2000 UN TIP Protocol in September 2003.[1]"
    )
    assert written_line(SOURCE, _q("Boats sank.", (2, 3))) == "Boats sank.[2][3]"
    # a source that puts a space before its markers keeps it
    assert written_line(SOURCE, _q("A mirror writes it so.", (4,))) == "A mirror writes it so. [4]"
    # covered by a later marker: the markers follow at once, never after a space
    later = _q("It signed later.", (2, 3))
    assert written_line(SOURCE, later) == quote_line(later) == "It signed later.[2][3]"


def _exchange(quotes, t_refs=((1, "Treaty list, https://treaties.un.org/."),)):
    from qa.web.transcript import Exchange

    refs = [Reference("a.txt", n, text) for n, text in t_refs]
    ans = Answer("When?", True, list(quotes), refs)
    written = tuple(SOURCE[q.start : q.end] + "[1]" for q in quotes)
    return Exchange("When?", "When?", ans, tuple(refs), version="content x", k=5, written=written)


def _copies(out: str) -> dict[str, str]:
    """aria-label → what the copy button copies."""
    found = re.findall(r'data-copy="([^"]*)" aria-label="([^"]*)"', out)
    return {html.unescape(name): html.unescape(copy) for copy, name in found}


def test_copy_quote_is_the_quote_as_written_and_a_second_control_adds_its_references():
    from qa.web.chat_html import conversation_html
    from qa.web.transcript import answer_text, conversation_text

    q = _q("Laos ratified the 2000 UN TIP Protocol in September 2003.", (1,))
    e = _exchange([q])
    out = conversation_html([e, e], "Laos")
    copies = _copies(out)
    line = "Laos ratified the 2000 UN TIP Protocol in September 2003.[1]"
    assert copies["Copy quote 1 of answer 2"] == line  # no References block
    assert copies["Copy quote 1 of answer 2 with its references"] == (
        f"{line}\n\nReferences\n[1] Treaty list, https://treaties.un.org/."
    )
    assert copies["Copy quote 1 of answer 1 as Markdown"] == f"> {line}"
    assert answer_text(e).startswith(line + "\n") and f"{line}\n" in conversation_text([e])
    assert ". [1]" not in out  # nowhere on the page a space the source does not have
    # what the quote shows is the same line, its [1] a reference button right after the dot
    quote = re.search(r"<blockquote.*?</blockquote>", out, re.S).group(0)
    assert "2003.<button" in quote


def test_reference_entries_link_http_addresses_only():
    from qa.web.chat_html import linked

    out = linked('See https://treaties.un.org/a?b=1&c=2. Or javascript:alert(1) "x" <b>')
    assert out == (
        'See <a href="https://treaties.un.org/a?b=1&amp;c=2" target="_blank" '
        'rel="noopener noreferrer">https://treaties.un.org/a?b=1&amp;c=2</a>. '
        "Or javascript:alert(1) &quot;x&quot; &lt;b&gt;"
    )
    assert "<a" not in linked("ftp://x.org/ data:text/html,hi crsreports.congress.gov/")
    assert linked("(https://w.org/Lake_(Texas))").count('href="https://w.org/Lake_(Texas)"') == 1


def test_the_chat_lists_linked_entries_and_chips_start_collapsed():
    from qa.web.chat_html import conversation_html

    out = conversation_html([_exchange([_q("Boats sank.", (1,))])])
    assert '<a href="https://treaties.un.org/" target="_blank" rel="noopener noreferrer">' in out
    assert 'class="qa-ref" data-ref="1" aria-expanded="false"' in out


def test_each_turn_has_a_heading_and_control_names_say_which_turn():
    from qa.web.chat_html import announcement, conversation_html
    from qa.web.transcript import Exchange

    q = _q("Boats sank.", (1,))
    prompt = Exchange(None, None, notice="Type a question.")
    out = conversation_html([_exchange([q]), prompt, _exchange([q, q])], "Laos")
    heads = re.findall(r"<h2[^>]*>(.*?)</h2>", out)
    assert len(heads) == 3 and heads[0] == "When?" and heads[1] == "Reply 2"
    assert '<h2 class="message-content" aria-label="Question 3: When?">' in out
    for name in (
        "Copy answer 3",
        "Copy link to answer 3",
        "Copy quote 2 of answer 3",
        "Good answer (answer 1)",
        "Show quote 2 of answer 3 in the article",
    ):
        assert f'aria-label="{name}' in out, name
    said = html.unescape(re.search(r'data-announce="([^"]*)"', out).group(1))
    assert said == "Answer 3: Boats sank.[1] And 1 more quote."
    assert announcement([prompt]) == "Reply 1: Type a question."


def test_export_names_carry_the_article_and_the_date():
    from qa.web.chat_html import conversation_html, export_name

    day = dt.date(2024, 8, 19)
    assert export_name("Human trafficking in Laos", ".md", day) == (
        "human-trafficking-in-laos-2024-08-19.md"
    )
    assert export_name("Ça/../va?", ".txt", day) == "ça-va-2024-08-19.txt"
    assert export_name("", ".md", day) == "conversation-2024-08-19.md"
    out = conversation_html([_exchange([_q("Boats sank.", (1,))])], "Lake Atlantis")
    today = dt.date.today().isoformat()
    assert f'data-filename="lake-atlantis-{today}.md"' in out
    assert f'data-filename="lake-atlantis-{today}.txt"' in out


# ----------------------------------------------------------------------- check a quote


def _verification(**kw) -> Verification:
    base = dict(text="t", verbatim=True, title="Laos", section="History", quote="Boats sank.",
                refs=(2,), closing_refs=(2,), start=4282, end=4400,
                references=[Reference("a.txt", 2, "Log, https://log.org/.")])  # fmt: skip
    return Verification(**{**base, **kw})


def test_check_a_quote_gives_a_verdict_in_words_and_colour_and_a_marked_up_difference():
    from qa.web.check_html import check_html

    right = check_html(_verification(ref_checks=[RefCheck("Boats sank.", (2,), (2,))]))
    assert 'qa-check-ok" role="status"><b>Verbatim, with the source\'s references.' in right
    assert "Boats sank.[2]" in right and "4282" not in right
    assert '<a href="https://log.org/"' in right
    wrong = check_html(_verification(ref_checks=[RefCheck("Boats sank.", (3,), (2,))]))
    assert "qa-check-refs" in wrong and "Verbatim, but with the wrong references." in wrong
    assert "the source does not give [3] here; it gives [2]" in wrong
    diff = [DiffOp("equal", "in", "in"), DiffOp("replace", "September", "<October>"),
            DiffOp("equal", "2003.", "2003."), DiffOp("insert", "", "yes")]  # fmt: skip
    no = check_html(_verification(verbatim=False, quote="", closest="in September 2003.",
                                  similarity=0.9, diff=diff))  # fmt: skip
    assert "qa-check-no" in no and "Not in the text." in no
    assert "in <del>September</del> <ins>&lt;October&gt;</ins> 2003. <ins>yes</ins>" in no
    assert "[-" not in no and "{+" not in no and "<October>" not in no


# ----------------------------------------------------------------------- index version


def test_a_rebuild_that_changed_nothing_keeps_the_version(fake_index, fake_embedder):
    import dataclasses
    import time

    from qa.api import load_index
    from qa.web.state import AppState, index_version, version_line

    index_dir, corpus, _ = fake_index
    state = AppState(corpus, index_dir, load_index(index_dir, corpus, embedder=fake_embedder))
    m = state.index.manifest
    assert index_version(dataclasses.replace(m, built_at="2001-01-01T00:00:00Z")) == (
        index_version(m)
    )
    before, line = state.status()["version"], version_line(state)
    time.sleep(1.1)  # a later build time
    assert state.rebuild()["message"] == "Rebuilt: 1 document, nothing changed."
    assert state.index.manifest.built_at != m.built_at
    assert state.status()["version"] == before and version_line(state) == line
    (corpus / "extra.txt").write_text("Okapi braille library.\n\nMore words.\n", "utf-8")
    assert state.rebuild()["ok"] is True
    assert state.status()["version"] != before and version_line(state) != line
