"""What the answerer reads in a question, features, and the fitted models (no model, no index)."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from qa.answering.abstention import EVIDENCE, WORD_EVIDENCE
from qa.answering.answertype import holds, question_type
from qa.answering.features import FEATURES, WORD_FEATURES
from qa.answering.names import missing_names, names_missing
from qa.answering.question import Question, name_runs, question_parts
from qa.answering.scorer import MODEL_FILE, Fitted, Linear, load_fitted
from qa.eval.evalsets import read_splits
from qa.eval.fitting import HeldOut, calibrate, fit_linear, thresholds
from qa.index.text import lemma, tokenize
from qa.index.wordvec import Words, alignment


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


def named_terms(question: str) -> list[tuple[str, list[str]]]:
    return [(n.initials, n.tokens) for n in name_runs(question)]


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
    assert names_missing(name_runs(question), context) == missing


def test_missing_names_are_given_as_written():
    q = "Did the International Organization for Migration or Cambodia's Ministry help Thailand?"
    assert missing_names(name_runs(q), "IOM and the Ministry worked in Laos.") == [
        "Cambodia's Ministry",
        "Thailand",
    ]


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("How many cases were investigated?", "quantity"),
        ("When did Laos ratify the protocol?", "date"),
        ("In what year was the plan completed?", "date"),
        ("Who runs the shelter?", "agent"),
        ("Which organisation held the event?", "agent"),
        ("What is the name of the local NGO?", "agent"),
        ("Where were the victims trafficked to?", "place"),
        ("Why did the mill close?", "reason"),
        ("Does the report say how much it cost?", "yesno"),  # a yes/no question first
        # no list of "quantity nouns": what the question asks about is matched by embeddings
        ("What is the population of Laos?", "other"),
    ],
)
def test_question_type(question, kind):
    assert question_type(question) == kind


def _holds(kind: str, question: str, text: str) -> float:
    return holds(dataclasses.replace(Question.of(question), kind=kind), text)


def test_holds_ignores_the_questions_own_values_and_years_as_counts():
    q = "How many bars were shut down in late 2007?"
    assert _holds("quantity", q, "In October 2007, police shut down bars.") == 0.0
    assert _holds("quantity", q, "In 2007, police shut down 12 bars.") == 1.0
    assert _holds("quantity", q, "In 2007, police shut down eight bars.") == 1.0
    beyond = "Beyond those 38, how many more cases were investigated?"
    assert _holds("quantity", beyond, "It investigated 38 cases.") == 0.0
    assert _holds("quantity", beyond, "An additional 20 cases are under investigation.") == 1.0
    when = "When was the plan completed in 2007?"
    assert _holds("date", when, "It was completed in July 2007.") == 1.0
    assert _holds("date", when, "It was completed in 2007.") == 0.0
    who = "Who mainly carries out human trafficking in Laos?"
    assert _holds("agent", who, "It is mainly carried out by international gangs.") == 1.0
    assert _holds("agent", who, "Laos is mainly an origin country.") == 0.0
    assert _holds("other", q, "no constraint") == 0.5


def test_lemma_meets_word_forms():
    assert lemma("carries") == lemma("carried") == lemma("carrying") == "carry"
    assert lemma("victims") == lemma("victim") == "victim"
    assert lemma("class") == "class"


def test_question_anchors_are_numbers_and_names():
    # anchors are tokens as BM25's tokenize makes them (Snowball stems "laos" to "lao")
    assert Question.of("How did Laos's ranking change between 2018 and 2023?").anchors == {
        *tokenize("Laos"),
        "2018",
        "2023",
    }
    assert Question.of("Who runs the shelter?").anchors == set()


# ---------------------------------------------------------------------------- fitted models


def test_alignment_takes_each_question_words_best_match():
    q = Words(("tier", "laos"), np.array([[1.0, 0.0], [0.0, 1.0]]))
    s = np.array([[0.8, 0.6]])
    mean, low, gap = alignment(q, np.array([3.0, 1.0]), s)
    assert mean == pytest.approx(0.75 * 0.8 + 0.25 * 0.6)
    assert low == pytest.approx(0.6)
    assert gap == pytest.approx(max(0.75 * 0.2, 0.25 * 0.4))
    # a word of the document's title counts as said by every sentence
    assert alignment(q, np.array([3.0, 1.0]), s, frozenset({"laos"}))[1] == pytest.approx(0.8)


def test_linear_applies_standardised_coefficients_and_round_trips():
    mean, scale, coef = np.array([1.0, 0.0]), np.array([2.0, 1.0]), np.array([0.5, -1.0])
    lin = Linear(("b", "a"), mean, scale, coef, 0.25)
    X = np.array([[10.0, 3.0, 5.0]])  # columns a, b, c: the model picks its own by name
    assert lin.logits(X, ("a", "b", "c"))[0] == pytest.approx(0.5 * (3 - 1) / 2 - 10 + 0.25)
    again = Linear.from_json(json.loads(json.dumps(lin.to_json())))
    assert again.logits(X, ("a", "b", "c"))[0] == pytest.approx(lin.logits(X, ("a", "b", "c"))[0])
    with pytest.raises(ValueError):
        Linear.from_json({**lin.to_json(), "coef": [1.0]})


def test_fit_linear_learns_the_direction_of_the_evidence():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 2))
    y = (X[:, 0] - 0.2 * X[:, 1] + rng.normal(scale=0.3, size=400) > 0).astype(float)
    lin = fit_linear(X, y, ("good", "bad"))
    assert lin.coef[0] > 0 > lin.coef[1]
    assert lin.logits(np.array([[2.0, 0.0]]), ("good", "bad"))[0] > 0


def _held_out(n=400, seed=1):
    rng = np.random.default_rng(seed)
    z = rng.normal(scale=2.0, size=n)
    right = rng.random(n) < 1 / (1 + np.exp(-z))
    answerable = right | (rng.random(n) < 0.3)
    return HeldOut(z, right, answerable)


def test_calibration_keeps_the_top_band_right():
    h = _held_out()
    a, b = calibrate(h)
    p = 1 / (1 + np.exp(-(a * h.logits + b)))
    assert (p >= 0.9).any() and h.right[p >= 0.9].mean() >= 0.96


def test_thresholds_bound_not_found_answerable_and_reach_the_abstention_target():
    h = _held_out()
    cal = calibrate(h)
    answer, tentative = thresholds(h, cal)
    p = 1 / (1 + np.exp(-(cal[0] * h.logits + cal[1])))
    assert tentative <= answer
    assert ((p < tentative) & h.answerable).sum() <= 0.04 * h.answerable.sum()
    assert ((p < answer) & ~h.answerable).sum() >= 0.85 * (~h.answerable).sum() or answer == 0.9


def test_shipped_model_file_matches_the_features():
    raw = json.loads(MODEL_FILE.read_text(encoding="utf-8"))
    assert raw["model"] == "sentence-transformers/all-MiniLM-L6-v2"
    assert tuple(raw["scorer"]["words"]["features"]) == FEATURES
    assert set(raw["scorer"]["plain"]["features"]) == set(FEATURES) - WORD_FEATURES
    assert tuple(raw["abstention"]["words"]["features"]) == EVIDENCE
    assert set(raw["abstention"]["plain"]["features"]) == set(EVIDENCE) - WORD_EVIDENCE
    # fitted across the train articles, with a model that never saw each of them; the dev
    # articles only calibrate; no test article anywhere (eval/splits.json)
    splits = read_splits()
    assert {"bundled", "glacier_lake", "harbor_cooperative", "riverton"} <= set(raw["folds"])
    assert set(raw["fitted_on"]["questions"]) == set(raw["folds"])
    assert set(raw["fitted_on"]["calibrated_on"]) == splits.dev
    assert not (set(raw["folds"]) | set(raw["fitted_on"]["calibrated_on"])) & splits.test
    for fitted in [load_fitted()] + [load_fitted(f) for f in raw["folds"]]:
        assert isinstance(fitted, Fitted)
        assert 0 < fitted.tentative <= fitted.answer < 1
        assert fitted.confidence(10.0) > 0.9 > 0.1 > fitted.confidence(-10.0)
    # the scorer prefers the sentence closest to the question, given the rest
    words = raw["scorer"]["words"]
    coef = dict(zip(words["features"], words["coef"], strict=True))
    assert coef["dense_gap"] > 0 and coef["soft_gap"] > 0
