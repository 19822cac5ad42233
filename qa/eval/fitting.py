"""Fit the sentence scorer and the abstention model across articles (``qa eval --fit``).

Training groups are articles: the bundled article's gold questions and each article under
``eval/articles/`` with its own questions. The held-out sets (``eval/heldout2.jsonl``,
``eval/heldout3.jsonl``) are never read here. Every figure and threshold is chosen on
predictions for an article the model did not see (leave one article out), and the models
fitted without each article are stored too (``folds``), so that ``qa eval`` reports each
article as a held-out one.

1. Scorer: logistic regression over ``features.FEATURES`` of every candidate sentence of
   every answerable question; positive when the sentence holds an acceptable answer.
2. Abstention: logistic regression over ``abstention.EVIDENCE`` of the best sentence, with
   the best sentence chosen by a scorer that never saw the question's article; positive when
   the quote it gives holds an answer. Junk inputs (``eval/calibration_negatives.jsonl``) are
   always in training.
3. Confidence: Platt scaling of the held-out-article logits, made conservative at the top
   (``calibrate``). Thresholds from the same predictions: "tentative" from the highest cut
   that leaves at most ``MAX_NOT_FOUND`` of answerable questions "not found"; "answer" from
   the lowest cut (≥ 0.5) that keeps ``TARGET_ABSTENTION`` of unanswerable ones unanswered.

scikit-learn is needed here only (``pip install scikit-learn``); the stored coefficients are
applied with numpy (``qa.answering.scorer``).
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..answering import answerhood as ah
from ..answering.abstention import EVIDENCE, WORD_EVIDENCE, assess
from ..answering.answer import POOL_PASSAGES, own_words, pool_rows, quote_group
from ..answering.features import FEATURES, WORD_FEATURES, QuestionView, candidate_features
from ..answering.question import Question, resolve_query
from ..answering.retrieval import depth_for, passage, rank
from ..answering.scorer import FORMAT, MODEL_FILE, Fitted, Linear, clear_cache
from ..index.loaded import LoadedIndex
from ..index.wordvec import encode_query, sentence_words
from .evaluate import GoldQuestion

MAX_NOT_FOUND = 0.04
TARGET_ABSTENTION = 0.95
TOP_BAND_RIGHT = 0.98
#: Inverse L2 strength of the abstention model (standardised features).
ABSTENTION_C = 1.0
ANSWER_RANGE = (0.5, 0.95)
VARIANTS = {
    "words": (FEATURES, EVIDENCE),
    "answerhood": (FEATURES + ah.FEATURES, EVIDENCE + ah.EVIDENCE),
    "plain": (
        tuple(f for f in FEATURES if f not in WORD_FEATURES),
        tuple(f for f in EVIDENCE if f not in WORD_EVIDENCE),
    ),
}


@dataclass
class Item:
    """One question, read once: its candidates' features and what is right."""

    group: str
    question: GoldQuestion
    view: QuestionView
    rows: list[int]
    X: np.ndarray
    labels: np.ndarray
    index: LoadedIndex
    junk: bool = False
    #: the cross-encoder's logit for every candidate (``add_answerhood``), or None
    ce: np.ndarray | None = None

    def matrix(self, variant: str, first_stage: Linear | None = None) -> np.ndarray:
        """The candidate features of a variant: with the answerhood columns for that one, the
        cross-encoder having read the top candidates of ``first_stage`` as when answering."""
        if variant != "answerhood":
            return self.X
        assert self.ce is not None and first_stage is not None
        return ah.extend(self.X, ah.column(self.ce, first_stage.logits(self.X, FEATURES)))


def query_of(it: Item) -> str:
    """The text the cross-encoder reads as the question: a follow-up joined to its question."""
    return resolve_query(it.question.question, list(it.question.history))


def add_answerhood(items: list[Item], model: ah.Answerhood) -> None:
    """The cross-encoder's logit for every candidate of every item (one call per question)."""
    for it in items:
        texts = [ah.pair_text(it.index, si) for si in it.rows]
        it.ce = model.logits(query_of(it), texts) if texts else np.zeros(0)


