"""Compound questions: each part is answered, or the answer says which part the text does not
answer; a part is never dropped silently (issue 21, point 4)."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import FakeEmbedder

import qa.answering.answer as answering
import qa.answering.compound as compound
from qa.answering.answer import Scored, _Candidate, answer_with_index
from qa.answering.render import render_markdown
from qa.answering.scorer import Fitted
from qa.api import load_index
from qa.results import Answer, Quote

RATIFY = "When did Laos ratify the UN TIP Protocol"
ARTICLE = "which penal code article bans trafficking?"
FITTED = Fitted(model="fake", scorer={}, abstention={}, answer=0.8, tentative=0.4)


@pytest.fixture
def idx(fake_index):
    index_dir, corpus, _ = fake_index
    return load_index(index_dir, corpus, embedder=FakeEmbedder())


def _row(idx, start: str) -> int:
    return next(i for i in range(len(idx.sentences)) if idx.sentence_text(i).startswith(start))


def _stub_candidates(monkeypatch, idx, verdicts: dict[str, tuple[str, float]]) -> None:
    """`candidates` as if the model judged: question or part → (best sentence, confidence)."""

    def candidates(index, q, k, fitted=None, reranker=None):
        start, conf = verdicts[q.text]
        cand = _Candidate(_row(idx, start), 0, 0.5, 1.0, np.zeros(1))
        return [], Scored(view=None, cands=[cand], confidence=conf)  # type: ignore[arg-type]

    monkeypatch.setattr(answering, "candidates", candidates)
    monkeypatch.setattr(compound, "candidates", candidates)


def test_a_part_the_whole_question_missed_is_answered_on_its_own(idx, monkeypatch):
    question = f"{RATIFY}, and {ARTICLE}"
    _stub_candidates(
        monkeypatch,
        idx,
        {
            question: ("Laos ratified the 2000", 0.47),  # half an answer: only tentative
            RATIFY: ("Laos ratified the 2000", 0.93),
            ARTICLE: ("Laos prohibits all forms of trafficking", 0.78 + 0.1),
        },
    )
    ans = answer_with_index(idx, question, fitted=FITTED)
    assert ans.outcome == "answered" and ans.found and ans.unanswered == []
    assert [q.text[:22] for q in ans.quotes] == ["Laos ratified the 2000", "Laos prohibits all for"]
    assert "Article 134" in ans.quotes[1].text
    assert ans.confidence == 0.88  # the weaker of the two parts


def test_a_part_the_text_does_not_answer_is_named(idx, monkeypatch):
    question = f"{RATIFY}, and {ARTICLE}"
    _stub_candidates(
        monkeypatch,
        idx,
        {
            question: ("Laos ratified the 2000", 0.47),
            RATIFY: ("Laos ratified the 2000", 0.93),
            ARTICLE: ("Laos prohibits all forms of trafficking", 0.1),
        },
    )
    ans = answer_with_index(idx, question, fitted=FITTED)
    assert ans.outcome == "answered" and len(ans.quotes) == 1
    assert ans.unanswered == [ARTICLE]
    assert f"**No quote answers this part:** {ARTICLE}" in ans.markdown
    assert ans.to_dict()["unanswered"] == [ARTICLE]


def test_a_part_whose_best_sentence_is_already_quoted_is_not_named(idx, monkeypatch):
    """One sentence can answer both halves: its part is then answered by the quote shown."""
    question = f"{RATIFY}, and when was it signed?"
    _stub_candidates(
        monkeypatch,
        idx,
        {
            question: ("Laos ratified the 2000", 0.93),
            RATIFY: ("Laos ratified the 2000", 0.93),
            "when was it signed?": ("Laos ratified the 2000", 0.3),
        },
    )
    monkeypatch.setattr(compound, "part_answers", lambda *a, **kw: ([_row(idx, "Laos ra")], {0}))
    monkeypatch.setattr(answering, "part_answers", compound.part_answers)
    ans = answer_with_index(idx, question, fitted=FITTED)
    assert ans.outcome == "answered" and len(ans.quotes) == 1 and ans.unanswered == []


def test_no_part_answered_leaves_the_whole_verdict(idx, monkeypatch):
    question = f"{RATIFY}, and {ARTICLE}"
    _stub_candidates(
        monkeypatch,
        idx,
        {
            question: ("Laos ratified the 2000", 0.1),
            RATIFY: ("Laos ratified the 2000", 0.2),
            ARTICLE: ("Laos prohibits all forms of trafficking", 0.1),
        },
    )
    ans = answer_with_index(idx, question, fitted=FITTED)
    assert ans.outcome == "not_found" and ans.quotes == [] and ans.unanswered == []


def test_markdown_names_each_unanswered_part():
    q = Quote("It was ratified.", (1,), "d", "", 0, 16, 1.0, "T", written="It was ratified.[1]")
    ans = Answer("q", True, [q], unanswered=["which article bans it?", "who signed it?"])
    md = render_markdown(ans)
    assert md.index("It was ratified.[1]") < md.index("which article bans it?")
    assert md.count("No quote answers this part:") == 2


@pytest.mark.slow
@pytest.mark.parametrize(
    ("question", "expected", "unanswered"),
    [
        (f"{RATIFY}, and {ARTICLE}", ["September 2003", "Article 134"], []),
        (
            f"{RATIFY}, and what is the capital of France?",
            ["September 2003"],
            ["what is the capital of France?"],
        ),
    ],
)
def test_compound_questions_with_the_real_model(real_loaded, question, expected, unanswered):
    ans = answer_with_index(real_loaded, question)
    assert ans.outcome == "answered"
    assert [any(e in q.text for q in ans.quotes) for e in expected] == [True] * len(expected)
    assert ans.unanswered == unanswered
    for part in unanswered:
        assert part in ans.markdown
