"""An optional cross-encoder that re-orders the best candidate sentences.

Off by default. ``QA_RERANKER=/path`` (or ``qa … --reranker /path``) names a local directory
holding a sentence-transformers ``CrossEncoder`` with one relevance score per pair, such as a
downloaded ``cross-encoder/ms-marco-MiniLM-L-6-v2``. The fitted scorer's best
``RERANK_DEPTH`` sentences are then put in the cross-encoder's order (its scores are the
final order; the scorer's logit and the calibrated confidence stay as they are). It costs one
cross-encoder pass over ten pairs per question.
"""

from __future__ import annotations

import functools
import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import RerankerError
from ..readers.document import strip_markers

ENV = "QA_RERANKER"
RERANK_DEPTH = 10
_HINT = "point QA_RERANKER or --reranker at a cross-encoder directory"


class Reranker:
    """A cross-encoder loaded from a local directory; refuses anything else in one line."""

    def __init__(self, path: str | Path):
        self.path = Path(path).expanduser()
        if not self.path.is_dir():
            raise RerankerError(f"re-ranker {self.path} is not a directory; {_HINT}")
        try:
            config = json.loads((self.path / "config.json").read_text(encoding="utf-8"))
        except (OSError, ValueError) as e:
            raise RerankerError(
                f"re-ranker {self.path} has no readable config.json ({type(e).__name__}); {_HINT}"
            ) from e
        config = config if isinstance(config, dict) else {}
        arch = config.get("architectures") or []
        if not any(str(a).endswith("ForSequenceClassification") for a in arch):
            raise RerankerError(
                f"{self.path} is not a cross-encoder: its config.json names "
                f"{', '.join(map(str, arch)) or 'no architecture'}, not a sequence "
                f"classifier; {_HINT} such as cross-encoder/ms-marco-MiniLM-L-6-v2"
            )
        labels = config.get("num_labels") or len(config.get("id2label") or {}) or 1
        if labels != 1:
            raise RerankerError(
                f"{self.path} gives {labels} scores per pair (a classifier such as NLI); a "
                f"re-ranker gives one relevance score; {_HINT}"
            )
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        from sentence_transformers import CrossEncoder  # deferred: heavy, and optional

        try:
            self.model: Any = CrossEncoder(str(self.path), device="cpu")
        except Exception as e:  # the library raises many types for a broken model
            raise RerankerError(
                f"cannot load re-ranker {self.path} ({type(e).__name__}: "
                f"{str(e).splitlines()[0] if str(e) else ''}); {_HINT}"
            ) from e

    def scores(self, question: str, texts: list[str]) -> np.ndarray:
        """One relevance score per text for ``question``."""
        if not texts:
            return np.zeros(0)
        pairs = [(question, strip_markers(t)) for t in texts]
        return np.asarray(self.model.predict(pairs, show_progress_bar=False), dtype=np.float64)

    def reorder(self, question: str, cands: list, texts: list[str]) -> list:
        """``cands`` (best first, with ``texts``) with the top ``RERANK_DEPTH`` re-ordered."""
        top = cands[:RERANK_DEPTH]
        for c, s in zip(top, self.scores(question, texts[: len(top)]), strict=True):
            c.rerank = float(s)
        return sorted(top, key=lambda c: -c.rerank) + cands[len(top) :]


@functools.lru_cache(maxsize=4)
def load_reranker(path: str) -> Reranker:
    """The re-ranker at ``path``, loaded once per process."""
    return Reranker(path)


def reranker_for(path: str | None) -> Reranker | None:
    """The re-ranker at ``path`` (``Settings.reranker``, from QA_RERANKER), or None."""
    return load_reranker(path) if path else None
