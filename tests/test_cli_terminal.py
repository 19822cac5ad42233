"""`qa ask` at a terminal: formatted (quote blocks, bold answer, dimmed references); piped:
the Markdown; `--json`: the Answer. Corpus text never reaches the terminal as escape codes."""

from __future__ import annotations

import contextlib
import io
import json

import pytest

import qa.cli as cli
from qa.answering.render import render_markdown
from qa.results import Answer, Quote, Reference
from qa.terminal import answer_renderable, clean, print_answer

ESC_CLEAR = "\x1b[2J"  # clears the screen
ESC_TITLE = "\x1b]0;owned\x07"  # retitles the window


def _answer(text: str = "Laos ratified it in September 2003.", entry: str = "UN Treaty.") -> Answer:
    q = Quote(text, (1,), "laos", "", 0, len(text), 1.0, "Laos", written=text + "[1]")
    ans = Answer("When?", True, [q], [Reference("laos", 1, entry)])
    ans.markdown = render_markdown(ans)
    return ans


class _Stdout(io.StringIO):
    def __init__(self, tty: bool) -> None:
        super().__init__()
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty


class _Index:
    docs = [object()]

    def serving(self):
        return contextlib.nullcontext()


@pytest.fixture
def ask(monkeypatch):
    """Run `qa ask` on a given Answer with stdout a terminal or not; returns what it printed."""

    def run(ans: Answer, tty: bool, *flags: str) -> str:
        monkeypatch.setattr(cli, "_load", lambda settings: _Index())
        monkeypatch.setattr(cli, "_note_backend", lambda idx, settings: None)
        monkeypatch.setattr(cli, "answer_with_index", lambda *a, **kw: ans)
        out = _Stdout(tty)
        monkeypatch.setattr(cli.sys, "stdout", out)
        monkeypatch.setenv("FORCE_COLOR", "1")  # rich styles even where the test has no TERM
        monkeypatch.delenv("NO_COLOR", raising=False)
        assert cli.main(["ask", "When?", *flags]) == 0
        return out.getvalue()

    return run


def test_a_terminal_gets_quote_blocks_bold_answer_and_dim_references(ask):
    out = ask(_answer(), True)
    assert "**" not in out and "\n> " not in out and not out.startswith(">")
    assert "▌" in out  # a quote block
    assert "\x1b[1mLaos ratified it in September 2003." in out  # the answer in bold
    assert "\x1b[2m[1] UN Treaty." in out  # the reference entry dimmed
    assert "September 2003.\x1b[0m\x1b[36m[1]" in out  # the marker against the full stop


def test_piped_output_is_the_markdown_and_json_is_unchanged(ask):
    ans = _answer()
    assert ask(ans, False) == ans.markdown + "\n"
    assert ask(ans, True, "--markdown") == ans.markdown + "\n"
    assert json.loads(ask(ans, True, "--json")) == json.loads(json.dumps(ans.to_dict()))


def test_corpus_text_cannot_send_escape_sequences_to_the_terminal(ask):
    ans = _answer(f"Laos{ESC_CLEAR} ratified it.\u202e", f"UN{ESC_TITLE} Treaty.")
    out = ask(ans, True)
    assert ESC_CLEAR not in out and "\x1b]" not in out and "\x07" not in out
    assert "\u202e" not in out
    assert "Laos[2J ratified it." in out  # the text stays, without its control character


def test_unanswered_parts_and_tentative_answers_are_said_at_the_terminal():
    ans = _answer()
    ans.unanswered = ["which article bans it?"]
    out = io.StringIO()
    print_answer(ans, file=out)
    assert "No quote answers this part: which article bans it?" in out.getvalue()
    ans.found, ans.outcome, ans.confidence = False, "tentative", 0.5
    out = io.StringIO()
    print_answer(ans, file=out)
    assert out.getvalue().startswith("The text may not answer this. The closest it comes")
    assert answer_renderable(Answer("q", False)) is not None


def test_clean_keeps_newlines_and_text():
    assert clean("a\nb\tc\x1b[0m\x9b2J") == "a\nb c[0m2J"
