"""What the web chat shows, copies and records, without a browser: exact copy texts, escaping,
markers, tentative answers, feedback, rebuild limits and the handlers (issue 13)."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

from qa.results import Answer, Passage, Quote, Reference

XSS = "<img src=x onerror=alert(1)>"


def _quote(text="It rained.[3] Boats *sank*.", refs=(3, 4), start=10, **kw) -> Quote:
    return Quote(text, refs, "b.txt", "History", start, start + len(text), 0.9, "Boats", **kw)


def _answer(quotes=None, found=True, **kw) -> Answer:
    quotes = [_quote()] if quotes is None else quotes
    refs = [Reference("b.txt", 3, 'Atlas "of" <b>rain</b>.'), Reference("b.txt", 4, "Log_book.")]
    return Answer("Did boats sink?", found, quotes, refs if found else [], **kw)


def _exchange(ans: Answer):
    from qa.web.transcript import Exchange

    return Exchange(ans.question, ans.question, ans, tuple(ans.references), version="v1", k=5)


# ------------------------------------------------------------------------ exact texts


def test_copy_texts_are_the_source_characters_unescaped():
    from qa.web.transcript import answer_text, quote_line, quote_text

    q = _quote()
    assert quote_line(q) == "It rained.[3] Boats *sank*.[4]"  # [3] is already in the text
    refs = _answer().references
    assert quote_text(q, refs) == (
        'It rained.[3] Boats *sank*.[4]\n\nReferences\n[3] Atlas "of" <b>rain</b>.\n[4] Log_book.'
    )
    text = answer_text(_exchange(_answer()))
    assert "\\" not in text and "**" not in text and "&lt;" not in text
    assert text.endswith('References\n[3] Atlas "of" <b>rain</b>.\n[4] Log_book.')


def test_markdown_variant_escapes_only_what_would_render_differently():
    from qa.answering.render import md
    from qa.web.transcript import answer_markdown_of

    assert md("A *b* [7][8] <i>x</i> 2_3") == "A \\*b\\* [7][8] \\<i\\>x\\</i\\> 2\\_3"
    assert md("# not a heading") == "\\# not a heading"
    out = answer_markdown_of(_exchange(_answer()))
    assert out.startswith("> It rained.[3] Boats \\*sank\\*.[4]\n> — *Boats, History*")
    assert '- [3] Atlas "of" \\<b\\>rain\\</b\\>.' in out


def test_not_found_text_lists_the_closest_passages_with_their_references():
    from qa.web.transcript import Exchange, answer_text

    p = Passage("Laos is a source.[6] Many were sold.", "b.txt", "T", "S", (6, 7), 0.1, 0, 36)
    ans = Answer("q?", False, passages=[p], reasons=["never mentions France"])
    refs = (Reference("b.txt", 6, "UN ACT."), Reference("b.txt", 7, "Thanh Nien."))
    text = answer_text(Exchange("q?", "q?", ans, refs))
    assert "The closest passage never mentions France." in text
    assert (
        "Laos is a source.[6] Many were sold.[7]\n\nReferences\n[6] UN ACT.\n[7] Thanh Nien."
        in text
    )


# ------------------------------------------------------------------ the conversation HTML


def test_conversation_html_escapes_questions_quotes_and_references():
    from qa.web.chat_html import conversation_html
    from qa.web.transcript import Exchange, answer_text

    q = _quote(text=f"A {XSS} claim.", refs=(3,))
    ans = _answer([q])
    e = Exchange(XSS, XSS, ans, tuple(ans.references), version="v1", k=5)
    out = conversation_html([e])
    assert "<img" not in out and "<b>rain" not in out
    assert html.escape(XSS) in out
    # the copy attribute decodes back to the exact text
    m = re.search(r'class="qa-copy qa-copy-answer" data-copy="([^"]*)"', out)
    assert m and html.unescape(m.group(1)) == answer_text(e)


def test_every_marker_is_the_same_reference_button_inside_or_after_a_quote():
    from qa.web.chat_html import conversation_html

    out = conversation_html([_exchange(_answer())])
    quote = re.search(r"<blockquote.*?</blockquote>", out, re.S).group(0)
    chips = re.findall(r'<button type="button" class="qa-ref" data-ref="(\d+)"', quote)
    assert chips == ["3", "4"]  # the inner [3] and the appended [4], one look
    shown = re.sub(r"<[^>]+>", "", re.sub(r"<button.*?</button>", "", quote))
    assert "[3]" not in shown  # no marker left as text
    assert re.findall(r'<li id="qa-ref-0-(\d+)"', out) == ["3", "4"]


def test_a_tentative_answer_is_labelled_whether_or_not_answer_has_outcome():
    from qa.web.chat_html import conversation_html
    from qa.web.transcript import answer_text

    ans = _answer(found=False, confidence=0.42)
    ans.references = [Reference("b.txt", 3, "Atlas."), Reference("b.txt", 4, "Log.")]
    assert "tentative" not in conversation_html([_exchange(ans)])  # no field: not found
    ans.outcome = "tentative"  # type: ignore[attr-defined]  # the answerer's new field
    out = conversation_html([_exchange(ans)])
    assert "Tentative (confidence 42%): the closest the text comes" in out
    assert 'class="qa-badge qa-tentative-badge">tentative' in out and "does not say" not in out
    assert answer_text(_exchange(ans)).startswith("Tentative (confidence 42%)")


def test_sources_mark_a_quote_in_one_passage_and_say_which_overlap():
    from qa.web.panel_html import sources_html

    text = "One. Two three. Four."
    a = Passage(text[:15], "b.txt", "T", "S", (), 0.5, 0, 15)
    b = Passage(text[5:], "b.txt", "T", "S", (), 0.4, 5, 21)
    q = Quote("Two three.", (), "b.txt", "S", 5, 15, 1.0, "T")
    ans = Answer("q", True, [q], passages=[a, b])
    out = sources_html(_exchange(ans))
    assert out.count("<mark>Two three.</mark>") == 1 and out.count(">quoted<") == 1
    assert "shares text with #1" in out and "score 0." not in out.split("title=")[0]


# --------------------------------------------------------------- rebuild rules, status


def test_rebuild_is_refused_too_soon_unless_the_corpus_changed(fake_index, fake_embedder):
    from qa.api import load_index
    from qa.web.state import AppState

    index_dir, corpus, _ = fake_index
    state = AppState(
        corpus, index_dir, load_index(index_dir, corpus, embedder=fake_embedder),
        rebuild_interval=30,
    )  # fmt: skip
    first = state.rebuild()
    assert first["ok"] is True and first["message"] == "Rebuilt: 1 document, nothing changed."
    again = state.rebuild()
    assert (
        again["ok"] is False
        and "no corpus file has changed since; try again in" in again["message"]
    )
    (corpus / "extra.txt").write_text("Okapi braille library.\n\nMore words.\n", "utf-8")
    changed = state.rebuild()
    assert changed["ok"] is True and changed["message"].startswith("Rebuilt: 2 documents; ")
    assert "passage" in changed["message"] and "extra.txt" in changed["message"]
    assert state.rebuilds == 2


def test_rebuild_is_off_beyond_loopback_unless_allowed(fake_index, fake_embedder):
    from qa.api import load_index
    from qa.settings import Settings
    from qa.web.state import AppState, rebuild_off_reason

    assert rebuild_off_reason(Settings(host="127.0.0.1")) == ""
    assert rebuild_off_reason(Settings(host="0.0.0.0", allow_rebuild=True)) == ""
    why = rebuild_off_reason(Settings(host="0.0.0.0"))
    assert "--allow-rebuild" in why
    index_dir, corpus, _ = fake_index
    index = load_index(index_dir, corpus, embedder=fake_embedder)
    state = AppState(corpus, index_dir, index, rebuild_off=why)
    assert state.rebuild() == {**state.rebuild(), "ok": False, "message": why}
    assert state.rebuilds == 0


def test_status_gives_folder_names_unless_asked_for_paths(fake_index, fake_embedder):
    from qa.api import load_index
    from qa.web.state import AppState, status_markdown

    index_dir, corpus, _ = fake_index
    index = load_index(index_dir, corpus, embedder=fake_embedder)
    status = AppState(corpus, index_dir, index).status()
    assert (status["corpus_dir"], status["index_dir"]) == ("corpus", "index")
    assert str(index_dir.parent) not in json.dumps(status)
    assert "Corpus: corpus:" not in status_markdown(AppState(corpus, index_dir, index))
    full = AppState(corpus, index_dir, index, show_paths=True).status()
    assert full["index_dir"] == str(index_dir.resolve())


def test_serve_options_reach_the_settings(app_module):
    args = app_module.parse_args(["--allow-rebuild", "--rebuild-interval", "5", "--no-feedback"])
    from qa.settings import Settings, serve_overrides

    s = serve_overrides(Settings(), args)
    assert (s.allow_rebuild, s.rebuild_interval, s.feedback_file, s.status_paths) == (
        True, 5, None, False,
    )  # fmt: skip
    assert serve_overrides(Settings(), app_module.parse_args([])).feedback_file == Path(
        "feedback.jsonl"
    )


# ------------------------------------------------------------------------------ handlers


def test_one_conversation_state_clear_forgets_everything(app_module, fake_index, fake_embedder):
    from qa.api import load_index
    from qa.web.handlers import history_of, k_changed, open_in_context
    from qa.web.state import AppState

    index_dir, corpus, _ = fake_index
    state = AppState(corpus, index_dir, load_index(index_dir, corpus, embedder=fake_embedder))
    view = app_module.ask(state, "Who runs the long-term shelter for victims?", 3, [])
    view = app_module.ask(state, "and in 2018?", 3, view.exchanges)
    assert history_of(view.exchanges) == ["Who runs the long-term shelter for victims?",
                                          "and in 2018?"]  # fmt: skip
    assert "Ask again to search 7" in k_changed(view.exchanges, 7)
    shown = open_in_context(state, view.exchanges, {"turn": 0, "passage": 1})
    assert shown is not None and 'class="qa-here"' in shown
    for bad in ({"turn": 9, "quote": 0}, {"turn": 0, "quote": -1}, {"turn": "0"}, None, []):
        assert open_in_context(state, view.exchanges, bad) is None
    cleared = app_module.clear()
    assert cleared.exchanges == [] and history_of(cleared.exchanges) == []
    after = app_module.ask(state, "and in 2018?", 3, cleared.exchanges)
    assert after.exchanges[-1].answer.query == "and in 2018?"  # not a follow-up any more


def test_feedback_handler_takes_only_what_the_page_offers(tmp_path, fake_index, fake_embedder):
    from qa.api import load_index
    from qa.web.handlers import ask, give_feedback
    from qa.web.state import AppState

    index_dir, corpus, _ = fake_index
    state = AppState(corpus, index_dir, load_index(index_dir, corpus, embedder=fake_embedder))
    exchanges = ask(state, "Who runs the long-term shelter for victims?", 3, []).exchanges
    path = tmp_path / "feedback.jsonl"
    assert give_feedback(exchanges, {"turn": 0, "vote": "up"}, path)[0] is True
    assert give_feedback(exchanges, {"turn": 0, "vote": "up"}, None)[0] is False
    for bad in ({"turn": 3, "vote": "up"}, {"turn": 0, "vote": "meh"}, "x"):
        assert give_feedback(exchanges, bad, path)[0] is False
    assert len(path.read_text().splitlines()) == 1


def test_the_title_links_to_the_source_when_the_document_gives_its_address(tmp_path):
    from qa.index.records import DocRecord
    from qa.readers import parse_html, parse_text
    from qa.web.layout import header_html

    page = (
        '<html><head><link rel="canonical" href="https://en.wikipedia.org/wiki/Lakes">'
        '</head><body><h1 id="firstHeading">Lakes</h1><div class="mw-parser-output">'
        "<p>Deep.</p></div></body></html>"
    )
    doc = parse_html(page, "lakes.html")
    assert doc.url == "https://en.wikipedia.org/wiki/Lakes"
    record = DocRecord(doc.doc_id, doc.path, doc.title, doc.text, {}, url=doc.url)
    assert DocRecord.from_json(record.to_json()).url == doc.url
    assert DocRecord.from_json({**record.to_json(), "url": None} | {"url": ""}).url == ""
    out = header_html(doc.title, doc.url)
    assert '<a href="https://en.wikipedia.org/wiki/Lakes" target="_blank"' in out
    assert "<a " not in header_html("Lakes", "javascript:alert(1)")
    assert "<a " not in header_html("<b>x</b>", "") and "&lt;b&gt;" in header_html("<b>x</b>")
    assert parse_html(page.replace("https://", "javascript://"), "l.html").url == ""
    copy = 'Jump to content\nMain menu\n\nLakes\n\nDeep.\n\nRetrieved from "https://e.org/L"\n'
    assert parse_text(copy, "l.txt").url == "https://e.org/L"
    assert parse_text(copy.replace("Jump to content", "x"), "l.txt").url == ""


def test_rebuilds_skip_files_over_the_configured_size(fake_index, fake_embedder):
    from qa.api import load_index
    from qa.web.state import AppState

    index_dir, corpus, _ = fake_index
    index = load_index(index_dir, corpus, embedder=fake_embedder)
    limit = max(p.stat().st_size for p in corpus.iterdir()) + 100  # as QA_MAX_FILE_MB says
    (corpus / "big.txt").write_text("Big\n\n" + "Words here. " * limit, encoding="utf-8")
    result = AppState(corpus, index_dir, index, max_file_bytes=limit).rebuild()
    assert result["ok"] is True and result["status"]["documents"] == 1
    assert "big.txt" in result["message"]  # skipped, with a warning naming it
    assert str(corpus.parent) not in result["message"]  # and no absolute path
    (corpus / "big.txt").write_text("\x00\x01", encoding="utf-8")
    (corpus / "human_trafficking_in_laos.txt").unlink()
    failed = AppState(corpus, index_dir, index).rebuild()
    assert failed["ok"] is False and "big.txt" in failed["message"]
    assert str(corpus.parent) not in failed["message"]
