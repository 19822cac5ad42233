"""What the answerer reads in a question, and the abstention model (no model, no index)."""

from __future__ import annotations

import numpy as np
import pytest

from qa.abstention import (
    FEATURES,
    GRADED,
    answer_type,
    confidence,
    has_new_value,
    mismatches,
    missing_names,
    named_terms,
    names_missing,
)
from qa.answer import question_anchors
from qa.bm25 import tokenize
from qa.calibration import fit_abstention
from qa.questions import question_parts


@pytest.mark.parametrize(
    ("question", "parts"),
    [
        (
            "How many victims were brought home, and how many were still in centers?",
            ["How many victims were brought home", "how many were still in centers?"],
        ),
        (
            "What is Laos's role in sex trafficking and about who its victims are?",
            ["What is Laos's role in sex trafficking", "about who its victims are?"],
        ),
        # "and" between nouns does not split a question
        ("How many arrests and prosecutions were there?", None),
        ("Who runs the shelter?", None),
        # a part needs content words of its own
        ("Who runs the shelter, and why?", None),
    ],
)
def test_question_parts(question, parts):
    assert question_parts(question) == (parts or [question])


def test_named_terms_skip_the_first_word_and_stopwords():
    assert named_terms("Which tier did the US State Department give Thailand?") == [
        ("usd", ["us", "state", "department"]),
        ("t", ["thailand"]),
    ]
    assert named_terms("Who runs the shelter?") == []
    # dotted acronyms and "of"/"for" inside a name
    assert named_terms("Did the U.S. fund the International Organization for Migration?") == [
        ("u", ["us"]),
        ("iom", ["international", "organization", "migration"]),
    ]


@pytest.mark.parametrize(
    ("question", "context", "missing"),
    [
        ("Which tier did Thailand get in 2018?", "Laos was placed in Tier 3 in 2018.", 1.0),
        ("Which tier did Laos get in 2018?", "Laos was placed in Tier 3 in 2018.", 0.0),
        # word endings and acronyms count as mentions
        ("How many went to Thai centers?", "Victims in centers in Thailand.", 0.0),
        ("What did the International Organization for Migration get?", "staff for IOM", 0.0),
        ("Which UN agency helped?", "The MLSW worked with UNICEF.", 0.0),
        ("Which UN agency helped?", "It was under way.", 1.0),  # "un" opens no acronym here
        ("Did the US help?", "Funds were used.", 1.0),  # "us" is no prefix of "used"
        ("Did the U.S. State Department rank it?", "The U.S. State Department placed", 0.0),
        # one of two names missing
        ("Did Laos or Cambodia ratify it?", "Laos ratified the protocol.", 0.5),
        ("Who runs the shelter?", "anything", 0.0),
    ],
)
def test_names_missing(question, context, missing):
    assert names_missing(question, context) == missing


def test_missing_names_are_given_as_written():
    q = "Did the International Organization for Migration or Cambodia's Ministry help Thailand?"
    assert missing_names(q, "IOM and the Ministry worked in Laos.") == [
        "Cambodia's Ministry",
        "Thailand",
    ]


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("How many cases were investigated?", "quantity"),
        ("What is the population of Laos?", "quantity"),
        ("When did Laos ratify the protocol?", "date"),
        ("In what year was the plan completed?", "date"),
        ("Who runs the shelter?", None),
    ],
)
def test_answer_type(question, kind):
    assert answer_type(question) == kind


def test_has_new_value_ignores_the_questions_own_values_and_years_as_counts():
    q = "How many bars were shut down in late 2007?"
    assert not has_new_value("quantity", q, "In October 2007, police shut down bars.")
    assert has_new_value("quantity", q, "In 2007, police shut down 12 bars.")
    assert has_new_value("quantity", q, "In 2007, police shut down eight bars.")
    beyond = "Beyond those 38, how many more cases were investigated?"
    assert not has_new_value("quantity", beyond, "It investigated 38 cases.")
    assert has_new_value("quantity", beyond, "An additional 20 cases are under investigation.")
    when = "When was the plan completed in 2007?"
    assert has_new_value("date", when, "It was completed in July 2007.")
    assert not has_new_value("date", when, "It was completed in 2007.")
    assert has_new_value(None, q, "no constraint")


def test_question_anchors_are_numbers_and_names():
    # anchors are tokens as BM25's tokenize makes them (Snowball stems "laos" to "lao")
    assert question_anchors("How did Laos's ranking change between 2018 and 2023?") == {
        *tokenize("Laos"),
        "2018",
        "2023",
    }
    assert question_anchors("Who runs the shelter?") == set()


# -------------------------------------------------------------------------- abstention model

MODEL = {"weights": [10.0], "bias": -4.0, "mismatch_answerable_rate": 0.1, "threshold": 0.5}


def test_feature_layout():
    assert FEATURES[0] == "dense_similarity" and GRADED == 1
    assert len(FEATURES) == 5


def test_confidence_is_logistic_without_a_mismatch_and_the_rate_with_one():
    clean = [0.6, 0.0, 0.0, 0.0, 0.0]
    assert confidence(clean, MODEL) == pytest.approx(1 / (1 + np.exp(-(10 * 0.6 - 4))))
    assert mismatches(clean) == []
    flagged = [0.9, 0.0, 0.0, 0.0, 0.5]
    assert mismatches(flagged) == ["names_missing"]
    # however similar: a question naming something the passage lacks gets the mismatch rate
    assert confidence(flagged, MODEL) == 0.1


def test_uncalibrated_fallback_still_honours_mismatches():
    assert confidence([0.9, 0.0, 0.0, 0.0, 0.0], {}) > 0.9
    assert confidence([0.9, 1.0, 0.0, 0.0, 0.0], {}) <= 0.1


def test_fit_abstention_learns_the_rate_and_the_similarity_slope():
    rng = np.random.default_rng(0)
    n = 200
    dense = rng.uniform(0, 1, n)
    y = (dense > 0.5).astype(float)
    flags = np.zeros((n, 4))
    flags[:20, 2] = 1.0  # twenty flagged rows, two of them answerable
    y[:20] = 0.0
    y[:2] = 1.0
    X = np.column_stack([dense, flags])
    junk = (np.column_stack([np.full(10, 0.05), np.zeros((10, 4))]), np.zeros(10))
    model = fit_abstention(X, y, extra=junk)
    # Laplace-smoothed answerable share of the flagged gold rows: (2 + 1) / (20 + 2)
    assert model["mismatch_answerable_rate"] == pytest.approx(3 / 22, abs=1e-4)
    assert model["weights"][0] > 5  # answerable rises with similarity
    assert confidence([0.9, 0, 0, 0, 0], model) > 0.9 > 0.1 > confidence([0.1, 0, 0, 0, 0], model)
