"""The answerhood cross-encoder: what it reads, how its logit joins the scorer, its training
pairs, and (real model) that it tells an answering sentence from a near miss."""

from __future__ import annotations

import random

import numpy as np
import pytest

from qa.answering import answerhood
from qa.api import load_index
from qa.eval.crossencoder import perturbed


def test_pair_text_puts_the_sentence_first_then_title_section_and_the_sentence_before(
    fake_index, fake_embedder
):
    index_dir, corpus, _ = fake_index
    idx = load_index(index_dir, corpus, embedder=fake_embedder)
    para = next(p for p in range(len(idx.sentences)) if len(idx.paragraph_sentences(p)) > 1)
    rows = idx.paragraph_sentences(para)
    second = rows[1]
    text = answerhood.pair_text(idx, second)
    sentence = answerhood.strip_markers(idx.sentence_text(second))
    assert text.startswith(sentence + " | ")  # truncation cuts context, never the sentence
    assert idx.docs[idx.sentences[second].doc].title in text
    assert answerhood.strip_markers(idx.sentence_text(rows[0])) in text
    first = answerhood.pair_text(idx, rows[0])  # a paragraph's first: no sentence before
    assert first.endswith(". ") is False and first.split(" | ")[1].count(". ") == 0


def test_the_column_keeps_the_logits_of_the_first_stages_top_and_floors_the_rest():
    first_stage = np.array([0.1, 3.0, -1.0, 2.0, 0.5])
    logits = np.array([9.0, 1.0, 8.0, -2.0, 0.0])
    col = answerhood.column(logits, first_stage, top=2)
    assert col[1] == 1.0 and col[3] == -2.0  # the two the first stage ranks highest
    assert (col[[0, 2, 4]] == -2.0 - answerhood.UNREAD_GAP).all()  # unread: below the lowest
    X = answerhood.extend(np.zeros((5, 3)), col)
    assert X.shape == (5, 5) and X[1, 4] == 0.0 and X[3, 4] == -3.0  # gap to the best read
    assert answerhood.evidence_of(col, 1) == (1.0, 3.0)


def test_a_perturbed_question_names_a_year_number_or_name_the_paragraph_lacks():
    rng = random.Random(1)
    para = "In 2003 Laos ratified the protocol, and 40 people were convicted in Vientiane."
    q = perturbed("What did Laos ratify in 2003?", para, ["Cambodia"], rng)
    assert q is not None and "2003" not in q and q.startswith("What did Laos ratify in ")
    q = perturbed("How many of the 40 people were convicted?", para, [], rng)
    assert q is not None and " 40 " not in q
    q = perturbed("What happened in Vientiane?", para, ["Bangkok"], rng)
    assert q == "What happened in Bangkok?"
    assert perturbed("What happened?", para, ["Bangkok"], rng) is None


@pytest.mark.slow
def test_the_answerer_runs_without_the_model_when_it_is_switched_off(real_loaded):
    pytest.importorskip("onnxruntime")
    if answerhood.shipped() is None:
        pytest.skip("no answerhood model shipped")
    from qa.answering.answer import answer_with_index

    q = "When did Laos ratify the 2000 UN TIP Protocol?"
    on = answer_with_index(real_loaded, q)
    real_loaded.use_answerhood = False
    try:
        off = answer_with_index(real_loaded, q)
    finally:
        real_loaded.use_answerhood = True
    assert on.quotes and off.quotes
    assert "September 2003" in on.quotes[0].text
    assert on.confidence != off.confidence  # the cross-encoder's evidence took part


@pytest.mark.slow
def test_the_shipped_model_prefers_the_answering_sentence_to_near_misses(real_loaded):
    model = answerhood.shipped()
    if model is None:
        pytest.skip("no answerhood model shipped")
    idx = real_loaded
    texts = [idx.sentence_text(i) for i in range(len(idx.sentences))]
    answer = next(i for i, t in enumerate(texts) if "September 2003" in t)
    near = [i for i, t in enumerate(texts) if "Laos" in t and i != answer][:6]
    rows = [answer, *near]
    logits = model.logits(
        "In what year did Laos sign up to the UN protocol on trafficking?",
        [answerhood.pair_text(idx, i) for i in rows],
    )
    assert int(np.argmax(logits)) == 0
