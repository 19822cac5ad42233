"""The fitted models, applied with numpy: the sentence scorer and the abstention model.

Both are logistic regressions over standardised features, fitted by ``qa eval --fit``
(``qa.eval.fitting``, which needs scikit-learn) and stored as plain numbers in
``qa/models/calibration.json``: never a pickle, and nothing but numpy at run time.
Each comes in two variants, "words" (with the soft word-alignment features, for an index that
stores word vectors) and "plain" (without them). The file also holds the leave-one-article-out
models (``folds``), so that ``qa eval --fold NAME`` scores an article with models that never
saw it.
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import QAError

log = logging.getLogger(__name__)
MODEL_FILE = Path(__file__).resolve().parent.parent / "models" / "calibration.json"
FORMAT = 2


@dataclass(frozen=True)
class Linear:
    """A standardised linear model: ``((x − mean) / scale) · coef + intercept``."""

    features: tuple[str, ...]
    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: float

    def logits(self, X: np.ndarray, names: Sequence[str]) -> np.ndarray:
        """Logits for the rows of ``X``, whose columns are ``names`` (a superset of ours)."""
        cols = [list(names).index(f) for f in self.features]
        Z = (np.asarray(X, dtype=np.float64)[:, cols] - self.mean) / self.scale
        return Z @ self.coef + self.intercept

    def to_json(self) -> dict:
        return {
            "features": list(self.features),
            "mean": [round(float(v), 6) for v in self.mean],
            "scale": [round(float(v), 6) for v in self.scale],
            "coef": [round(float(v), 6) for v in self.coef],
            "intercept": round(float(self.intercept), 6),
        }

    @classmethod
    def from_json(cls, r: dict) -> Linear:
        n = len(r["features"])
        mean, scale, coef = (np.asarray(r[k], dtype=np.float64) for k in ("mean", "scale", "coef"))
        if any(a.shape != (n,) for a in (mean, scale, coef)):
            raise ValueError("feature, mean, scale and coef lengths differ")
        return cls(tuple(r["features"]), mean, scale, coef, float(r["intercept"]))


@dataclass(frozen=True)
class Fitted:
    """Scorer and abstention model (each "words" and "plain") with the outcome thresholds.

    ``answer``: confidence from which the first quote is given as the answer; ``tentative``:
    confidence from which it is shown as the closest the text comes; below, "not found".
    """

    model: str
    scorer: dict[str, Linear]
    abstention: dict[str, Linear]
    answer: float
    tentative: float
    calibration: tuple[float, float] = (1.0, 0.0)

    def confidence(self, logit: float) -> float:
        """The calibrated confidence of an abstention logit: ``σ(a·logit + b)``."""
        a, b = self.calibration
        return float(1.0 / (1.0 + np.exp(-np.clip(a * logit + b, -50, 50))))

    @classmethod
    def from_json(cls, r: dict, model: str) -> Fitted:
        return cls(
            model,
            {k: Linear.from_json(v) for k, v in r["scorer"].items()},
            {k: Linear.from_json(v) for k, v in r["abstention"].items()},
            float(r["thresholds"]["answer"]),
            float(r["thresholds"]["tentative"]),
            (float(r["calibration"]["a"]), float(r["calibration"]["b"])),
        )

    def to_json(self) -> dict:
        return {
            "scorer": {k: v.to_json() for k, v in self.scorer.items()},
            "abstention": {k: v.to_json() for k, v in self.abstention.items()},
            "thresholds": {"answer": self.answer, "tentative": self.tentative},
            "calibration": {"a": round(self.calibration[0], 6), "b": round(self.calibration[1], 6)},
        }


@functools.lru_cache(maxsize=4)
def read_model_file(path: Path) -> dict:
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise QAError(f"cannot read the fitted models in {path} ({e}); run `qa eval --fit`") from e
    if not isinstance(raw, dict) or raw.get("format") != FORMAT:
        raise QAError(f"{path} is not a format-{FORMAT} model file; run `qa eval --fit`")
    return raw


def load_fitted(fold: str | None = None, path: Path | None = None) -> Fitted:
    """The shipped models, or those fitted without the article ``fold`` (``folds`` in the file)."""
    raw = read_model_file(path or MODEL_FILE)
    try:
        if fold is None:
            return Fitted.from_json(raw, raw["model"])
        if fold not in raw.get("folds", {}):
            known = ", ".join(sorted(raw.get("folds", {}))) or "none"
            raise QAError(
                f"no model fitted without {fold!r} in {path or MODEL_FILE}; known: {known}"
            )
        return Fitted.from_json(raw["folds"][fold], raw["model"])
    except (KeyError, TypeError, ValueError) as e:
        raise QAError(f"{path or MODEL_FILE} is damaged ({e}); run `qa eval --fit`") from e


def fitted_for(model: str, fold: str | None = None) -> Fitted:
    """The fitted models, with a warning when they were fitted for another embedding model."""
    fitted = load_fitted(fold)
    if fitted.model != model:
        log.warning(
            "the scorer and abstention were fitted for %s, not %s; run `qa eval --fit` to refit",
            fitted.model,
            model,
        )
    return fitted


def clear_cache() -> None:
    read_model_file.cache_clear()
