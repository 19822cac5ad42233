"""The web app's API, called with gradio_client against `python app.py` in a subprocess.

Also fast checks of the app's escaping and of its rebuild/swap logic (no server, fake model).
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from helpers import AppCallError, api_call, app_on_corpus_copy

ROOT = Path(__file__).resolve().parents[2]
ARTICLE_NAME = "human_trafficking_in_laos.txt"
SHELTER_Q = "Who runs the long-term shelter for victims?"
NEW_TEXT = (
    "In 2024 the Savannakhet shelter opened a library of braille books donated by the "
    "Okapi Reading Foundation."
)
START_TIMEOUT = 240  # seconds: a cold start builds the index with the real model


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """The app over a writable copy of the corpus and a fresh index: (url, corpus_dir, index)."""
    with app_on_corpus_copy(tmp_path_factory.mktemp("app"), START_TIMEOUT) as (
        url,
        corpus,
        index,
        _,
    ):
        yield url, corpus, index


@pytest.fixture(scope="module")
def client(server):
    from gradio_client import Client

    return Client(server[0], verbose=False, download_files=False)


def call(client, *args, api_name: str, timeout: float = 120):
    """client.predict with a bound on the wait."""
    return client.submit(*args, api_name=api_name).result(timeout=timeout)


# ----------------------------------------------------------------------------- API (slow)


@pytest.mark.slow
def test_api_lists_the_named_endpoints(client):
    names = client.view_api(print_info=False, return_format="dict")["named_endpoints"]
    assert {"/answer", "/retrieve", "/rebuild", "/status"} <= set(names)


@pytest.mark.slow
def test_answer_quotes_the_article_verbatim_with_its_reference(client, article_text):
    ans = call(client, SHELTER_Q, 5, api_name="/answer")
    assert ans["found"] is True
    assert ans["quotes"], ans
    quote = ans["quotes"][0]
    assert quote["text"] in article_text
    assert article_text[quote["start"] : quote["end"]] == quote["text"]
    assert "Lao Women’s Union" in quote["text"]
    assert quote["refs"] == [2]
    refs = {r["number"]: r["text"] for r in ans["references"]}
    assert "Trafficking in Persons Report 2008" in refs[2]
    assert len(ans["passages"]) == 5
    assert all(p["text"] in article_text for p in ans["passages"])


@pytest.mark.slow
def test_answer_says_so_when_the_article_does_not(client):
    ans = call(client, "What is the capital of France?", 3, api_name="/answer")
    assert ans["found"] is False
    assert ans["quotes"] == []
    assert ans["passages"]  # the closest passages are still given
    assert "never mentions France" in ans["reasons"]


@pytest.mark.slow
def test_answer_follow_up_uses_history(client):
    ans = call(
        client, "and in 2018?", 5, ["What tier was Laos placed in in 2023?"], api_name="/answer"
    )
    assert ans["found"] is True
    assert any("Tier 3 Watchlist" in q["text"] for q in ans["quotes"])


@pytest.mark.slow
def test_retrieve_returns_passages_best_first(client, article_text):
    passages = call(client, SHELTER_Q, 3, api_name="/retrieve")
    assert isinstance(passages, list) and len(passages) == 3
    assert "long-term shelter" in passages[0]["text"]
    assert passages[0]["section"] == "Protection (2008)"
    scores = [p["score"] for p in passages]
    assert scores == sorted(scores, reverse=True)
    assert all(article_text[p["start"] : p["end"]] == p["text"] for p in passages)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("question", "k", "api_name", "message"),
    [
        ("", 5, "/answer", "question is empty"),
        ("   ", 5, "/retrieve", "question is empty"),
        ("x" * 1001, 5, "/answer", "limit is 1000"),
        (SHELTER_Q, 0, "/answer", "k must be from 1 to 50"),
        (SHELTER_Q, 51, "/retrieve", "k must be from 1 to 50"),
    ],
)
def test_bad_input_gets_a_clear_message_and_the_server_keeps_serving(
    client, question, k, api_name, message
):
    from gradio_client.exceptions import AppError

    with pytest.raises(AppError, match=message) as err:
        call(client, question, k, api_name=api_name)
    assert "Traceback" not in str(err.value)
    assert call(client, SHELTER_Q, 1, api_name="/retrieve")  # still answering


@pytest.mark.slow
def test_rebuild_picks_up_an_edited_corpus(client, server):
    _, corpus, index = server
    assert not call(client, NEW_TEXT, 1, api_name="/retrieve")[0]["text"].startswith("In 2024")
    article = corpus / ARTICLE_NAME
    text = article.read_text(encoding="utf-8")
    article.write_text(
        text.replace("\nReferences\n", f"\n{NEW_TEXT}[2]\n\nReferences\n", 1), encoding="utf-8"
    )

    result = call(client, api_name="/rebuild", timeout=180)
    assert result["ok"] is True, result
    assert result["report"]["changed_files"] == [ARTICLE_NAME]
    assert "Rebuilt" in result["message"]
    top = call(client, "Which foundation donated braille books?", 3, api_name="/retrieve")[0]
    assert NEW_TEXT in top["text"]
    assert call(client, api_name="/status")["built_at"] == result["status"]["built_at"]

    # Another process holding the build lock: the rebuild is refused, not run or queued.
    from qa.index.storage import build_lock

    with build_lock(index):
        refused = call(client, api_name="/rebuild", timeout=60)
    assert refused["ok"] is False
    assert "Another process is building" in refused["message"]
    assert NEW_TEXT in call(client, "braille books", 1, api_name="/retrieve")[0]["text"]


# ---------------------------------------------------------------------- fast, no server


def test_md_text_shows_html_and_markdown_literally():
    from qa.web.state import md_text

    shown = md_text("<img src=x onerror=alert(1)> *a* [2] # h")
    assert "<" not in shown and ">" not in shown
    assert "\\*a\\*" in shown and "\\[2\\]" in shown
    assert md_text("# title").startswith("\\#")
    assert md_text("1. item") == "1\\. item"  # an escaped dot: no list, and no autolink


def test_answer_markdown_escapes_source_text():
    """The Markdown form (copy as Markdown, export) renders to the source's characters: HTML
    is escaped, the [n] markers are not (they were: issue 13)."""
    from qa.results import Answer, Quote, Reference
    from qa.web.state import answer_markdown

    q = Quote("A <b>bold</b> claim.", (2,), "d", "Sec", 0, 20, 1.0, "T")
    ans = Answer("q", True, [q], [Reference("d", 2, '"Laos". <script>x</script>')])
    md = answer_markdown(ans)
    assert "<b>" not in md and "<script>" not in md
    assert md.startswith("> A \\<b\\>bold\\</b\\> claim.[2]")
    assert "**References**" in md and '- [2] "Laos". \\<script\\>x\\</script\\>' in md


def test_answer_markdown_gives_the_reason_escaped():
    from qa.results import Answer
    from qa.web.state import answer_markdown

    ans = Answer("q", False, reasons=["never mentions <i>Thai_land</i>", "gives no number"])
    md = answer_markdown(ans)
    assert (
        "The closest passage never mentions \\<i\\>Thai\\_land\\</i\\>; it gives no number." in md
    )
    assert "<i>" not in md
    assert "The closest passage" not in answer_markdown(Answer("q", False))


def test_sources_html_marks_the_quoted_sentence():
    from qa.results import Answer, Passage, Quote
    from qa.web.panel_html import sources_html
    from qa.web.transcript import Exchange

    text = "First <i>one</i>. Second one."
    p = Passage(text, "d", "T", "Sec", (2,), 0.5, 100, 100 + len(text))
    q = Quote("Second one.", (2,), "d", "Sec", 118, 129, 1.0, "T")
    out = sources_html(Exchange("q", "q", Answer("q", True, [q], passages=[p])))
    assert "<mark>Second one.</mark>" in out
    assert "&lt;i&gt;one&lt;/i&gt;" in out and "<i>" not in out


def test_second_rebuild_is_refused_and_questions_use_the_old_index(
    fake_index, fake_embedder, monkeypatch
):
    import qa.web.state as webapp
    from qa.answering.retrieval import retrieve_with_index
    from qa.api import load_index

    index_dir, corpus, _ = fake_index
    old = load_index(index_dir, corpus, embedder=fake_embedder)
    state = webapp.AppState(corpus, index_dir, old)
    started, release = threading.Event(), threading.Event()
    real_build = webapp.build_index

    def slow_build(*args, **kwargs):
        started.set()
        assert release.wait(30)
        return real_build(*args, **kwargs)

    monkeypatch.setattr(webapp, "build_index", slow_build)
    (corpus / "extra.txt").write_text("Okapi foundation braille library.\n", encoding="utf-8")
    results = {}
    t = threading.Thread(target=lambda: results.setdefault("first", state.rebuild()))
    t.start()
    assert started.wait(30)
    second = state.rebuild()
    assert second["ok"] is False and "already running" in second["message"]
    assert state.building and state.index is old  # questions meanwhile use the old index
    assert retrieve_with_index(state.index, "shelter", 1)
    release.set()
    t.join(60)
    assert results["first"]["ok"] is True, results
    assert state.index is not old and not state.building
    assert state.status()["documents"] == 2
    assert state.rebuild()["ok"] is True  # once finished, a rebuild runs again


def test_chat_turn_prompts_refuses_and_escapes(fake_index, fake_embedder):
    from qa.api import load_index
    from qa.web.state import EMPTY_PROMPT, chat_turn

    index_dir, corpus, _ = fake_index
    index = load_index(index_dir, corpus, embedder=fake_embedder)

    from qa.web.chat_html import conversation_html

    empty = chat_turn(index, "  \n ", 5, []).exchange
    assert empty.shown is None and empty.notice == EMPTY_PROMPT and empty.question is None

    long = chat_turn(index, "why " * 300, 5, [])
    assert "limit is 1000" in long.exchange.notice and long.keep_input
    assert long.exchange.question is None and long.exchange.shown.endswith(" …")

    xss = chat_turn(index, "<img src=x onerror=alert(1)>", 5, [])
    assert xss.exchange.shown == xss.exchange.question == "<img src=x onerror=alert(1)>"
    shown = conversation_html([xss.exchange])
    assert "<img" not in shown and "&lt;img src=x onerror=alert(1)&gt;" in shown
    assert "<img" not in "".join(xss.contexts)

    turn = chat_turn(index, "Who runs the long-term shelter for victims?", 3, [])
    assert turn.exchange.answer is not None and len(turn.contexts) == len(turn.choices) == 3
    assert turn.picked is not None and 'class="qa-here"' in turn.contexts[turn.picked]


def test_app_handlers_without_gradio(app_module, fake_index, fake_embedder):
    """What the page's events and the JSON API do, called as plain functions."""
    from qa.answering.retrieval import retrieve_with_index
    from qa.api import load_index
    from qa.errors import QuestionError
    from qa.web.state import EMPTY_PROMPT, AppState

    index_dir, corpus, _ = fake_index
    state = AppState(corpus, index_dir, load_index(index_dir, corpus, embedder=fake_embedder))

    view = app_module.ask(state, SHELTER_Q, 3, [])
    assert view.box == "" and [e.question for e in view.exchanges] == [SHELTER_Q]
    panels = view.panels
    assert "qa-sources-head" in panels.sources
    assert len(panels.contexts) == len(panels.choices) == 3
    assert panels.context == panels.contexts[panels.picked] and 'class="qa-here"' in panels.context

    too_long = "why " * 300
    refused = app_module.ask(state, too_long, 3, view.exchanges)
    assert refused.panels is None  # the panels keep the last answer
    assert refused.box == too_long and len(refused.exchanges) == 2
    empty = app_module.ask(state, "  ", 3, None)
    assert empty.panels is None and empty.box == ""
    assert [(e.shown, e.notice) for e in empty.exchanges] == [(None, EMPTY_PROMPT)]

    cleared = app_module.clear()
    assert cleared.box == "" and cleared.exchanges == []
    assert cleared.panels.context == app_module.NO_CONTEXT
    assert app_module.show_context(None, []) == app_module.NO_CONTEXT
    assert app_module.show_context(5, ["<p>a</p>"]) == app_module.NO_CONTEXT
    assert app_module.show_context("0", ["<p>a</p>"]) == "<p>a</p>"

    with pytest.raises(QuestionError, match="empty"):
        app_module.answer_json(state, " ", 5)
    with pytest.raises(QuestionError, match="k must be"):
        app_module.retrieve_json(state, SHELTER_Q, 0)
    with pytest.raises(QuestionError, match="history item 2"):
        app_module.answer_json(state, "and who runs it?", 2, [SHELTER_Q, 3, None, " "])
    ans = app_module.answer_json(state, "and who runs it?", 2, [SHELTER_Q])
    assert len(ans["passages"]) == 2 and ans["query"].startswith(SHELTER_Q)
    assert [p["text"] for p in app_module.retrieve_json(state, SHELTER_Q, 2)] == [
        p.text for p in retrieve_with_index(state.index, SHELTER_Q, 2)
    ]

    tab, message, line = app_module.rebuild_view(state)
    assert message.startswith("Rebuilt") and "passages" in tab
    assert line.startswith("Answers come from the index content")


