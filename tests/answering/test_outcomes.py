"""Answers people can trust: the page's examples, three outcomes, no padding (real model)."""

from __future__ import annotations

import dataclasses
import json

import pytest

from qa.answering.answer import answer_with_index, candidates, part_answers
from qa.answering.question import Question
from qa.answering.scorer import load_fitted
from qa.index.wordvec import META_FILE, VECTORS_FILE, sentence_words

pytestmark = pytest.mark.slow

#: The example questions of the web page: each must be answered, right, with its refs.
EXAMPLES = [
    ("Who runs the long-term shelter for victims?", "run by the Lao Women’s Union", (2,)),
    pytest.param(
        "How many trafficking cases were investigated in 2007?",
        "38 cases of trafficking",
        (2,),
        # right quote and refs, but "tentative": confidence 0.54 under the 0.70 bar, which keeps
        # 95% of unanswerable questions unanswered (docs/evaluation.md); strict: fails loudly
        # once answered
        marks=pytest.mark.xfail(reason="tentative at 0.54 < 0.70", strict=True),
    ),
    ("When did Laos ratify the UN TIP Protocol?", "September 2003", (1,)),
    ("What tier was Laos placed in in 2023?", "placed at Tier 2", (4,)),
    pytest.param(
        "Who mainly carries out human trafficking in Laos?",
        "carried out by international",
        (5,),
        # right quote and refs, "tentative" at 0.34 since the refit with Snowball stemming
        marks=pytest.mark.xfail(reason="tentative under the 0.70 bar", strict=True),
    ),
]


@pytest.mark.parametrize(("question", "answer", "refs"), EXAMPLES)
def test_the_pages_examples_are_answered_right(real_loaded, question, answer, refs):
    ans = answer_with_index(real_loaded, question)
    assert ans.outcome == "answered" and ans.found, (ans.confidence, ans.reasons)
    assert answer in ans.quotes[0].text
    assert ans.quotes[0].refs == refs
    assert [r.number for r in ans.references] == list(refs)


def test_no_padding_between_two_years(real_loaded):
    """The 2018 and 2023 sentences answer; ratification [1] and highways [2] do not."""
    q = "How did the ranking of Laos change between 2018 and 2023?"
    ans = answer_with_index(real_loaded, q)
    assert len(ans.quotes) == 1
    assert "Tier 3 Watchlist" in ans.quotes[0].text and "Tier 2" in ans.quotes[0].text
    assert [r.number for r in ans.references] == [3, 4]
    assert not any("ratified" in q.text or "highways" in q.text for q in ans.quotes)


def _with(real_loaded, answer: float, tentative: float, question: str):
    fitted = dataclasses.replace(load_fitted(), answer=answer, tentative=tentative)
    return answer_with_index(real_loaded, question, fitted=fitted)


def test_three_outcomes_follow_the_calibrated_thresholds(real_loaded):
    q = "Who runs the long-term shelter for victims?"
    answered = _with(real_loaded, 0.0, 0.0, q)
    tentative = _with(real_loaded, 1.01, 0.0, q)
    not_found = _with(real_loaded, 1.01, 1.01, q)
    assert answered.confidence == tentative.confidence == not_found.confidence
    assert (answered.outcome, answered.found) == ("answered", True)
    assert (tentative.outcome, tentative.found) == ("tentative", False)
    assert (not_found.outcome, not_found.found) == ("not_found", False)
    # the tentative answer shows the same quote, clearly labelled, with its confidence
    assert [x.text for x in tentative.quotes] == [x.text for x in answered.quotes]
    assert [r.number for r in tentative.references] == [2]
    assert tentative.markdown.startswith("**The text may not answer this.** The closest it comes")
    assert f"{tentative.confidence:.0%}" in tentative.markdown
    assert "Lao Women’s Union" in tentative.markdown and "[2]" in tentative.markdown
    assert not_found.quotes == [] and not_found.references == []
    assert "does not say" in not_found.markdown
    data = json.loads(json.dumps(tentative.to_dict()))
    assert data["outcome"] == "tentative" and data["found"] is False and data["quotes"]


def test_a_compound_question_adds_a_quote_only_for_a_part_that_passes_on_its_own(real_loaded):
    q = (
        "How many victims were repatriated from Thailand, and how many remained in "
        "rehabilitation centers there?"
    )
    both = _with(real_loaded, 0.0, 0.0, q)  # every part passes a bar of 0: a quote each, in order
    assert [("280 formally" in x.text, "Approximately 100" in x.text) for x in both.quotes] == [
        (True, False),
        (False, True),
    ]
    # each further part's sentence must pass the answer bar on its own
    _, scored = candidates(real_loaded, Question.of(q), 5)
    lenient = dataclasses.replace(load_fitted(), answer=0.0)
    strict = dataclasses.replace(load_fitted(), answer=1.01)
    assert len(part_answers(real_loaded, scored, lenient)[0]) == 2
    rows, covered = part_answers(real_loaded, scored, strict)
    assert rows == [scored.cands[0].sentence] and len(covered) == 1  # the other part: uncovered


def test_the_index_stores_word_vectors_for_every_sentence(real_index, real_loaded):
    index_dir, _ = real_index
    assert (index_dir / VECTORS_FILE).is_file() and (index_dir / META_FILE).is_file()
    meta = json.loads((index_dir / META_FILE).read_text())
    assert len(meta["offsets"]) == len(real_loaded.sentences) + 1
    words = sentence_words(real_loaded)
    assert words is not None and words(0).shape[1] == 384
    assert 0 < len(words(0)) < 60  # content words only


def test_an_index_without_word_vectors_answers_with_the_plain_scorer(fake_index, fake_embedder):
    from qa.api import load_index

    index_dir, corpus, _ = fake_index
    assert not (index_dir / VECTORS_FILE).exists()  # the fake model has no word vectors
    idx = load_index(index_dir, corpus, embedder=fake_embedder)
    assert sentence_words(idx) is None
    ans = answer_with_index(idx, "Who runs the long-term shelter for victims?")
    assert ans.outcome in ("answered", "tentative", "not_found")
    assert 0.0 <= ans.confidence <= 1.0
    assert len(fake_embedder.queries) == 1  # one model call per question
