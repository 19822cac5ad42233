"""The question is analysed once (``qa.answering.question.Question``) and read, not re-split."""

from __future__ import annotations

import functools

import pytest

from qa.answering import abstention, answer, features, names, retrieval
from qa.answering.answer import answer_with_index
from qa.answering.question import Question, analyse
from qa.errors import QuestionError
from qa.index import text


def test_analyse_gives_every_reading_of_the_question():
    q = analyse("  And the U.S. State   Department in 2018? ", ["What tier was Laos in?"])
    assert q.text == "And the U.S. State Department in 2018?"
    assert q.query == "What tier was Laos in? And the U.S. State Department in 2018?"
    assert q.followup
    assert q.tokens == tuple(text.tokenize(q.text))
    assert set(q.query_tokens) >= {"tier", "lao", "2018"}
    assert [n.tokens for n in q.names] == [["us", "state", "department"]]
    assert q.numbers == {"2018"} and q.figures == {"2018"}
    assert q.anchors == {"2018", "us", "state", "depart"}
    assert q.spelled["depart"] == "Department"


def test_a_compound_question_carries_its_parts_analysed():
    q = analyse("How many were brought home, and how many were still in centers?")
    assert [p.text for p in q.parts] == [
        "How many were brought home",
        "how many were still in centers?",
    ]
    assert all(p.kind == "quantity" and not p.parts and not p.followup for p in q.parts)
    assert analyse("Who runs the shelter?").parts == ()


def test_analyse_refuses_what_clean_question_refuses():
    with pytest.raises(QuestionError, match="empty"):
        analyse("   ")
    with pytest.raises(QuestionError, match="history item 1"):
        analyse("And then?", [""])


def test_answering_never_tokenises_the_question_again(fake_index, fake_embedder, monkeypatch):
    """Every tokenising function the answering modules hold is watched: none gets the question."""
    from qa.api import load_index

    index_dir, corpus, _ = fake_index
    idx = load_index(index_dir, corpus, embedder=fake_embedder)
    question = "How many victims were brought home by Thai officials, and who ran the shelter?"
    fragments = ("victims were brought home", "who ran the shelter")
    seen: list[str] = []

    def watched(fn):
        @functools.wraps(fn)
        def wrapper(arg, *a, **kw):
            if isinstance(arg, str) and any(f in arg for f in fragments):
                seen.append(f"{fn.__name__}({arg!r})")
            return fn(arg, *a, **kw)

        return wrapper

    for module in (abstention, answer, features, names, retrieval):
        for name, value in list(vars(module).items()):
            if getattr(value, "__module__", None) == text.__name__ and callable(value):
                monkeypatch.setattr(module, name, watched(value))
    analysed: list[str] = []
    real_of = Question.of.__func__

    def counting_of(cls, t, query=None, split=True):
        analysed.append(t)
        return real_of(cls, t, query, split)

    monkeypatch.setattr(Question, "of", classmethod(counting_of))
    ans = answer_with_index(idx, question)
    assert ans.question == question
    assert seen == []
    assert analysed[0] == question  # analysed once (its parts within that one analysis)
    assert analysed.count(question) == 1
