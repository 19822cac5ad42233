"""The short answer: candidate spans are words of the sentence, and the shipped span model
marks the value asked for inside the quote (never changing the quote)."""

from __future__ import annotations

import json

import pytest

from qa.answering import span
from qa.errors import ConfigError, EvalDataError
from qa.eval.evalsets import read_splits
from qa.settings import Settings

TEXT = "Laos ratified the 2000 UN TIP Protocol in September 2003.[1] It was placed at Tier 2.[4]"


def test_candidate_spans_are_words_of_the_sentence_and_never_cover_a_marker():
    end = TEXT.index("[1]") + 3
    spans, X = span.candidates("When did Laos ratify the protocol?", TEXT, 0, end)
    assert len(spans) == len(X) and X.shape[1] == len(span.FEATURES)
    assert all(0 <= a < b <= end for a, b in spans)
    assert all("[" not in TEXT[a:b] for a, b in spans)
    assert (TEXT.index("September"), TEXT.index("2003") + 4) in spans
    i = spans.index((TEXT.index("September"), TEXT.index("2003") + 4))
    assert X[i, span.FEATURES.index("date")] == 1.0
    assert X[i, span.FEATURES.index("in_question")] == 0.0


def test_the_shipped_model_marks_the_date_and_the_tier_asked_for():
    if span._model() is None:
        pytest.skip("no span model shipped")
    end = TEXT.index("[1]")
    got = span.answer_span("When did Laos ratify the UN TIP Protocol?", TEXT, 0, end)
    assert got is not None and TEXT[got[0] : got[1]] in ("September 2003", "in September 2003")
    start = TEXT.index("It was")
    got = span.answer_span("At what tier was it placed?", TEXT, start, TEXT.index("[4]"))
    assert got is not None and "Tier 2" in TEXT[got[0] : got[1]]
    assert span.answer_span("Why did Laos ratify it?", TEXT, 0, end) is None


def test_the_splits_file_is_read_and_a_bad_one_is_one_clear_error(tmp_path):
    good = tmp_path / "splits.json"
    good.write_text(json.dumps({"dev": ["a"], "test": ["b", "c"]}))
    s = read_splits(good)
    assert s.dev == {"a"} and s.test == {"b", "c"}
    assert read_splits(tmp_path / "missing.json").test == frozenset()
    bad = tmp_path / "bad.json"
    bad.write_text('{"dev": 1}')
    with pytest.raises(EvalDataError, match="splits"):
        read_splits(bad)


def test_the_answerhood_setting_is_on_or_off():
    assert Settings.from_env({}).answerhood is True
    assert Settings.from_env({"QA_ANSWERHOOD": "OFF"}).answerhood is False
    with pytest.raises(ConfigError, match="QA_ANSWERHOOD must be on or off"):
        Settings.from_env({"QA_ANSWERHOOD": "maybe"})


def _marked_quote():
    from qa.results import Quote

    text = "Laos ratified the protocol in September 2003."
    a = text.index("September 2003")
    return Quote(text, (1,), "d", "", 0, len(text), 1.0, "Laos", written=text + "[1]",
                 answer_start=a, answer_end=a + len("September 2003"))  # fmt: skip


def test_the_web_chat_puts_the_answer_words_in_strong_and_copies_stay_verbatim():
    from qa.web.chat_html import _marked

    q = _marked_quote()
    html = _marked(q, q.written)
    assert '<strong class="qa-answer">September 2003</strong>' in html
    assert html.startswith("Laos ratified the protocol in <strong")
    assert q.answer_text == "September 2003"


def test_the_terminal_bolds_only_the_answer_words():
    from qa.terminal import _quote_text

    t = _quote_text(_marked_quote())
    bold = "".join(t.plain[s.start : s.end] for s in t.spans if "bold" in str(s.style))
    assert bold == "September 2003"
    assert t.plain == "Laos ratified the protocol in September 2003.[1]"
