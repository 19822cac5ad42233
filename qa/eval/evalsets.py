"""Evaluation sets: which questions on which corpus, scored with which fitted models.

``qa eval`` reports every set: the held-out sets of the bundled article first (scored with
the shipped models, which never saw them), then the bundled gold set and each article under
``eval/articles/`` as held-out articles (scored with the models fitted without that article,
``qa/models/calibration.json`` → ``folds``). Another corpus gets its own index, built once into
``.qa-cache/`` under a name derived from the corpus path and reused while it is fresh.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from ..answering.reranker import Reranker
from ..answering.scorer import MODEL_FILE, load_fitted, read_model_file
from ..errors import EvalDataError
from ..index.loaded import LoadedIndex
from ..readers import SUFFIXES
from .evaluate import (
    AnswerScores,
    RetrievalScores,
    evaluate_answers,
    evaluate_retrieval,
    load_questions,
    reliability_table,
)

CACHE_DIR = Path(".qa-cache")
SPLITS_FILE = Path("eval/splits.json")
ARTICLES_DIR = Path("eval/articles")
BUNDLED = "bundled"


@dataclass(frozen=True)
class EvalSet:
    """A question file on a corpus; ``fold`` names the article the models must not have seen."""

    name: str
    questions: Path
    corpus: Path | None = None  # None: the default corpus and index
    fold: str | None = None
    split: str = ""  # "test", "dev" or "train" for an article under eval/articles


@dataclass(frozen=True)
class Splits:
    """Articles by split (``eval/splits.json``): every other article with questions is train."""

    dev: frozenset[str]
    test: frozenset[str]


def read_splits(path: Path = SPLITS_FILE) -> Splits:
    """The dev and test articles; none when the file is missing (every article is train)."""
    if not Path(path).is_file():
        return Splits(frozenset(), frozenset())
    try:
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
        return Splits(frozenset(map(str, raw["dev"])), frozenset(map(str, raw["test"])))
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise EvalDataError(f"cannot read the splits in {path} ({e}); fix or remove it") from e


def bundled_sets(fold_gold: bool = True) -> list[EvalSet]:
    """Held-out sets (shipped models) then the gold set (as a held-out article)."""
    return [
        EvalSet("heldout2", Path("eval/heldout2.jsonl")),
        EvalSet("heldout3", Path("eval/heldout3.jsonl")),
        EvalSet("gold", Path("eval/questions.jsonl"), fold=BUNDLED if fold_gold else None),
    ]


def article_sets(root: Path = ARTICLES_DIR, split: str | None = None) -> list[EvalSet]:
    """One set per directory of ``root`` that holds a ``questions.jsonl`` and a text, test
    articles first, then dev, then train (or only those of ``split``). Test and dev articles
    are scored with the shipped models (which never trained on them); a train article with
    the models fitted without it."""
    root = Path(root)
    if not root.is_dir():
        return []
    splits = read_splits()
    found = [
        d for d in sorted(root.iterdir())
        if (d / "questions.jsonl").is_file() and any(f.suffix in SUFFIXES for f in d.iterdir())
    ]  # fmt: skip
    out = []
    for name in ("test", "dev", "train"):
        for d in found:
            kind = "test" if d.name in splits.test else "dev" if d.name in splits.dev else "train"
            if kind == name and split in (None, name):
                fold = d.name if kind == "train" else None
                out.append(EvalSet(d.name, d / "questions.jsonl", d, fold=fold, split=kind))
    return out


def cached_index(corpus: Path, model: str | None = None) -> LoadedIndex:
    """The index of ``corpus`` under ``.qa-cache/``, built first if missing or stale."""
    from ..api import load_or_build  # deferred: api imports the whole answering stack

    corpus = Path(corpus)
    digest = hashlib.sha256(str(corpus.resolve()).encode()).hexdigest()[:8]
    return load_or_build(CACHE_DIR / f"index-{corpus.name}-{digest}", corpus, model)


@dataclass
class SetResult:
    set: EvalSet
    retrieval: RetrievalScores
    answers: AnswerScores
    model: str  # "shipped" or "without <article>"


def run_set(
    index: LoadedIndex, s: EvalSet, reranker: Reranker | None = None, use_folds: bool = True
) -> SetResult:
    """Score one set: retrieval, then answers with the models its ``fold`` calls for."""
    questions = load_questions(s.questions)
    fold = s.fold if use_folds else None
    if fold is not None and fold not in _known_folds():
        fold = None
    fitted = load_fitted(fold)
    ret = evaluate_retrieval(index, questions)
    ans = evaluate_answers(index, questions, name=s.name, fitted=fitted, reranker=reranker)
    return SetResult(s, ret, ans, "shipped" if fold is None else f"without {fold}")


def _known_folds() -> set[str]:
    return set(read_model_file(MODEL_FILE).get("folds", {}))


# ----------------------------------------------------------------------------------- tables

_COLUMNS = (
    ("answer@1", "answer_at_1"),
    ("answered✓", "answered_right"),
    ("tentative", "tentative"),
    ("cite", "citation_accuracy"),
    ("ref.prec", "reference_precision"),
    ("abst.rec", "abstention_recall"),
    ("refused", "wrongly_refused"),
    ("≥.9 wrong", "confident_wrong"),
    ("quotes", "mean_quotes"),
    ("1st chars", "mean_first_quote_chars"),
)


def _pooled(results: list[SetResult], name: str) -> dict:
    """Figures over several sets together (weighted by their questions)."""
    a = [r.answers for r in results]
    ans_n = sum(x.answerable for x in a)
    un_n = sum(x.unanswerable for x in a)
    conf = [p for x in a for p in x.reliability if p[0] >= 0.9]

    def w(attr: str, by: str) -> float:
        total = sum(getattr(x, by) for x in a)
        return sum(getattr(x, attr) * getattr(x, by) for x in a) / total if total else 0.0

    return {
        "name": name,
        "n": sum(x.questions for x in a),
        "hit1": w_ret(results, "hit1"),
        "answer_at_1": w("answer_at_1", "answerable") if ans_n else 0.0,
        "answered_right": w("answered_right", "answerable") if ans_n else 0.0,
        "citation_accuracy": w("citation_accuracy", "citation_checked"),
        "reference_precision": float(np.mean([x.reference_precision for x in a])),
        "abstention_recall": w("abstention_recall", "unanswerable") if un_n else 1.0,
        "wrongly_refused": w("wrongly_refused", "answerable") if ans_n else 0.0,
        "tentative": (w("not_answered", "answerable") - w("wrongly_refused", "answerable"))
        if ans_n
        else 0.0,
        "confident_wrong": sum(1 for p in conf if not p[1]) / len(conf) if conf else 0.0,
        "confident_n": len(conf),
        "mean_quotes": float(np.mean([x.mean_quotes for x in a])),
        "mean_first_quote_chars": float(np.mean([x.mean_first_quote_chars for x in a])),
    }


def w_ret(results: list[SetResult], attr: str) -> float:
    total = sum(r.retrieval.questions for r in results)
    return sum(getattr(r.retrieval, attr) * r.retrieval.questions for r in results) / (total or 1)


def _row(d: dict) -> str:
    cells = [f"{d['name']:<34}", f"{d['n']:>4}", f"{d['hit1']:>6.3f}"]
    for _, attr in _COLUMNS:
        v = d[attr]
        cells.append(f"{v:>9.3f}" if attr != "mean_first_quote_chars" else f"{v:>9.0f}")
    return " ".join(cells) + f"  (n≥.9: {d['confident_n']})"


def answers_table(results: list[SetResult], pooled: list[tuple[str, list[SetResult]]]) -> str:
    """One row per set, then pooled rows; the figures of ``AnswerScores``."""
    head = f"{'set (models)':<34} {'n':>4} {'Hit@1':>6} " + " ".join(
        f"{label:>9}" for label, _ in _COLUMNS
    )
    lines = [head]
    for r in results:
        d = {**asdict(r.answers), "name": f"{r.set.name} ({r.model})"[:34]}
        d["tentative"] = r.answers.not_answered - r.answers.wrongly_refused
        d.update(n=r.answers.questions, hit1=r.retrieval.hit1)
        lines.append(_row(d))
    for name, group in pooled:
        if group:
            lines.append(_row(_pooled(group, name)))
    return "\n".join(lines)


def reliability_lines(title: str, results: list[SetResult]) -> str:
    """The reliability table of the shown quotes of ``results`` pooled."""
    pairs = [p for r in results for p in r.answers.reliability]
    lines = [f"Reliability, {title} (shown quotes; right = the first quote holds an answer)"]
    lines.append(f"  {'confidence':<12} {'quotes':>6} {'right':>7}")
    for band, n, share in reliability_table(pairs):
        lines.append(f"  {band:<12} {n:>6} {share:>7.3f}" if n else f"  {band:<12} {n:>6}       –")
    return "\n".join(lines)