# ------------------------------------------------- the bad-input matrix, through the web API


def _web_cases(cases: dict) -> dict:
    """The cases a JSON client can send as the question (text; None is refused by the form)."""
    return {name: case for name, case in cases.items() if isinstance(case[0], str)}


def _bad_input_cases():
    from test_bad_input import BAD_K, BAD_QUESTIONS, ODD_QUESTIONS

    bad = _web_cases(BAD_QUESTIONS)
    # JSON joins "\ud800\udfff" into one real character; over HTTP only unpaired ones are lone.
    bad["lone-surrogates-only"] = ("\udcff\udcfe\ud800", "empty")
    return bad, ODD_QUESTIONS, BAD_K


WEB_BAD, WEB_ODD, WEB_BAD_K = _bad_input_cases()


def ask(client, server, question, k, api_name):
    """gradio_client when it can encode the question, raw HTTP when it cannot."""
    try:
        question.encode("utf-8")
    except UnicodeEncodeError:
        return api_call(server[0], api_name.lstrip("/"), question, k, None, timeout=60)
    return call(client, question, k, api_name=api_name)


@pytest.mark.slow
@pytest.mark.parametrize(("question", "needle"), WEB_BAD.values(), ids=list(WEB_BAD))
def test_web_api_refuses_bad_questions_naming_the_limit(client, server, question, needle):
    from gradio_client.exceptions import AppError

    with pytest.raises((AppError, AppCallError)) as err:
        ask(client, server, question, 5, "/answer")
    assert needle in str(err.value)
    assert "Traceback" not in str(err.value)
    assert call(client, SHELTER_Q, 1, api_name="/retrieve")  # still serving