def holds_answer(text: str, q: GoldQuestion) -> bool:
    return q.answerable and any(a in text for a in q.answers)


def collect(
    index: LoadedIndex, group: str, questions: list[GoldQuestion], junk: bool = False, k: int = 5
) -> list[Item]:
    """An ``Item`` per question: one model call each."""
    words = sentence_words(index)
    items = []
    for q in questions:
        asked = Question.of(q.question, resolve_query(q.question, list(q.history)))
        qvec, qwords = encode_query(index, asked.query)
        ranked, _ = rank(index, asked, depth_for(k), qvec=qvec)
        pool = pool_rows(index, [passage(index, r) for r in ranked[: max(k, POOL_PASSAGES)]])
        own = own_words(qwords, asked) if words is not None else None
        view = QuestionView.of(index, asked, own)
        rows = [si for si, _ in pool]
        X = candidate_features(index, view, qvec, rows, words)
        labels = np.array([holds_answer(index.sentence_text(si), q) for si in rows], dtype=float)
        items.append(Item(group, q, view, rows, X, labels, index, junk))
    return items


def _standard(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    mean, scale = X.mean(axis=0), X.std(axis=0)
    return mean, np.where(scale > 1e-9, scale, 1.0)


def fit_linear(X: np.ndarray, y: np.ndarray, names: tuple[str, ...], C: float = 1.0) -> Linear:
    """Logistic regression on standardised features, as a ``Linear`` (numpy only to apply)."""
    from sklearn.linear_model import LogisticRegression  # deferred: fitting only

    mean, scale = _standard(X)
    model = LogisticRegression(C=C, max_iter=5000).fit((X - mean) / scale, y)
    return Linear(names, mean, scale, model.coef_[0].astype(float), float(model.intercept_[0]))


def fit_scorer(items: list[Item], variant: str, first_stage: Linear | None = None) -> Linear:
    names = VARIANTS[variant][0]
    all_names = FEATURES + (ah.FEATURES if variant == "answerhood" else ())
    train = [it for it in items if it.question.answerable and not it.junk and len(it.rows)]
    X = np.vstack([it.matrix(variant, first_stage) for it in train])
    y = np.concatenate([it.labels for it in train])
    cols = [all_names.index(f) for f in names]
    return fit_linear(X[:, cols], y, names)


def evidence(
    it: Item, scorer: Linear, variant: str, first_stage: Linear | None = None
) -> tuple[np.ndarray, bool]:
    """Evidence of the best sentence by ``scorer``, and whether its quote holds an answer."""
    n = len(EVIDENCE) + (len(ah.EVIDENCE) if variant == "answerhood" else 0)
    if not it.rows:
        return np.array([-20.0 if i == 0 else 0.0 for i in range(n)]), False
    X = it.matrix(variant, first_stage)
    all_names = FEATURES + (ah.FEATURES if variant == "answerhood" else ())
    s = scorer.logits(X, all_names)
    order = np.argsort(-s, kind="stable")
    top = int(order[0])
    margin = float(s[top] - (s[order[1]] if len(order) > 1 else s[top] - 5.0))
    view = it.view if variant != "plain" else dataclasses.replace(it.view, words=None)
    words = sentence_words(it.index) if variant != "plain" else None
    si = it.rows[top]
    ev = assess(it.index, view, si, X[top], float(s[top]), margin, words)
    features = list(ev.features)
    if variant == "answerhood":
        features += ah.evidence_of(X[:, len(FEATURES)], top)
    group = quote_group(it.index, si, it.view.question.anchors, {si})
    doc = it.index.docs[it.index.sentences[si].doc]
    text = doc.text[it.index.sentences[group[0]].start : it.index.sentences[group[-1]].end]
    return np.array(features), holds_answer(text, it.question)


class Fitter:
    """Scorers and abstention models fitted without given sets of articles, memoised.

    ``first`` is the "words" fitter whose scorer picks the candidates the cross-encoder reads
    (for the "answerhood" variant).
    """

    def __init__(
        self,
        items: list[Item],
        variant: str,
        first: Fitter | None = None,
        dev: frozenset[str] = frozenset(),
    ):
        self.items, self.variant, self.first, self.dev = items, variant, first, dev
        self.groups = sorted({it.group for it in items if not it.junk})
        self._scorers: dict[frozenset, Linear] = {}
        self._evidence: dict[tuple, tuple[np.ndarray, np.ndarray]] = {}
        self._abstention: dict[tuple, Linear] = {}

    def first_stage(self, excluded: frozenset) -> Linear | None:
        return self.first.scorer(excluded) if self.first is not None else None

    def scorer(self, excluded: frozenset) -> Linear:
        if excluded not in self._scorers:
            train = [it for it in self.items if it.group not in excluded | self.dev]
            self._scorers[excluded] = fit_scorer(train, self.variant, self.first_stage(excluded))
        return self._scorers[excluded]

    def evidence(self, group: str, junk: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """(features, right) of a group's questions, the best sentence chosen by a scorer that
        never saw the group (junk: by the scorer of all train articles).

        Computed once per group and shared by every fold: a fold's abstention model is fitted
        on evidence chosen by scorers that saw the fold's own article (a small leak, against
        a group-squared number of evidence passes).
        """
        key = (group, junk)
        if key not in self._evidence:
            fit_without = frozenset() if junk else frozenset({group})
            scorer, first = self.scorer(fit_without), self.first_stage(fit_without)
            rows = [evidence(it, scorer, self.variant, first) for it in self.items
                    if it.group == group and it.junk == junk]  # fmt: skip
            width = len(self.evidence_names())
            self._evidence[key] = (
                np.array([r[0] for r in rows]).reshape(len(rows), width),
                np.array([r[1] for r in rows], dtype=float),
            )
        return self._evidence[key]

    def evidence_names(self) -> tuple[str, ...]:
        return EVIDENCE + (ah.EVIDENCE if self.variant == "answerhood" else ())

    def abstention(self, excluded: frozenset, train_groups: list[str]) -> Linear:
        key = ("abstention", excluded, tuple(train_groups))
        if key not in self._abstention:
            parts = [self.evidence(g) for g in train_groups if g not in excluded]
            parts += [self.evidence(g, junk=True) for g in self.groups]
            parts = [p for p in parts if len(p[1])]
            X = np.vstack([p[0] for p in parts])
            y = np.concatenate([p[1] for p in parts])
            names = VARIANTS[self.variant][1]
            all_names = self.evidence_names()
            cols = [all_names.index(f) for f in names]
            self._abstention[key] = fit_linear(X[:, cols], y, names, ABSTENTION_C)
        return self._abstention[key]

    def held_out(self, excluded: frozenset, train_groups: list[str], dev: list[str]) -> HeldOut:
        """Abstention logits, from models that never saw the questions' articles, with whether
        each quote is right and each question answerable: on the ``dev`` articles when there
        are any (the models fitted without ``excluded``), else each train article in turn
        (leave one article out)."""
        z, right, answerable = [], [], []
        for g in dev or [g for g in train_groups if g not in excluded]:
            X, r = self.evidence(g)
            model = self.abstention(excluded | (frozenset() if dev else {g}), train_groups)
            z.append(model.logits(X, self.evidence_names()))
            right.append(r)
            answerable.append([it.question.answerable for it in self.items
                               if it.group == g and not it.junk])  # fmt: skip
        return HeldOut(
            np.concatenate(z), np.concatenate(right) > 0, np.concatenate(answerable).astype(bool)
        )


@dataclass
class HeldOut:
    logits: np.ndarray
    right: np.ndarray
    answerable: np.ndarray


def calibrate(h: HeldOut) -> tuple[float, float]:
    """(a, b) of ``σ(a·z + b)``: Platt scaling of held-out logits, then ``b`` lowered until at
    least ``TOP_BAND_RIGHT`` of the quotes it puts at 0.9 or more are right.

    A monotone map: it changes what the confidence says, not which question gets which
    outcome (the thresholds are chosen after it).
    """
    from sklearn.linear_model import LogisticRegression  # deferred: fitting only

    platt = LogisticRegression(C=100.0).fit(h.logits[:, None], h.right)
    a, b = float(platt.coef_[0][0]), float(platt.intercept_[0])
    while b > -10:
        top = 1.0 / (1.0 + np.exp(-(a * h.logits + b))) >= 0.9
        if not top.any() or h.right[top].mean() >= TOP_BAND_RIGHT:
            break
        b -= 0.05
    return a, b


def calibrated(model: Linear, ab: tuple[float, float]) -> Linear:
    """``model`` with the calibration folded in: its logit is then the calibrated one."""
    a, b = ab
    return dataclasses.replace(model, coef=model.coef * a, intercept=model.intercept * a + b)


def thresholds(h: HeldOut, calibration: tuple[float, float]) -> tuple[float, float]:
    """(answer, tentative) cuts on calibrated held-out confidences (see the module docstring)."""
    a, b = calibration
    p = 1.0 / (1.0 + np.exp(-(a * h.logits + b)))
    answerable = h.answerable
    tentative = 0.01
    for t in np.arange(0.6, 0.0, -0.01):
        if ((p < t) & answerable).sum() <= MAX_NOT_FOUND * answerable.sum():
            tentative = round(float(t), 2)
            break
    answer = ANSWER_RANGE[1]
    for t in np.arange(ANSWER_RANGE[0], ANSWER_RANGE[1] + 1e-9, 0.01):
        if ((p < t) & ~answerable).sum() >= TARGET_ABSTENTION * (~answerable).sum():
            answer = round(float(t), 2)
            break
    return answer, min(tentative, answer)


def fit_all(items: list[Item], model_name: str, dev: frozenset[str] = frozenset()) -> dict:
    """The whole model file: shipped models, leave-one-article-out folds of the train
    articles, and their figures. ``dev`` articles only calibrate and set the thresholds.

    Every variant's abstention model has its calibration folded in (``calibrated``), so its
    logit is a calibrated confidence; the thresholds are chosen on the primary variant's
    ("answerhood" when the items carry the cross-encoder's logits, else "words") and hold
    for all, a confidence meaning the same whichever variant gave it.
    """
    variants = [v for v in VARIANTS if v != "answerhood" or all(
        it.ce is not None for it in items)]  # fmt: skip
    fitters: dict[str, Fitter] = {}
    for v in variants:
        fitters[v] = Fitter(items, v, fitters.get("words") if v == "answerhood" else None, dev)
    primary = "answerhood" if "answerhood" in fitters else "words"
    groups = fitters[primary].groups
    dev_groups = [g for g in groups if g in dev]
    train_groups = [g for g in groups if g not in dev]

    def fitted(excluded: frozenset) -> Fitted:
        abstention, answer, tentative = {}, 0.0, 0.0
        for v, f in fitters.items():
            held = f.held_out(excluded, train_groups, dev_groups)
            ab = calibrate(held)
            abstention[v] = calibrated(f.abstention(excluded, train_groups), ab)
            if v == primary:
                answer, tentative = thresholds(held, ab)
        return Fitted(
            model_name,
            {v: f.scorer(excluded) for v, f in fitters.items()},
            abstention,
            answer,
            tentative,
            (1.0, 0.0),
        )

    counts = {g: sum(1 for it in items if it.group == g and not it.junk) for g in groups}
    return {
        "format": FORMAT,
        "model": model_name,
        "fitted_on": {
            "questions": {g: n for g, n in counts.items() if g not in dev},
            "calibrated_on": {g: n for g, n in counts.items() if g in dev},
            "junk": sum(it.junk for it in items),
        },
        **fitted(frozenset()).to_json(),
        "folds": {g: fitted(frozenset({g})).to_json() for g in train_groups},
    }


def write_model(result: dict, path: Path | None = None) -> Path:
    path = path or MODEL_FILE
    path.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    clear_cache()
    return path
