"""Red-team round two (issue 22): what reaches a renderer, a terminal or a feedback file.

Finding 7: markup from corpus text or file names never becomes HTML, a link or an autolink
(Markdown of /answer, MCP and `qa ask`; Save .md / Copy as Markdown; the rebuild message; the
Index tab). Finding 11: no absolute path of a link target or a local model. Finding 12: bad
feedback lines and a bad MCP history are one line. Finding 13: blank-looking questions are
empty; U+202E and U+2028 never reach the rendered text. Finding 14: repeated and flooding
votes are refused.
"""

from __future__ import annotations

import json
import os

import markdown_it
import pytest
from helpers import FakeEmbedder

from qa.answering.question import clean_question
from qa.answering.render import render_markdown
from qa.api import load_index
from qa.errors import EvalDataError, QAError, QuestionError
from qa.index.sources import load_corpus, printable
from qa.results import Answer, Quote, Reference
from qa.web.state import AppState, md_text, status_markdown
from qa.web.transcript import answer_markdown

EVIL = "[link](javascript:alert(1)) <img src=x onerror=alert(2)> <script>alert(3)</script>"


def _rendered(md: str) -> str:
    """The HTML a CommonMark renderer makes of ``md``, javascript: links included (markdown-it
    drops those itself; the renderers the Markdown is pasted into may not)."""
    renderer = markdown_it.MarkdownIt("commonmark")
    renderer.validateLink = lambda url: True  # type: ignore[method-assign]
    return renderer.render(md)


def _no_markup(md: str) -> None:
    html = _rendered(md)
    assert "<img" not in html and "<script" not in html and "<a " not in html, html


def _evil_answer() -> Answer:
    q = Quote(f"A claim {EVIL}.", (2,), "d", f"Sec {EVIL}", 0, 20, 1.0, f"T {EVIL}")
    refs = [Reference("d", 2, f"Book. {EVIL}"), Reference("d", 3, "[x]: javascript:alert(4)")]
    return Answer("q", True, [q], refs)


@pytest.mark.parametrize("render", [render_markdown, answer_markdown])
def test_markdown_of_an_answer_makes_no_markup_from_the_corpus(render):
    md = render(_evil_answer())
    _no_markup(md)
    _no_markup(md + "\n\n[x]\n")  # a reference definition from the corpus would link this
    assert "[2]" in md  # the source's markers stay as they are


def test_the_rebuild_message_and_index_tab_escape_file_names(tmp_path, corpus_copy):
    from qa.index.build import build_index
    from qa.web.handlers import rebuild_view

    build_index(corpus_copy, tmp_path / "index", embedder=FakeEmbedder())
    state = AppState(
        corpus_copy, tmp_path / "index", load_index(tmp_path / "index", embedder=FakeEmbedder())
    )
    (corpus_copy / "<img src=x onerror=alert(1)>.txt").write_text("A\n\nB is c.\n", "utf-8")
    (corpus_copy / "www.evil.example.txt").write_text("A\n\nB is d.\n", "utf-8")
    tab, message, _ = rebuild_view(state)
    _no_markup(message)
    assert "<img" not in message
    _no_markup(status_markdown(state))
    # GFM autolinks bare www. and http:// names; escaped punctuation stops that
    assert md_text("www.evil.example") == "www\\.evil\\.example"
    assert md_text("http://x.example") == "http\\://x\\.example"


def test_rebuild_never_shows_a_links_absolute_target(tmp_path, corpus_copy):
    from qa.index.build import build_index

    build_index(corpus_copy, tmp_path / "index", embedder=FakeEmbedder())
    state = AppState(
        corpus_copy, tmp_path / "index", load_index(tmp_path / "index", embedder=FakeEmbedder())
    )
    secret = tmp_path / "private" / "secret.txt"
    secret.parent.mkdir()
    secret.write_text("S\n\nSecret.\n", "utf-8")
    os.symlink(secret, corpus_copy / "leak.txt")
    result = state.rebuild()
    assert "leak.txt" in result["message"] and "secret.txt" in result["message"]
    assert str(tmp_path) not in json.dumps(result)