@pytest.mark.slow
@pytest.mark.parametrize("question", WEB_ODD.values(), ids=list(WEB_ODD))
def test_web_api_answers_odd_questions_with_verbatim_quotes(client, server, question, article_text):
    ans = ask(client, server, question, 5, "/answer")
    assert isinstance(ans["found"], bool)
    assert ans["passages"], "the closest passages are always returned"
    for quote in ans["quotes"]:
        assert article_text[quote["start"] : quote["end"]] == quote["text"]


@pytest.mark.slow
@pytest.mark.parametrize(("k", "needle"), WEB_BAD_K.values(), ids=list(WEB_BAD_K))
def test_web_api_bad_k_is_refused_or_coerced_never_a_crash(client, k, needle):
    """The form's number input may coerce "3" or 2.5; anything else must name the limit."""
    from gradio_client.exceptions import AppError

    try:
        ans = call(client, SHELTER_Q, k, api_name="/answer")
    except AppError as err:
        assert needle in str(err) and "Traceback" not in str(err)
    else:
        assert k in ("3", 2.5, True) and isinstance(ans["found"], bool)
    assert call(client, SHELTER_Q, 1, api_name="/retrieve")


def test_check_a_quote_handler(app_module, fake_index, fake_embedder):
    """The "Check a quote" tab's handler: the verdict as HTML, a bad input as one line."""
    from qa.api import load_index
    from qa.web.handlers import check_quote
    from qa.web.state import AppState

    index_dir, corpus, _ = fake_index
    state = AppState(corpus, index_dir, load_index(index_dir, corpus, embedder=fake_embedder))
    text = check_quote(state, "Laos ratified the 2000 UN TIP Protocol in September 2003.[1]")
    assert "Verbatim, with the source's references." in text and "[1] is the source's" in text
    assert "text to verify is empty" in check_quote(state, "   ")
    assert ">The text to verify must be text, not int.</p>" in check_quote(state, 5)
    assert "&lt;b&gt;" in check_quote(state, "<b>Laos</b> ratified it in October 2003.")
