"""Fit the abstention model (``qa eval --calibrate``) on gold questions: features, logistic
fit, repeated cross-validation and the operating point, written to ``qa/calibration.json``.

The logistic fit is a few lines of Newton's method on one or two features, kept by hand so
that the package does not depend on scikit-learn for it.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from .abstention import (
    CALIBRATION_FILE,
    FEATURES,
    GRADED,
    NO_EVIDENCE,
    confidence,
    load_calibration,
)
from .answer import candidates
from .evaluate import GoldQuestion, load_questions
from .loaded import LoadedIndex
from .questions import resolve_query


def abstention_data(
    index: LoadedIndex, questions: list[GoldQuestion], k: int = 5
) -> tuple[np.ndarray, np.ndarray]:
    """Evidence features of each gold question's best sentence, and whether it is answerable."""

    X, y = [], []
    for q in questions:
        query = resolve_query(q.question, list(q.history))
        _, cands = candidates(index, q.question, query, k)
        best = cands[0] if cands else None
        X.append(
            list(best.evidence.features)
            if best is not None and best.evidence
            else list(NO_EVIDENCE)
        )
        y.append(1.0 if q.answerable else 0.0)
    return np.array(X, dtype=np.float64), np.array(y)


def fit_logistic(X: np.ndarray, y: np.ndarray, l2: float = 0.1, steps: int = 50):
    """L2-regularized logistic regression by Newton's method (no extra dependency)."""
    A = np.hstack([X, np.ones((len(X), 1))])
    w = np.zeros(A.shape[1])
    reg = np.eye(A.shape[1]) * l2
    reg[-1, -1] = 0.0  # the bias is not shrunk
    for _ in range(steps):
        p = 1.0 / (1.0 + np.exp(-(A @ w)))
        grad = A.T @ (p - y) + reg @ w
        hess = (A * (p * (1 - p))[:, None]).T @ A + reg
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return w[:-1], float(w[-1])


def fit_abstention(X: np.ndarray, y: np.ndarray, extra=None) -> dict:
    """The abstention model (see qa.abstention): a rate for mismatched rows, logistic otherwise.

    The rate is the Laplace-smoothed answerable share of gold rows with a mismatch flag; the
    logistic model is fitted on the graded features of the rows without one. ``extra`` =
    (X, y) junk negatives: they teach the logistic part what very low similarity means but
    stay out of the rate (they would drive it down).
    """

    flagged = (X[:, GRADED:] > 0).any(axis=1)
    rate = (float(y[flagged].sum()) + 1.0) / (float(flagged.sum()) + 2.0)
    if extra is not None:
        X, y = np.vstack([X, extra[0]]), np.concatenate([y, extra[1]])
        flagged = (X[:, GRADED:] > 0).any(axis=1)
    w, b = fit_logistic(X[~flagged, :GRADED], y[~flagged])
    return {
        "weights": [round(float(v), 4) for v in w],
        "bias": round(float(b), 4),
        "mismatch_answerable_rate": round(rate, 4),
    }


def predict(model: dict, X: np.ndarray) -> np.ndarray:

    return np.array([confidence(list(row), model) for row in X])


def cross_validate(X, y, folds: int = 5, seed: int = 0, extra=None) -> dict:
    """Abstention figures of the calibrated rule on held-out folds (an honest estimate).

    ``extra`` = (X, y) rows that are always trained on and never scored.
    """
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(y))
    pred = np.zeros(len(y))
    Xe, ye = extra if extra is not None else (X[:0], y[:0])
    for f in range(folds):
        test = order[f::folds]
        train = np.setdiff1d(order, test)
        model = fit_abstention(X[train], y[train], extra=(Xe, ye))
        pred[test] = predict(model, X[test])
    return {"threshold": choose_threshold(pred, y), "pred": pred}


#: Repetitions of 5-fold cross-validation when calibrating.
REPEATS = 10
#: The operating point: at most this share of answerable questions may be abstained on.
MAX_WRONGLY_ABSTAINED = 0.05


def abstention_rates(pred, y, threshold: float) -> dict:
    answered = pred >= threshold
    unans = y == 0
    return {
        "abstention_recall": float((~answered & unans).sum() / max(1, unans.sum())),
        "wrongly_abstained": float((~answered & ~unans).sum() / max(1, (~unans).sum())),
    }


def choose_threshold(pred, y, limit: float = MAX_WRONGLY_ABSTAINED) -> float:
    """The highest probability cut whose held-out wrongly-abstained share stays within limit.

    Abstaining on an answerable question hides a fact the text holds; the issue bounds that
    at 5%, and the cut is the strictest one that respects the bound.
    """
    for t in np.arange(0.70, 0.04, -0.01):
        if abstention_rates(pred, y, float(t))["wrongly_abstained"] <= limit:
            return round(float(t), 2)
    return 0.05


DEFAULT_NEGATIVES = Path("eval/calibration_negatives.jsonl")


def calibrate(
    index: LoadedIndex,
    questions: list[GoldQuestion],
    path: Path | None = None,
    negatives: list[GoldQuestion] | None = None,
) -> dict:
    """Fit the abstention model and write it to ``qa/calibration.json``.

    It is fitted on the gold set plus ``eval/calibration_negatives.jsonl`` (junk, code,
    injection strings and chit-chat a public text box receives; without them nothing in the
    gold set pins down what very low similarity means). Cross-validated figures are computed
    on the gold set alone, with the negatives always in the training folds.
    """

    if negatives is None:
        negatives = load_questions(DEFAULT_NEGATIVES) if DEFAULT_NEGATIVES.exists() else []
    X, y = abstention_data(index, questions)
    Xn, yn = abstention_data(index, negatives) if negatives else (X[:0], y[:0])
    model = fit_abstention(X, y, extra=(Xn, yn))
    # Cross-validation is repeated over REPEATS shuffles: one split's cut swings with which
    # few questions land in which fold; the median cut does not.
    runs = [cross_validate(X, y, seed=seed, extra=(Xn, yn)) for seed in range(REPEATS)]
    # the cut must hold the bound on held-out folds and for the final model on the gold set
    threshold = min(
        float(np.median([r["threshold"] for r in runs])),
        choose_threshold(predict(model, X), y),
    )
    rates = [abstention_rates(r["pred"], y, threshold) for r in runs]
    cv = {key: float(np.mean([r[key] for r in rates])) for key in rates[0]}
    result = {
        "features": list(FEATURES),
        **model,
        "threshold": threshold,
        "model": index.manifest.model,
        "questions": len(y),
        "negatives": len(yn),
        "cross_validated": cv,
    }
    (path or CALIBRATION_FILE).write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")

    load_calibration.cache_clear()
    return result