def test_status_never_shows_an_absolute_model_path(tmp_path, corpus_copy):
    from qa.index.build import build_index

    model_dir = tmp_path / "models" / "my-model"
    model_dir.mkdir(parents=True)
    build_index(corpus_copy, tmp_path / "index", embedder=FakeEmbedder(name=str(model_dir)))
    idx = load_index(tmp_path / "index", embedder=FakeEmbedder(name=str(model_dir)))
    state = AppState(corpus_copy, tmp_path / "index", idx)
    assert state.status()["model"] == "my-model"
    shown = AppState(corpus_copy, tmp_path / "index", idx, show_paths=True)
    assert shown.status()["model"] == str(model_dir)


@pytest.mark.parametrize(
    "line",
    [
        {"answer": {"outcome": "answered", "quotes": [{"text": "a", "refs": [[1]]}]}},
        {"answer": {"outcome": "answered", "quotes": "abc"}},
        {"answer": {"outcome": "answered", "quotes": [{"text": 5}]}},
        {"answer": [1]},
    ],
)
def test_a_malformed_feedback_line_is_one_clear_error(tmp_path, line):
    from qa.eval.feedback import candidates, read_feedback

    path = tmp_path / "feedback.jsonl"
    path.write_text(json.dumps({"vote": "up", "question": "q", **line}) + "\n", "utf-8")
    with pytest.raises(EvalDataError, match="feedback.jsonl:1: bad feedback entry") as info:
        candidates(read_feedback(path))
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    ("history", "needle"), [("abc", "not str"), (5, "not int"), (["ok", ""], "history item 2")]
)
def test_the_mcp_answer_tool_checks_history_as_the_app_does(fake_index, history, needle):
    from qa.web.mcp_tools import make_tools

    index_dir, corpus, _ = fake_index
    idx = load_index(index_dir, corpus, embedder=FakeEmbedder())
    tools = {f.__name__: f for f in make_tools(lambda: idx, error=lambda m: QAError(m))}
    with pytest.raises(QAError, match=needle) as info:
        tools["answer"]("Who runs the shelter?", 5, history)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("question", ["\u3164", "\u3164 \u2800", "\u0301\u0308", "\u2800" * 5])
def test_blank_looking_questions_are_empty(question):
    with pytest.raises(QuestionError, match="the question is empty"):
        clean_question(question)


def test_bidi_overrides_and_line_separators_never_reach_the_text(tmp_path):
    (tmp_path / "a.txt").write_text(
        "Lake\n\nThe lake \u202eis deep\u202c.\u2028It is cold.\n", encoding="utf-8"
    )
    (docs,), warnings = load_corpus(tmp_path)
    assert "\u202e" not in docs.text and "\u2028" not in docs.text
    assert "The lake is deep." in docs.text
    assert any("removed 3 control character(s)" in w for w in warnings)
    assert printable("a\x1b[31m\u202e.txt") == "a\\u001b[31m\\u202e.txt"


def test_repeated_and_flooding_votes_are_refused(tmp_path):
    from qa.eval.feedback import FeedbackGate
    from qa.web.handlers import give_feedback
    from qa.web.transcript import Exchange

    ans = Answer("q", True, [Quote("It rained.", (2,), "d", "", 0, 10, 1.0, "T")])
    exchanges = [Exchange("q", "q", ans, [])]
    path, gate = tmp_path / "feedback.jsonl", FeedbackGate(per_minute=3)
    up = {"turn": 0, "vote": "up"}
    assert give_feedback(exchanges, up, path, gate, "a")[0]
    saved, message = give_feedback(exchanges, up, path, gate, "a")
    assert not saved and "already recorded" in message
    for reason in ("wrong_quote", "missing_part"):
        assert give_feedback(exchanges, {**up, "vote": "down", "reason": reason}, path, gate, "a")[
            0
        ]
    saved, message = give_feedback(exchanges, {**up, "vote": "down"}, path, gate, "a")
    assert not saved and "at most 3 votes a minute" in message
    assert give_feedback(exchanges, {**up, "vote": "down"}, path, gate, "b")[0]
    assert len(path.read_text("utf-8").splitlines()) == 4
